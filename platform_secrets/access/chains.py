"""Pieces the per-store access derivations share: env keys of ExternalSecrets, trust chains, row owners.

Pure: reads registrations (or live objects in their shape), no Pulumi, no cloud SDK.
"""

from __future__ import annotations

from typing import Any

SERVICE_COMPONENT = "platform-secrets:index:ServiceSecrets"


def env_keys(resources: list[Any]) -> dict[tuple[str | None, str], str]:
    """(namespace, store entry name) -> env var, from ExternalSecrets' data.

    An item at a ``remoteRef.version`` (``<KEY>_PREVIOUS`` during an overlap) is the same entry's previous
    value, not another name for it: the entry keeps its current env var."""
    keys: dict[tuple[str | None, str], str] = {}
    for r in resources:
        if r.type == "kubernetes:external-secrets.io/v1:ExternalSecret":
            ns = r.inputs["metadata"]["namespace"]
            for item in r.inputs["spec"].get("data", []):
                if item["remoteRef"].get("version") is not None:
                    continue
                keys[(ns, item["remoteRef"]["key"])] = item["secretKey"]
    return keys


def owner_service(parent: str) -> str | None:
    """The service whose component registered a grant (its parent's name), or None (live, or not ours)."""
    head, _, name = parent.rpartition("::")
    return name if head.endswith(SERVICE_COMPONENT) and name else None


def follow_chains(matrix: dict[str, dict[str, Any]], edges: list[tuple[str, str]]) -> None:
    """``(actor, identity)``: the actor's row also reads what the identity's row reads (to a fixed point)."""
    changed = True
    while changed:
        changed = False
        for actor, target in edges:
            row, other = matrix[actor], matrix[target]
            entries = sorted(set(row["entries"]) | set(other["entries"]))
            assumes = sorted({*row.get("assumes", []), other["identity"]})
            if entries != row["entries"] or assumes != row.get("assumes"):
                row["entries"] = entries
                row["keys"] = sorted(set(row["keys"]) | set(other["keys"]))
                row["assumes"] = assumes
                changed = True
