"""Who can read which store entry, derived from the registered resources alone (never from the catalog).

Each cloud's deriver reads the IAM documents, grants and bindings that the program registered and answers: for
each identity, the entries it can read and the catalog keys they hold. Reading the catalog here would only repeat
our intent; reading the registrations checks it.

The AWS derivation (identity and resource policies, regions, the two-sided rule, trust chains) is here beside the
dispatch; the evaluation of one document is ``platform_secrets.access.aws_iam``'s. The next split is the AWS
derivation into ``access/aws.py``, as GCP, Azure and Vault already have theirs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from platform_secrets.access import aws_trust as trust
from platform_secrets.access import azure as access_azure
from platform_secrets.access import gcp as access_gcp
from platform_secrets.access import vault as access_vault
from platform_secrets.access.aws_iam import (
    READ_VALUE,
    ArnIndex,
    _named_principals,
    allow_names,
    aws_verdict,
    identity_reach,
)
from platform_secrets.access.chains import env_keys
from platform_secrets.offline.registered import Registered


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
    if types & {access_vault.KV_V2_TYPE, access_vault.ENDPOINT_TYPE}:
        matrix.update(access_vault.from_registered(resources, env_keys(resources)))
    return dict(sorted(matrix.items()))


# --- AWS: identity policies, resource policies and trust chains, over plain documents ---


@dataclass(frozen=True)
class AwsEntry:
    """One Secrets Manager entry as plain documents (from the plan's registrations or read live).

    ``arns``: the entry's ARN in every region it exists in, primary first (a replica keeps the name
    and the 6-character suffix; only the region differs). Each regional ARN is judged on its own.
    ``name``: the entry's name (``<prefix>/<env>/<owner>/<KEY>``). ``key``: the catalog key it holds
    (the ``platform-secrets/key`` tag). ``policy``: its resource policy as a parsed JSON document,
    or None when it has none; Secrets Manager copies it to every replica verbatim, so the same
    document is evaluated against each regional ARN.
    """

    name: str
    arns: tuple[str, ...]
    key: str
    policy: dict[str, Any] | None = None


@dataclass(frozen=True)
class AwsRole:
    """One IAM role as plain documents.

    ``name`` and ``arn``: the role's. ``trust``: its trust (assume-role) policy, parsed.
    ``policies``: every identity policy document it holds, inline and attached (managed), parsed.
    ``tags``: its tags (``platform-secrets/service`` names the service it serves, if any).
    """

    name: str
    arn: str
    trust: dict[str, Any]
    policies: tuple[dict[str, Any], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


def aws_documents(
    resources: list[Registered],
) -> tuple[list[AwsEntry], list[AwsRole], dict[tuple[str | None, str], str]]:
    """The registered AWS resources as the plain documents ``derive_aws`` takes (and env keys)."""
    policies: dict[str, dict[str, Any]] = {}
    for r in resources:
        if r.type == "aws:secretsmanager/secretPolicy:SecretPolicy":
            policies[r.inputs["secretArn"]] = _document(r.inputs["policy"])
    entries = []
    for r in resources:
        if r.type != "aws:secretsmanager/secret:Secret":
            continue
        arn = r.outputs["arn"]
        replicas = [replica["region"] for replica in r.inputs.get("replicas") or []]
        entries.append(
            AwsEntry(
                name=r.inputs["name"],
                arns=(arn, *(in_region(arn, region) for region in replicas)),
                key=r.inputs["tags"]["platform-secrets/key"],
                policy=policies.get(arn),
            )
        )
    managed = {r.outputs.get("arn"): r for r in resources if r.type == "aws:iam/policy:Policy"}
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy":
            held[r.inputs["role"].rsplit("/", 1)[-1]].append(_document(r.inputs["policy"]))
        elif r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            policy = managed.get(r.inputs["policyArn"])
            if policy is not None:
                held[r.inputs["role"].rsplit("/", 1)[-1]].append(_document(policy.inputs["policy"]))
    roles = [
        AwsRole(
            name=r.inputs["name"],
            arn=r.outputs["arn"],
            trust=_document(r.inputs["assumeRolePolicy"]),
            policies=tuple(held.get(r.inputs["name"], [])),
            tags=dict(r.inputs.get("tags") or {}),
        )
        for r in resources
        if r.type == "aws:iam/role:Role"
    ]
    return entries, roles, env_keys(resources)


def in_region(arn: str, region: str) -> str:
    """The same ARN in another region (a replica's ARN)."""
    parts = arn.split(":")
    return ":".join([*parts[:3], region, *parts[4:]])


def derive_aws(
    entries: list[AwsEntry],
    roles: list[AwsRole],
    env_keys: dict[tuple[str | None, str], str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Who may read which entry, in which region: the rows of ``access.json`` for AWS.

    A role reads a regional copy when no explicit deny (identity or resource policy) refuses
    ``secretsmanager:GetSecretValue`` on that regional ARN and, as AWS evaluates a request within one
    account, either one of its identity policies allows it or the entry's resource policy allows it
    *naming the role* (its ARN, or ``*``). A resource policy that allows the account root only delegates
    to the account's identity policies (AWS IAM User Guide, "Policy evaluation logic": the account
    principal in a resource-based policy grants nothing by itself to an IAM role); for a role of another
    account both sides must allow.

    Every way into each role (``platform_secrets.access.aws_trust``: ``Principal.AWS``, ``Federated`` with its
    ``sub``/``aud`` conditions, ``Service``, account roots, ``*``, ``NotPrincipal``) is followed. A role's
    own door is the one exact Kubernetes ServiceAccount of a workload's role (``service_account``), or, for
    a role with no such door, the named roles and users that may assume it (``assumed_by``). Every other
    door is a reader of its own, named for what it admits (an account root, ``*``, a service, a provider
    with the subjects it admits), that reads what the role reads; a door that is a role of the input passes
    the role's entries on to that role's row. Such rows say through which role they read each entry
    (``via``: entry -> role ARNs) and which roles they assume (``assumes``). Besides, rows are given to:

    - each principal a resource policy exempts from its deny but that is not a role of the input
      (``kind: admin``; it reads if its own IAM policy allows);
    - the account itself (``kind: account``: any principal of the account whose IAM policy allows,
      e.g. a power-user role with ``secretsmanager:*``) for every regional copy no deny protects.

    ``env_keys`` maps (namespace, entry name) to the env var an ExternalSecret gives it; without
    it (or for an entry a workload does not sync) the entry's catalog key is used. An entry read in
    only some of its regions is listed under ``regions`` with the regions where it is read.
    """
    env_keys = env_keys or {}
    by_arn = {arn: entry for entry in entries for arn in entry.arns}
    by_name = {entry.name: entry for entry in entries}
    role_by_arn = {role.arn: role for role in roles}
    # A role is judged on the regional ARNs it may reach only: those its identity policies allow, those whose
    # resource policy names it in an Allow, and those whose resource policy may allow anyone. Any other ARN it
    # cannot read (no Allow on either side), so the derivation stays linear in the catalog.
    index = ArnIndex(by_arn)
    open_to_anyone: set[str] = set()
    allowed_by_name: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        names = allow_names(entry.policy)
        if names is None:
            open_to_anyone.update(entry.arns)
        for name in names or ():
            allowed_by_name[name].update(entry.arns)

    def reads(principal: str, identity: tuple[dict[str, Any], ...] | None) -> set[str]:
        """Regional ARNs ``principal`` reads (identity None: its IAM policy is not ours to see)."""
        denied: set[str] = set()
        allows: set[str] = set()
        for doc in identity or ():
            deny, allow = identity_reach(doc, READ_VALUE, index)
            denied |= deny
            allows |= allow
        allows -= denied
        if identity is None:
            candidates: set[str] | frozenset[str] = index.all
        else:
            candidates = allows | open_to_anyone | allowed_by_name.get(principal, set())
        found = set()
        for arn in candidates:
            entry = by_arn[arn]
            resource = aws_verdict(entry.policy, READ_VALUE, arn, principal)
            if arn in denied or resource == "Deny":
                continue
            if identity is None:
                found.add(arn)
                continue
            same_account = _account(principal) == arn.split(":")[4]
            named = (
                aws_verdict(entry.policy, READ_VALUE, arn, principal, by_account=False) == "Allow"
            )
            allowed = arn in allows
            if (allowed or named) if same_account else (allowed and resource == "Allow"):
                found.add(arn)
        return found

    readable = {role.arn: reads(role.arn, role.policies) for role in roles}
    rows: dict[str, dict[str, Any]] = {}
    namespaces: dict[str, str | None] = {}
    doors: dict[str, list[trust.WayIn]] = {}  # role ARN -> the doors that are readers of their own
    for role in roles:
        row: dict[str, Any] = {"identity": role.arn, "kind": "tooling"}
        ways = trust.ways_in(role.trust)
        own = next((w for w in ways if w.service_account), None)
        if own is not None and own.service_account:
            row["kind"] = "workload"
            row["service_account"] = own.service_account
            others = [w for w in ways if w != own]
        else:
            others = [w for w in ways if w.kind != "aws"]
            named = sorted(w.principal for w in ways if w.kind == "aws")
            if named:
                row["assumed_by"] = named
        if others:
            row["assumed_by"] = sorted({*row.get("assumed_by", []), *(w.name for w in others)})
        # A role of the input that may assume this one reads through it, whatever the door.
        doors[role.arn] = sorted({*others, *(w for w in ways if w.principal in role_by_arn)})
        rows[role.arn] = row
        namespaces[role.arn] = (
            own.service_account.split("/")[0] if own and own.service_account else None
        )

    # Principals outside the roles: exempted admins, and the account as a whole (any principal).
    outsiders: dict[str, dict[str, Any]] = {}
    for principal in sorted({p for e in entries if e.policy for p in _named_principals(e.policy)}):
        if principal not in role_by_arn:
            outsiders[principal] = {
                "kind": "admin",
                "note": "not denied by the entries' resource policies; reads if its own IAM "
                "policy allows",
            }
    for account in sorted({arn.split(":")[4] for arn in by_arn}):
        outsiders[f"arn:aws:iam::{account}:root"] = {
            "kind": "account",
            "note": "any principal of the account whose own IAM policy allows (e.g. "
            "secretsmanager:* and kms:*): no resource policy denies it these entries",
        }
    for principal in outsiders:
        readable[principal] = reads(principal, None)

    # Every other door is a reader: whoever comes in reads what the role reads, to a fixed point.
    assumers: dict[str, set[str]] = defaultdict(set)
    for role_arn, ways in doors.items():
        for way in ways:
            assumers[role_arn].add(way.name)
            if way.name not in readable:
                outsiders[way.name] = _door_row(way)
                readable[way.name] = set()
    direct = {principal: set(arns) for principal, arns in readable.items()}  # before the chains
    assumes: dict[str, set[str]] = defaultdict(set)
    changed = True
    while changed:
        changed = False
        for role_arn, principals in assumers.items():
            for principal in principals - {role_arn}:
                gained = readable[role_arn] - readable[principal]
                if gained or role_arn not in assumes[principal]:
                    readable[principal] |= readable[role_arn]
                    assumes[principal].add(role_arn)
                    changed = changed or bool(gained)

    def fill(row: dict[str, Any], principal: str, namespace: str | None) -> dict[str, Any]:
        arns = readable[principal]  # every row's principal: a role, an outsider or a door
        names = sorted({by_arn[arn].name for arn in arns})
        row["entries"] = names
        row["keys"] = sorted(env_keys.get((namespace, name)) or by_name[name].key for name in names)
        partial = {
            name: sorted(arn.split(":")[3] for arn in by_name[name].arns if arn in arns)
            for name in names
            if not set(by_name[name].arns) <= arns
        }
        if partial:
            row["regions"] = partial
        if assumes.get(principal):
            row["assumes"] = sorted(assumes[principal])
            own = {by_arn[arn].name for arn in direct[principal]}
            via = {
                name: sorted(r for r in assumes[principal] if set(by_name[name].arns) & readable[r])
                for name in names
                if name not in own
            }
            if via:
                row["via"] = via
        return row

    matrix: dict[str, dict[str, Any]] = {}
    for role in roles:
        service = role.tags.get("platform-secrets/service", role.name)
        matrix[service] = fill(rows[role.arn], role.arn, namespaces[role.arn])
    for principal, row in outsiders.items():
        filled = fill({"identity": principal, **row}, principal, None)
        if filled["entries"]:
            matrix[principal] = {
                k: filled[k]
                for k in (
                    "identity",
                    "entries",
                    "keys",
                    "kind",
                    "note",
                    "admits",
                    "regions",
                    "assumes",
                    "via",
                )
                if k in filled
            }
    return matrix


def _door_row(way: trust.WayIn) -> dict[str, Any]:
    """The row of a reader that comes in through a door of its own (not the role's declared one)."""
    notes = {
        "account": "any principal of the account whose own IAM policy allows it to assume the role",
        "anyone": "any principal at all (of any account) may assume the role",
        "federated": f"any token of {way.principal} whose claims match: {way.admits}",
        "service": f"the service {way.principal}, for whoever may hand it the role (iam:PassRole)",
        "aws": f"{way.principal} may assume the role",
    }
    kind = {"aws": "other"}.get(way.kind, way.kind)
    row: dict[str, Any] = {"kind": kind, "note": notes[way.kind]}
    if way.admits:
        row["admits"] = way.admits
    return row


def _account(principal: str) -> str:
    """The account of an ARN (empty for ``*`` or a service name)."""
    parts = principal.split(":")
    return parts[4] if len(parts) > 5 else ""


def _aws(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    entries, roles, env_keys = aws_documents(resources)
    return derive_aws(entries, roles, env_keys)


def _document(document: str | dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(document) if isinstance(document, str) else document
    return dict(doc)


# --- GCP and Azure: one module each (platform_secrets/access/gcp.py, platform_secrets/access/azure.py) ---


def _gcp(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    return access_gcp.derive(resources)


def _azure(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    return access_azure.derive(resources)
