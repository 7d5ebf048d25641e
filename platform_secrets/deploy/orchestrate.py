"""Preview or deploy an environment's stacks on the Pulumi Automation API (``LocalWorkspace``).

The foundation first, alone; then the shards, at most ``bound`` at a time, in sorted order. The first failure
stops new starts: queued shards are reported ``not-started`` and running ones are let finish (a killed
``pulumi up`` leaves pending operations and a locked stack). The work happens in the ``pulumi`` subprocesses,
so threads are enough; every command carries ``--stack`` and nothing writes the workspace's stack files.
``up`` runs with ``show_secrets=False`` (its default would put the stack's decrypted config in the history it
reads back); no stack's outputs are kept or printed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pulumi import automation

from platform_secrets.model.shards import EnvironmentLayout

Action = Literal["preview", "up"]
Status = Literal["ok", "failed", "not-started"]
RESOURCE_PARALLELISM = 10
"""Per stack; the stack bound times this bounds the engine's memory (pulumi/pulumi#14989)."""


@dataclass(frozen=True)
class StackReport:
    stack: str
    status: Status
    seconds: float = 0.0
    changes: Mapping[str, int] = field(default_factory=dict)
    error: str = ""


def _first_error_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line[line.index("error:") :] for line in lines if "error:" in line]
    return (named or lines or [type(error).__name__])[0][:300]


def _run_one(
    stack_name: str,
    action: Action,
    work_dir: Path,
    command: automation.PulumiCommand | None,
    env_vars: Mapping[str, str],
) -> StackReport:
    start = time.monotonic()
    try:
        stack = automation.create_or_select_stack(
            stack_name,
            work_dir=str(work_dir),
            opts=automation.LocalWorkspaceOptions(pulumi_command=command, env_vars=dict(env_vars)),
        )
        if action == "preview":
            preview = stack.preview(parallel=RESOURCE_PARALLELISM)
            changes = {str(getattr(op, "value", op)): n for op, n in preview.change_summary.items()}
        else:
            result = stack.up(parallel=RESOURCE_PARALLELISM, show_secrets=False)
            changes = {str(op): n for op, n in (result.summary.resource_changes or {}).items()}
    except (automation.errors.CommandError, RuntimeError) as error:
        # RuntimeError: a preview whose engine sent no summary event (the SDK raises after waiting).
        return StackReport(
            stack_name, "failed", time.monotonic() - start, {}, _first_error_line(error)
        )
    return StackReport(stack_name, "ok", time.monotonic() - start, changes)


def run_environment(
    layout: EnvironmentLayout,
    action: Action,
    *,
    bound: int,
    work_dir: Path,
    command: automation.PulumiCommand | None = None,
    env_vars: Mapping[str, str] | None = None,
) -> list[StackReport]:
    """One report per stack of the environment, the foundation first, then the shards in sorted order."""
    if bound < 1:
        raise ValueError("the parallel bound is at least 1")
    env = dict(env_vars or {})
    shards = sorted(layout.stacks)
    foundation = _run_one(layout.foundation, action, work_dir, command, env)
    if foundation.status != "ok":
        return [foundation, *(StackReport(s, "not-started") for s in shards)]
    stop = threading.Event()

    def shard(name: str) -> StackReport:
        if stop.is_set():
            return StackReport(name, "not-started")
        report = _run_one(name, action, work_dir, command, env)
        if report.status == "failed":
            stop.set()
        return report

    with ThreadPoolExecutor(max_workers=bound, thread_name_prefix="stack") as pool:
        reports = list(pool.map(shard, shards))
    return [foundation, *reports]


def render(reports: list[StackReport]) -> str:
    """The per-stack summary: status, time, resource changes, the first error line."""
    lines = []
    for r in reports:
        changes = ", ".join(f"{op} {n}" for op, n in sorted(r.changes.items())) or "-"
        line = f"{r.stack:<28} {r.status:<11} {r.seconds:6.1f}s  {changes}"
        lines.append(line + (f"\n    {r.error}" if r.error else ""))
    failed = sum(r.status == "failed" for r in reports)
    skipped = sum(r.status == "not-started" for r in reports)
    lines.append(f"{len(reports)} stacks: {failed} failed, {skipped} not started")
    return "\n".join(lines)
