"""Who can read which Vault KV v2 entry: a function over plain documents, for the plan and for a live server.

``derive(entries, policies, roles)`` takes what Vault itself holds (the policies' text, HCL or JSON, as ``vault
policy read`` prints it; the JWT roles as ``auth/<path>/role/<name>`` returns them; the entries' paths) and
answers, per role, the entries its token can read. ``from_registered`` builds those documents from the offline
run's registered resources (``access.json``); the audit builds them from a live server, with the same code.

Vault's rules, as implemented here: a policy's most specific matching path decides for that policy (an exact path
over a glob; of globs, the longest literal prefix); a token's capabilities on a path are the union over its
policies, and ``deny`` anywhere wins; ``read`` (or ``sudo`` with ``read``) on ``<mount>/data/<path>`` reads the
value. ``+`` matches one path segment, a trailing ``*`` any suffix.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hcl.api import isHcl
from hcl.lexer import Lexer
from hcl.parser import HclParser

from platform_secrets.offline.registered import unwrap_secret

WORKLOAD_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class VaultEntry:
    """One KV v2 secret: its mount, its path inside the mount, and the catalog key it holds (if known)."""

    mount: str
    path: str
    key: str | None = None

    @property
    def name(self) -> str:
        return f"{self.mount}/{self.path}"

    @property
    def data_path(self) -> str:
        return f"{self.mount}/data/{self.path}"


@dataclass(frozen=True)
class VaultRole:
    """A JWT auth role as Vault returns it: every field that decides who logs in and which policies the token
    carries (Vault's defaults where a field is not set)."""

    auth_path: str
    name: str
    token_policies: tuple[str, ...]
    bound_subject: str = ""
    bound_audiences: tuple[str, ...] = ()
    bound_claims: dict[str, Any] = field(default_factory=dict)
    bound_claims_type: str = "string"
    user_claim: str = "sub"
    no_default_policy: bool = False
    """``token_no_default_policy``: unless set, every token also carries the ``default`` policy."""
    token_type: str = "default"
    token_ttl: int = 0
    token_max_ttl: int = 0
    token_bound_cidrs: tuple[str, ...] = ()
    groups_claim: str = ""
    """A claim whose values become identity groups (and their policies): a way in beyond the role's own."""
    claim_mappings: dict[str, Any] = field(default_factory=dict)
    policies_from_claims: bool = False
    """OpenBao's ``token_policies_template_claims``: policy names templated from the token's claims."""
    groups: tuple[str, ...] = ()
    """Identity groups whose policies a token of this role may carry (``group_policies``)."""
    group_policies: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        return f"auth/{self.auth_path}/role/{self.name}"

    @property
    def policies(self) -> tuple[str, ...]:
        """Every policy a token of this role carries (``default`` unless disabled)."""
        extra = () if self.no_default_policy or "default" in self.token_policies else ("default",)
        own = (*self.token_policies, *extra)
        return (*own, *(p for p in self.group_policies if p not in own))

    def assumed_by(self) -> list[str]:
        """Who can log in with this role, as conditions on the token (the mount's issuer is the mount's)."""
        glob = self.bound_claims_type == "glob"
        bound = [
            f"{k}~{v} (glob)" if glob else f"{k}={v}" for k, v in sorted(self.bound_claims.items())
        ]
        if self.bound_subject:
            bound.insert(0, f"sub={self.bound_subject}")
        if not bound:
            bound = [f"any token of auth/{self.auth_path}"]
        if not self.bound_audiences:
            bound.append("any aud")
        return bound


def role_from_api(auth_path: str, name: str, data: dict[str, Any]) -> VaultRole:
    """A role from ``auth/<path>/role/<name>`` (snake_case, as Vault returns it)."""
    return VaultRole(
        auth_path=auth_path,
        name=name,
        token_policies=tuple(data.get("token_policies") or ()),
        bound_subject=str(data.get("bound_subject") or ""),
        bound_audiences=tuple(data.get("bound_audiences") or ()),
        bound_claims=dict(data.get("bound_claims") or {}),
        bound_claims_type=str(data.get("bound_claims_type") or "string"),
        user_claim=str(data.get("user_claim") or "sub"),
        no_default_policy=bool(data.get("token_no_default_policy")),
        token_type=str(data.get("token_type") or "default"),
        token_ttl=int(data.get("token_ttl") or 0),
        token_max_ttl=int(data.get("token_max_ttl") or 0),
        token_bound_cidrs=tuple(data.get("token_bound_cidrs") or ()),
        groups_claim=str(data.get("groups_claim") or ""),
        claim_mappings=dict(data.get("claim_mappings") or {}),
        policies_from_claims=bool(data.get("token_policies_template_claims")),
    )


def with_groups(
    role: VaultRole,
    accessor: str,
    groups: list[dict[str, Any]],
    entity_aliases: dict[str, list[tuple[str, str]]],
) -> VaultRole:
    """The role with the identity groups (and their policies) a token of it may carry.

    A login on the role's mount makes (or finds) the entity whose alias on that mount is the token's
    ``user_claim`` value: the role's ``bound_subject`` when the user claim is ``sub`` and a subject is bound,
    else any alias on the mount may be it. An internal group applies to its member entities, an external group
    to tokens whose ``groups_claim`` names it (the role must set one), and a group applies to every member of a
    member group (nesting). Conservative: a group that could apply is counted.
    """
    user = role.bound_subject if role.user_claim == "sub" and role.bound_subject else None
    mine = {
        entity
        for entity, aliases in entity_aliases.items()
        if any(acc == accessor and (user is None or name == user) for acc, name in aliases)
    }
    by_id = {str(g.get("id")): g for g in groups}

    def direct(group: dict[str, Any]) -> bool:
        if set(group.get("member_entity_ids") or ()) & mine:
            return True
        alias = group.get("alias") or {}
        return (
            group.get("type") == "external"
            and bool(role.groups_claim)
            and alias.get("mount_accessor") == accessor
        )

    def applies(group: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
        if direct(group):
            return True
        members = [m for m in group.get("member_group_ids") or () if m not in seen]
        return any(applies(by_id[m], seen | {str(group.get("id"))}) for m in members if m in by_id)

    found = sorted((g for g in groups if applies(g)), key=lambda g: str(g.get("name")))
    return dataclasses.replace(
        role,
        groups=tuple(str(g.get("name")) for g in found),
        group_policies=tuple(sorted({str(p) for g in found for p in g.get("policies") or ()})),
    )


def parse_policy(text: str) -> dict[str, list[str]]:
    """A policy's ``path -> capabilities`` (HCL or JSON, which HCL reads too).

    A path written twice in one policy holds the union of its blocks' capabilities, as in Vault; an HCL reader
    keeps the last block only, so each top-level block is read on its own.
    """
    merged: dict[str, list[str]] = {}
    for block in _top_level_blocks(text):
        paths = _loads(block).get("path") or {}
        for path, body in paths.items():
            merged.setdefault(path, []).extend((body or {}).get("capabilities", []))
    return merged


@functools.cache
def _hcl_parser() -> HclParser:
    """One parser for the process: building one computes HCL's LALR tables (about 0.1 s), and the wheel ships
    no precomputed table, so ``hcl.loads`` pays it on every call."""
    return HclParser()


def _loads(text: str) -> dict[str, Any]:
    """``hcl.loads`` with the shared parser: HCL through the parser, JSON through ``json``, as it decides."""
    loaded: dict[str, Any] = _hcl_parser().parse(text) if isHcl(text) else json.loads(text)
    return loaded


def _top_level_blocks(text: str) -> list[str]:
    """The text of each top-level item (``path "..." { ... }``), cut at its closing brace by HCL's lexer."""
    lexer = Lexer()
    lexer.input(text)
    blocks, depth, start = [], 0, 0
    while (token := lexer.token()) is not None:
        if token.type == "LEFTBRACE":
            depth += 1
        elif token.type == "RIGHTBRACE":
            depth -= 1
            if depth == 0:
                blocks.append(text[start : token.lexpos + 1])
                start = token.lexpos + 1
    return blocks


def _pattern(path: str) -> re.Pattern[str]:
    parts = []
    for index, segment in enumerate(path.split("/")):
        if segment == "+":
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
        if index == len(path.split("/")) - 1 and segment.endswith("*"):
            parts[-1] = re.escape(segment[:-1]) + ".*"
    return re.compile("/".join(parts))


def _is_glob(path: str) -> bool:
    return path.endswith("*") or "+" in path.split("/")


def capabilities(grants: dict[str, list[str]], api_path: str) -> set[str]:
    """The capabilities one policy gives on ``api_path``: its most specific matching rule, or none."""
    if api_path in grants:
        return set(grants[api_path])
    matching = [p for p in grants if _is_glob(p) and _pattern(p).fullmatch(api_path)]
    if not matching:
        return set()
    return set(grants[max(matching, key=_priority)])


def _priority(path: str) -> tuple[int, bool, int, int, str]:
    """Vault's order of two globs matching one path (``vault/acl.go``): the later first wildcard wins, then
    the one not ending in ``*``, then fewer ``+`` segments, then the longer, then the lexicographically greater."""
    segments = path.split("/")
    plus = [i for i, segment in enumerate(segments) if segment == "+"]
    first_plus = sum(len(segment) + 1 for segment in segments[: plus[0]]) if plus else len(path)
    first_star = len(path) - 1 if path.endswith("*") else len(path)
    return (min(first_plus, first_star), not path.endswith("*"), -len(plus), len(path), path)


def readable(
    policies: dict[str, dict[str, list[str]]], names: Iterable[str], api_path: str
) -> bool:
    """Whether a token holding policies ``names`` reads ``api_path`` (deny in any policy wins)."""
    held: set[str] = set()
    for name in names:
        held |= capabilities(policies.get(name, {}), api_path)
    return "read" in held and "deny" not in held


def derive(
    entries: list[VaultEntry],
    policies: dict[str, str],
    roles: list[VaultRole],
    env_keys: dict[tuple[str | None, str], str] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{role name: row}`` as in access.json, plus a row per policy that reads entries but no role carries.

    ``env_keys`` maps (namespace, path in the mount) to the env var an ExternalSecret gives it (the plan has
    them; a live audit may not), else the entry's own catalog key is used.
    """
    parsed = {name: parse_policy(text) for name, text in policies.items()}
    env_keys = env_keys or {}

    def keys(found: list[VaultEntry], namespace: str | None) -> list[str]:
        return sorted(env_keys.get((namespace, e.path)) or e.key or e.path for e in found)

    matrix: dict[str, dict[str, Any]] = {}
    carried: set[str] = set()
    for role in roles:
        carried.update(role.policies)
        found = sorted(
            (e for e in entries if readable(parsed, role.policies, e.data_path)),
            key=lambda e: e.name,
        )
        row: dict[str, Any] = {
            "identity": role.identity,
            "entries": [e.name for e in found],
            "kind": "tooling",
        }
        namespace = None
        exact = role.bound_claims_type != "glob" or not role.bound_claims
        if role.bound_subject.startswith(WORKLOAD_PREFIX) and exact:
            namespace, service_account = role.bound_subject.split(":")[2:4]
            row["kind"] = "workload"
            row["service_account"] = f"{namespace}/{service_account}"
        else:
            row["assumed_by"] = role.assumed_by()
            if not exact or not (role.bound_claims or role.bound_subject):
                row["kind"] = "other"
        if role.user_claim != "sub":
            row["user_claim"] = role.user_claim
        row["keys"] = keys(found, namespace)
        # Which of the token's policies grants each entry: an extra reader names the policy to look at.
        row["via"] = {
            e.name: [p for p in role.policies if readable(parsed, [p], e.data_path)] for e in found
        }
        # A role of the same name on another mount is another reader: never one row over the other.
        matrix[role.identity if role.name in matrix else role.name] = row
    for name in sorted(parsed):
        if name in carried:
            continue
        found = [e for e in entries if readable(parsed, [name], e.data_path)]
        if found:
            matrix[f"policy:{name}"] = {
                "identity": f"policy:{name}",
                "entries": sorted(e.name for e in found),
                "keys": keys(found, None),
                "kind": "other",
                "note": "a policy that reads entries but no role of this stack carries",
            }
    return matrix


# --- the plan's registered resources as plain documents ---

KV_V2_TYPE = "vault:kv/secretV2:SecretV2"
ENDPOINT_TYPE = "vault:generic/endpoint:Endpoint"
POLICY_TYPE = "vault:index/policy:Policy"
ROLE_TYPE = "vault:jwt/authBackendRole:AuthBackendRole"
KEY_METADATA = "platform-secrets-key"


def documents(resources: list[Any]) -> tuple[list[VaultEntry], dict[str, str], list[VaultRole]]:
    """(entries, policies, roles) from registered resources (``platform_secrets.offline.runner.Registered``)."""
    entries = []
    for r in resources:
        if r.type == KV_V2_TYPE:
            metadata = (r.inputs.get("customMetadata") or {}).get("data") or {}
            entries.append(
                VaultEntry(r.inputs["mount"], r.inputs["name"], metadata.get(KEY_METADATA))
            )
        elif r.type == ENDPOINT_TYPE and "/metadata/" in r.inputs["path"]:
            mount, path = r.inputs["path"].split("/metadata/", 1)
            # The provider marks data_json sensitive; here it holds metadata only (no value is written).
            body = json.loads(unwrap_secret(r.inputs["dataJson"]))
            key = (body.get("custom_metadata") or {}).get(KEY_METADATA)
            entries.append(VaultEntry(mount, path, key))
    policies = {r.inputs["name"]: r.inputs["policy"] for r in resources if r.type == POLICY_TYPE}
    return entries, policies, registered_roles(resources)


def registered_roles(resources: list[Any]) -> list[VaultRole]:
    """The JWT roles of registered resources, read through ``role_from_api`` as a live role is."""
    return [
        role_from_api(
            r.inputs.get("backend") or "jwt",
            r.inputs["roleName"],
            {_snake(k): v for k, v in r.inputs.items()},
        )
        for r in resources
        if r.type == ROLE_TYPE
    ]


def _snake(name: str) -> str:
    """A provider input's name as Vault's API spells it (``tokenNoDefaultPolicy`` -> ``token_no_default_policy``)."""
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def from_registered(
    resources: list[Any], env_keys: dict[tuple[str | None, str], str]
) -> dict[str, dict[str, Any]]:
    """The access matrix of a plan on Vault, from its registered resources alone."""
    entries, policies, roles = documents(resources)
    return derive(entries, policies, roles, env_keys)
