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
from dataclasses import dataclass, field
from typing import Any

from tools import access_azure, access_gcp, access_vault
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
    if types & {access_vault.KV_V2_TYPE, access_vault.ENDPOINT_TYPE}:
        matrix.update(access_vault.from_registered(resources, _env_keys(resources)))
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


# --- AWS: identity policies, resource policies and trust chains, over plain documents ---

READ_VALUE = "secretsmanager:GetSecretValue"
"""The action that reads a value: an entry is readable by whoever may perform it on its ARN."""


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
    return entries, roles, _env_keys(resources)


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

    A role reads a regional copy when one of its identity policies (or the entry's resource policy)
    allows ``secretsmanager:GetSecretValue`` on that regional ARN and no explicit deny (identity or
    resource policy) refuses it. Trust chains are followed: a role that another role of the input
    may assume passes its entries on to that role (``assumes`` names the chain), and a role that an
    account root (``arn:aws:iam::<acct>:root`` or ``<acct>``) or ``*`` may assume passes them on to
    that principal's row. Besides the roles, rows are given to:

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
    role_by_arn = {role.arn: role for role in roles}

    def reads(principal: str, identity: tuple[dict[str, Any], ...] | None) -> set[str]:
        """Regional ARNs ``principal`` reads (identity None: its IAM policy is not ours to see)."""
        found = set()
        for arn, entry in by_arn.items():
            verdicts = [aws_verdict(doc, READ_VALUE, arn, None) for doc in identity or ()]
            resource = (
                aws_verdict(entry.policy, READ_VALUE, arn, principal) if entry.policy else None
            )
            if "Deny" in verdicts or resource == "Deny":
                continue
            if identity is None or "Allow" in verdicts or resource == "Allow":
                found.add(arn)
        return found

    direct = {role.arn: reads(role.arn, role.policies) for role in roles}
    rows: dict[str, dict[str, Any]] = {}
    namespaces: dict[str, str | None] = {}
    for role in roles:
        row: dict[str, Any] = {"identity": role.arn, "kind": "tooling"}
        namespace = None
        for st in _statements(role.trust):
            for key, value in (st.get("Condition", {}).get("StringEquals", {}) or {}).items():
                if key.endswith(":sub") and str(value).startswith("system:serviceaccount:"):
                    namespace, sa = str(value).split(":")[2:4]
                    row["kind"] = "workload"
                    row["service_account"] = f"{namespace}/{sa}"
            principals = (
                (st.get("Principal") or {}).get("AWS")
                if isinstance(st.get("Principal"), dict)
                else st.get("Principal")
            )
            if principals:
                row["assumed_by"] = sorted(_as_list(principals))
        rows[role.arn] = row
        namespaces[role.arn] = namespace

    # Principals outside the roles: exempted admins, and the account as a whole (any principal).
    outsiders: dict[str, dict[str, Any]] = {}
    for principal in sorted({p for e in entries if e.policy for p in _named_principals(e.policy)}):
        if principal not in role_by_arn:
            outsiders[principal] = {
                "kind": "admin",
                "note": "not denied by the entries' resource policies; reads if its own IAM "
                "policy allows",
            }
    accounts = sorted({arn.split(":")[4] for arn in by_arn})
    for account in accounts:
        outsiders[f"arn:aws:iam::{account}:root"] = {
            "kind": "account",
            "note": "any principal of the account whose own IAM policy allows (e.g. "
            "secretsmanager:* and kms:*): no resource policy denies it these entries",
        }
    readable = dict(direct)
    for principal in outsiders:
        readable[principal] = reads(principal, None)

    # Trust chains: whoever may assume a role reads what the role reads, to a fixed point.
    assumers: dict[str, set[str]] = defaultdict(set)
    for role in roles:
        for principal in _trusted_principals(role.trust):
            if principal == "*" or re.fullmatch(r"\d{12}", principal):
                principal = f"arn:aws:iam::{principal if principal != '*' else '*'}:root"
            assumers[role.arn].add(principal)
    assumes: dict[str, set[str]] = defaultdict(set)
    changed = True
    while changed:
        changed = False
        for role_arn, principals in assumers.items():
            for principal in principals:
                if principal == role_arn:
                    continue
                if principal not in readable and principal.endswith(":root"):
                    outsiders[principal] = {"kind": "account", "note": "may assume a role"}
                    readable[principal] = set()
                if principal not in readable:
                    continue  # named in assumed_by of the role's row
                gained = readable[role_arn] - readable[principal]
                if gained or role_arn not in assumes[principal]:
                    readable[principal] |= readable[role_arn]
                    assumes[principal].add(role_arn)
                    changed = changed or bool(gained)

    def fill(row: dict[str, Any], principal: str, namespace: str | None) -> dict[str, Any]:
        arns = readable.get(principal, set())
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
        return row

    by_name = {entry.name: entry for entry in entries}
    matrix: dict[str, dict[str, Any]] = {}
    for role in roles:
        service = role.tags.get("platform-secrets/service", role.name)
        matrix[service] = fill(rows[role.arn], role.arn, namespaces[role.arn])
    for principal, row in outsiders.items():
        filled = fill({"identity": principal, **row}, principal, None)
        if filled["entries"]:
            matrix[principal] = {
                k: filled[k]
                for k in ("identity", "entries", "keys", "kind", "note", "regions", "assumes")
                if k in filled
            }
    return matrix


def _aws(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    entries, roles, env_keys = aws_documents(resources)
    return derive_aws(entries, roles, env_keys)


def _document(document: str | dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(document) if isinstance(document, str) else document
    return dict(doc)


def _matches(patterns: Any, value: str, *, case: bool) -> bool:
    """IAM matching with ``*`` and ``?`` (actions case-insensitive, ARNs case-sensitive)."""
    for pattern in _as_list(patterns):
        pattern, subject = (str(pattern), value) if case else (str(pattern).lower(), value.lower())
        if fnmatch.fnmatchcase(subject, pattern.replace("[", "[[]")):
            return True
    return False


def _principal_matches(principal_block: Any, principal: str | None) -> bool:
    """Whether a statement's ``Principal`` covers ``principal`` (None: an unnamed one)."""
    if principal_block == "*":
        return True
    if not isinstance(principal_block, dict):
        return False
    named = [str(p) for p in _as_list(principal_block.get("AWS", []))]
    if "*" in named:
        return True
    if principal is None:
        return False
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    return principal in named or account in named or f"arn:aws:iam::{account}:root" in named


_NEGATED = {"StringNotEquals", "ArnNotEquals", "StringNotLike", "ArnNotLike"}
_POSITIVE = {"StringEquals", "ArnEquals", "StringLike", "ArnLike"}


def _conditions_hold(condition: dict[str, Any], principal: str | None) -> bool | None:
    """Whether a statement's aws:PrincipalArn conditions hold for ``principal``.

    True or False when every condition is on ``aws:PrincipalArn`` (None: an unnamed principal,
    which no list names); None when another condition decides (unknown here).
    """
    result = True
    for operator, block in (condition or {}).items():
        op = operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:")
        op = op.removesuffix("IfExists")
        for key, values in (block or {}).items():
            if key.lower() != "aws:principalarn" or op not in _NEGATED | _POSITIVE:
                return None
            listed = principal is not None and (
                _matches(values, principal, case=True)
                if op.endswith("Like")
                else principal in _as_list(values)
            )
            result = result and (not listed if op in _NEGATED else listed)
    return result


def aws_verdict(
    doc: dict[str, Any] | None, action: str, arn: str, principal: str | None
) -> str | None:
    """ "Deny", "Allow" or None: what ``doc`` says about ``principal`` doing ``action`` on ``arn``.

    ``principal`` None evaluates an identity policy (no Principal element), or, for a resource
    policy, a principal that no statement names. A statement whose conditions are unknown here
    counts as allowing (it may) and not as denying (it may not): readers are over-reported, never
    hidden.
    """
    if doc is None:
        return None
    verdict = None
    for st in _statements(doc):
        if "Action" in st and not _matches(st["Action"], action, case=False):
            continue
        if "NotAction" in st and _matches(st["NotAction"], action, case=False):
            continue
        if "Resource" in st and not _matches(st["Resource"], arn, case=True):
            continue
        if "NotResource" in st and _matches(st["NotResource"], arn, case=True):
            continue
        if "Principal" in st and not _principal_matches(st["Principal"], principal):
            continue
        holds = _conditions_hold(st.get("Condition", {}), principal)
        if st.get("Effect") == "Deny" and holds:
            return "Deny"
        if st.get("Effect") == "Allow" and holds is not False:
            verdict = "Allow"
    return verdict


def _named_principals(doc: dict[str, Any]) -> set[str]:
    """Principals a resource policy names (in Principal or an aws:PrincipalArn condition)."""
    found: set[str] = set()
    for st in _statements(doc):
        for block in (st.get("Condition") or {}).values():
            for key, values in (block or {}).items():
                if key.lower() == "aws:principalarn":
                    found.update(str(v) for v in _as_list(values) if "*" not in str(v))
        principal = st.get("Principal")
        if isinstance(principal, dict):
            found.update(str(p) for p in _as_list(principal.get("AWS", [])) if p != "*")
    return found


def _trusted_principals(trust: dict[str, Any]) -> set[str]:
    """AWS principals a trust policy lets call ``sts:AssumeRole`` (or ``*``)."""
    found: set[str] = set()
    for st in _statements(trust):
        if st.get("Effect") != "Allow":
            continue
        if not _matches(st.get("Action", []), "sts:AssumeRole", case=False):
            continue
        principal = st.get("Principal")
        if principal == "*":
            found.add("*")
        elif isinstance(principal, dict):
            found.update(str(p) for p in _as_list(principal.get("AWS", [])))
    return found


# --- GCP and Azure: one module each (tools/access_gcp.py, tools/access_azure.py) ---


def _gcp(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    return access_gcp.derive(resources)


def _azure(resources: list[Registered]) -> dict[str, dict[str, Any]]:
    return access_azure.derive(resources)
