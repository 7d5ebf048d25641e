"""Vault policies as pure functions: a service reads exactly its entries' ``data/`` paths, nothing else.

No Pulumi here. A policy is written in HCL, the form Vault operators read (``vault policy read``); every path is
exact (no ``*`` or ``+`` glob), every capability is ``read`` (no ``list``, no ``sudo``), and no ``metadata/``
path is granted (ESO reads ``data/`` only).
"""

from __future__ import annotations

import json
import re

READ = ("read",)
TOKEN_TYPE = "batch"
"""The token a reader's role issues. Without the ``default`` policy (``token_no_default_policy``) a token
cannot look itself up, renew or revoke itself (checked on OpenBao), so what a service token adds (renewal,
revocation, child tokens, a stored accessor) would be unusable anyway; a batch token is not stored, cannot
create children and dies at its TTL. ESO logs in again on every sync and skips revoking a batch token; the
agent re-authenticates when its token expires."""
BROAD_CAPABILITIES = frozenset({"list", "sudo", "create", "update", "patch", "delete", "deny"})
"""Capabilities a service's read policy never holds (``deny`` is harmless, but ours never need it)."""
GLOB = re.compile(r"[*+]")


def read_policy(data_paths: list[str]) -> str:
    """The HCL policy granting ``read`` on exactly ``data_paths`` (sorted, one block each)."""
    if not data_paths:
        raise ValueError("a read policy needs at least one path")
    blocks = []
    for path in sorted(set(data_paths)):
        if GLOB.search(path) or '"' in path:
            raise ValueError(f"{path!r}: a service's policy names exact paths")
        blocks.append(f'path {json.dumps(path)} {{\n  capabilities = ["read"]\n}}\n')
    return "\n".join(blocks)


def policy_problems(grants: dict[str, list[str]]) -> list[str]:
    """What makes a service's policy broader than exact reads: globs, capabilities beyond read, metadata."""
    problems = []
    for path, capabilities in sorted(grants.items()):
        if GLOB.search(path):
            problems.append(f"path {path!r} has a glob")
        broad = sorted(set(capabilities) & BROAD_CAPABILITIES)
        if broad:
            problems.append(f"path {path!r} grants {', '.join(broad)}")
        if "/metadata/" in path:
            problems.append(f"path {path!r} grants metadata")
        if "/data/" not in path:
            problems.append(f"path {path!r} is not a KV v2 data path")
    return problems


def guard_policy(auth_paths: list[str], policy_prefix: str) -> str:
    """The operator's guard (HCL): ``deny`` on every way into the stack's readers, for every token but the
    provisioner's.

    Vault has no organisation policy above a token: whoever may write ``auth/<mount>/role/<name>``, an auth
    mount's config, a reader's policy or an identity group decides who reads. A ``deny`` wins over any grant
    the same token holds (even ``path "*"`` with ``sudo``), so the operator attaches this policy to every human
    and automation token except the provisioner's and the read-only audit token's (the program cannot: it is
    not a token issuer). ``deny``
    also hides those paths from reading (Vault has no write-only deny): investigate with the audit token.
    Identity groups and entities cannot be scoped to one mount, so the guard denies their writes whole.
    """
    paths = []
    for auth in sorted(set(auth_paths)):
        paths += [
            f"auth/{auth}/role/*",
            f"auth/{auth}/config",
            f"sys/auth/{auth}",
            f"sys/auth/{auth}/*",
        ]
    paths += [f"sys/policies/acl/{policy_prefix}*", f"sys/policy/{policy_prefix}*"]
    # `identity/group*`: groups, group aliases, by id or name; `identity/entity*` the same for entities.
    paths += ["identity/group*", "identity/entity*"]
    return "\n".join(f'path {json.dumps(p)} {{\n  capabilities = ["deny"]\n}}\n' for p in paths)
