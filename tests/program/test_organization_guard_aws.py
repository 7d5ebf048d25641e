"""The organisation-level guard the plan emits for AWS: an SCP the operator attaches to the stack's account.

Whoever may rewrite a reader role's trust (or re-create the role under the same name, or register an OIDC
provider) becomes a reader; the program cannot stop an IAM administrator of the account, an organisation policy
can. The plan writes it as ``iam/organization.scp.json`` and the program exports it (``store``
``organization_guard_scp``) so that ``pulumi up`` users get it too.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.program.clouds.aws_policies import organization_guard_scp

ROLE_WRITES = {
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
}
PROVIDER_WRITES = {
    "iam:CreateOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
}


def _aws_settings(stack: str) -> dict[str, Any]:
    return json.loads(offline.load_config(stack)[1]["platform-secrets:aws"])


def _denied(scp: dict[str, Any], action: str, resource: str, principal: str) -> bool:
    """Whether the SCP's Deny applies (only the operators it uses: ArnNotLike on aws:PrincipalArn)."""
    for st in scp["Statement"]:
        if st["Effect"] != "Deny":
            continue
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if action not in actions or not any(fnmatch.fnmatchcase(resource, r) for r in resources):
            continue
        (operator,) = st["Condition"]
        assert operator == "ArnNotLike", "this test evaluates ArnNotLike only"
        patterns = st["Condition"][operator]["aws:PrincipalArn"]
        if not any(fnmatch.fnmatchcase(principal, p) for p in patterns):
            return True
    return False


@pytest.fixture(scope="module")
def prod_scp(aws_prod_plan_dir: Path) -> dict[str, Any]:
    path = aws_prod_plan_dir / "iam" / "organization.scp.json"
    assert path.is_file(), "the plan writes no organisation guard"
    return json.loads(path.read_text())


def test_the_plan_and_the_program_emit_the_same_guard(prod_scp, prod_run: RunResult) -> None:
    assert prod_run.outputs["store"]["organization_guard_scp"] == prod_scp


def test_an_identity_admin_cannot_rewrite_or_recreate_a_reader_role(prod_scp) -> None:
    account = _aws_settings("prod")["accountId"]
    admin = (
        f"arn:aws:iam::{account}:role/iam-admin"  # AdministratorAccess, not an admin role of ours
    )
    role = f"arn:aws:iam::{account}:role/platform-secrets-prod-backend"
    allowed = sorted(a for a in ROLE_WRITES if not _denied(prod_scp, a, role, admin))
    assert allowed == []
    provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    assert sorted(a for a in PROVIDER_WRITES if not _denied(prod_scp, a, provider, admin)) == []


def test_the_stacks_admin_roles_keep_deploying(prod_scp) -> None:
    aws = _aws_settings("prod")
    role = f"arn:aws:iam::{aws['accountId']}:role/platform-secrets-prod-backend"
    for admin in aws["adminRoleArns"]:
        denied = sorted(
            a for a in ROLE_WRITES | PROVIDER_WRITES if _denied(prod_scp, a, role, admin)
        )
        assert denied == [], admin


def test_roles_outside_the_stacks_prefix_are_not_the_guards_business(prod_scp) -> None:
    account = _aws_settings("prod")["accountId"]
    other = f"arn:aws:iam::{account}:role/platform-secrets-dev-backend"  # another environment
    assert not _denied(
        prod_scp, "iam:UpdateAssumeRolePolicy", other, f"arn:aws:iam::{account}:role/x"
    )


def test_the_guard_names_exactly_the_admin_roles_and_the_role_prefix() -> None:
    admins = ["arn:aws:iam::111122223333:role/deploy", "arn:aws:iam::111122223333:role/break-glass"]
    scp = organization_guard_scp("111122223333", "acme", "prod", admins)
    roles, providers, policies = scp["Statement"]
    assert roles["Resource"] == ["arn:aws:iam::111122223333:role/acme-prod-*"]
    assert set(roles["Action"]) == ROLE_WRITES
    assert set(providers["Action"]) == PROVIDER_WRITES
    assert policies["Resource"] == ["arn:aws:iam::111122223333:policy/acme-prod-*"]
    for statement in scp["Statement"]:
        assert statement["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": sorted(admins)}}
        assert "Principal" not in statement  # SCPs name no principal


def test_the_guard_passes_parliament(prod_scp) -> None:
    findings = analyze_policy_string(json.dumps(prod_scp)).findings
    assert not findings, [(f.issue, f.detail) for f in findings]


def test_parliament_flags_a_misspelt_guard_action(prod_scp) -> None:
    """The lint above can fail: a misspelt action in the same document is reported."""
    doc = json.loads(json.dumps(prod_scp))
    doc["Statement"][0]["Action"] = ["iam:UpdateAssumeRolePolicyy"]
    assert analyze_policy_string(json.dumps(doc)).findings
