"""Attack: the read-only audit role on AWS, exempt from the entries' deny for metadata only (issue 13).

The entries' resource policies deny ``secretsmanager:*`` to all but readers and admins; the weekly audit
(``tools/audit_stores/aws.py``) must still describe every entry and read its policy and versions, and must
never read a value, even if its own IAM policy allows ``secretsmanager:*``. Live proof on ministack:
``tests/test_least_privilege_aws.py::test_audit_role_*``.
"""

from __future__ import annotations

import json

import pytest

from components.clouds import aws_policies
from tools import access, offline
from tools.audit_stores.aws import ALLOWED

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
