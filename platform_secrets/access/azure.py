"""Azure: who reads which Key Vault secret, from role assignments at any scope and every federated credential.

One small function per way in: a reader role assigned at a secret, the vault, its group or the subscription
(``reader_assignments``); a federated identity credential on a managed identity (``credentials``). A workload
identity's own door is exactly one ServiceAccount subject from the cluster's issuer; any other credential on it
(another issuer, another subject, a wildcard) is a reader named ``"<issuer> <subject>"``. On a tooling identity
(no ServiceAccount subject) the credentials the stack names are listed in ``assumed_by``; a wildcard, or a
ServiceAccount subject, is a reader named for itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from platform_secrets.access.chains import env_keys, follow_chains

SECRET = "azure-native:keyvault:Secret"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
READER_ROLES = {
    "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",  # Key Vault Secrets Officer
    "00482a5a-887f-4fb3-b363-3b7fe8e74483",  # Key Vault Administrator
}
"""Built-in roles with the data action that reads secret values."""
KSA_SUBJECT = "system:serviceaccount:"


def reader_assignments(resources: list[Any]) -> dict[str, set[str]]:
    """principal id -> secret ids a reader role reaches (at the secret or any scope above it)."""
    by_lower = {r.id.lower(): r.id for r in resources if r.type == SECRET}

    def covered(scope: str) -> list[str]:
        scope = scope.rstrip("/").lower()
        if scope in by_lower:  # the usual, per-secret grant: a lookup, not a scan
            return [by_lower[scope]]
        return [i for low, i in by_lower.items() if low.startswith(scope + "/")]

    readers: dict[str, set[str]] = defaultdict(set)
    for r in resources:
        if r.type != ASSIGNMENT:
            continue
        if r.inputs["roleDefinitionId"].rsplit("/", 1)[-1].lower() in READER_ROLES:
            readers[r.inputs["principalId"]].update(covered(r.inputs["scope"]))
    return readers


def credentials(resources: list[Any]) -> dict[str, list[tuple[str, str]]]:
    """identity name -> (issuer, subject) of each federated credential on it."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in resources:
        if r.type == CREDENTIAL:
            found[r.inputs["resourceName"]].append((r.inputs["issuer"], r.inputs["subject"]))
    return found


def cluster_issuer(federations: dict[str, list[tuple[str, str]]]) -> str | None:
    """The issuer of most ServiceAccount subjects: the cluster's (None when there is none)."""
    counts = Counter(
        issuer.rstrip("/")
        for found in federations.values()
        for issuer, subject in found
        if subject.startswith(KSA_SUBJECT)
    )
    return counts.most_common(1)[0][0] if counts else None


def derive(resources: list[Any]) -> dict[str, dict[str, Any]]:
    """The Azure rows of ``access.json``."""
    secrets = {r.id: r for r in resources if r.type == SECRET}
    readers = reader_assignments(resources)
    identities = {r.outputs["principalId"]: r for r in resources if r.type == IDENTITY}
    federations = credentials(resources)
    cluster = cluster_issuer(federations)
    keys_of = env_keys(resources)

    def keys(secret_ids: list[str], namespace: str | None) -> list[str]:
        return sorted(
            keys_of.get((namespace, secrets[i].inputs["secretName"]))
            or secrets[i].inputs["tags"]["platform-secrets-key"]
            for i in secret_ids
        )

    matrix: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    doors: list[tuple[str, str, str]] = []  # (issuer, subject, row name of the identity)
    for principal, identity in identities.items():
        ids = sorted(readers.get(principal, set()))
        row: dict[str, Any] = {
            "identity": identity.outputs["clientId"],
            "entries": [secrets[i].inputs["secretName"] for i in ids],
            "kind": "tooling",
        }
        found = federations.get(identity.outputs["name"], [])
        own = next(
            (
                (issuer, subject)
                for issuer, subject in found
                if subject.startswith(KSA_SUBJECT) and issuer.rstrip("/") == cluster
            ),
            None,
        )
        namespace = None
        if own is not None:
            namespace, service_account = own[1].split(":")[2:4]
            row["kind"] = "workload"
            row["service_account"] = f"{namespace}/{service_account}"
        service = identity.inputs.get("tags", {}).get("platform-secrets-service")
        name = service or identity.outputs["name"]
        others = []
        for issuer, subject in found:
            if (issuer, subject) == own:
                continue
            wide = "*" in subject or "*" in issuer or subject.startswith(KSA_SUBJECT)
            if own is not None or wide:
                doors.append((issuer, subject, name))
            else:
                others.append(f"{issuer} {subject}")
        if others:
            row["assumed_by"] = sorted(others)
        row["keys"] = keys(ids, namespace)
        matrix[name] = row
    # Every other way in is a reader of its own, named for the token it accepts.
    for issuer, subject, name in doors:
        label = f"{issuer} {subject}"
        matrix.setdefault(
            label,
            {
                "identity": label,
                "entries": [],
                "keys": [],
                "kind": "federated",
                "note": "a federated credential that is not the identity's own ServiceAccount",
            },
        )
        edges.append((label, name))
    # Identities federated with the same token (issuer and subject) act as each other.
    holders: dict[tuple[str, str], list[str]] = defaultdict(list)
    for identity in identities.values():
        name = identity.inputs.get("tags", {}).get("platform-secrets-service")
        for issuer, subject in federations.get(identity.outputs["name"], []):
            holders[(issuer.rstrip("/"), subject)].append(name or identity.outputs["name"])
    edges += [(a, b) for names in holders.values() for a in names for b in names if a != b]
    follow_chains(matrix, edges)
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
