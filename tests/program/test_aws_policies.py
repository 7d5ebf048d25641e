"""Tier 1: the IAM documents (``platform_secrets/program/clouds/aws_policies.py``) let exactly the intended principals in.

Each rule is judged by evaluating the document the way IAM does (explicit deny wins, then an allow is needed),
with a small evaluator that knows only the grammar these documents may use and refuses anything else: a
misspelt key, effect or condition operator is an error, never a silently ignored statement.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from platform_secrets.program.clouds import aws_policies as p

ACCOUNT = "111122223333"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
PROVIDER = p.oidc_provider_arn(ACCOUNT, ISSUER)
READER = p.role_arn(ACCOUNT, "p-prod-backend")
OTHER = p.role_arn(ACCOUNT, "p-prod-worker")
ADMIN = p.role_arn(ACCOUNT, "platform-admin")
AUDIT = p.role_arn(ACCOUNT, "platform-audit")
SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:p/prod/backend/DATABASE_URL-abc"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "Condition"}
OPERATORS = {"StringEquals", "StringNotEquals"}


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _principal_matches(principal: dict[str, Any] | None, caller: str) -> bool:
    if principal is None:  # an identity policy: it applies to the role that holds it
        return True
    (kind, names), *more = principal.items()
    assert not more and kind in {"AWS", "Federated"}, principal
    for name in _listed(names):
        if name == "*" or name == caller:
            return True
        if name.endswith(":root") and name.split(":")[4] == caller.split(":")[4]:
            return True
    return False


def _condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        assert operator in OPERATORS, f"unknown condition operator {operator!r}"
        for key, expected in tests.items():
            found = context.get(key) in _listed(expected)
            if found != (operator == "StringEquals"):
                return False
    return True


def _applies(
    statement: dict[str, Any], caller: str, action: str, resource: str, context: dict[str, str]
) -> bool:
    assert set(statement) <= STATEMENT_KEYS, statement
    assert ("Action" in statement) != ("NotAction" in statement), statement
    if not _principal_matches(statement.get("Principal"), caller):
        return False
    if "Action" in statement:
        if not any(fnmatch.fnmatchcase(action, a) for a in _listed(statement["Action"])):
            return False
    elif any(fnmatch.fnmatchcase(action, a) for a in _listed(statement["NotAction"])):
        return False
    # a trust policy has no Resource: it is about the role it is attached to
    if not any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement.get("Resource", "*"))):
        return False
    return _condition_holds(statement.get("Condition", {}), {"aws:PrincipalArn": caller, **context})


def _effects(
    doc: dict[str, Any], caller: str, action: str, resource: str, context: dict[str, str]
) -> set[str]:
    assert set(doc) == {"Version", "Statement"} and doc["Version"] == "2012-10-17", doc
    found = set()
    for statement in doc["Statement"]:
        assert statement["Effect"] in {"Allow", "Deny"}, statement
        if _applies(statement, caller, action, resource, context):
            found.add(statement["Effect"])
    return found


def allowed(
    doc: dict[str, Any], caller: str, action: str, resource: str = "*", **context: str
) -> bool:
    """IAM's answer for one document: an explicit deny wins, else an allow is needed."""
    effects = _effects(
        doc, caller, action, resource, {k.replace("_", ":", 1): v for k, v in context.items()}
    )
    return "Allow" in effects and "Deny" not in effects


def denied(doc: dict[str, Any], caller: str, action: str, resource: str = "*") -> bool:
    """Whether a resource policy's explicit deny stops the call (its identity policy decides the rest)."""
    return "Deny" in _effects(doc, caller, action, resource, {})


def _web_identity(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    return {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": aud}


# --- ARNs ---


def test_a_role_arn_is_the_iam_arn_of_the_account_and_the_name() -> None:
    assert p.role_arn(ACCOUNT, "r") == f"arn:aws:iam::{ACCOUNT}:role/r"
    assert p.oidc_provider_arn(ACCOUNT, "i") == f"arn:aws:iam::{ACCOUNT}:oidc-provider/i"


# --- trust policies ---


def _assume_web_identity(doc: dict[str, Any], sub: str, aud: str = "sts.amazonaws.com") -> bool:
    effects = _effects(doc, PROVIDER, "sts:AssumeRoleWithWebIdentity", "*", _web_identity(sub, aud))
    return effects == {"Allow"}


def test_only_the_named_service_account_of_the_cluster_assumes_an_irsa_role() -> None:
    doc = p.irsa_trust_policy(PROVIDER, ISSUER, "backend", "backend")
    assert _assume_web_identity(doc, "system:serviceaccount:backend:backend")
    assert not _assume_web_identity(doc, "system:serviceaccount:backend:other")
    assert not _assume_web_identity(doc, "system:serviceaccount:worker:backend")
    assert not _assume_web_identity(doc, "system:serviceaccount:backend:backend", aud="other")
    assert not _effects(doc, OTHER, "sts:AssumeRoleWithWebIdentity", "*", _web_identity("x"))
    assert not _effects(
        doc, PROVIDER, "sts:AssumeRole", "*", _web_identity("system:serviceaccount:backend:backend")
    )


def test_a_principal_trust_lets_exactly_the_named_principals_assume_the_role() -> None:
    doc = p.principal_trust_policy([OTHER, ADMIN])
    assert allowed(doc, ADMIN, "sts:AssumeRole") and allowed(doc, OTHER, "sts:AssumeRole")
    assert not allowed(doc, READER, "sts:AssumeRole")
    assert not allowed(doc, ADMIN, "sts:AssumeRoleWithWebIdentity")


def test_a_principal_trust_does_not_depend_on_the_order_of_its_principals() -> None:
    assert p.principal_trust_policy([OTHER, ADMIN]) == p.principal_trust_policy([ADMIN, OTHER])


# --- a reader's identity policy ---


def test_a_reader_reads_and_describes_exactly_its_entries() -> None:
    other_secret = SECRET.replace("backend", "worker")
    doc = p.read_secrets_policy([SECRET], [KEY], ["eu-west-1"])
    assert allowed(doc, READER, "secretsmanager:GetSecretValue", SECRET)
    assert allowed(doc, READER, "secretsmanager:DescribeSecret", SECRET)
    assert not allowed(doc, READER, "secretsmanager:GetSecretValue", other_secret)
    for action in (
        "secretsmanager:PutSecretValue",
        "secretsmanager:ListSecrets",
        "secretsmanager:DeleteSecret",
    ):
        assert not allowed(doc, READER, action, SECRET)


def test_a_reader_decrypts_with_the_key_only_through_secrets_manager_in_its_regions() -> None:
    doc = p.read_secrets_policy([SECRET], [KEY], ["eu-west-1", "eu-central-1"])
    for region in ("eu-west-1", "eu-central-1"):
        via = f"secretsmanager.{region}.amazonaws.com"
        assert allowed(doc, READER, "kms:Decrypt", KEY, kms_ViaService=via)
    assert not allowed(doc, READER, "kms:Decrypt", KEY)
    assert not allowed(doc, READER, "kms:Decrypt", KEY, kms_ViaService="s3.eu-west-1.amazonaws.com")
    assert not allowed(
        doc, READER, "kms:Decrypt", KEY, kms_ViaService="secretsmanager.us-east-1.amazonaws.com"
    )
    assert not allowed(
        doc,
        READER,
        "kms:Decrypt",
        KEY + "9",
        kms_ViaService="secretsmanager.eu-west-1.amazonaws.com",
    )
    assert not allowed(
        doc, READER, "kms:Encrypt", KEY, kms_ViaService="secretsmanager.eu-west-1.amazonaws.com"
    )


def test_a_read_policy_does_not_depend_on_the_order_of_its_inputs() -> None:
    one = p.read_secrets_policy([SECRET, "b", "a"], [KEY, "k"], ["eu-west-1", "eu-central-1"])
    two = p.read_secrets_policy(["a", "b", SECRET], ["k", KEY], ["eu-central-1", "eu-west-1"])
    assert one == two


# --- an entry's resource policy ---


def test_an_entry_denies_every_action_to_a_principal_that_is_neither_reader_nor_admin() -> None:
    doc = p.entry_resource_policy([READER], [ADMIN])
    for action in (
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:TagResource",
    ):
        assert denied(doc, OTHER, action)


def test_an_entry_lets_its_readers_only_read() -> None:
    doc = p.entry_resource_policy([READER], [ADMIN])
    assert not denied(doc, READER, "secretsmanager:GetSecretValue")
    assert not denied(doc, READER, "secretsmanager:DescribeSecret")
    for action in (
        "secretsmanager:PutSecretValue",
        "secretsmanager:ReplicateSecretToRegions",
        "secretsmanager:PutResourcePolicy",
    ):
        assert denied(doc, READER, action)


def test_an_entry_does_not_deny_its_admin_roles_anything() -> None:
    doc = p.entry_resource_policy([READER], [ADMIN, OTHER])
    for caller in (ADMIN, OTHER):
        for action in (
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:DeleteSecret",
        ):
            assert not denied(doc, caller, action)


def test_an_audit_role_reads_an_entrys_metadata_and_never_its_value() -> None:
    doc = p.entry_resource_policy([READER], [ADMIN], [AUDIT, AUDIT])
    for action in p.AUDIT_ACTIONS:
        assert not denied(doc, AUDIT, action)
    for action in ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"):
        assert denied(doc, AUDIT, action)
    assert not denied(doc, READER, "secretsmanager:GetSecretValue")
    assert not denied(doc, ADMIN, "secretsmanager:PutSecretValue")


def test_without_audit_roles_an_entry_has_no_audit_statement() -> None:
    assert len(p.entry_resource_policy([READER], [ADMIN])["Statement"]) == 2
    assert len(p.entry_resource_policy([READER], [ADMIN], [])["Statement"]) == 2
    assert len(p.entry_resource_policy([READER], [ADMIN], [AUDIT])["Statement"]) == 3


def test_an_entry_policy_does_not_depend_on_the_order_of_its_principals() -> None:
    one = p.entry_resource_policy([READER, OTHER], [ADMIN, "x"], [AUDIT, "y"])
    two = p.entry_resource_policy([OTHER, READER], ["x", ADMIN], ["y", AUDIT])
    assert one == two


# --- the environment key's policy ---


def test_the_admin_roles_administer_the_key_and_never_decrypt_with_it_directly() -> None:
    doc = p.key_policy(ACCOUNT, [ADMIN, ADMIN], ["eu-west-1"])
    for action in p.KEY_ADMIN_ACTIONS:
        assert allowed(doc, ADMIN, action)
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"):
        assert not allowed(doc, ADMIN, action)


def test_key_administration_holds_no_action_that_uses_the_key() -> None:
    uses = {
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
    }
    assert not uses & set(p.KEY_ADMIN_ACTIONS)


@pytest.mark.parametrize("action", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"])
def test_the_account_uses_the_key_only_through_secrets_manager_in_the_stacks_regions(
    action: str,
) -> None:
    doc = p.key_policy(ACCOUNT, [ADMIN], ["eu-west-1", "eu-central-1"])
    via = "secretsmanager.eu-central-1.amazonaws.com"
    assert allowed(doc, READER, action, kms_ViaService=via, kms_CallerAccount=ACCOUNT)
    assert not allowed(doc, READER, action, kms_CallerAccount=ACCOUNT)
    assert not allowed(
        doc, READER, action, kms_ViaService="s3.eu-west-1.amazonaws.com", kms_CallerAccount=ACCOUNT
    )
    assert not allowed(
        doc,
        READER,
        action,
        kms_ViaService="secretsmanager.us-east-1.amazonaws.com",
        kms_CallerAccount=ACCOUNT,
    )
    assert not allowed(doc, READER, action, kms_ViaService=via, kms_CallerAccount="444455556666")
    assert not allowed(
        doc,
        "arn:aws:iam::444455556666:role/x",
        action,
        kms_ViaService=via,
        kms_CallerAccount=ACCOUNT,
    )


def test_the_account_does_not_administer_the_key() -> None:
    doc = p.key_policy(ACCOUNT, [ADMIN], ["eu-west-1"])
    via = "secretsmanager.eu-west-1.amazonaws.com"
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey"):
        assert not allowed(doc, READER, action, kms_ViaService=via, kms_CallerAccount=ACCOUNT)


def test_a_key_policy_does_not_depend_on_the_order_of_its_inputs() -> None:
    one = p.key_policy(ACCOUNT, [ADMIN, OTHER], ["eu-west-1", "eu-central-1"])
    assert one == p.key_policy(ACCOUNT, [OTHER, ADMIN], ["eu-central-1", "eu-west-1"])
