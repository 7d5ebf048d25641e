"""Resources that change stack between two sharded plans, and the ``pulumi state move`` steps that keep them.

Pure: it reads two environment plans' folders (``DIR/<stack>/resources.json``, as ``platform-secrets plan
--environment ENV --out DIR`` writes them) and compares them keyed by URN with the stack segment removed
(``urn:pulumi:<stack>::<rest>`` -> ``<rest>``): a service moved to another shard keeps its logical names and
parent chain, so only the stack part of its URNs changes. Without a ``moved:`` record such a change is a delete in
one stack and a create in the other: a protected resource (a prod entry, a key) is refused, and any other is named
too (its state, and so its generated values, would not follow). With the record it is a ``state move`` step.
Providers and the stack root are left out: every stack has its own, and ``state move`` copies providers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_secrets.model.shard_moves import Move
from platform_secrets.model.shards import COMPONENT, PROVIDER

STACK_ROOT = "pulumi:pulumi:Stack"
Records = Mapping[str, Sequence[Mapping[str, Any]]]
"""Stack name -> that stack's registration records (``resources.json``)."""


class NotAPlan(ValueError):
    """A folder that holds no per-stack plan: nothing to compare."""


@dataclass(frozen=True)
class Step:
    """One ``pulumi state move`` of a service's top resources (their children move with them)."""

    service: str
    source: str
    dest: str
    urns: tuple[str, ...]

    def argv(self, yes: bool = False) -> list[str]:
        return [
            "pulumi", "state", "move", "--source", self.source, "--dest", self.dest,
            *(["--yes"] if yes else []), *self.urns,
        ]  # fmt: skip


@dataclass
class MoveReport:
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def split_urn(urn: str) -> tuple[str, str]:
    """``urn:pulumi:<stack>::<rest>`` -> (stack, rest)."""
    head, sep, rest = urn.partition("::")
    if not sep or not head.startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn}")
    return head.removeprefix("urn:pulumi:"), rest


def read_plans(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every ``<stack>/resources.json`` under ``folder``; ``NotAPlan`` when there is none."""
    plans = {}
    for path in sorted(folder.glob("*/resources.json")):
        try:
            plans[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise NotAPlan(f"{path} is not a plan's resources.json: {error}") from None
    if not plans:
        raise NotAPlan(f"{folder} holds no <stack>/resources.json (an environment plan's folder)")
    return plans


def _index(plans: Records) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Stack-free URN -> {stack: record}, providers and stack roots left out."""
    index: dict[str, dict[str, Mapping[str, Any]]] = {}
    for stack, records in plans.items():
        for record in records:
            kind = str(record["type"])
            if kind.startswith(PROVIDER) or kind == STACK_ROOT:
                continue
            index.setdefault(split_urn(str(record["urn"]))[1], {})[stack] = record
    return index


def _owner(key: str, stack: str, index: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The service whose component holds the resource (``-`` when none does)."""
    node = index.get(key, {}).get(stack)
    while node is not None:
        if node["type"] == COMPONENT:
            return str(node["name"])
        parent = str(node.get("parent") or "")
        node = index.get(split_urn(parent)[1], {}).get(stack) if parent else None
    return "-"


def compare(base: Records, head: Records, moved: Sequence[Move], origin: str) -> MoveReport:
    """The moves from the ``base`` plans to the ``head`` plans: steps for recorded ones, problems for the rest."""
    before, after = _index(base), _index(head)
    report = MoveReport()
    moving: dict[Move, list[str]] = {m: [] for m in moved}
    protected: list[str] = []
    unrecorded: list[str] = []
    for key in sorted(before.keys() & after.keys()):
        left = sorted(before[key].keys() - after[key].keys())
        joined = sorted(after[key].keys() - before[key].keys())
        if not left or not joined:
            continue
        service = _owner(key, left[0], before)
        record = next(
            (m for m in moved if (m.service, [m.source], [m.dest]) == (service, left, joined)), None
        )
        if record is not None:
            moving[record].append(key)
            continue
        flags = [before[key][s] for s in left] + [after[key][s] for s in joined]
        line = f"  - {key}: {', '.join(left)} -> {', '.join(joined)} (service {service})"
        (protected if any(r.get("protect") for r in flags) else unrecorded).append(line)
    if protected:
        report.problems.append(
            f"{len(protected)} protected resource(s) change stack without a `moved:` record in {origin}: "
            "the old stack would delete them (refused, they are protected) and the new one create them "
            "anew, with new generated values. Add `moved: [{service, from, to}]` (runbooks/shards.md):\n"
            + "\n".join(protected)
        )
    if unrecorded:
        report.problems.append(
            f"{len(unrecorded)} resource(s) would be deleted in one stack and created in another without "
            f"a `moved:` record in {origin}: their state and generated values would not follow:\n"
            + "\n".join(unrecorded)
        )
    for index, (move, keys) in enumerate(moving.items()):
        if not keys:
            report.notes.append(
                f"{origin}: moved[{index}]: no resource of {move.service} leaves {move.source} for "
                f"{move.dest} between these plans (moved already? then remove the record)"
            )
            continue
        top = [k for k in keys if _parent_key(before[k][move.source]) not in keys]
        urns = tuple(f"urn:pulumi:{move.source}::{k}" for k in top)
        report.steps.append(Step(move.service, move.source, move.dest, urns))
    report.steps.sort(key=lambda s: (s.source, s.dest, s.service))
    return report


def _parent_key(record: Mapping[str, Any]) -> str:
    parent = str(record.get("parent") or "")
    return split_urn(parent)[1] if parent else ""
