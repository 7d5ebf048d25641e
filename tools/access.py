"""Who can read which store entry, derived from the registered resources alone (never from the catalog).

Each cloud's deriver reads the IAM documents, grants and bindings that the program registered and answers: for
each identity, the entries it can read and the catalog keys they hold. Reading the catalog here would only repeat
our intent; reading the registrations checks it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from tools.offline import Registered


def derive(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    """The access matrix of one run: ``{principal: {identity, entries, keys, kind, ...}}``."""
    types = {r.type for r in resources}
    matrix: dict[str, dict[str, Any]] = {}
    if "aws:secretsmanager/secret:Secret" in types:
        matrix.update(_aws(resources))
    return dict(sorted(matrix.items()))


def _env_keys(resources: list[Registered]) -> dict[tuple[str | None, str], str]:
    """(namespace, store entry name) -> env var, from ExternalSecrets' data."""
    keys: dict[tuple[str | None, str], str] = {}
    for r in resources:
        if r.type == "kubernetes:external-secrets.io/v1:ExternalSecret":
            ns = r.inputs["metadata"]["namespace"]
            for item in r.inputs["spec"].get("data", []):
                keys[(ns, item["remoteRef"]["key"])] = item["secretKey"]
    return keys


def _statements(document: str | dict) -> list[dict[str, Any]]:
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _aws(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    secrets = {
        r.outputs["arn"]: r for r in resources if r.type == "aws:secretsmanager/secret:Secret"
    }

    def entry_of(arn: str) -> Registered | None:
        # A replica's ARN differs from its primary's only by region.
        for primary_arn, secret in secrets.items():
            p, a = primary_arn.split(":"), arn.split(":")
            if p[:3] + p[4:] == a[:3] + a[4:]:
                return secret
        return None

    # Resource policies: who is exempt from each entry's deny (None: no deny, identity policy decides).
    exempt: dict[str, set[str] | None] = {arn: None for arn in secrets}
    for r in resources:
        if r.type != "aws:secretsmanager/secretPolicy:SecretPolicy":
            continue
        allowed: set[str] | None = None
        for st in _statements(r.inputs["policy"]):
            if st.get("Effect") == "Deny" and "secretsmanager:GetSecretValue" in _as_list(
                st["Action"]
            ):
                cond = st.get("Condition", {}).get("StringNotEquals", {}).get("aws:PrincipalArn")
                allowed = set(_as_list(cond)) if cond is not None else set()
        exempt[r.inputs["secretArn"]] = allowed

    roles = {r.inputs["name"]: r for r in resources if r.type == "aws:iam/role:Role"}
    readable: dict[str, set[str]] = defaultdict(set)
    for r in resources:
        if r.type != "aws:iam/rolePolicy:RolePolicy":
            continue
        for st in _statements(r.inputs["policy"]):
            if st.get("Effect") != "Allow":
                continue
            actions = _as_list(st.get("Action", []))
            if not any(
                a in ("secretsmanager:GetSecretValue", "secretsmanager:*", "*") for a in actions
            ):
                continue
            for resource_arn in _as_list(st.get("Resource", [])):
                for arn, secret in secrets.items():
                    if _arn_matches(resource_arn, arn) or entry_of(resource_arn) is secret:
                        readable[r.inputs["role"]].add(arn)

    env_keys = _env_keys(resources)
    matrix: dict[str, dict[str, Any]] = {}
    for role_name, role in roles.items():
        role_arn = role.outputs["arn"]
        arns = sorted(
            arn
            for arn in readable.get(role_name, set())
            if exempt[arn] is None or role_arn in exempt[arn]  # type: ignore[operator]
        )
        service = role.inputs.get("tags", {}).get("platform-secrets/service", role_name)
        trust = _statements(role.inputs["assumeRolePolicy"])
        row: dict[str, Any] = {
            "identity": role_arn,
            "entries": [secrets[arn].inputs["name"] for arn in arns],
            "kind": "tooling",
        }
        namespace: str | None = None
        for st in trust:
            for key, value in st.get("Condition", {}).get("StringEquals", {}).items():
                if key.endswith(":sub") and value.startswith("system:serviceaccount:"):
                    namespace, sa = value.split(":")[2:4]
                    row["kind"] = "workload"
                    row["service_account"] = f"{namespace}/{sa}"
            principals = st.get("Principal", {}).get("AWS")
            if principals:
                row["assumed_by"] = sorted(_as_list(principals))
        row["keys"] = sorted(
            env_keys.get((namespace, secrets[arn].inputs["name"]))
            or secrets[arn].inputs["tags"]["platform-secrets/key"]
            for arn in arns
        )
        matrix[service] = row
    # Principals that are not services but are exempt from the entries' deny (admins, break-glass).
    role_arns = {role.outputs["arn"] for role in roles.values()}
    others: dict[str, list[str]] = defaultdict(list)
    for arn, allowed in exempt.items():
        for principal in sorted((allowed or set()) - role_arns):
            others[principal].append(arn)
    for principal, arns in others.items():
        matrix[principal] = {
            "identity": principal,
            "entries": sorted(secrets[arn].inputs["name"] for arn in arns),
            "keys": sorted(secrets[arn].inputs["tags"]["platform-secrets/key"] for arn in arns),
            "kind": "admin",
            "note": "not denied by the entries' resource policies; reads if its own IAM policy allows",
        }
    return matrix


def _arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching with ``*`` and ``?`` wildcards."""
    import fnmatch

    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))
