"""Tier 1: the operator's Vault guard (``vault_policies.guard_policy``) denies every way into the readers.

The HCL is parsed as Vault reads it, and a path is judged with Vault's ACL matching (an exact path, or a
trailing ``*`` as a prefix glob): whoever holds the guard may not write a reader's role, an auth mount's
config or tuning, a reader's policy or an identity group or entity, and keeps everything else.
"""

from __future__ import annotations

import hcl

from platform_secrets.program.clouds.vault_policies import guard_policy

AUTHS = ["kubernetes", "jwt-ci"]
PREFIX = "p-prod-"


def _grants(text: str) -> dict[str, list[str]]:
    paths = hcl.loads(text)["path"]
    assert isinstance(paths, dict), "each path appears in one block only"
    return {path: body["capabilities"] for path, body in paths.items()}


def denies(text: str, request: str) -> bool:
    """Whether a ``deny`` block of the policy matches ``request`` as Vault's ACL does."""
    for path, capabilities in _grants(text).items():
        assert set(capabilities) <= {"deny"}, capabilities
        matches = request.startswith(path[:-1]) if path.endswith("*") else request == path
        if matches and "deny" in capabilities:
            return True
    return False


def test_the_guard_denies_writing_a_readers_role_or_an_auth_mounts_config() -> None:
    text = guard_policy(AUTHS, PREFIX)
    for auth in AUTHS:
        for request in (
            f"auth/{auth}/role/p-prod-backend",
            f"auth/{auth}/config",
            f"sys/auth/{auth}",
            f"sys/auth/{auth}/tune",
        ):
            assert denies(text, request), request


def test_the_guard_denies_rewriting_a_readers_policy_either_way() -> None:
    text = guard_policy(AUTHS, PREFIX)
    assert denies(text, "sys/policies/acl/p-prod-backend")
    assert denies(text, "sys/policy/p-prod-backend")


def test_the_guard_denies_every_identity_group_and_entity_write() -> None:
    text = guard_policy(AUTHS, PREFIX)
    for request in (
        "identity/group",
        "identity/group/name/readers",
        "identity/group-alias/id/x",
        "identity/entity/id/x",
        "identity/entity-alias",
    ):
        assert denies(text, request), request


def test_the_guard_leaves_logins_data_other_mounts_and_other_policies_alone() -> None:
    text = guard_policy(AUTHS, PREFIX)
    for request in (
        "auth/kubernetes/login",
        "kv/data/backend/DATABASE_URL",
        "auth/userpass/role/x",
        "sys/auth/userpass",
        "sys/policies/acl/other-backend",
        "sys/policy/p-dev-backend",
        "sys/mounts",
    ):
        assert not denies(text, request), request


def test_the_guard_is_one_deny_block_per_path_whatever_the_order_of_the_mounts() -> None:
    text = guard_policy(["kubernetes", "jwt-ci", "kubernetes"], PREFIX)
    assert text == guard_policy(["jwt-ci", "kubernetes"], PREFIX)
    assert text.count("path ") == len(_grants(text)) == 2 * 4 + 2 + 2
    assert all(capabilities == ["deny"] for capabilities in _grants(text).values())


def test_a_guard_without_an_auth_mount_still_guards_policies_and_identities() -> None:
    text = guard_policy([], PREFIX)
    assert denies(text, "sys/policies/acl/p-prod-x") and denies(text, "identity/group/id/1")
    assert not denies(text, "auth/kubernetes/role/x")
