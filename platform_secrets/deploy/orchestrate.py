"""Preview or deploy an environment's stacks on the Pulumi Automation API (``LocalWorkspace``).

The foundation first, alone; then the shards, at most ``bound`` at a time, in sorted order. The first failure
stops new starts: queued shards are reported ``not-started`` and running ones are let finish (a killed
``pulumi up`` leaves pending operations and a locked stack). The work happens in the ``pulumi`` subprocesses,
so threads are enough; every command carries ``--stack`` and nothing writes the workspace's stack files.
``up`` runs with ``show_secrets=False`` (its default would put the stack's decrypted config in the history it
reads back); no stack's outputs are kept or printed.

Before anything else, ``up`` runs the layout's pending ``moved:`` records: ``pulumi state move --source A --dest B
--yes <the service's component URN>`` (its children move with it, providers are copied), so that neither stack's
``up`` deletes or re-creates the service. A record whose component is no longer in the source (already moved) is
not run again; a failed move starts no stack. ``preview`` runs no move (it changes state) and reports it pending.
The source's state is read with ``stack export`` without ``--show-secrets`` (its secrets stay ciphertext).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pulumi import automation

from platform_secrets.model.shard_moves import Move
from platform_secrets.model.shards import COMPONENT, EnvironmentLayout

Action = Literal["preview", "up"]
Status = Literal["ok", "failed", "not-started", "pending"]
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


def component_of(urns: set[str], service: str) -> str | None:
    """The URN of ``service``'s component among a stack's URNs, found by its type and name (the URN's type
    chain also names its parents, e.g. ``pulumi:pulumi:Stack$platform-secrets:index:ServiceSecrets``)."""
    for urn in sorted(urns):
        parts = urn.split("::")
        if len(parts) == 4 and parts[2].split("$")[-1] == COMPONENT and parts[3] == service:
            return urn
    return None


def _stack_urns(
    command: automation.PulumiCommand, work_dir: Path, env: Mapping[str, str], stack: str
) -> set[str]:
    result = command.run(["stack", "export", "--stack", stack], str(work_dir), dict(env))
    deployment = json.loads(result.stdout or "{}").get("deployment") or {}
    return {str(r.get("urn")) for r in deployment.get("resources") or []}


def _run_move(
    move: Move,
    work_dir: Path,
    command: automation.PulumiCommand | None,
    env: Mapping[str, str],
) -> StackReport:
    name = f"move {move.service} {move.source} -> {move.dest}"
    start = time.monotonic()
    try:
        for stack in (move.source, move.dest):  # the destination may be a new shard
            workspace = automation.create_or_select_stack(
                stack,
                work_dir=str(work_dir),
                opts=automation.LocalWorkspaceOptions(pulumi_command=command, env_vars=dict(env)),
            ).workspace
        cli = workspace.pulumi_command
        urn = component_of(_stack_urns(cli, work_dir, env, move.source), move.service)
        if urn is None:
            done = component_of(_stack_urns(cli, work_dir, env, move.dest), move.service)
            key = "already moved" if done else "nothing to move"
            return StackReport(name, "ok", time.monotonic() - start, {key: 1})
        argv = ["state", "move", "--source", move.source, "--dest", move.dest, "--yes", urn]
        cli.run(argv, str(work_dir), dict(env))
    except (automation.errors.CommandError, RuntimeError, ValueError) as error:
        return StackReport(name, "failed", time.monotonic() - start, {}, _first_error_line(error))
    return StackReport(name, "ok", time.monotonic() - start, {"moved": 1})


def run_moves(
    layout: EnvironmentLayout,
    action: Action,
    work_dir: Path,
    command: automation.PulumiCommand | None,
    env: Mapping[str, str],
) -> list[StackReport]:
    """One report per ``moved:`` record, in the file's order; the first failure runs no further move."""
    if action == "preview":
        return [
            StackReport(
                f"move {m.service} {m.source} -> {m.dest}",
                "pending",
                error="pulumi state move runs at `platform-secrets deploy --up`, before the ups",
            )
            for m in layout.moved
        ]
    reports: list[StackReport] = []
    for move in layout.moved:
        if reports and reports[-1].status == "failed":
            reports.append(
                StackReport(f"move {move.service} {move.source} -> {move.dest}", "not-started")
            )
        else:
            reports.append(_run_move(move, work_dir, command, env))
    return reports


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
    moves = run_moves(layout, action, work_dir, command, env)
    if any(m.status == "failed" for m in moves):
        return [*moves, *(StackReport(s, "not-started") for s in layout.all_stacks())]
    foundation = _run_one(layout.foundation, action, work_dir, command, env)
    if foundation.status != "ok":
        return [*moves, foundation, *(StackReport(s, "not-started") for s in shards)]
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
    return [*moves, foundation, *reports]


def render(reports: list[StackReport]) -> str:
    """The per-stack summary: status, time, resource changes, the first error line."""
    lines = []
    for r in reports:
        changes = ", ".join(f"{op} {n}" for op, n in sorted(r.changes.items())) or "-"
        line = f"{r.stack:<28} {r.status:<11} {r.seconds:6.1f}s  {changes}"
        lines.append(line + (f"\n    {r.error}" if r.error else ""))
    failed = sum(r.status == "failed" for r in reports)
    skipped = sum(r.status == "not-started" for r in reports)
    pending = sum(r.status == "pending" for r in reports)
    stacks = sum(not r.stack.startswith("move ") for r in reports)
    moves = len(reports) - stacks
    tail = f"; {moves} move(s), {pending} pending" if moves else ""
    lines.append(f"{stacks} stacks: {failed} failed, {skipped} not started{tail}")
    return "\n".join(lines)
