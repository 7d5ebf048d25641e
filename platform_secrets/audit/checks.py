"""The audit's judgement: the declared stack against a live view of its store, as findings.

Pure: no store client here. A store's view (``platform_secrets.audit.live_view``) says which entries exist under the stack's
prefix or mount, whether each has a current value and since when, what protects it, and who can read it (the
access matrix of the live documents, derived by ``platform_secrets.access.matrix`` as the plan's is). Each finding names the entry,
the principal when there is one, what to do, and its runbook section.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from platform_secrets.access.doors import Door, narrowed, widened
from platform_secrets.audit.declared import Declared, readers_of

RUNBOOK = "runbooks/audit-findings.md"
DUE_SOON_DAYS = 14
HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_ORDER = {HIGH: 0, MEDIUM: 1, LOW: 2}

KINDS = {
    # kind -> (runbook section anchor, what to do)
    "trust-widened": (
        "trust-widened",
        "revert the identity's trust to the plan's (pulumi up), then find who changed it and why",
    ),
    "trust-narrowed": (
        "trust-narrowed",
        "restore the identity's declared trust: pulumi up (the service may be locked out)",
    ),
    "extra-reader": (
        "extra-reader",
        "remove the grant that lets this principal read the entry, or declare the reader in catalog.yaml",
    ),
    "latent-reader": (
        "latent-reader",
        "remove the grant from the role's own policies (or delete the undeclared role); only the "
        "entry's resource policy stops it today",
    ),
    "missing-reader": (
        "missing-reader",
        "restore the service's grant: pulumi up (the program re-creates its policy)",
    ),
    "missing": ("missing", "restore the entry (recover it, or pulumi up to re-create it)"),
    "empty": ("empty", "set its value (pulumi config set --secret, or the owner fills it)"),
    "overdue": ("overdue", "rotate the value now (runbooks/rotate-secrets.md)"),
    "due-soon": ("due-soon", "plan the rotation before the due date"),
    "orphan": ("orphan", "declare it in catalog.yaml, or delete it after checking nobody uses it"),
    "protection": ("protection", "restore the protection the stack declares: pulumi up"),
    "overlap-broken": (
        "overlap-broken",
        "make the recorded version readable again, or remove its rotationOverlaps entry (the readers "
        "then get the current value only)",
    ),
}


@dataclass(frozen=True)
class LiveEntry:
    """One entry found in the store under the stack's prefix or mount (metadata only)."""

    name: str
    has_value: bool | None
    """Whether a current version exists (None: the store cannot tell from metadata)."""
    value_set: datetime | None
    """When the current value was written: its age is counted from here."""
    deleted_on: datetime | None = None
    """A deletion is scheduled or done (recoverable until purged): the entry cannot be read."""
    problems: tuple[str, ...] = ()
    """Protection the stack declares for this entry that the store does not show."""
    current_version: str | None = None
    """The store's id of the current value (AWS VersionId, Vault/GCP version number, Azure version id), from
    metadata; None where it cannot be seen (an Azure secret whose newest version is disabled). The rotate
    command records it as the previous one."""
    previous_versions: frozenset[str] | None = None
    """The versions a ``<KEY>_PREVIOUS`` ref can read (AWS: the one staged ``AWSPREVIOUS``; Vault: those neither
    deleted nor destroyed; GCP and Azure: the enabled ones); None where the metadata cannot tell."""


@dataclass(frozen=True)
class LiveView:
    """What one store holds for one stack, read live."""

    scope: str
    """The prefix or mount the entries were listed under (orphans are judged inside it only)."""
    entries: dict[str, LiveEntry]
    matrix: dict[str, dict[str, Any]]
    """The access matrix derived from the live documents, in ``access.json``'s shape."""
    store_problems: tuple[tuple[str, str], ...] = ()
    """(subject, problem): protection the stack declares for the store itself (key, vault, mount)."""
    notes: tuple[str, ...] = field(default=())
    """What this store's audit could not see (printed with the table)."""
    doors: frozenset[Door] | None = None
    """Every way into each reader identity, read live (``platform_secrets.access.doors``); None: this store's reader does not
    fetch them yet, so trust drift is not judged (and a note says so)."""
    planned_doors: frozenset[Door] | None = None
    """The same doors derived from the plan's registrations by the same store module."""
    latent_readers: tuple[tuple[str, str, str], ...] = ()
    """(entry, identity, detail): an identity whose own grants allow reading an entry it is not declared
    to read, stopped today only by the entry's resource policy (AWS)."""


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    entry: str
    principal: str
    detail: str

    @property
    def action(self) -> str:
        return KINDS[self.kind][1]

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK}#{KINDS[self.kind][0]}"

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "action": self.action, "runbook": self.runbook}


def age_days(value_set: datetime | None, as_of: date) -> int | None:
    return None if value_set is None else (as_of - value_set.date()).days


def findings(declared: Declared, live: LiveView, as_of: date) -> list[Finding]:
    """Every difference between what the stack declares and what the store holds, worst first."""
    prod = declared.prod
    found: list[Finding] = []
    declared_readers = declared.readers()
    live_readers = readers_of(live.matrix)
    for name, entry in declared.entries.items():
        state = live.entries.get(name)
        if state is None or state.deleted_on is not None:
            when = f" (deletion scheduled for {state.deleted_on:%Y-%m-%d})" if state else ""
            found.append(
                Finding(
                    "missing",
                    HIGH if prod else MEDIUM,
                    name,
                    "",
                    f"{entry.owner}.{entry.key} is declared but not in the store{when}",
                )
            )
            continue
        if state.has_value is False:
            found.append(
                Finding(
                    "empty",
                    HIGH if entry.required else LOW,
                    name,
                    "",
                    f"no current value ({entry.source}"
                    + (f", required in {declared.environment})" if entry.required else ")"),
                )
            )
        age = age_days(state.value_set, as_of)
        if age is not None and entry.rotation_days:
            left = entry.rotation_days - age
            if left < 0:
                found.append(
                    Finding(
                        "overdue",
                        HIGH if prod else MEDIUM,
                        name,
                        "",
                        f"value is {age} days old, rotation every {entry.rotation_days} days "
                        f"({-left} days overdue)",
                    )
                )
            elif left <= DUE_SOON_DAYS:
                found.append(
                    Finding(
                        "due-soon",
                        LOW,
                        name,
                        "",
                        f"value is {age} days old, rotation due in {left} days",
                    )
                )
        for problem in state.problems:
            found.append(Finding("protection", HIGH if prod else LOW, name, "", problem))
        want, have = declared_readers.get(name, {}), live_readers.get(name, {})
        for identity in sorted(have.keys() - want.keys()):
            found.append(
                Finding(
                    "extra-reader",
                    HIGH,
                    name,
                    identity,
                    f"{have[identity]} can read it{_via(live, have[identity], name)}; "
                    "the catalog does not declare it",
                )
            )
        for identity in sorted(want.keys() - have.keys()):
            found.append(
                Finding(
                    "missing-reader",
                    MEDIUM,
                    name,
                    identity,
                    f"{want[identity]} is declared a reader but the live policies do not let it read",
                )
            )
    found.extend(overlap_findings(declared, live))
    for name, state in sorted(live.entries.items()):
        if name in declared.entries or state.deleted_on is not None:
            continue
        readers = ", ".join(sorted(live_readers.get(name, {}).values())) or "nobody"
        found.append(
            Finding(
                "orphan",
                MEDIUM,
                name,
                "",
                f"under {live.scope} but declared by no catalog entry (readable by {readers})",
            )
        )
    for name, identity, detail in live.latent_readers:
        found.append(Finding("latent-reader", HIGH, name, identity, detail))
    for subject, problem in live.store_problems:
        found.append(Finding("protection", HIGH if prod else LOW, subject, "", problem))
    found.extend(trust_findings(live))
    return sorted(found, key=lambda f: (SEVERITY_ORDER[f.severity], f.kind, f.entry, f.principal))


def overlap_findings(declared: Declared, live: LiveView) -> list[Finding]:
    """An overlap (``rotationOverlaps``) naming a version the store does not hold readable as the previous one.

    High in every environment: ESO fails the whole ExternalSecret when one item cannot be read, so the readers
    stop receiving the current value too (they keep their last Secret)."""
    by_key = {f"{e.owner}.{e.key}": e for e in declared.entries.values()}
    found = []
    for key, version in sorted(declared.settings.rotation_overlaps.items()):
        entry = by_key.get(key)
        state = live.entries.get(entry.name) if entry else None
        if entry is None or state is None or state.previous_versions is None:
            continue
        if version not in state.previous_versions:
            found.append(
                Finding(
                    "overlap-broken",
                    HIGH,
                    entry.name,
                    "",
                    f"rotationOverlaps.{key} names version {version}, which the store does not hold "
                    f"readable as the previous value (readable: "
                    f"{', '.join(sorted(state.previous_versions)) or 'none'}): ESO cannot sync the "
                    "whole Secret of each reader, the current value included",
                )
            )
    return found


def _via(live: LiveView, label: str, entry: str) -> str:
    """`` through <policy>`` when the store's matrix says which of the reader's policies grants the entry."""
    policies = (live.matrix[label].get("via") or {}).get(entry)  # a label is a row of the matrix
    return f" through {', '.join(policies)}" if policies else ""


def trust_findings(live: LiveView) -> list[Finding]:
    """Trust drift: a door into a reader identity that the plan does not declare is high, in every
    environment (whoever can use it becomes the reader); a declared door that is gone is medium."""
    if live.doors is None or live.planned_doors is None:
        return []
    found = [
        Finding("trust-widened", HIGH, door.identity, door.identity, f"{door.kind}: {door.detail}")
        for door in widened(live.planned_doors, live.doors)
    ]
    found += [
        Finding(
            "trust-narrowed", MEDIUM, door.identity, door.identity, f"{door.kind}: {door.detail}"
        )
        for door in narrowed(live.planned_doors, live.doors)
    ]
    return found


def rows(declared: Declared, live: LiveView, as_of: date) -> list[dict[str, Any]]:
    """One row per declared entry and per orphan: what the table and the JSON show."""
    declared_readers = declared.readers()
    live_readers = readers_of(live.matrix)
    out = []
    for name in sorted(declared.entries.keys() | live.entries.keys()):
        entry = declared.entries.get(name)
        state = live.entries.get(name)
        want, have = declared_readers.get(name, {}), live_readers.get(name, {})
        if state is None:
            status = "missing"
        elif state.deleted_on is not None:
            status = "deleted"
        elif state.has_value is False:
            status = "empty"
        else:
            status = "present" if entry else "orphan"
        out.append(
            {
                "entry": name,
                "declared": entry is not None,
                "status": status,
                "value_set": state.value_set.isoformat() if state and state.value_set else None,
                "age_days": age_days(state.value_set, as_of) if state else None,
                "rotation_days": entry.rotation_days if entry else None,
                # A reader by its declared name when it is a declared one, else by the live one.
                "readers": sorted(want.get(identity, label) for identity, label in have.items()),
                "declared_readers": sorted(want.values()),
            }
        )
    return out
