"""GCP: who reads which secret, from IAM grants on the secrets and the project, and every way to act as a reader.

One small function per way in: a reader role on a secret or on its project (``reader_grants``); an act-as role
(Token Creator, Service Account User, Workload Identity User) on a service account or on the project that holds
it (``act_as_grants``: a project-level one reaches every service account of that project). A member that may act
as a reading service account reads what it reads, and is a row of its own, named for itself.

The program grants each workload's Workload Identity principal (``principal://…/subject/ns/<ns>/sa/<sa>``)
directly: there is no service account to act as, so a row's identity is that principal.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from platform_secrets.access.chains import env_keys, follow_chains, owner_service

SECRET = "gcp:secretmanager/secret:Secret"
ACCOUNT = "gcp:serviceaccount/account:Account"
READER_ROLES = {
    "roles/secretmanager.secretAccessor",
    "roles/secretmanager.admin",
    "roles/owner",
}
"""Roles that can read a secret's value (``secretmanager.versions.access``)."""
ACT_AS_ROLES = {
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
}
"""Roles that let their member obtain a service account's tokens or run code as it."""

_WORKLOAD = re.compile(
    r"principal://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/"
    r"[^/]+\.svc\.id\.goog/subject/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)"
    r"|serviceAccount:[^\[]+\.svc\.id\.goog\[(?P<lns>[^/]+)/(?P<lsa>[^\]]+)\]"
)
_ACCOUNT = re.compile(
    r"serviceAccount:(?P<email>[^@\[]+@(?P<project>[^.]+)\.iam\.gserviceaccount\.com)"
)


@dataclass(frozen=True)
class Grant:
    """One (role, member) on a resource: a secret (``secret`` its id), a service account, or a project."""

    role: str
    member: str
    secret: str | None = None
    account: str | None = None
    """The service account's email, for a grant on a service account."""
    project: str | None = None
    """The project, for a project-level grant."""
    service: str | None = None
    """The service whose component registered it (plan only)."""


def members_of(r: Any) -> list[tuple[str, str]]:
    """(role, member) of an IAM member, binding or policy resource."""
    if "policyData" in r.inputs:
        policy = json.loads(r.inputs["policyData"])
        return [(b["role"], m) for b in policy.get("bindings", []) for m in b.get("members", [])]
    if "members" in r.inputs:
        return [(r.inputs["role"], m) for m in r.inputs["members"]]
    return [(r.inputs["role"], r.inputs["member"])] if "member" in r.inputs else []


def secrets_of(resources: list[Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The secrets by id, and every form a grant may name a secret by -> its id."""
    secrets = {r.id: r for r in resources if r.type == SECRET}
    aliases = {}
    for secret_id, secret in secrets.items():
        aliases[secret_id] = secret_id
        aliases[secret.outputs.get("name", secret_id)] = secret_id
        aliases[f"{secret.inputs['project']}/{secret.inputs['secretId']}"] = secret_id
    return secrets, aliases


def grants(resources: list[Any]) -> list[Grant]:
    """Every grant on a secret, a service account or a project, whatever its role."""
    _, aliases = secrets_of(resources)
    found = []
    for r in resources:
        service = owner_service(r.parent)
        if r.type.startswith("gcp:secretmanager/secretIam"):
            target = aliases.get(r.inputs["secretId"]) or aliases.get(
                f"{r.inputs.get('project')}/{r.inputs['secretId']}"
            )
            if target:
                found += [
                    Grant(role, m, secret=target, service=service) for role, m in members_of(r)
                ]
        elif r.type.startswith("gcp:projects/iAM"):
            project = r.inputs["project"]
            found += [Grant(role, m, project=project, service=service) for role, m in members_of(r)]
        elif r.type.startswith("gcp:serviceaccount/iAM"):
            email = str(r.inputs["serviceAccountId"]).rsplit("/", 1)[-1]
            found += [Grant(role, m, account=email, service=service) for role, m in members_of(r)]
    return found


def reader_grants(resources: list[Any]) -> dict[str, set[str]]:
    """member -> secret ids it reads by a reader role on the secret or on the secret's project."""
    secrets, _ = secrets_of(resources)
    readers: dict[str, set[str]] = defaultdict(set)
    for grant in grants(resources):
        if grant.role not in READER_ROLES:
            continue
        if grant.secret:
            readers[grant.member].add(grant.secret)
        elif grant.project:
            # A project-level grant reads every secret of the project.
            readers[grant.member].update(
                i for i, s in secrets.items() if s.inputs["project"] == grant.project
            )
    return readers


def act_as_grants(resources: list[Any], accounts: set[str]) -> list[tuple[str, str, str]]:
    """(member, role, account email) for each way to act as one of ``accounts``.

    A grant on the account itself, or on the project that holds it (its email's domain names the project).
    """
    found = []
    for grant in grants(resources):
        if grant.role not in ACT_AS_ROLES:
            continue
        if grant.account in accounts:
            found.append((grant.member, grant.role, grant.account))
        elif grant.project:
            found += [
                (grant.member, grant.role, email)
                for email in sorted(accounts)
                if email.endswith(f"@{grant.project}.iam.gserviceaccount.com")
            ]
    return found


def workload_of(member: str) -> tuple[str, str] | None:
    """(namespace, ServiceAccount) of one Kubernetes ServiceAccount's principal, or None."""
    found = _WORKLOAD.fullmatch(member)
    if found is None:
        return None
    return (found["ns"] or found["lns"], found["sa"] or found["lsa"])


def derive(resources: list[Any]) -> dict[str, dict[str, Any]]:
    """The GCP rows of ``access.json``."""
    secrets, _ = secrets_of(resources)
    keys_of = env_keys(resources)
    readers = reader_grants(resources)
    owners: dict[str, set[str]] = defaultdict(set)  # member -> services whose components granted it
    for grant in grants(resources):
        if grant.service and grant.role in READER_ROLES:
            owners[grant.member].add(grant.service)
    labels = {
        r.outputs["member"]: r.inputs.get("displayName") or r.inputs["accountId"]
        for r in resources
        if r.type == ACCOUNT
    }

    def keys(secret_ids: set[str], namespace: str | None) -> list[str]:
        return sorted(
            keys_of.get((namespace, secrets[i].inputs["secretId"]))
            or secrets[i].inputs["annotations"]["platform-secrets-key"]
            for i in secret_ids
        )

    matrix: dict[str, dict[str, Any]] = {}
    row_of: dict[str, str] = {}  # member -> its row's name
    per_service: dict[str, int] = defaultdict(int)
    for member in readers:
        for service in owners.get(member, ()):
            per_service[service] += 1
    for member, granted in sorted(readers.items()):
        if not granted:
            continue
        identity = member.removeprefix("serviceAccount:")
        row: dict[str, Any] = {"identity": identity, "entries": [], "kind": "other"}
        workload = workload_of(member)
        namespace = None
        services = sorted(owners.get(member, ()))
        if workload and services:
            namespace = workload[0]
            row["kind"] = "workload"
            row["service_account"] = "/".join(workload)
        elif services or member in labels:
            row["kind"] = "tooling"
        else:
            row["note"] = (
                "a set of Workload Identity principals, yet granted a reader role"
                if member.startswith("principalSet:")
                else "not a principal this stack grants, yet granted a reader role"
            )
        row["entries"] = sorted(secrets[i].inputs["secretId"] for i in granted)
        row["keys"] = keys(granted, namespace)
        if len(services) == 1 and per_service[services[0]] == 1:
            name = services[0]
        else:
            name = labels.get(member) or member
        matrix[name] = row
        row_of[member] = name

    # Act-as: a member that may act as a reading service account reads what it reads.
    accounts = {
        found["email"]: member
        for member in row_of
        if (found := _ACCOUNT.fullmatch(member)) is not None
    }
    edges = []
    for actor, role, email in act_as_grants(resources, set(accounts)):
        target = row_of[accounts[email]]
        if actor not in row_of:
            matrix[actor] = {
                "identity": actor.removeprefix("serviceAccount:"),
                "entries": [],
                "keys": [],
                "kind": "other",
                "note": f"may act as a service account that reads ({role})",
            }
            row_of[actor] = actor
        if row_of[actor] != target:
            edges.append((row_of[actor], target))
            if matrix[target]["kind"] == "tooling":
                matrix[target].setdefault("assumed_by", [])
                matrix[target]["assumed_by"] = sorted({*matrix[target]["assumed_by"], actor})
    follow_chains(matrix, edges)
    return matrix
