"""AWS judgements of the audit beyond the access matrix: latent readers, the exact resource policy, the key.

- **Latent reader**: a role the audit reads (under the stack's prefix, or declared by the plan) whose own
  identity policies allow ``secretsmanager:GetSecretValue`` on an entry it is not declared to read. Only the
  entry's resource policy stops it today: it reads the moment that policy is relaxed.
- **Resource policy**: the live document must be the plan's, exactly (``platform_secrets.access.doors.canonical``); a
  permissive replacement may leave the access matrix unchanged (readers are judged from the documents, and a
  removed deny on writes changes no reader), so every difference is named.
- **Key**: an entry must be encrypted with the key the stack's alias targets (the offline plan cannot know
  the live key's id; the alias name is deterministic): another customer-managed key is a protection problem.

No store client: plain documents in, problems out (``platform_secrets.access.matrix.aws_verdict`` evaluates the identity
policies).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from platform_secrets.access import matrix as access
from platform_secrets.access.doors import canonical

if (
    TYPE_CHECKING
):  # the registrations' shape only: importing platform_secrets.offline.runner would load Pulumi
    from platform_secrets.offline.registered import Registered

READ = access.READ_VALUE
KMS_ALIAS = "aws:kms/alias:Alias"
KMS_KEYS = ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")
_SHOWN = 3
"""How many items of a long list a difference names (then a count)."""


def grants_read(policies: Iterable[dict[str, Any]], arns: Iterable[str]) -> bool:
    """Whether identity policies alone allow reading one of ``arns`` (no explicit deny on it)."""
    documents = list(policies)
    for arn in arns:
        verdicts = [access.aws_verdict(doc, READ, arn, None) for doc in documents]
        if "Allow" in verdicts and "Deny" not in verdicts:
            return True
    return False


def latent_readers(
    entries: Iterable[tuple[str, tuple[str, ...]]],
    roles: Iterable[tuple[str, str, tuple[dict[str, Any], ...]]],
    declared: dict[str, dict[str, str]],
    live: dict[str, dict[str, str]],
    declared_roles: set[str],
) -> list[tuple[str, str, str]]:
    """(entry, role ARN, detail) for each role whose own policies let it read an entry it may not read.

    ``entries``: (name, regional ARNs); ``roles``: (name, ARN, identity policies); ``declared`` and
    ``live``: entry -> {reader identity: label} of the plan's and the live matrix (a live reader is an
    extra-reader already, not a latent one); ``declared_roles``: the names of the plan's roles.
    """
    entries = list(entries)
    found = []
    for name, arn, policies in roles:
        for entry, arns in entries:
            if arn in declared.get(entry, {}) or arn in live.get(entry, {}):
                continue
            if grants_read(policies, arns):
                whose = (
                    "the plan declares the role, not this grant"
                    if name in declared_roles
                    else ("a role the plan does not declare")
                )
                found.append(
                    (
                        entry,
                        arn,
                        f"{name}'s own IAM policy allows {READ} on it ({whose}); only the entry's "
                        "resource policy stops it today",
                    )
                )
    return sorted(found)


# --- the resource policy, exactly ---


def _principal(block: Any) -> Any:
    """A ``Principal`` as IAM reads it: ``"*"`` is ``{"AWS": "*"}``, an account id its root ARN."""
    if not isinstance(block, dict):
        block = {"AWS": block}
    return {
        kind: [
            f"arn:aws:iam::{v}:root" if kind == "AWS" and re.fullmatch(r"\d{12}", str(v)) else v
            for v in (values if isinstance(values, list) else [values])
        ]
        for kind, values in block.items()
    }


def _normal(document: Any) -> Any:
    document = json.loads(json.dumps(document))
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        for key in ("Principal", "NotPrincipal"):
            if isinstance(statement, dict) and key in statement:
                statement[key] = _principal(statement[key])
    return json.loads(canonical(document))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else canonical(value)


def _items(value: Any) -> list[str]:
    return [_text(v) for v in (value if isinstance(value, list) else [value])]


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")


def _differences(path: str, planned: Any, live: Any) -> list[str]:
    if canonical(planned) == canonical(live):
        return []
    if isinstance(planned, dict) and isinstance(live, dict):
        found = []
        for key in sorted(planned.keys() | live.keys()):
            if key not in live:
                found.append(f"{path}.{key} is gone (planned {_text(planned[key])})")
            elif key not in planned:
                found.append(f"{path}.{key} is added: {_text(live[key])}")
            else:
                found += _differences(f"{path}.{key}", planned[key], live[key])
        return found
    if isinstance(planned, dict) or isinstance(live, dict):
        return [f"{path}: planned {_text(planned)}, live {_text(live)}"]
    want, have = _items(planned), _items(live)
    if len(want) == len(have) == 1:
        return [f"{path}: planned {want[0]}, live {have[0]}"]
    added = [v for v in have if v not in want]
    lacks = [v for v in want if v not in have]
    parts = ([f"live adds {_listed(added)}"] if added else []) + (
        [f"lacks {_listed(lacks)}"] if lacks else []
    )
    return [f"{path}: {'; '.join(parts)}"]


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return {
        str(s.get("Sid") or f"#{n} {canonical(s)}"): s
        for n, s in enumerate(statements)
        if isinstance(s, dict)
    }


def policy_differences(planned: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """What differs between the plan's resource policy and the live one (empty: they are the same)."""
    planned, live = _normal(planned), _normal(live)
    if canonical(planned) == canonical(live):
        return []
    found = []
    for key in sorted((planned.keys() | live.keys()) - {"Statement"}):
        found += _differences(key, planned.get(key), live.get(key))
    want, have = _statements(planned), _statements(live)
    for sid in sorted(want.keys() - have.keys()):
        found.append(f"statement {sid.split(' ', 1)[0]} is gone")
    for sid in sorted(have.keys() - want.keys()):
        found.append(f"statement added: {canonical(have[sid])}")
    for sid in sorted(want.keys() & have.keys()):
        found += _differences(sid, want[sid], have[sid])
    return found


def policy_problem(planned: dict[str, Any] | None, live: dict[str, Any] | None) -> str | None:
    """A protection problem when a planned resource policy is not the live one, else None."""
    if planned is None or live is None:
        return None
    differences = policy_differences(planned, live)
    if not differences:
        return None
    return "the resource policy is not the plan's: " + "; ".join(differences)


# --- the key ---


def key_aliases(resources: list[Registered], default_region: str) -> dict[str, tuple[str, str]]:
    """Plan key ARN -> (region, alias name): the alias the stack gives each of its keys, per region."""
    aliases = {
        (str(a.inputs.get("region") or default_region), str(a.inputs["targetKeyId"])): str(
            a.inputs["name"]
        )
        for a in resources
        if a.type == KMS_ALIAS
    }
    found = {}
    for key in resources:
        arn = str(key.outputs.get("arn") or "")
        if key.type not in KMS_KEYS or ":key/" not in arn:
            continue
        region, key_id = arn.split(":")[3], arn.rsplit("/", 1)[1]
        alias = aliases.get((region, key_id)) or aliases.get((region, arn))
        if alias:
            found[arn] = (region, alias)
    return found


def live_key_id(value: str | None, aliases: dict[str, str]) -> str | None:
    """A key id from what Secrets Manager shows (key ARN, key id, alias ARN or alias name)."""
    if not value:
        return None
    tail = value.split(":", 5)[5] if value.startswith("arn:") and value.count(":") >= 5 else value
    if tail.startswith("alias/"):
        return aliases.get(tail, tail)
    return tail.removeprefix("key/")


def key_problem(
    where: str, declared_key: str, live_key: str | None, alias: str, targets: dict[str, str]
) -> str | None:
    """A protection problem when ``live_key`` is not the key the stack's ``alias`` targets."""
    if not live_key:
        return None  # no customer-managed key at all: reported on its own
    target = targets.get(alias)
    if target is None:
        return (
            f"{where}: the stack's key alias {alias} is gone, so the key {live_key} cannot be told "
            f"from the stack's ({declared_key} in the plan)"
        )
    if live_key_id(live_key, targets) != target:
        return (
            f"{where} is encrypted with the KMS key {live_key}, not the stack's key {alias} "
            f"(key {target})"
        )
    return None


class KeyCheck:
    """Whether an entry (and each replica) is encrypted with the key the stack's alias targets.

    ``targets_in(region)`` gives the live aliases of a region (alias name -> key id), asked once per region.
    """

    def __init__(
        self,
        resources: list[Registered],
        default_region: str,
        targets_in: Callable[[str], dict[str, str]],
    ) -> None:
        self._aliases = key_aliases(resources, default_region)
        self._targets_in = targets_in
        self._targets: dict[str, dict[str, str]] = {}

    def _targets_of(self, region: str) -> dict[str, str]:
        if region not in self._targets:
            self._targets[region] = self._targets_in(region)
        return self._targets[region]

    def problems(
        self,
        inputs: dict[str, Any],
        live_key: str | None,
        live_replicas: set[str],
        replica_keys: dict[str, str | None],
    ) -> list[str]:
        """Problems of one entry: ``inputs`` are the plan's, the rest what the store shows."""
        wanted = [("the entry", inputs.get("kmsKeyId"), live_key)]
        wanted += [
            (f"its replica in {r['region']}", r.get("kmsKeyId"), replica_keys.get(r["region"]))
            for r in inputs.get("replicas") or []
            if r["region"] in live_replicas  # a missing replica is reported on its own
        ]
        found = []
        for where, declared_key, shown in wanted:
            if not declared_key or str(declared_key) not in self._aliases:
                continue  # no customer-managed key declared, or one the stack names no alias for
            region, alias = self._aliases[str(declared_key)]
            if shown is None and where != "the entry":  # the entry's own case is reported apart
                found.append(f"{where} shows no customer-managed key, the stack declares {alias}")
                continue
            problem = key_problem(where, str(declared_key), shown, alias, self._targets_of(region))
            if problem:
                found.append(problem)
        return found
