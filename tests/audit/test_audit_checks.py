"""Tier 1: the audit's judgement (``platform_secrets/audit/checks.py``), the declared stack against a live view, pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from platform_secrets.access.doors import Door
from platform_secrets.audit.checks import (
    KINDS,
    Finding,
    LiveEntry,
    LiveView,
    age_days,
    findings,
    overlap_findings,
    rows,
)
from platform_secrets.audit.declared import Declared, DeclaredEntry
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
AS_OF = date(2026, 6, 1)
NAME = "p/prod/backend/DATABASE_URL"
BACKEND = "arn:aws:iam::111122223333:role/p-prod-backend"
WORKER = "arn:aws:iam::111122223333:role/p-prod-worker"


def _entry(
    name: str = NAME, *, required: bool = True, rotation_days: int | None = None
) -> DeclaredEntry:
    return DeclaredEntry(name, "backend", "DATABASE_URL", "config", required, rotation_days, None)  # type: ignore[arg-type]


def _declared(
    *entries: DeclaredEntry,
    prod: bool = True,
    readers: dict[str, list[str]] | None = None,
    overlaps: dict[str, str] | None = None,
) -> Declared:
    settings = SimpleNamespace(
        environment=SimpleNamespace(value="prod" if prod else "dev"),
        strict=prod,
        rotation_overlaps=overlaps or {},
    )
    matrix = {
        label: {"identity": identity, "entries": names}
        for label, (identity, names) in _rows(readers)
    }
    return Declared("prod" if prod else "dev", settings, {e.name: e for e in entries}, matrix, [])  # type: ignore[arg-type]


def _rows(readers: dict[str, list[str]] | None) -> list[tuple[str, tuple[str, list[str]]]]:
    return [
        (identity.rsplit("/", 1)[-1], (identity, names))
        for identity, names in (readers or {}).items()
    ]


def _live(
    entries: dict[str, LiveEntry], readers: dict[str, list[str]] | None = None, **more: Any
) -> LiveView:
    matrix = {
        label: {"identity": identity, "entries": names}
        for label, (identity, names) in _rows(readers)
    }
    return LiveView("p/prod/", entries, matrix, **more)


def _present(days_old: int = 1, **more: Any) -> LiveEntry:
    set_on = datetime(2026, 6, 1, 12, tzinfo=UTC) - timedelta(days=days_old)
    return LiveEntry(NAME, True, set_on, **more)


def _kinds(found: list[Finding]) -> list[tuple[str, str, str, str]]:
    return [(f.kind, f.severity, f.entry, f.principal) for f in found]


def test_an_entry_as_declared_with_its_readers_gives_no_finding() -> None:
    readers = {BACKEND: [NAME]}
    assert (
        findings(_declared(_entry(), readers=readers), _live({NAME: _present()}, readers), AS_OF)
        == []
    )


@pytest.mark.parametrize(("prod", "severity"), [(True, "high"), (False, "medium")])
def test_a_declared_entry_missing_from_the_store_is_high_in_prod(prod: bool, severity: str) -> None:
    found = findings(_declared(_entry(), prod=prod), _live({}), AS_OF)
    assert _kinds(found) == [("missing", severity, NAME, "")]
    assert found[0].detail == "backend.DATABASE_URL is declared but not in the store"


def test_an_entry_scheduled_for_deletion_is_missing_and_says_when() -> None:
    gone = LiveEntry(NAME, True, None, deleted_on=datetime(2026, 6, 7, tzinfo=UTC))
    found = findings(_declared(_entry()), _live({NAME: gone}), AS_OF)
    assert _kinds(found) == [("missing", "high", NAME, "")]
    assert found[0].detail.endswith(
        "is declared but not in the store (deletion scheduled for 2026-06-07)"
    )


@pytest.mark.parametrize(
    ("required", "severity", "detail"),
    [
        (True, "high", "no current value (config, required in prod)"),
        (False, "low", "no current value (config)"),
    ],
)
def test_an_empty_entry_is_high_when_required(required: bool, severity: str, detail: str) -> None:
    empty = LiveEntry(NAME, False, None)
    found = findings(_declared(_entry(required=required)), _live({NAME: empty}), AS_OF)
    assert [(f.kind, f.severity, f.detail) for f in found] == [("empty", severity, detail)]


def test_an_entry_whose_store_cannot_tell_if_it_has_a_value_is_not_called_empty() -> None:
    unknown = LiveEntry(NAME, None, None)
    assert findings(_declared(_entry()), _live({NAME: unknown}), AS_OF) == []


@pytest.mark.parametrize(("prod", "severity"), [(True, "high"), (False, "medium")])
def test_a_value_older_than_its_rotation_is_overdue(prod: bool, severity: str) -> None:
    found = findings(
        _declared(_entry(rotation_days=30), prod=prod), _live({NAME: _present(31)}), AS_OF
    )
    assert [(f.kind, f.severity, f.detail) for f in found] == [
        ("overdue", severity, "value is 31 days old, rotation every 30 days (1 days overdue)")
    ]


def test_a_value_rotated_on_its_last_day_is_not_overdue_but_due_soon() -> None:
    found = findings(_declared(_entry(rotation_days=30)), _live({NAME: _present(30)}), AS_OF)
    assert [(f.kind, f.severity, f.detail) for f in found] == [
        ("due-soon", "low", "value is 30 days old, rotation due in 0 days")
    ]


def test_a_rotation_due_within_fourteen_days_is_due_soon_and_fifteen_is_not() -> None:
    declared = _declared(_entry(rotation_days=30))
    assert _kinds(findings(declared, _live({NAME: _present(16)}), AS_OF)) == [
        ("due-soon", "low", NAME, "")
    ]
    assert findings(declared, _live({NAME: _present(15)}), AS_OF) == []


def test_an_entry_without_rotation_or_without_a_date_is_never_overdue() -> None:
    assert findings(_declared(_entry()), _live({NAME: _present(3650)}), AS_OF) == []
    undated = LiveEntry(NAME, True, None)
    assert findings(_declared(_entry(rotation_days=1)), _live({NAME: undated}), AS_OF) == []


@pytest.mark.parametrize(("prod", "severity"), [(True, "high"), (False, "low")])
def test_a_missing_protection_is_high_in_prod(prod: bool, severity: str) -> None:
    unprotected = _present(problems=("no resource policy",))
    live = _live({NAME: unprotected}, store_problems=(("key", "rotation off"),))
    found = findings(_declared(_entry(), prod=prod), live, AS_OF)
    assert [(f.kind, f.severity, f.entry, f.detail) for f in found] == [
        ("protection", severity, "key", "rotation off"),
        ("protection", severity, NAME, "no resource policy"),
    ]


def test_a_live_reader_the_catalog_does_not_declare_is_a_high_finding_naming_it() -> None:
    declared = _declared(_entry(), readers={BACKEND: [NAME]})
    live = _live({NAME: _present()}, {BACKEND: [NAME], WORKER: [NAME]})
    found = findings(declared, live, AS_OF)
    assert _kinds(found) == [("extra-reader", "high", NAME, WORKER)]
    assert found[0].detail == "p-prod-worker can read it; the catalog does not declare it"


def test_a_declared_reader_the_live_policies_lock_out_is_a_medium_finding() -> None:
    declared = _declared(_entry(), readers={BACKEND: [NAME], WORKER: [NAME]})
    found = findings(declared, _live({NAME: _present()}, {BACKEND: [NAME]}), AS_OF)
    assert _kinds(found) == [("missing-reader", "medium", NAME, WORKER)]
    assert (
        found[0].detail
        == "p-prod-worker is declared a reader but the live policies do not let it read"
    )


def test_an_undeclared_entry_under_the_scope_is_an_orphan_naming_its_readers() -> None:
    stray = "p/prod/old/TOKEN"
    live = _live({stray: LiveEntry(stray, True, None)}, {WORKER: [stray], BACKEND: [stray]})
    found = findings(_declared(), live, AS_OF)
    assert _kinds(found) == [("orphan", "medium", stray, "")]
    assert found[0].detail == (
        "under p/prod/ but declared by no catalog entry (readable by p-prod-backend, p-prod-worker)"
    )
    nobody = findings(_declared(), _live({stray: LiveEntry(stray, True, None)}), AS_OF)
    assert nobody[0].detail.endswith("(readable by nobody)")


def test_an_undeclared_entry_already_deleted_is_not_an_orphan() -> None:
    stray = "p/prod/old/TOKEN"
    gone = LiveEntry(stray, True, None, deleted_on=datetime(2026, 5, 1, tzinfo=UTC))
    assert findings(_declared(), _live({stray: gone}), AS_OF) == []


def test_findings_come_worst_first_then_by_kind_entry_and_principal() -> None:
    other = "p/prod/backend/A_KEY"
    declared = _declared(_entry(), _entry(other, rotation_days=30), readers={WORKER: [NAME]})
    live = _live(
        {NAME: _present(), other: LiveEntry(other, True, datetime(2026, 5, 10, tzinfo=UTC))},
        {BACKEND: [NAME, other], "arn:aws:iam::111122223333:role/a": [NAME]},
    )
    assert _kinds(findings(declared, live, AS_OF)) == [
        ("extra-reader", "high", other, BACKEND),
        ("extra-reader", "high", NAME, "arn:aws:iam::111122223333:role/a"),
        ("extra-reader", "high", NAME, BACKEND),
        ("missing-reader", "medium", NAME, WORKER),
        ("due-soon", "low", other, ""),
    ]


def test_every_finding_kind_has_an_action_and_a_runbook_section() -> None:
    headings = {
        line.removeprefix("## ").strip()
        for line in (ROOT / "runbooks" / "audit-findings.md").read_text().splitlines()
        if line.startswith("## ")
    }
    for kind, (anchor, action) in KINDS.items():
        finding = Finding(kind, "high", NAME, "", "d")
        assert anchor in headings and finding.action == action
        assert finding.runbook == f"runbooks/audit-findings.md#{anchor}"
        assert finding.as_dict() == {
            "kind": kind,
            "severity": "high",
            "entry": NAME,
            "principal": "",
            "detail": "d",
            "action": action,
            "runbook": f"runbooks/audit-findings.md#{anchor}",
        }


def test_an_age_is_counted_in_whole_days_from_the_date_the_value_was_set() -> None:
    assert age_days(datetime(2026, 5, 31, 23, 59, tzinfo=UTC), AS_OF) == 1
    assert age_days(None, AS_OF) is None


def test_the_table_has_one_row_per_declared_entry_and_per_orphan() -> None:
    stray, empty, gone, absent = (
        "p/prod/z/OLD",
        "p/prod/b/EMPTY",
        "p/prod/c/GONE",
        "p/prod/d/ABSENT",
    )
    declared = _declared(
        _entry(rotation_days=90),
        _entry(empty),
        _entry(gone),
        _entry(absent),
        readers={BACKEND: [NAME]},
    )
    live = _live(
        {
            NAME: _present(2),
            stray: LiveEntry(stray, True, None),
            empty: LiveEntry(empty, False, None),
            gone: LiveEntry(gone, True, None, deleted_on=datetime(2026, 5, 1, tzinfo=UTC)),
        },
        {BACKEND: [NAME], WORKER: [NAME, stray]},
    )
    table = {row["entry"]: row for row in rows(declared, live, AS_OF)}
    assert list(table) == sorted(table) == sorted([NAME, stray, empty, gone, absent])
    assert table[NAME] == {
        "entry": NAME,
        "declared": True,
        "status": "present",
        "value_set": "2026-05-30T12:00:00+00:00",
        "age_days": 2,
        "rotation_days": 90,
        "readers": ["p-prod-backend", WORKER.rsplit("/", 1)[-1]],
        "declared_readers": ["p-prod-backend"],
    }
    assert {name: row["status"] for name, row in table.items()} == {
        NAME: "present",
        stray: "orphan",
        empty: "empty",
        gone: "deleted",
        absent: "missing",
    }
    assert table[stray]["declared"] is False and table[stray]["rotation_days"] is None
    assert table[absent]["value_set"] is None and table[absent]["age_days"] is None
    assert table[stray]["value_set"] is None and table[stray]["age_days"] is None


def test_every_entry_finding_names_the_entry_and_no_principal() -> None:
    other, third = "p/prod/backend/A_KEY", "p/prod/backend/B_KEY"
    declared = _declared(_entry(rotation_days=30), _entry(other, rotation_days=30), _entry(third))
    live = _live(
        {
            NAME: _present(31, problems=("no resource policy",)),
            other: LiveEntry(other, False, datetime(2026, 5, 10, tzinfo=UTC)),
        },
        store_problems=(("key", "rotation off"),),
    )
    found = findings(declared, live, AS_OF)
    assert sorted((f.kind, f.entry, f.principal) for f in found) == [
        ("due-soon", other, ""),
        ("empty", other, ""),
        ("missing", third, ""),
        ("overdue", NAME, ""),
        ("protection", "key", ""),
        ("protection", NAME, ""),
    ]


def test_every_missing_entry_is_named_not_only_the_first() -> None:
    names = ["p/prod/a/X", "p/prod/b/Y"]
    found = findings(_declared(*(_entry(n) for n in names)), _live({}), AS_OF)
    assert [f.entry for f in found] == names


def test_an_orphan_after_a_declared_entry_is_still_found() -> None:
    stray = "p/prod/z/OLD"
    live = _live({NAME: _present(), stray: LiveEntry(stray, True, None)})
    assert _kinds(findings(_declared(_entry()), live, AS_OF)) == [("orphan", "medium", stray, "")]


def test_a_store_with_planned_doors_but_no_live_reading_is_not_judged_on_trust() -> None:
    door = Door("r", "aws-trust", "{}")
    assert findings(_declared(), _live({}, planned_doors=frozenset({door})), AS_OF) == []
    assert findings(_declared(), _live({}, doors=frozenset({door})), AS_OF) == []


def test_a_trust_finding_is_filed_under_the_identity_it_opens() -> None:
    planned, live = Door("r", "vault-role", "a"), Door("r", "vault-role", "b")
    view = _live({}, doors=frozenset({live}), planned_doors=frozenset({planned}))
    found = findings(_declared(), view, AS_OF)
    assert [(f.kind, f.entry, f.principal, f.detail) for f in found] == [
        ("trust-widened", "r", "r", "vault-role: b"),
        ("trust-narrowed", "r", "r", "vault-role: a"),
    ]


def test_a_declared_reader_shows_by_its_declared_name_and_another_by_its_live_one() -> None:
    declared = _declared(_entry(), readers={BACKEND: [NAME]})
    live = LiveView(
        "p/prod/",
        {NAME: _present()},
        {
            "live-label": {"identity": BACKEND, "entries": [NAME]},
            "x": {"identity": WORKER, "entries": [NAME]},
        },
    )
    (row,) = rows(declared, live, AS_OF)
    assert row["readers"] == ["p-prod-backend", "x"]


# --- rules the mutation run showed no test stated (make mutation) ---


def test_an_extra_reader_finding_names_the_policies_through_which_it_reads() -> None:
    declared = _declared(_entry(), readers={BACKEND: [NAME]})
    live = _live({NAME: _present()}, {BACKEND: [NAME], WORKER: [NAME]})
    live.matrix["p-prod-worker"]["via"] = {NAME: ["console-grant", "default"], "other": ["x"]}
    (found,) = findings(declared, live, AS_OF)
    assert found.detail == (
        "p-prod-worker can read it through console-grant, default; the catalog does not declare it"
    )


def test_a_latent_reader_is_a_high_finding_naming_the_entry_the_identity_and_why() -> None:
    latent = ((NAME, WORKER, "its own policy allows; only the entry's resource policy stops it"),)
    live = _live({NAME: _present()}, latent_readers=latent)
    found = findings(_declared(_entry()), live, AS_OF)
    assert found == [
        Finding(
            "latent-reader",
            "high",
            NAME,
            WORKER,
            "its own policy allows; only the entry's resource policy stops it",
        )
    ]


# --- an overlap (rotationOverlaps) whose previous version the store does not hold readable ---

JWT = "p/prod/shared/JWT_SECRET"


def _jwt() -> DeclaredEntry:
    return DeclaredEntry(
        JWT, "shared", "JWT_SECRET", "generated", True, None, None, keep_previous=True
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("readable", "kinds"),
    [
        (frozenset({"6"}), []),
        (
            frozenset({"7"}),
            [("overlap-broken", "high", JWT, "")],
        ),  # destroyed, or AWSPREVIOUS moved on
        (frozenset(), [("overlap-broken", "high", JWT, "")]),
        (None, []),  # the store's metadata cannot tell: not judged
    ],
)
def test_an_overlap_version_the_store_cannot_serve_is_a_high_finding(
    readable: frozenset[str] | None, kinds: list[tuple[str, str, str, str]]
) -> None:
    """ESO fails the whole ExternalSecret when one item cannot be read: an unreadable `<KEY>_PREVIOUS` stops
    the delivery of the new current key too, for every reader."""
    state = LiveEntry(JWT, True, datetime(2026, 5, 30, tzinfo=UTC), previous_versions=readable)
    declared = _declared(_jwt(), overlaps={"shared.JWT_SECRET": "6"})
    found = findings(declared, _live({JWT: state}), AS_OF)
    assert _kinds(found) == kinds
    if kinds:
        assert "version 6" in found[0].detail and "whole Secret" in found[0].detail


def test_an_overlap_finding_names_the_version_and_every_readable_one_and_why_it_matters() -> None:
    state = LiveEntry(
        JWT, True, datetime(2026, 5, 30, tzinfo=UTC), previous_versions=frozenset({"8", "7"})
    )
    declared = _declared(_jwt(), overlaps={"shared.JWT_SECRET": "6"})
    (found,) = findings(declared, _live({JWT: state}), AS_OF)
    assert found.detail == (
        "rotationOverlaps.shared.JWT_SECRET names version 6, which the store does not hold readable as the "
        "previous value (readable: 7, 8): ESO cannot sync the whole Secret of each reader, the current value "
        "included"
    )


def test_an_overlap_with_no_readable_version_says_none() -> None:
    state = LiveEntry(JWT, True, datetime(2026, 5, 30, tzinfo=UTC), previous_versions=frozenset())
    declared = _declared(_jwt(), overlaps={"shared.JWT_SECRET": "6"})
    (found,) = findings(declared, _live({JWT: state}), AS_OF)
    assert "(readable: none)" in found.detail


def test_an_overlap_of_an_undeclared_or_absent_entry_is_skipped_and_the_next_one_still_judged() -> (
    None
):
    """Sorted keys: an overlap naming no declared entry, then one whose entry is not live (its own
    finding is ``missing``), come before the broken one; neither stops the judgement of the next."""
    broken = LiveEntry(
        JWT, True, datetime(2026, 5, 30, tzinfo=UTC), previous_versions=frozenset({"7"})
    )
    absent = "p/prod/backend/A_SIGNING_KEY"
    declared = _declared(
        _jwt(),
        DeclaredEntry(
            absent, "backend", "A_SIGNING_KEY", "generated", True, None, None, keep_previous=True
        ),  # type: ignore[arg-type]
        overlaps={
            "backend.A_SIGNING_KEY": "3",
            "a-gone-service.KEY": "1",
            "shared.JWT_SECRET": "6",
        },
    )
    found = overlap_findings(declared, _live({JWT: broken}))
    assert _kinds(found) == [("overlap-broken", "high", JWT, "")]
