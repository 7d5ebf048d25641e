"""Tier 1: the guards of ``platform_secrets/program/clouds/aws_policies.py`` judged by evaluating them.

The entry's last statement (``WorkloadReadersOnlyThroughTheCluster``) with the strict mini IAM evaluator of
``tests/program/test_aws_policies.py``; the organisation guard (an SCP) with a strict evaluator of its own
grammar (``Deny`` statements, ``Action`` and ``Resource`` lists, ``ArnNotLike`` on ``aws:PrincipalArn``).
"""

from __future__ import annotations

import fnmatch
from typing import Any

from platform_secrets.program.clouds import aws_policies as p
from tests.program.test_aws_policies import ACCOUNT, ADMIN, AUDIT, OTHER, PROVIDER, READER, _effects

FOREIGN_PROVIDER = p.oidc_provider_arn(ACCOUNT, "token.actions.githubusercontent.com")
TOOLING = p.role_arn(ACCOUNT, "p-prod-tools")
READS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def _denied_in_session(doc: dict[str, Any], caller: str, action: str, **session: str) -> bool:
    """Whether the entry's explicit deny stops ``caller``'s session (``aws:FederatedProvider`` if any)."""
    context = {k.replace("_", ":", 1): v for k, v in session.items()}
    return "Deny" in _effects(doc, caller, action, "*", context)


def _entry(**extra: Any) -> dict[str, Any]:
    return p.entry_resource_policy([READER, TOOLING], [ADMIN], [AUDIT], **extra)


# --- an entry's workload readers come in through the cluster only ---


def test_a_workload_reader_federated_through_the_cluster_reads_its_entry() -> None:
    doc = _entry(workload_reader_arns=[READER], cluster_provider_arn=PROVIDER)
    for action in READS:
        assert not _denied_in_session(doc, READER, action, aws_FederatedProvider=PROVIDER)


def test_a_workload_reader_assumed_without_the_clusters_provider_is_denied_everything() -> None:
    """A trust widened to a role, the account root or a foreign OIDC issuer does not read the entry."""
    doc = _entry(workload_reader_arns=[READER], cluster_provider_arn=PROVIDER)
    for action in (*READS, "secretsmanager:PutSecretValue", "secretsmanager:TagResource"):
        assert _denied_in_session(doc, READER, action)  # sts:AssumeRole: no federated provider
        assert _denied_in_session(doc, READER, action, aws_FederatedProvider=FOREIGN_PROVIDER)


def test_readers_that_are_not_workloads_are_not_bound_to_the_cluster() -> None:
    doc = _entry(workload_reader_arns=[READER], cluster_provider_arn=PROVIDER)
    for action in READS:
        assert not _denied_in_session(doc, TOOLING, action)
    assert not _denied_in_session(doc, ADMIN, "secretsmanager:PutSecretValue")
    assert not _denied_in_session(doc, AUDIT, "secretsmanager:DescribeSecret")
    assert _denied_in_session(doc, OTHER, "secretsmanager:GetSecretValue")


def test_every_workload_reader_named_is_bound_to_the_cluster() -> None:
    doc = _entry(workload_reader_arns=[TOOLING, READER, READER], cluster_provider_arn=PROVIDER)
    for caller in (READER, TOOLING):
        assert _denied_in_session(doc, caller, "secretsmanager:GetSecretValue")
        assert not _denied_in_session(
            doc, caller, "secretsmanager:GetSecretValue", aws_FederatedProvider=PROVIDER
        )


def test_the_cluster_binding_is_one_statement_only_with_workloads_and_a_provider() -> None:
    assert len(_entry()["Statement"]) == 3
    assert len(_entry(workload_reader_arns=[READER])["Statement"]) == 3
    assert len(_entry(cluster_provider_arn=PROVIDER)["Statement"]) == 3
    assert len(_entry(workload_reader_arns=[], cluster_provider_arn=PROVIDER)["Statement"]) == 3
    assert len(_entry(workload_reader_arns=[READER], cluster_provider_arn="")["Statement"]) == 3
    doc = _entry(workload_reader_arns=[READER], cluster_provider_arn=PROVIDER)
    assert len(doc["Statement"]) == 4


def test_the_cluster_binding_does_not_depend_on_the_order_of_its_workloads() -> None:
    one = _entry(workload_reader_arns=[READER, TOOLING, READER], cluster_provider_arn=PROVIDER)
    two = _entry(workload_reader_arns=[TOOLING, READER], cluster_provider_arn=PROVIDER)
    assert one == two


# --- the organisation guard (SCP) ---

SCP_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
PREFIX_ROLE = p.role_arn(ACCOUNT, "p-prod-backend")
DEPLOY = p.role_arn(ACCOUNT, "deploy")
BREAK_GLASS = p.role_arn(ACCOUNT, "break-glass")
IAM_ADMIN = p.role_arn(
    ACCOUNT, "iam-admin"
)  # AdministratorAccess, not one of the stack's admin roles


def scp_denies(scp: dict[str, Any], action: str, resource: str, caller: str) -> bool:
    """Whether the SCP's Deny stops the call; anything outside the guard's grammar is an error."""
    assert set(scp) == {"Version", "Statement"} and scp["Version"] == "2012-10-17", scp
    for st in scp["Statement"]:
        assert set(st) == SCP_KEYS and st["Effect"] == "Deny", st
        assert isinstance(st["Action"], list) and isinstance(st["Resource"], list), st
        if action not in st["Action"]:
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in st["Resource"]):
            continue
        (operator, tests), *more = st["Condition"].items()
        assert not more and operator == "ArnNotLike", st["Condition"]
        (key, patterns), *more = tests.items()
        assert not more and key == "aws:PrincipalArn" and isinstance(patterns, list), tests
        if not any(fnmatch.fnmatchcase(caller, pattern) for pattern in patterns):
            return True
    return False


def _scp() -> dict[str, Any]:
    return p.organization_guard_scp(ACCOUNT, "p", "prod", [DEPLOY, BREAK_GLASS, DEPLOY])


def test_an_identity_admin_cannot_change_a_role_under_the_stacks_prefix() -> None:
    scp = _scp()
    for action in p.GUARDED_ROLE_ACTIONS:
        assert scp_denies(scp, action, PREFIX_ROLE, IAM_ADMIN), action


def test_an_identity_admin_cannot_register_or_repoint_an_oidc_provider() -> None:
    provider = p.oidc_provider_arn(ACCOUNT, "token.actions.githubusercontent.com")
    for action in p.GUARDED_PROVIDER_ACTIONS:
        assert scp_denies(_scp(), action, provider, IAM_ADMIN), action


def test_an_identity_admin_cannot_rewrite_a_policy_under_the_stacks_prefix() -> None:
    policy = f"arn:aws:iam::{ACCOUNT}:policy/p-prod-backend-read"
    for action in p.GUARDED_POLICY_ACTIONS:
        assert scp_denies(_scp(), action, policy, IAM_ADMIN), action


def test_the_stacks_admin_roles_are_not_stopped_by_the_guard() -> None:
    scp = _scp()
    provider = p.oidc_provider_arn(ACCOUNT, "x")
    policy = f"arn:aws:iam::{ACCOUNT}:policy/p-prod-x"
    for admin in (DEPLOY, BREAK_GLASS):
        for action in p.GUARDED_ROLE_ACTIONS:
            assert not scp_denies(scp, action, PREFIX_ROLE, admin)
        for action in p.GUARDED_PROVIDER_ACTIONS:
            assert not scp_denies(scp, action, provider, admin)
        for action in p.GUARDED_POLICY_ACTIONS:
            assert not scp_denies(scp, action, policy, admin)


def test_the_guard_leaves_other_environments_prefixes_and_accounts_alone() -> None:
    scp = _scp()
    for role in (
        p.role_arn(ACCOUNT, "p-dev-backend"),
        p.role_arn(ACCOUNT, "q-prod-backend"),
        p.role_arn(ACCOUNT, "p-prodx-backend"),
        p.role_arn("444455556666", "p-prod-backend"),
    ):
        assert not scp_denies(scp, "iam:UpdateAssumeRolePolicy", role, IAM_ADMIN), role
    for policy in ("p-dev-x", "q-prod-x"):
        resource = f"arn:aws:iam::{ACCOUNT}:policy/{policy}"
        assert not scp_denies(scp, "iam:CreatePolicyVersion", resource, IAM_ADMIN), policy
    foreign = p.oidc_provider_arn("444455556666", "x")
    assert not scp_denies(scp, "iam:CreateOpenIDConnectProvider", foreign, IAM_ADMIN)


def test_the_guard_denies_each_kind_of_write_on_its_own_kind_of_resource_only() -> None:
    scp = _scp()
    provider = p.oidc_provider_arn(ACCOUNT, "x")
    assert not scp_denies(scp, "iam:UpdateAssumeRolePolicy", provider, IAM_ADMIN)
    assert not scp_denies(scp, "iam:CreateOpenIDConnectProvider", PREFIX_ROLE, IAM_ADMIN)
    assert not scp_denies(scp, "iam:ListRoles", PREFIX_ROLE, IAM_ADMIN)


def test_the_guard_does_not_depend_on_the_order_of_the_admin_roles() -> None:
    one = p.organization_guard_scp(ACCOUNT, "p", "prod", [DEPLOY, BREAK_GLASS])
    assert one == p.organization_guard_scp(ACCOUNT, "p", "prod", [BREAK_GLASS, DEPLOY, DEPLOY])
