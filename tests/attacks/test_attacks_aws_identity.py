"""Attacks by an insider who administers identities (AWS): widen the way into a reader role.

Whoever may ``iam:UpdateAssumeRolePolicy`` on a reader role reads what the role reads. Each test widens one
role's trust in the prod plan's registrations, as that insider would live, and asks the access derivation
(``platform_secrets.access.matrix``, the same for ``access.json`` and the audit) to show the new reader, named for what it admits
and for the role it goes through (``via``). The control: the planned trust yields exactly the service.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from platform_secrets.access import aws_iam
from platform_secrets.access import diff as access_diff
from platform_secrets.access import matrix as access
from platform_secrets.offline import artifacts, plan
from platform_secrets.offline.runner import RunResult

ACCOUNT = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-backend"
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def _retrust(run: RunResult, change: Any) -> RunResult:
    """The run with backend's trust policy passed through ``change`` (a function of the document)."""
    crafted = copy.deepcopy(run)
    role = next(r for r in crafted.resources if r.outputs.get("arn") == ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    role.inputs["assumeRolePolicy"] = json.dumps(change(trust) or trust)
    return crafted


def _added(statement: dict[str, Any]) -> Any:
    def change(trust: dict[str, Any]) -> None:
        trust["Statement"].append(statement)

    return change


def _new_readers(run: RunResult, crafted: RunResult) -> dict[str, dict[str, Any]]:
    """Rows of the crafted matrix that read something the plan's matrix does not give them."""
    before = access.derive(run.resources)
    after = access.derive(crafted.resources)
    return {
        name: row
        for name, row in after.items()
        if set(row["entries"]) - set(before.get(name, {}).get("entries", []))
    }


def _backend_entries(run: RunResult) -> list[str]:
    return access.derive(run.resources)["backend"]["entries"]


def test_a_foreign_oidc_provider_admitting_an_attackers_repositories_is_a_reader(
    prod_run: RunResult,
) -> None:
    """A trust statement for GitHub's OIDC provider, ``StringLike sub: repo:attacker/*``."""
    crafted = _retrust(
        prod_run,
        _added(
            {
                "Effect": "Allow",
                "Principal": {"Federated": GITHUB},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:attacker/*"},
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                    },
                },
            }
        ),
    )
    (row,) = _new_readers(prod_run, crafted).values()
    assert row["kind"] == "federated"
    assert "repo:attacker/*" in row["identity"] and GITHUB in row["identity"]
    assert row["entries"] == _backend_entries(prod_run)
    assert row["via"] == {entry: [ROLE] for entry in row["entries"]}


def test_a_service_account_subject_widened_to_every_service_account_is_a_reader(
    prod_run: RunResult,
) -> None:
    """The cluster's own provider, ``sub`` widened to ``system:serviceaccount:*``: any pod of the cluster."""

    def widen(trust: dict[str, Any]) -> None:
        condition = trust["Statement"][0]["Condition"]
        equals = condition["StringEquals"]
        sub = next(key for key in equals if key.endswith(":sub"))
        del equals[sub]
        condition["StringLike"] = {sub: "system:serviceaccount:*"}

    crafted = _retrust(prod_run, widen)
    (row,) = _new_readers(prod_run, crafted).values()
    assert row["kind"] == "federated"
    assert "system:serviceaccount:*" in row["identity"]
    assert row["entries"] == _backend_entries(prod_run)
    assert row["via"] == {entry: [ROLE] for entry in row["entries"]}


def test_an_account_root_trust_on_a_workload_role_is_a_reader_named_by_the_role(
    prod_run: RunResult,
) -> None:
    """``arn:aws:iam::<acct>:root`` may assume backend's role: any principal its own policy allows."""
    crafted = _retrust(
        prod_run,
        _added(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    rows = _new_readers(prod_run, crafted)
    row = rows[f"arn:aws:iam::{ACCOUNT}:root"]
    assert row["kind"] == "account"
    assert row["entries"] == _backend_entries(prod_run)
    assert row["via"] == {entry: [ROLE] for entry in row["entries"]}


@pytest.mark.parametrize(
    "statement",
    [
        {"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {
            "Principal": {"Service": ["pods.eks.amazonaws.com"]},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        },
        {
            "Principal": "*",
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-x"}},
        },
        {"Principal": {"AWS": "*"}, "Action": "sts:*"},
        {"Principal": {"AWS": "arn:aws:iam::999999999999:role/outside"}, "Action": "sts:Assume*"},
        {"Principal": {"AWS": "999999999999"}, "NotAction": "sts:TagSession"},
        {
            "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/nobody"},
            "Action": "sts:AssumeRole",
        },
        {
            "Principal": {"Federated": "arn:aws:iam::999999999999:saml-provider/corp"},
            "Action": "sts:AssumeRoleWithSAML",
        },
        {"Principal": {"Federated": GITHUB}, "Action": "sts:AssumeRoleWithWebIdentity"},
    ],
    ids=[
        "service",
        "pod-identity",
        "anyone-with-condition",
        "aws-star",
        "foreign-role",
        "foreign-account-notaction",
        "notprincipal",
        "saml",
        "oidc-without-sub",
    ],
)
def test_every_other_way_into_a_workload_role_is_a_reader(
    prod_run: RunResult, statement: dict[str, Any]
) -> None:
    crafted = _retrust(prod_run, _added({"Effect": "Allow", **statement}))
    rows = _new_readers(prod_run, crafted)
    assert len(rows) == 1, sorted(rows)
    (row,) = rows.values()
    assert row["entries"] == _backend_entries(prod_run)
    assert row["via"] == {entry: [ROLE] for entry in row["entries"]}


def test_a_trust_statement_for_tag_session_alone_is_no_way_in(prod_run: RunResult) -> None:
    """``sts:TagSession`` without an assume action lets nobody in (control for the variants above)."""
    crafted = _retrust(
        prod_run,
        _added({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:TagSession"}),
    )
    assert _new_readers(prod_run, crafted) == {}


def test_the_planned_trust_yields_exactly_the_service(prod_run: RunResult) -> None:
    """Control: the planned IRSA trust (the cluster's provider, exact sub, aud sts) is the service, no more."""
    matrix = access.derive(prod_run.resources)
    kinds = {row["kind"] for row in matrix.values()}
    assert kinds <= {"workload", "tooling", "admin"}, kinds
    for name, row in matrix.items():
        if row["kind"] == "workload":
            assert row["service_account"] == f"{name}/{name}"
            assert "assumed_by" not in row and "via" not in row


# --- noise and naming (the audit review) ---


def _with_entry_policy(run: RunResult, policy: dict[str, Any]) -> RunResult:
    """The run with every entry's resource policy replaced by ``policy``."""
    crafted = copy.deepcopy(run)
    for r in crafted.resources:
        if r.type == "aws:secretsmanager/secretPolicy:SecretPolicy":
            r.inputs["policy"] = json.dumps(policy)
    return crafted


def test_an_account_root_allow_lists_no_service_role_its_own_policy_does_not_allow(
    prod_run: RunResult,
) -> None:
    """A resource policy allowing the account root delegates to identity policies (same account)."""
    allow_account = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    planned = access.derive(prod_run.resources)
    matrix = access.derive(_with_entry_policy(prod_run, allow_account).resources)
    noisy = {
        name: sorted(set(row["entries"]) - set(planned[name]["entries"]))
        for name, row in matrix.items()
        if row["kind"] in ("workload", "tooling")
        and set(row["entries"]) - set(planned[name]["entries"])
    }
    assert noisy == {}
    every_entry = {e for row in planned.values() for e in row["entries"]}
    assert set(matrix[f"arn:aws:iam::{ACCOUNT}:root"]["entries"]) == every_entry


def test_a_resource_policy_naming_a_role_explicitly_makes_it_a_reader(prod_run: RunResult) -> None:
    """Same account: an Allow naming the role's ARN suffices, whatever its identity policy says."""
    media = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-media"
    allow_media = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": media},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    matrix = access.derive(_with_entry_policy(prod_run, allow_media).resources)
    every_entry = {e for row in access.derive(prod_run.resources).values() for e in row["entries"]}
    assert set(matrix["media"]["entries"]) == every_entry


def test_the_plan_summary_names_the_role_a_chained_reader_assumed(prod_run: RunResult) -> None:
    """The reader through a trust chain is shown with the role it goes through, by name."""
    crafted = _retrust(
        prod_run,
        _added(
            {
                "Effect": "Allow",
                "Principal": {"Federated": GITHUB},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:x/*"}
                },
            }
        ),
    )
    data = plan.summary(crafted, access.derive(crafted.resources))
    (name,) = [n for n, row in data["access"].items() if row["kind"] == "federated"]
    row = data["access"][name]
    assert row["via"] == {entry: ["platform-secrets-prod-backend"] for entry in row["entries"]}
    text = plan.render(data)
    for entry in row["entries"]:
        assert f"{entry}  (via platform-secrets-prod-backend)" in text


# --- the store-side guard: a workload reader's session counts only through the cluster's provider ---

PROD_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/PRODD539D4633E53DE1B716D3041E0"
CLUSTER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{PROD_ISSUER}"


def _denies(policy: dict[str, Any], action: str, context: dict[str, str]) -> bool:
    """Whether a Deny of ``policy`` applies to a request with this context (as IAM evaluates the
    operators used here: a key missing from the request fails StringEquals and passes StringNotEquals)."""
    for st in policy["Statement"]:
        if st["Effect"] != "Deny":
            continue
        if "Action" in st and not aws_iam._matches(st["Action"], action, case=False):
            continue
        if "NotAction" in st and aws_iam._matches(st["NotAction"], action, case=False):
            continue
        holds = True
        for operator, block in st.get("Condition", {}).items():
            for key, values in block.items():
                value, listed = context.get(key), aws_iam._as_list(values)
                if operator == "StringEquals":
                    holds = holds and value in listed
                elif operator == "StringNotEquals":
                    holds = holds and value not in listed
                else:
                    raise AssertionError(f"operator {operator} not evaluated by this test")
        if holds:
            return True
    return False


def _entry_policies(run: RunResult) -> dict[str, dict[str, Any]]:
    return {e.name: e.policy for e in access.aws_documents(run.resources)[0] if e.policy}


@pytest.mark.parametrize(
    "how",
    [
        {},  # assumed with sts:AssumeRole (a role or an account root added to its trust)
        {"aws:FederatedProvider": GITHUB},  # a foreign OIDC provider added to its trust
        {"aws:FederatedProvider": "arn:aws:iam::999999999999:oidc-provider/" + PROD_ISSUER},
    ],
    ids=["assume-role", "foreign-provider", "same-issuer-other-account"],
)
def test_a_workload_readers_session_not_federated_by_the_cluster_is_denied(
    prod_run: RunResult, how: dict[str, str]
) -> None:
    """The entry does not trust the role's trust policy: a session of backend's role counts only when
    it was federated through the stack's cluster OIDC provider (``aws:FederatedProvider``)."""
    policies = _entry_policies(prod_run)
    backend = set(_backend_entries(prod_run))
    open_to = sorted(
        name
        for name in backend
        if not _denies(
            policies[name], "secretsmanager:GetSecretValue", {"aws:PrincipalArn": ROLE, **how}
        )
    )
    assert open_to == []


def test_a_workload_reader_federated_by_the_cluster_still_reads(prod_run: RunResult) -> None:
    """Control: the planned session (IRSA through the cluster's provider) is denied none of its reads."""
    policies = _entry_policies(prod_run)
    context = {"aws:PrincipalArn": ROLE, "aws:FederatedProvider": CLUSTER}
    denied = sorted(
        name
        for name in _backend_entries(prod_run)
        for action in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
        if _denies(policies[name], action, context)
    )
    assert denied == []


def test_the_access_diff_shows_a_widened_door_as_a_reader_added(
    prod_run: RunResult, tmp_path: Path
) -> None:
    """What a pull request's reviewer sees: the new reader of each of backend's entries, and the trust."""
    crafted = _retrust(
        prod_run,
        _added(
            {
                "Effect": "Allow",
                "Principal": {"Federated": GITHUB},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:x/*"}
                },
            }
        ),
    )
    artifacts.write(prod_run, tmp_path / "base")
    artifacts.write(crafted, tmp_path / "head")
    diff = access_diff.diff(tmp_path / "base", tmp_path / "head")
    added = {(r["entry"], r["kind"]) for r in diff["readers_added"]}
    assert added == {(entry, "federated") for entry in _backend_entries(prod_run)}
    assert [t["identity"] for t in diff["trust_added"]] == ["backend"]
