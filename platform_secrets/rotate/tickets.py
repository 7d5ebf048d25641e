"""One GitHub issue per ``config`` or ``external`` secret that is due: what the rotate command cannot rotate.

``ticket(stack, due)`` (pure) gives an issue's title, label, dedupe marker and body from the metadata the
command judged (names, ages, dates, the runbook section): a body never holds a value, it is made from none.
``issue_actions(tickets, open_issues)`` (pure) decides, per ticket, to create an issue or to update the open one
whose body carries its marker (``<!-- platform-secrets:rotation:<stack>:<owner>.<KEY> -->``), or nothing when that
body is already the same. ``python -m platform_secrets.rotate.tickets --tickets FILE`` applies them with ``gh``
(the scheduled workflow's job that may write issues; it has no cloud credentials and cannot write the code).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABEL = "rotation"
MARKER = "<!-- platform-secrets:rotation:{stack}:{entry} -->"
_MARKER = re.compile(
    r"^<!-- platform-secrets:rotation:[a-z0-9-]{1,40}:[a-z][a-z0-9-]*\.[A-Z][A-Z0-9_]* -->$"
)
_TITLE = re.compile(r"^rotate [a-z0-9-]{1,40} [a-z][a-z0-9-]*\.[A-Z][A-Z0-9_]*$")
_RUNBOOK = re.compile(r"^runbooks/[a-z0-9-]+\.md#[a-z0-9_-]+$")
ISSUE_LIMIT = 500
"""Open rotation issues listed to find the one to update (far more than the catalog's secrets)."""


class TicketRefused(ValueError):
    """A ticket is not one this module made (its title, marker or runbook link has another shape)."""


def ticket(stack: str, due: dict[str, Any], repo_url: str = "") -> dict[str, str]:
    """The issue for one due value (``Due.as_dict()``); ``repo_url`` makes the runbook link absolute."""
    entry, days = str(due["entry"]), int(due["due_in_days"])
    when = f"overdue by {-days} days" if days < 0 else f"due in {days} days"
    runbook = str(due["runbook"])
    path, _, anchor = runbook.partition("#")
    link = f"{repo_url}/blob/main/{path}#{anchor}" if repo_url else runbook
    marker = MARKER.format(stack=stack, entry=entry)
    body = "\n".join(
        [
            marker,
            f"The {due['source']} secret `{entry}` of stack `{stack}` is {when}: its value is "
            f"{int(due['age_days'])} days old and rotates every {int(due['rotation_days'])} days.",
            "",
            "The scheduled rotation cannot rotate it (its value is written out of band): rotate it by "
            f"hand with the runbook section [{runbook}]({link}).",
            "",
            "This issue is opened and updated by the weekly `rotate` workflow from metadata only (it never "
            "reads a value). Close it once the value is rotated; if it is still due, the next run opens a "
            "new one.",
        ]
    )
    return {
        "entry": entry,
        "title": f"rotate {stack} {entry}",
        "label": LABEL,
        "marker": marker,
        "runbook": runbook,
        "body": body + "\n",
    }


@dataclass(frozen=True)
class Action:
    kind: str
    """``create``, ``update`` (the open issue ``number``) or ``none`` (already up to date)."""
    ticket: dict[str, str]
    number: int | None = None


def check(tickets: Sequence[Any]) -> list[dict[str, str]]:
    """The tickets if each has this module's shape (they cross from another job); raises TicketRefused."""
    problems = []
    for n, t in enumerate(tickets):
        if not isinstance(t, dict) or not all(
            isinstance(t.get(k), str) for k in ("title", "marker", "body", "runbook")
        ):
            problems.append(f"ticket {n}: not an object of title, marker, runbook and body strings")
            continue
        if not _TITLE.fullmatch(t["title"]):
            problems.append(
                f"ticket {n}: title {t['title']!r:.80} is not `rotate <stack> <owner>.<KEY>`"
            )
        if not _MARKER.fullmatch(t["marker"]) or not t["body"].startswith(t["marker"] + "\n"):
            problems.append(f"ticket {n}: the body does not start with a rotation marker")
        if not _RUNBOOK.fullmatch(t["runbook"]):
            problems.append(f"ticket {n}: runbook {t['runbook']!r:.80} is not a runbook section")
    if problems:
        raise TicketRefused("; ".join(problems))
    return [dict(t) for t in tickets]


def issue_actions(
    tickets: Sequence[dict[str, str]], open_issues: Sequence[dict[str, Any]]
) -> list[Action]:
    """Per ticket: update the open issue whose body carries its marker (the lowest number if several), or
    create one; nothing when that issue's body is the ticket's already."""
    actions = []
    for t in tickets:
        found = sorted(
            (int(i["number"]) for i in open_issues if t["marker"] in str(i.get("body") or "")),
        )
        if not found:
            actions.append(Action("create", t))
            continue
        (issue,) = [i for i in open_issues if int(i["number"]) == found[0]]
        same = str(issue.get("body") or "").strip() == t["body"].strip()
        actions.append(Action("none" if same else "update", t, found[0]))
    return actions


Gh = Callable[[list[str], str | None], str]
"""Run ``gh`` with these arguments (and this stdin); its stdout."""


def run_gh(args: list[str], stdin: str | None = None) -> str:
    done = subprocess.run(["gh", *args], input=stdin, capture_output=True, text=True, check=True)
    return done.stdout


def sync(tickets: Sequence[dict[str, str]], gh: Gh = run_gh) -> list[Action]:
    """Create or update the tickets' issues through ``gh``; the actions taken."""
    listed = gh(
        [
            "issue",
            "list",
            "--label",
            LABEL,
            "--state",
            "open",
            "--limit",
            str(ISSUE_LIMIT),
            "--json",
            "number,body",
        ],
        None,
    )
    actions = issue_actions(tickets, json.loads(listed or "[]"))
    if any(a.kind == "create" for a in actions):
        gh(
            [
                "label",
                "create",
                LABEL,
                "--force",
                "--color",
                "d93f0b",
                "--description",
                "A secret to rotate by hand (the rotate workflow)",
            ],
            None,
        )
    for a in actions:
        if a.kind == "create":
            gh(
                [
                    "issue",
                    "create",
                    "--title",
                    a.ticket["title"],
                    "--label",
                    LABEL,
                    "--body-file",
                    "-",
                ],
                a.ticket["body"],
            )
        elif a.kind == "update":
            gh(["issue", "edit", str(a.number), "--body-file", "-"], a.ticket["body"])
    return actions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_secrets.rotate.tickets")
    parser.add_argument(
        "--tickets", required=True, type=Path, help="JSON list: the report's tickets"
    )
    args = parser.parse_args(argv)
    try:
        tickets = check(json.loads(args.tickets.read_text()))
        actions = sync(tickets)
    except (OSError, json.JSONDecodeError, TicketRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(
            f"error: gh {' '.join(error.cmd[1:3])} failed: {error.stderr.strip()[:500]}",
            file=sys.stderr,
        )
        return 2
    for a in actions:
        where = f" #{a.number}" if a.number else ""
        print(f"{a.ticket['title']}: {a.kind}{where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
