"""Rotate what is due: ``rotate(stack, due_within="14d")`` bumps the epochs of due generated values.

It reads the store's metadata through the audit's guarded readers (``platform_secrets.audit.live_view``:
they refuse any value read before it is sent), judges each entry's age against its rotation period
(``platform_secrets.rotate.plan``), and sets the ``rotationEpochs`` entry of every generated value that is
overdue or due within the window in ``Pulumi.<stack>.yaml`` (a textual edit: ``platform_secrets.rotate.stackfile``).
The next ``pulumi up`` regenerates exactly those values. A ``keep_previous`` value's current store version is
recorded in ``rotationOverlaps`` (its readers get it as ``<KEY>_PREVIOUS``), and removed once the overlap is
over. ``config`` and ``external`` values it cannot rotate are listed with their runbook section.

Exit codes: 0 nothing due; 1 something due (epochs bumped, or values a person must rotate), or the input
was refused; 2 the store or the stack could not be read.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from platform_secrets.audit.command import VIEWS
from platform_secrets.audit.declared import AuditInputError, Declared, declare
from platform_secrets.live.endpoints import EndpointRefused
from platform_secrets.live.readers import ValueReadRefused
from platform_secrets.offline import runner as offline
from platform_secrets.rotate.plan import RotationPlan, due
from platform_secrets.rotate.stackfile import StackEditRefused, write_bumped
from platform_secrets.rotate.tickets import ticket

_WITHIN = re.compile(r"^(\d{1,3})d$")


def parse_within(text: str) -> timedelta:
    match = _WITHIN.match(text)
    if match is None:
        raise ValueError(f"--due-within {text!r}: a number of days such as 14d")
    return timedelta(days=int(match.group(1)))


def plan_rotation(
    declared: Declared,
    as_of: date,
    within: timedelta,
    reader: Any = None,
    endpoint: str | None = None,
) -> RotationPlan:
    view = VIEWS.get(declared.cloud)
    if view is None:
        raise AuditInputError(f"no metadata reader for the {declared.cloud} store yet")
    live = view(declared, reader) if reader is not None else view(declared, endpoint=endpoint)
    return due(declared.entries, live, as_of, within, declared.settings.rotation_overlaps)


def repo_url() -> str:
    """The repository's address on GitHub Actions (its runbook links are then absolute), else nothing."""
    server, repo = os.environ.get("GITHUB_SERVER_URL", ""), os.environ.get("GITHUB_REPOSITORY", "")
    if re.fullmatch(r"https://[A-Za-z0-9.-]+", server) and re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        return f"{server}/{repo}"
    return ""


def report(stack: str, plan: RotationPlan, changed: bool) -> dict[str, Any]:
    return {
        "stack": stack,
        "as_of": plan.as_of.isoformat(),
        "bumped": dict(sorted(plan.bump.items())),
        "overlaps_set": dict(sorted(plan.overlaps_set.items())),
        "overlaps_ended": list(plan.overlaps_ended),
        "held": [d.as_dict() for d in plan.held],
        "stack_file_changed": changed,
        "due": [d.as_dict() for d in plan.due],
        "tickets": [ticket(stack, d.as_dict(), repo_url()) for d in plan.tickets],
    }


def render(result: dict[str, Any]) -> str:
    lines = [f"rotation of stack {result['stack']} as of {result['as_of']}:"]
    for d in result["due"]:
        when = (
            f"overdue by {-d['due_in_days']}d"
            if d["due_in_days"] < 0
            else f"due in {d['due_in_days']}d"
        )
        if d["entry"] in result["overlaps_set"]:
            what = f"epoch bumped, version {result['overlaps_set'][d['entry']]} kept as _PREVIOUS"
        elif d["entry"] in result["bumped"]:
            what = "epoch bumped"
        elif d["entry"] in {h["entry"] for h in result["held"]}:
            what = "held: its current version is not visible, so no previous value could be kept"
        else:
            what = f"rotate by hand: {d['runbook']}"
        lines.append(f"  {d['entry']} ({d['source']}, {d['age_days']}d old, {when}): {what}")
    lines += [f"  {key}: overlap over, _PREVIOUS removed" for key in result["overlaps_ended"]]
    if not result["due"] and not result["overlaps_ended"]:
        lines.append("  nothing due")
    return "\n".join(lines)


def rotate(
    stack: str,
    due_within: str = "14d",
    as_of: date | None = None,
    json_out: Path | None = None,
    root: Path = offline.ROOT,
    declared: Declared | None = None,
    reader: Any = None,
    endpoint: str | None = None,
) -> int:
    """Bump the epochs of the stack's due generated values; the exit code (see the module's doc)."""
    try:
        within = parse_within(due_within)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    when = as_of or datetime.now(UTC).date()
    try:
        declared = declared or declare(stack, root=root)
        plan = plan_rotation(declared, when, within, reader, endpoint)
    except (
        EndpointRefused
    ) as error:  # a variable of the shell, or --endpoint, refused: refused input
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (AuditInputError, ValueReadRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the store's client: no credentials, access denied, unreachable
        print(f"error: could not read the {stack} store: {error}", file=sys.stderr)
        return 2
    try:
        changed = write_bumped(
            root / f"Pulumi.{stack}.yaml", plan.bump, plan.overlaps_set, plan.overlaps_ended
        )
    except (StackEditRefused, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = report(stack, plan, changed)
    print(render(result))
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 1 if plan.due or plan.changes else 0
