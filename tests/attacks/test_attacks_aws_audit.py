"""Attack: the read-only audit role on AWS, exempt from the entries' deny for metadata only (issue 13).

The entries' resource policies deny ``secretsmanager:*`` to all but readers and admins; the weekly audit
(``platform_secrets/live/readers/aws.py``) must still describe every entry and read its policy and versions, and must
never read a value, even if its own IAM policy allows ``secretsmanager:*``. Live proof on ministack:
``tests/program/test_least_privilege_aws.py::test_audit_role_*``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from platform_secrets.access import matrix as access
from platform_secrets.audit import command as audit
from platform_secrets.audit import live_view as audit_live
from platform_secrets.audit.declared import Declared, declare
from platform_secrets.live.readers.aws import ALLOWED
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.program.clouds import aws_policies
from tests.audit_fake_aws import SET_AT, FakeAws

ACCOUNT = "111122223333"  # the dev stack's
AUDIT = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-audit"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
READER = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-dev-billing"
ARN = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:platform-secrets/dev/billing/DB-AbCdEf"
VALUE_AND_WRITE = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:TagResource",
)


def _audit_actions() -> set[str]:
    """The audit reader's Secrets Manager calls that act on one entry (ListSecrets names no resource)."""
    return {f"secretsmanager:{op}" for op in ALLOWED["secretsmanager"] - {"ListSecrets"}}


def test_audit_actions_are_exactly_what_the_audit_reader_calls() -> None:
    assert set(aws_policies.AUDIT_ACTIONS) == _audit_actions()


def test_audit_role_reads_metadata_but_no_value() -> None:
    doc = aws_policies.entry_resource_policy([READER], [ADMIN], [AUDIT])
    wrong = [
        action
        for action in sorted(_audit_actions())
        if access.aws_verdict(doc, action, ARN, AUDIT) == "Deny"
    ]
    wrong += [
        f"{action} not denied"
        for action in VALUE_AND_WRITE
        if access.aws_verdict(doc, action, ARN, AUDIT) != "Deny"
    ]
    assert wrong == []


def test_audit_exemption_leaves_readers_admins_and_others_as_before() -> None:
    with_audit = aws_policies.entry_resource_policy([READER], [ADMIN], [AUDIT])
    without = aws_policies.entry_resource_policy([READER], [ADMIN])
    other = f"arn:aws:iam::{ACCOUNT}:role/power-user"
    actions = (*sorted(_audit_actions()), *VALUE_AND_WRITE)
    changed = [
        (who, action)
        for who in (READER, ADMIN, other, None)
        for action in actions
        if access.aws_verdict(with_audit, action, ARN, who)
        != access.aws_verdict(without, action, ARN, who)
    ]
    assert changed == []


def test_access_matrix_does_not_list_the_audit_role_as_a_reader() -> None:
    aws = json.loads(offline.load_config("dev")[1]["platform-secrets:aws"])
    run = offline.run("dev", overrides={"aws": {**aws, "auditRoleArns": [AUDIT]}})
    assert run.error is None, run.error
    policies = [
        r for r in run.resources if r.type == "aws:secretsmanager/secretPolicy:SecretPolicy"
    ]
    assert policies and all(AUDIT in str(r.inputs["policy"]) for r in policies)
    matrix = access.derive_aws(*access.aws_documents(run.resources)[:2])
    assert [row for row in matrix.values() if row.get("identity") == AUDIT] == []


@pytest.mark.parametrize(
    ("role", "problem"),
    [
        (
            f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-dev-billing",
            "workload role of this stack",
        ),
        ("arn:aws:iam::999988887777:role/platform-secrets-audit", "not this stack's accountId"),
        (ADMIN, "also in aws.adminRoleArns"),
    ],
)
def test_audit_role_that_would_widen_access_is_refused(role: str, problem: str) -> None:
    aws = json.loads(offline.load_config("dev")[1]["platform-secrets:aws"])
    run = offline.run("dev", overrides={"aws": {**aws, "auditRoleArns": [role]}})
    assert run.error is not None
    assert "aws.auditRoleArns" in str(run.error) and problem in str(run.error), run.error
    assert not run.resources or all(r.type.startswith("pulumi:") for r in run.resources)


# --- Issue 16: what the audit missed on AWS (judged on a fake account as the plan leaves it) ---
#
# Each drift below was applied by hand on ministack and the audit exited 0. The judgement is tested here on
# ``tests/audit_fake_aws.py`` (the reader's interface, the plan as deployed); the live tier
# (``tests/audit/test_audit_aws.py``) repeats the trust drift on ministack through the real reader.

READ = "secretsmanager:GetSecretValue"


@pytest.fixture(scope="module")
def dev_declared(dev_run: RunResult) -> Declared:
    return declare("dev", run=dev_run)


@pytest.fixture(scope="module")
def prod_declared(prod_run: RunResult) -> Declared:
    return declare("prod", run=prod_run)


def _audit(declared: Declared, fake: FakeAws) -> dict[str, Any]:
    return audit.audit(declared, SET_AT.date() + timedelta(days=1), reader=fake)


def _found(report: dict[str, Any], kind: str, entry: str, principal: str = "") -> dict[str, Any]:
    matches = [
        f
        for f in report["findings"]
        if (f["kind"], f["entry"], f["principal"]) == (kind, entry, principal)
    ]
    assert matches, f"no {kind} finding for {entry} {principal}:\n{audit.render(report)}"
    return matches[0]


def _role_arn(declared: Declared, name: str) -> str:
    (role,) = [r for r in declared.of_type("aws:iam/role:Role") if r.inputs["name"] == name]
    return str(role.outputs["arn"])


def _trust(fake: FakeAws, role: str) -> dict[str, Any]:
    return copy.deepcopy(fake.roles_by_name[role].trust)


def test_the_plan_as_deployed_audits_clean_with_its_trust_judged(dev_declared: Declared) -> None:
    fake = FakeAws.from_plan(dev_declared)
    report = _audit(dev_declared, fake)
    assert report["findings"] == [], audit.render(report)
    view = audit_live.aws_view(dev_declared, fake)
    assert view.doors is not None and view.planned_doors is not None, "trust drift is not judged"
    roles = {r.outputs["arn"] for r in dev_declared.of_type("aws:iam/role:Role")}
    assert {d.identity for d in view.planned_doors} == roles
    assert view.doors == view.planned_doors


def test_an_oidc_sub_widened_to_every_service_account_is_a_high_trust_finding(
    dev_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(dev_declared)
    role = "platform-secrets-dev-backend"
    trust = _trust(fake, role)
    condition = trust["Statement"][0]["Condition"]
    sub = next(k for k in condition["StringEquals"] if k.endswith(":sub"))
    condition["StringLike"] = {sub: "system:serviceaccount:*"}
    del condition["StringEquals"][sub]
    fake.set_trust(role, trust)
    arn = _role_arn(dev_declared, role)
    finding = _found(_audit(dev_declared, fake), "trust-widened", arn, arn)
    assert finding["severity"] == "high"
    assert "system:serviceaccount:*" in finding["detail"], finding


def test_a_trust_statement_added_for_a_foreign_oidc_provider_is_a_high_trust_finding(
    dev_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(dev_declared)
    role = "platform-secrets-dev-media"
    trust = _trust(fake, role)
    provider = f"arn:aws:iam::{fake.account_id}:oidc-provider/token.actions.githubusercontent.com"
    trust["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:attacker/*"}
            },
        }
    )
    fake.set_trust(role, trust)
    report = _audit(dev_declared, fake)
    arn = _role_arn(dev_declared, role)
    finding = _found(report, "trust-widened", arn, arn)
    assert finding["severity"] == "high" and "repo:attacker/*" in finding["detail"], finding
    assert audit.exit_code(report) == 1
    # The planned statement is still there: nothing is reported as narrowed.
    assert not [f for f in report["findings"] if f["kind"] == "trust-narrowed"]


def test_a_role_re_created_with_another_trust_is_a_high_trust_finding(
    dev_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(dev_declared)
    role = "platform-secrets-dev-linear-integration"
    intruder = f"arn:aws:iam::{fake.account_id}:role/contractor"
    old = fake.roles_by_name.pop(role)
    fake.add_role(
        role,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": intruder}, "Action": "sts:AssumeRole"}
            ],
        },
        *old.policies,
    )
    report = _audit(dev_declared, fake)
    finding = _found(report, "trust-widened", old.arn, old.arn)
    assert finding["severity"] == "high" and intruder in finding["detail"], finding
    assert _found(report, "trust-narrowed", old.arn, old.arn)["severity"] == "medium"


def test_an_entry_moved_to_another_customer_managed_key_is_a_high_protection_finding_in_prod(
    prod_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(prod_declared)
    entry = "platform-secrets/prod/backend/OTP_PEPPER"
    other = fake.key_arn(fake.region, str(uuid.uuid4()))
    fake.set_key(entry, other)
    finding = _found(_audit(prod_declared, fake), "protection", entry)
    assert finding["severity"] == "high"
    assert other in finding["detail"], finding
    assert "alias/platform-secrets-prod-secrets" in finding["detail"], finding


def test_the_prod_plan_as_deployed_audits_clean_in_both_regions(prod_declared: Declared) -> None:
    """The control for the keys: each region's alias targets the live key, replicas included."""
    fake = FakeAws.from_plan(prod_declared)
    assert len(fake.aliases) == 2, fake.aliases
    report = _audit(prod_declared, fake)
    assert report["findings"] == [], audit.render(report)


def test_a_replica_moved_to_another_key_is_a_high_protection_finding_in_prod(
    prod_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(prod_declared)
    entry = "platform-secrets/prod/media/S3_ACCESS_KEY_ID"
    (region,) = fake.secrets_by_name[entry].replicas
    other = fake.key_arn(region, str(uuid.uuid4()))
    secret = fake.secrets_by_name[entry]
    fake.secrets_by_name[entry] = dataclasses.replace(secret, replica_keys={region: other})
    finding = _found(_audit(prod_declared, fake), "protection", entry)
    assert finding["severity"] == "high"
    assert f"replica in {region}" in finding["detail"] and other in finding["detail"], finding
    fake.secrets_by_name[entry] = dataclasses.replace(secret, replica_keys={region: None})
    finding = _found(_audit(prod_declared, fake), "protection", entry)
    assert f"replica in {region} shows no customer-managed key" in finding["detail"], finding


def test_an_undeclared_role_under_the_prefix_holding_a_read_grant_is_a_latent_reader(
    dev_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(dev_declared)
    entry = "platform-secrets/dev/backend/OTP_PEPPER"
    arn = fake.add_role(
        "platform-secrets-dev-reporting",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{fake.account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": READ, "Resource": fake.secrets_by_name[entry].arn}
            ],
        },
    )
    report = _audit(dev_declared, fake)
    finding = _found(report, "latent-reader", entry, arn)
    assert finding["severity"] == "high", finding
    assert finding["runbook"] == "runbooks/audit-findings.md#latent-reader"
    # Today the entry's resource policy denies it: not a reader yet.
    assert not [f for f in report["findings"] if f["kind"] == "extra-reader"], audit.render(report)


def test_a_grant_on_the_whole_prefix_makes_a_latent_reader_of_every_entry(
    dev_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(dev_declared)
    arn = fake.add_role(
        "platform-secrets-dev-batch",
        {"Version": "2012-10-17", "Statement": []},
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:*",
                    "Resource": "arn:aws:secretsmanager:*:*:secret:platform-secrets/dev/*",
                }
            ],
        },
    )
    report = _audit(dev_declared, fake)
    latent = {f["entry"] for f in report["findings"] if f["kind"] == "latent-reader"}
    assert latent == set(dev_declared.entries), audit.render(report)
    assert {f["principal"] for f in report["findings"] if f["kind"] == "latent-reader"} == {arn}


def test_a_role_under_the_prefix_without_a_read_grant_is_no_latent_reader(
    dev_declared: Declared,
) -> None:
    """The controls: no grant, or a grant its own policy denies, makes no reader in waiting."""
    fake = FakeAws.from_plan(dev_declared)
    entry = fake.secrets_by_name["platform-secrets/dev/backend/OTP_PEPPER"].arn
    empty = {"Version": "2012-10-17", "Statement": []}
    fake.add_role(
        "platform-secrets-dev-metrics",
        empty,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}
            ],
        },
    )
    fake.add_role(
        "platform-secrets-dev-denied",
        empty,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
                {"Effect": "Deny", "Action": READ, "Resource": "*"},
            ],
        },
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": READ, "Resource": entry}],
        },
    )
    report = _audit(dev_declared, fake)
    assert report["findings"] == [], audit.render(report)


def test_a_declared_role_granted_another_services_entry_is_a_latent_reader(
    dev_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(dev_declared)
    entry = "platform-secrets/dev/events-service/EVENTS_SECRET_KEY"
    role = fake.roles_by_name["platform-secrets-dev-media"]
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": READ, "Resource": fake.secrets_by_name[entry].arn}
        ],
    }
    fake.roles_by_name[role.name] = dataclasses.replace(role, policies=(*role.policies, grant))
    report = _audit(dev_declared, fake)
    assert _found(report, "latent-reader", entry, role.arn)["severity"] == "high"
    # Its own entries are declared: no latent finding for them.
    assert {f["entry"] for f in report["findings"] if f["kind"] == "latent-reader"} == {entry}


def test_a_resource_policy_replaced_by_a_permissive_one_is_a_high_protection_finding_in_prod(
    prod_declared: Declared,
) -> None:
    fake = FakeAws.from_plan(prod_declared)
    entry = "platform-secrets/prod/agent9-search/TYPESENSE_API_KEY"
    fake.set_policy(
        entry,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyReadersAndAdmins",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{fake.account_id}:root"},
                    "Action": "secretsmanager:*",
                    "Resource": "*",
                }
            ],
        },
    )
    report = _audit(prod_declared, fake)
    problems = [f for f in report["findings"] if (f["kind"], f["entry"]) == ("protection", entry)]
    assert problems and all(f["severity"] == "high" for f in problems), audit.render(report)
    detail = " ".join(f["detail"] for f in problems)
    assert "resource policy" in detail and "ReadersOnlyRead" in detail, detail
    assert "Effect" in detail, detail


def test_a_resource_policy_that_lets_readers_write_is_a_protection_finding(
    prod_declared: Declared,
) -> None:
    """The reader-only-reads deny removed: no reader changes, so only the exact comparison sees it."""
    fake = FakeAws.from_plan(prod_declared)
    entry = "platform-secrets/prod/backend/OTP_PEPPER"
    policy = copy.deepcopy(fake.secrets_by_name[entry].policy)
    assert policy is not None
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "ReadersOnlyRead"]
    fake.set_policy(entry, policy)
    report = _audit(prod_declared, fake)
    finding = _found(report, "protection", entry)
    assert finding["severity"] == "high" and "ReadersOnlyRead" in finding["detail"], finding
    assert not [f for f in report["findings"] if f["kind"] == "extra-reader"], audit.render(report)


def test_the_runbook_has_a_section_for_the_latent_reader_kind() -> None:
    text = (offline.ROOT / "runbooks" / "audit-findings.md").read_text()
    assert "\n## latent-reader\n" in text
    assert "[latent-reader](#latent-reader)" in text


def test_the_audit_roles_documented_permissions_are_exactly_what_the_reader_calls() -> None:
    """docs/ci.md's list is what an operator grants: one action more is a wider audit role, one less a
    failing audit."""
    doc = (offline.ROOT / "docs" / "ci.md").read_text()
    bullet = doc[doc.index("- **Audit role**") :]
    end = re.search(r"exactly what\s+`platform_secrets/live/readers/aws.py`", bullet)
    assert end is not None, "docs/ci.md: the audit role's list no longer says what it is"
    listed = bullet[bullet.index(" Allow ") : end.start()]
    actions, service = set(), ""
    for name in re.findall(r"`([A-Za-z0-9:]+)`", listed):
        if ":" in name:
            service, name = name.split(":", 1)
        actions.add(f"{service}:{name}")
    wanted = {f"{s}:{op}" for s, ops in ALLOWED.items() for op in ops} - {"sts:GetCallerIdentity"}
    assert actions == wanted, (sorted(actions - wanted), sorted(wanted - actions))
