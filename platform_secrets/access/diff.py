"""The access change between two offline plans: who may read what, as whom, that could not before.

``platform-secrets plan --stack dev --out plan-head --diff-against plan-base`` compares the head plan's artifacts
with another plan's (e.g. the base branch's) and writes ``access-diff.md`` and ``access-diff.json`` beside them.
It reads only the artifacts (``access.json``, ``iam/``, ``resources.json``), so the base may come from any
checkout. Widenings come first: readers added, trust added, identities and entries added; then what was removed
or changed, and protection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRUST_DOCUMENTS = (".trust.json", ".service-account-iam.json", ".federated-credentials.json")
"""iam/ files that say who may act as an identity (AWS trust policies, GCP and Azure grants)."""
ENTRY_TYPES = dict(
    [
        ("aws:secretsmanager/secret:Secret", "name"),
        ("gcp:secretmanager/secret:Secret", "secretId"),
        ("azure-native:keyvault:Secret", "secretName"),
    ]
)
"""Store entry resources and the input that names the entry."""
SECTIONS = (
    ("readers_added", "Readers added"),
    ("trust_added", "Trust added (who may act as an identity)"),
    ("identities_added", "Identities added"),
    ("entries_added", "Entries added"),
    ("readers_removed", "Readers removed"),
    ("trust_removed", "Trust removed"),
    ("identities_removed", "Identities removed"),
    ("identities_changed", "Identities changed"),
    ("trust_documents_changed", "Trust documents changed"),
    ("entries_removed", "Entries removed"),
    ("protection_changed", "Protection changed"),
)


def _load(plan: Path) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    access = json.loads((plan / "access.json").read_text())
    docs = {
        p.name: json.loads(p.read_text())
        for p in sorted((plan / "iam").glob("*.json"))
        if p.name.endswith(TRUST_DOCUMENTS)
    }
    resources_file = plan / "resources.json"
    resources = json.loads(resources_file.read_text()) if resources_file.exists() else []
    return access, docs, resources


def _readers(access: dict[str, Any]) -> set[tuple[str, str]]:
    return {(entry, name) for name, row in access.items() for entry in row.get("entries", [])}


def _trust(access: dict[str, Any]) -> set[tuple[str, str]]:
    """(identity name, who may act as it): its Kubernetes ServiceAccount and its trusted principals."""
    found = set()
    for name, row in access.items():
        if "service_account" in row:
            found.add((name, f"ServiceAccount {row['service_account']}"))
        found |= {(name, principal) for principal in row.get("assumed_by", [])}
    return found


def _entries(access: dict[str, Any], resources: list[dict[str, Any]]) -> set[str]:
    found = {entry for row in access.values() for entry in row.get("entries", [])}
    for record in resources:
        field = ENTRY_TYPES.get(record["type"])
        if field and isinstance(record["inputs"].get(field), str):
            found.add(record["inputs"][field])
    return found


def _protection(resources: list[dict[str, Any]]) -> dict[str, tuple[str, tuple[bool, bool]]]:
    """Each resource's flags, keyed by its URN without the stack: a service moved to another stack of the
    environment with its state (``pulumi state move``) is the same resource (``shards moves`` refuses a
    protected one changing stack without a record)."""
    return {
        r["urn"].split("::", 1)[-1]: (r["urn"], (bool(r["protect"]), bool(r["retain_on_delete"])))
        for r in resources
    }


def diff(base: Path, head: Path) -> dict[str, Any]:
    """The access change from the plan in ``base`` to the plan in ``head``."""
    base_access, base_docs, base_resources = _load(base)
    head_access, head_docs, head_resources = _load(head)
    before, after = _readers(base_access), _readers(head_access)

    def reader(entry: str, name: str, access: dict[str, Any]) -> dict[str, str]:
        row = access[name]
        return {"entry": entry, "reader": name, "kind": row["kind"], "identity": row["identity"]}

    identities = [
        {
            "name": name,
            "before": base_access[name]["identity"],
            "after": head_access[name]["identity"],
        }
        for name in sorted(base_access.keys() & head_access.keys())
        if base_access[name]["identity"] != head_access[name]["identity"]
    ]
    trust_before, trust_after = _trust(base_access), _trust(head_access)
    entries_before = _entries(base_access, base_resources)
    entries_after = _entries(head_access, head_resources)
    protect_before, protect_after = _protection(base_resources), _protection(head_resources)
    protection = []
    for key in sorted(protect_before.keys() | protect_after.keys()):
        urn, was = protect_before.get(key, ("", None))
        urn, now = protect_after.get(key, (urn, None))
        if was == now or (not any(was or ()) and not any(now or ())):
            continue  # unchanged, or never protected (an unprotected resource added or removed)
        protection.append(
            {
                "urn": urn,
                "before": _flags(was) if was else "absent",
                "after": _flags(now) if now else "absent",
            }
        )
    return {
        "readers_added": [reader(e, n, head_access) for e, n in sorted(after - before)],
        "trust_added": [{"identity": i, "by": p} for i, p in sorted(trust_after - trust_before)],
        "identities_added": [
            {"name": n, "identity": head_access[n]["identity"], "kind": head_access[n]["kind"]}
            for n in sorted(head_access.keys() - base_access.keys())
        ],
        "entries_added": sorted(entries_after - entries_before),
        "readers_removed": [reader(e, n, base_access) for e, n in sorted(before - after)],
        "trust_removed": [{"identity": i, "by": p} for i, p in sorted(trust_before - trust_after)],
        "identities_removed": [
            {"name": n, "identity": base_access[n]["identity"], "kind": base_access[n]["kind"]}
            for n in sorted(base_access.keys() - head_access.keys())
        ],
        "identities_changed": identities,
        "trust_documents_changed": sorted(
            name
            for name in base_docs.keys() | head_docs.keys()
            if base_docs.get(name) != head_docs.get(name)
        ),
        "entries_removed": sorted(entries_before - entries_after),
        "protection_changed": protection,
    }


def _flags(flags: tuple[bool, bool]) -> str:
    names = [name for name, on in zip(("protect", "retain_on_delete"), flags, strict=True) if on]
    return "+".join(names) or "unprotected"


def changed(result: dict[str, Any]) -> bool:
    return any(result[key] for key, _ in SECTIONS)


def _line(key: str, item: Any) -> str:
    if key.startswith("readers_"):
        return f"`{item['entry']}`: **{item['reader']}** ({item['kind']}, `{item['identity']}`)"
    if key.startswith("trust_") and isinstance(item, dict):
        return f"**{item['identity']}** may be acted as by `{item['by']}`"
    if key.startswith("identities_") and "before" in item:
        return f"**{item['name']}**: `{item['before']}` -> `{item['after']}`"
    if key.startswith("identities_"):
        return f"**{item['name']}** ({item['kind']}, `{item['identity']}`)"
    if key == "protection_changed":
        return f"`{item['urn']}`: {item['before']} -> {item['after']}"
    return f"`{item}`"


def render(result: dict[str, Any]) -> str:
    """Markdown, widenings first; "no access change" when there is none."""
    if not changed(result):
        return "## Access change\n\nno access change\n"
    lines = ["## Access change"]
    for key, title in SECTIONS:
        if result[key]:
            lines += ["", f"### {title} ({len(result[key])})", ""]
            lines += [f"- {_line(key, item)}" for item in result[key]]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], out: Path) -> None:
    data = {"changed": changed(result), **result}
    (out / "access-diff.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (out / "access-diff.md").write_text(render(result))
