"""Who can read which store entry, derived from the registered resources alone (never from the catalog).

Each cloud's deriver reads the IAM documents, grants and bindings that the program registered and answers: for
each identity, the entries it can read and the catalog keys they hold. Reading the catalog here would only repeat
our intent; reading the registrations checks it.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from typing import Any

from tools.offline import Registered


def derive(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    """The access matrix of one run: ``{principal: {identity, entries, keys, kind, ...}}``."""
    types = {r.type for r in resources}
    matrix: dict[str, dict[str, Any]] = {}
    if "aws:secretsmanager/secret:Secret" in types:
        matrix.update(_aws(resources))
    if "gcp:secretmanager/secret:Secret" in types:
        matrix.update(_gcp(resources))
    if "azure-native:keyvault:Secret" in types:
        matrix.update(_azure(resources))
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

    # A replica's ARN differs from its primary's only by region: index entries without it.
    by_regionless = {_regionless(arn): arn for arn in secrets}

    def matching(pattern: str) -> list[str]:
        """Entry ARNs an IAM resource pattern covers (exact or replica by lookup, wildcards by scan)."""
        if "*" in pattern or "?" in pattern:
            return [arn for arn in secrets if _arn_matches(pattern, arn)]
        hit = by_regionless.get(_regionless(pattern))
        return [hit] if hit else []

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
                readable[r.inputs["role"]].update(matching(resource_arn))

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


def _regionless(arn: str) -> str:
    parts = arn.split(":")
    return ":".join(parts[:3] + parts[4:])


def _arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching with ``*`` and ``?`` wildcards."""

    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))


# --- GCP: IAM members on secrets (or wider), service accounts, and who may act as them ---

GCP_READER_ROLES = {
    "roles/secretmanager.secretAccessor",
    "roles/secretmanager.admin",
    "roles/owner",
}
"""Roles that can read a secret's value (``secretmanager.versions.access``)."""
GCP_ACT_AS_ROLES = {"roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator"}


def _gcp_grants(r: Registered) -> list[tuple[str, str]]:
    """(role, member) of an IAM member, binding or policy resource."""
    if "policyData" in r.inputs:
        policy = json.loads(r.inputs["policyData"])
        return [(b["role"], m) for b in policy.get("bindings", []) for m in b.get("members", [])]
    if "members" in r.inputs:
        return [(r.inputs["role"], m) for m in r.inputs["members"]]
    return [(r.inputs["role"], r.inputs["member"])] if "member" in r.inputs else []


def _gcp(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    secrets = {r.id: r for r in resources if r.type == "gcp:secretmanager/secret:Secret"}
    aliases = {}  # every form a grant may name a secret by -> its id
    for secret_id, secret in secrets.items():
        aliases[secret_id] = secret_id
        aliases[secret.outputs.get("name", secret_id)] = secret_id
        aliases[f"{secret.inputs['project']}/{secret.inputs['secretId']}"] = secret_id

    readers: dict[str, set[str]] = defaultdict(set)  # member -> secret ids
    for r in resources:
        if r.type.startswith("gcp:secretmanager/secretIam"):
            target = aliases.get(r.inputs["secretId"]) or aliases.get(
                f"{r.inputs.get('project')}/{r.inputs['secretId']}"
            )
            scope = [target] if target else []
        elif r.type.startswith("gcp:projects/iAM"):
            # A project-level grant reads every secret of the project.
            scope = [i for i, s in secrets.items() if s.inputs["project"] == r.inputs["project"]]
        else:
            continue
        for role, member in _gcp_grants(r):
            if role in GCP_READER_ROLES:
                readers[member].update(scope)

    accounts = {
        r.outputs["member"]: r for r in resources if r.type == "gcp:serviceaccount/account:Account"
    }
    acting: dict[str, list[str]] = defaultdict(list)  # account member -> members that act as it
    by_name = {r.outputs["name"]: m for m, r in accounts.items()}
    for r in resources:
        if not r.type.startswith("gcp:serviceaccount/iAM"):
            continue
        account = by_name.get(r.inputs["serviceAccountId"])
        for role, member in _gcp_grants(r):
            if account and role in GCP_ACT_AS_ROLES:
                acting[account].append(member)

    env_keys = _env_keys(resources)

    def keys(secret_ids: list[str], namespace: str | None) -> list[str]:
        return sorted(
            env_keys.get((namespace, secrets[i].inputs["secretId"]))
            or secrets[i].inputs["annotations"]["platform-secrets-key"]
            for i in secret_ids
        )

    matrix: dict[str, dict[str, Any]] = {}
    for member, account in accounts.items():
        ids = sorted(readers.get(member, set()))
        row: dict[str, Any] = {
            "identity": account.outputs["email"],
            "entries": [secrets[i].inputs["secretId"] for i in ids],
            "kind": "tooling",
        }
        namespace = None
        others = []
        for principal in acting.get(member, []):
            pool = re.fullmatch(
                r"serviceAccount:[^\[]+\.svc\.id\.goog\[([^/]+)/([^\]]+)\]", principal
            )
            if pool:
                namespace = pool.group(1)
                row["kind"] = "workload"
                row["service_account"] = f"{pool.group(1)}/{pool.group(2)}"
            else:
                others.append(principal)
        if others:
            row["assumed_by"] = sorted(others)
        row["keys"] = keys(ids, namespace)
        matrix[account.inputs.get("displayName") or account.inputs["accountId"]] = row
    for member, granted in readers.items():
        if member in accounts or not granted:
            continue
        matrix[member] = {
            "identity": member,
            "entries": sorted(secrets[i].inputs["secretId"] for i in granted),
            "keys": keys(sorted(granted), None),
            "kind": "other",
            "note": "not a service account of this stack, yet granted a reader role",
        }
    return matrix


# --- Azure: role assignments at any scope over the secrets, identities, federated credentials ---

AZURE_READER_ROLES = {
    "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",  # Key Vault Secrets Officer
    "00482a5a-887f-4fb3-b363-3b7fe8e74483",  # Key Vault Administrator
}
"""Built-in roles with the data action that reads secret values."""


def _azure(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    secrets = {r.id: r for r in resources if r.type == "azure-native:keyvault:Secret"}

    by_lower = {i.lower(): i for i in secrets}

    def covered(scope: str) -> list[str]:
        """The secrets under a scope: itself, or everything below a vault, group or subscription."""
        scope = scope.rstrip("/").lower()
        if scope in by_lower:  # the usual, per-secret grant: a lookup, not a scan
            return [by_lower[scope]]
        return [i for low, i in by_lower.items() if low.startswith(scope + "/")]

    readers: dict[str, set[str]] = defaultdict(set)  # principal id -> secret ids
    for r in resources:
        if r.type != "azure-native:authorization:RoleAssignment":
            continue
        if r.inputs["roleDefinitionId"].rsplit("/", 1)[-1].lower() in AZURE_READER_ROLES:
            readers[r.inputs["principalId"]].update(covered(r.inputs["scope"]))

    identities = {
        r.outputs["principalId"]: r
        for r in resources
        if r.type == "azure-native:managedidentity:UserAssignedIdentity"
    }
    federations: dict[str, list[Registered]] = defaultdict(list)  # identity name -> credentials
    for r in resources:
        if r.type == "azure-native:managedidentity:FederatedIdentityCredential":
            federations[r.inputs["resourceName"]].append(r)

    env_keys = _env_keys(resources)

    def keys(secret_ids: list[str], namespace: str | None) -> list[str]:
        return sorted(
            env_keys.get((namespace, secrets[i].inputs["secretName"]))
            or secrets[i].inputs["tags"]["platform-secrets-key"]
            for i in secret_ids
        )

    matrix: dict[str, dict[str, Any]] = {}
    for principal, identity in identities.items():
        ids = sorted(readers.get(principal, set()))
        row: dict[str, Any] = {
            "identity": identity.outputs["clientId"],
            "entries": [secrets[i].inputs["secretName"] for i in ids],
            "kind": "tooling",
        }
        namespace = None
        others = []
        for credential in federations.get(identity.outputs["name"], []):
            subject = credential.inputs["subject"]
            if subject.startswith("system:serviceaccount:"):
                namespace, service_account = subject.split(":")[2:4]
                row["kind"] = "workload"
                row["service_account"] = f"{namespace}/{service_account}"
            else:
                others.append(f"{credential.inputs['issuer']} {subject}")
        if others:
            row["assumed_by"] = sorted(others)
        row["keys"] = keys(ids, namespace)
        service = identity.inputs.get("tags", {}).get("platform-secrets-service")
        matrix[service or identity.outputs["name"]] = row
    for principal, granted in readers.items():
        if principal in identities or not granted:
            continue
        matrix[principal] = {
            "identity": principal,
            "entries": sorted(secrets[i].inputs["secretName"] for i in granted),
            "keys": keys(sorted(granted), None),
            "kind": "other",
            "note": "not an identity of this stack, yet assigned a role that reads secrets",
        }
    return matrix
