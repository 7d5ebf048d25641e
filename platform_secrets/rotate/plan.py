"""Which values are due for rotation, judged from the audit's metadata (pure: no store client, no value).

A generated value that is overdue or due within the window gets its ``rotationEpochs`` entry bumped to the
date of the run (the program regenerates it on the next ``pulumi up``). A ``config`` or ``external`` value
cannot be rotated by editing the stack file: it becomes a ticket naming its runbook section.

A ``keep_previous`` value is bumped only with its current store version recorded in ``rotationOverlaps``
(readers then get it as ``<KEY>_PREVIOUS``); one whose version the metadata does not show is held, never
bumped without it. The overlap ends (its entry is removed) once the rotation is deployed (the live current
version is no longer the recorded one) and the new value is ``overlap_days`` old.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from platform_secrets.audit.checks import LiveView, age_days
from platform_secrets.audit.declared import DeclaredEntry

RUNBOOK = "runbooks/rotate-secrets.md"
SECTIONS = {
    "generated": "Generated secrets: JWT_SECRET (shared), OTP_PEPPER, EVENTS_SECRET_KEY",
    "config": "Config secrets: REDIS_URL, S3_ACCESS_KEY_ID + S3_SECRET_ACCESS_KEY, "
    "TYPESENSE_API_KEY, EVENTS_DATABASE_URL",
    "external": "External secret: LINEAR_API_KEY",
}
"""Each source's section of the rotation runbook (its heading)."""


def anchor(heading: str) -> str:
    """A Markdown heading as its link anchor (lower case, punctuation dropped, spaces as ``-``)."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


@dataclass(frozen=True)
class Due:
    config_key: str
    """``<owner>.<KEY>``, as in ``rotationEpochs``."""
    source: str
    age_days: int
    rotation_days: int
    due_in_days: int
    """Negative: overdue by that many days."""

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK}#{anchor(SECTIONS[self.source])}"

    def as_dict(self) -> dict[str, object]:
        return {
            "entry": self.config_key,
            "source": self.source,
            "age_days": self.age_days,
            "rotation_days": self.rotation_days,
            "due_in_days": self.due_in_days,
            "runbook": self.runbook,
        }


@dataclass(frozen=True)
class RotationPlan:
    as_of: date
    bump: dict[str, str] = field(default_factory=dict)
    """``rotationEpochs`` entries to set: config key -> new epoch (the run's date)."""
    due: tuple[Due, ...] = ()
    """Every value due within the window, generated or not."""
    overlaps_set: dict[str, str] = field(default_factory=dict)
    """``rotationOverlaps`` entries to set: config key -> the store version being replaced."""
    overlaps_ended: tuple[str, ...] = ()
    """``rotationOverlaps`` entries to remove: their overlap is over."""
    held: tuple[Due, ...] = ()
    """Due keep_previous values not bumped: their current version is not visible in the metadata."""

    @property
    def changes(self) -> bool:
        """Whether the stack file changes (a pull request to open)."""
        return bool(self.bump or self.overlaps_set or self.overlaps_ended)

    @property
    def tickets(self) -> tuple[Due, ...]:
        """The due values the command cannot rotate (config, external): a person rotates them."""
        return tuple(d for d in self.due if d.source != "generated")


def due(
    entries: dict[str, DeclaredEntry],
    live: LiveView,
    as_of: date,
    within: timedelta,
    overlaps: Mapping[str, str] | None = None,
) -> RotationPlan:
    """The values whose age reaches their rotation period within ``within`` of ``as_of``, and the overlaps
    (``overlaps``: the stack's ``rotationOverlaps``) to start and to end."""
    found = []
    for name, entry in sorted(entries.items()):
        state = live.entries.get(name)
        if state is None or state.deleted_on is not None or not entry.rotation_days:
            continue
        age = age_days(state.value_set, as_of)
        if age is None:
            continue
        left = entry.rotation_days - age
        if left <= within.days:
            found.append(
                Due(f"{entry.owner}.{entry.key}", entry.source, age, entry.rotation_days, left)
            )
    by_key = {f"{e.owner}.{e.key}": e for e in entries.values()}
    epoch = as_of.isoformat()
    bump: dict[str, str] = {}
    overlaps_set: dict[str, str] = {}
    held = []
    for d in found:
        if d.source != "generated":
            continue
        bumped_entry = by_key[d.config_key]
        if bumped_entry.keep_previous:
            version = live.entries[bumped_entry.name].current_version
            if version is None:
                held.append(d)
                continue
            overlaps_set[d.config_key] = version
        bump[d.config_key] = epoch
    ended = []
    for key, recorded in sorted((overlaps or {}).items()):
        declared = by_key.get(key)
        if key in overlaps_set:
            continue
        if declared is None or not declared.keep_previous:
            ended.append(key)
            continue
        state = live.entries.get(declared.name)
        if state is None or state.current_version in (None, recorded):
            continue  # not deployed yet (or not readable): the previous value is still needed
        age = age_days(state.value_set, as_of)
        if age is not None and age >= declared.overlap_days:
            ended.append(key)
    return RotationPlan(
        as_of=as_of,
        bump=bump,
        due=tuple(found),
        overlaps_set=overlaps_set,
        overlaps_ended=tuple(ended),
        held=tuple(held),
    )
