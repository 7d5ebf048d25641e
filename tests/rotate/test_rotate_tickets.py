"""One issue per config or external secret due: its body (names, ages, the runbook section, never a value),
and the dedupe by the body's marker (pure: a recorded ``gh``, no GitHub)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from platform_secrets.rotate.command import report
from platform_secrets.rotate.plan import Due, RotationPlan
from platform_secrets.rotate.tickets import TicketRefused, check, issue_actions, sync, ticket

S3 = Due("media.S3_SECRET_ACCESS_KEY", "config", 100, 90, -10)
LINEAR = Due("linear.LINEAR_API_KEY", "external", 80, 90, 10)
REPO = "https://github.com/acme/platform"


def test_a_ticket_names_the_secret_its_age_and_runbook_section() -> None:
    t = ticket("prod", S3.as_dict(), REPO)
    assert t["title"] == "rotate prod media.S3_SECRET_ACCESS_KEY"
    assert t["label"] == "rotation"
    assert (
        t["body"].splitlines()[0]
        == "<!-- platform-secrets:rotation:prod:media.S3_SECRET_ACCESS_KEY -->"
    )
    assert "overdue by 10 days" in t["body"] and "100 days old" in t["body"]
    assert f"({REPO}/blob/main/{S3.runbook})" in t["body"]
    assert "due in 10 days" in ticket("prod", LINEAR.as_dict())["body"]


def test_a_ticket_never_carries_a_value_even_if_one_is_handed_to_it() -> None:
    planted = "planted-value-0c9f3e1d"
    t = ticket("prod", {**S3.as_dict(), "value": planted, "secret_string": planted})
    assert planted not in json.dumps(t)


def _open(number: int, body: str) -> dict[str, Any]:
    return {"number": number, "body": body}


def test_an_open_issue_with_the_marker_is_updated_not_duplicated() -> None:
    t = ticket("prod", S3.as_dict())
    stale = t["body"].replace("100 days old", "93 days old")
    actions = issue_actions([t], [_open(7, "unrelated"), _open(12, stale), _open(15, stale)])
    assert [(a.kind, a.number) for a in actions] == [("update", 12)]


def test_an_issue_already_up_to_date_is_left_alone() -> None:
    t = ticket("prod", S3.as_dict())
    assert [a.kind for a in issue_actions([t], [_open(3, t["body"])])] == ["none"]


def test_an_issue_of_another_secret_or_stack_is_not_reused() -> None:
    """Markers end with ` -->`: S3_ACCESS_KEY's is not a prefix of S3_ACCESS_KEY_ID's, nor dev's of prod's."""
    key = ticket("prod", Due("media.S3_ACCESS_KEY", "config", 100, 90, -10).as_dict())
    others = [
        _open(
            1,
            ticket("prod", Due("media.S3_ACCESS_KEY_ID", "config", 100, 90, -10).as_dict())["body"],
        ),
        _open(
            2, ticket("dev", Due("media.S3_ACCESS_KEY", "config", 100, 90, -10).as_dict())["body"]
        ),
        _open(3, "rotate prod media.S3_ACCESS_KEY (same title, no marker)"),
    ]
    assert [a.kind for a in issue_actions([key], others)] == ["create"]


@pytest.mark.parametrize(
    "change",
    [
        {"title": "rotate prod media.S3 && curl evil"},
        {"marker": "<!-- other -->"},
        {"body": "no marker first\n"},
        {"runbook": "https://evil.example/#x"},
    ],
)
def test_a_ticket_of_another_shape_is_refused(change: dict[str, str]) -> None:
    with pytest.raises(TicketRefused):
        check([{**ticket("prod", S3.as_dict()), **change}])


def test_sync_passes_bodies_on_stdin_only_and_creates_the_label_once() -> None:
    calls: list[tuple[list[str], str | None]] = []
    existing = ticket("prod", LINEAR.as_dict())

    def gh(args: list[str], stdin: str | None) -> str:
        calls.append((args, stdin))
        return (
            json.dumps([_open(4, existing["body"].replace("80 days", "70 days"))])
            if args[:2] == ["issue", "list"]
            else ""
        )

    new = ticket("prod", S3.as_dict())
    sync(check([new, existing]), gh)
    kinds = [args[:2] for args, _ in calls]
    assert kinds == [["issue", "list"], ["label", "create"], ["issue", "create"], ["issue", "edit"]]
    assert calls[2][1] == new["body"] and calls[3][0][2] == "4" and calls[3][1] == existing["body"]
    assert all(
        body not in " ".join(args) for args, _ in calls for body in (new["body"], existing["body"])
    )


def test_the_rotate_report_carries_one_ticket_per_config_or_external_secret() -> None:
    plan = RotationPlan(
        as_of=date(2027, 3, 1), bump={}, due=(S3, LINEAR, Due("a.K", "generated", 1, 2, 1))
    )
    tickets = report("prod", plan, changed=False)["tickets"]
    assert [t["title"] for t in tickets] == [
        "rotate prod media.S3_SECRET_ACCESS_KEY",
        "rotate prod linear.LINEAR_API_KEY",
    ]
    assert check(tickets) == tickets
