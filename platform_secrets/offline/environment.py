"""The offline plan of a sharded environment: ``platform-secrets plan --environment example --out DIR``.

The foundation is planned first; the shards then in parallel processes (one stack per process at a time: a
run sets the SDK's global runtime state), each reading the foundation's planned outputs through its
``pulumi.StackReference`` (the mocks serve them, and refuse any other target). Written:

- ``DIR/<stack>/``: each stack's artifacts, as a one-stack plan writes them (``resources.json``, ``k8s/``,
  ``iam/``, ...), so per-stack tools (the CI matrix of affected stacks) read one folder per stack;
- ``DIR/resources.json``: the union of every stack's registrations;
- ``DIR/access.json``: the access derivation on the union, which equals the one-stack plan's of the same catalog.

``--shard S`` (repeatable; ``shards``) plans the foundation and those shards only, the per-shard CI job's
preview: its stack's artifacts and its count under the limit, in two plans rather than the environment's (at
5,000 services, 92). The layout is still checked against the whole catalog; the union (``resources.json``,
``access.json``, ``arns.json`` at the top) is not written, since it needs every stack.

Any problem (the layout against the catalog, a stack's run, a stack over ``stackResourceLimit``) is named, all
at once, and nothing is written.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_secrets.access import matrix as access
from platform_secrets.exit_codes import COULD_NOT_RUN, FINDINGS, OK
from platform_secrets.model import shards
from platform_secrets.model.catalog import CatalogError, load_catalog
from platform_secrets.model.settings import Cloud
from platform_secrets.offline import artifacts
from platform_secrets.offline import runner as offline
from platform_secrets.offline.registered import Registered, RunResult


@dataclass
class StackPlan:
    """One stack's plan, as a worker returns it (plain data: it crosses a process boundary)."""

    stack: str
    error: str | None
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: list[str] = field(default_factory=list)
    peak_kb: int = 0
    """The worker process's peak resident memory (``ru_maxrss``), in KiB."""
    pid: int = 0


def plan_stack(
    stack: str,
    out: Path | None,
    overrides: Mapping[str, Any],
    origins: Mapping[str, str],
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    secrets: Mapping[str, str] | None = None,
    config_root: Path | None = None,
) -> StackPlan:
    """Plan one stack (in whichever process runs it) and write its artifacts into ``out`` when it succeeds."""
    import os

    result = offline.run(
        stack,
        overrides=dict(overrides),
        override_origins=origins,
        stack_references=stack_references,
        secrets=dict(secrets) if secrets else None,
        secrets_origin="--stub-secrets",
        config_root=config_root,
    )
    if result.error is None and out is not None:
        artifacts.write(result, out)
    return StackPlan(
        stack=stack,
        error=None if result.error is None else str(result.error),
        resources=result.resources,
        outputs=result.outputs,
        secret_outputs=sorted(result.secret_outputs),
        peak_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        pid=os.getpid(),
    )


class InProcess(Executor):
    """An executor that runs each task at once in this process (tests, and ``workers=0``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def process_pool(workers: int) -> Executor:
    """Long-lived spawned workers: a fresh interpreter per process (no inherited SDK state), reused."""
    if workers <= 0:
        return InProcess()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        max_tasks_per_child=64,
    )


def plan_stacks(
    layout: shards.EnvironmentLayout,
    staging: Path | None,
    executor: Executor,
    overrides: Mapping[str, Any] | None = None,
    origins: Mapping[str, str] | None = None,
    project: str = "platform-secrets",
    secrets: Mapping[str, Mapping[str, str]] | None = None,
    config_root: Path | None = None,
    shards_only: Sequence[str] | None = None,
) -> dict[str, StackPlan]:
    """The foundation first, then every shard (or ``shards_only``; submitted together, so they run side by
    side).

    ``secrets``: stack -> config secrets it is given (a review's stubs; each stack's own only)."""
    given, labels = dict(overrides or {}), dict(origins or {})
    stubs = dict(secrets or {})

    def where(stack: str) -> Path | None:
        return staging / stack if staging is not None else None

    found = executor.submit(
        plan_stack,
        layout.foundation,
        where(layout.foundation),
        given,
        labels,
        None,
        stubs.get(layout.foundation),
        config_root,
    )
    foundation = found.result()
    plans = {layout.foundation: foundation}
    if foundation.error is not None:
        return plans  # a shard planned against a failed foundation would only repeat its error
    references = {f"{offline.ORGANIZATION}/{project}/{layout.foundation}": foundation.outputs}
    futures = {
        stack: executor.submit(
            plan_stack,
            stack,
            where(stack),
            given,
            labels,
            references,
            stubs.get(stack),
            config_root,
        )
        for stack in sorted(layout.stacks if shards_only is None else shards_only)
    }
    plans.update({stack: future.result() for stack, future in futures.items()})
    return plans


def problems_of(
    layout: shards.EnvironmentLayout, plans: Mapping[str, StackPlan], origin: str
) -> list[str]:
    """Each stack's run error (its first lines), each stack over the limit (with its count)."""
    problems = []
    for stack, plan in plans.items():
        if plan.error is not None:
            problems.append(f"stack {stack}: {plan.error.strip()}")
        if plan.secret_outputs:
            problems.append(
                f"stack {stack} exports secret outputs ({', '.join(plan.secret_outputs)}): a shard's "
                "stack reference would carry them"
            )
    missing = [s for s in layout.all_stacks() if s not in plans]
    if missing and layout.foundation in plans and plans[layout.foundation].error is not None:
        problems.append(f"not planned, the foundation failed: {', '.join(missing)}")
    counts = {stack: len(plan.resources) for stack, plan in plans.items() if plan.error is None}
    limit = layout.stack_resource_limit
    for stack, count in counts.items():
        if count > limit:
            problems.append(
                f"stack {stack} holds {count} resources, over the limit of {limit} "
                f"(stackResourceLimit in {origin}): move services to another shard or add one"
            )
    return problems


def write_union(plans: Mapping[str, StackPlan], out: Path) -> dict[str, Any]:
    """``resources.json`` (every stack's records, by URN), ``access.json`` (derived on the union), and
    ``arns.json``."""
    union = [r for plan in plans.values() for r in plan.resources]
    records = sorted((artifacts.resource_record(r) for r in union), key=lambda rec: rec["urn"])
    (out / "resources.json").write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    matrix = access.derive(union)
    (out / "access.json").write_text(json.dumps(matrix, indent=2, sort_keys=True) + "\n")
    # The union's ARNs by name, as a one-stack plan writes them (a replay of the environment reads them).
    whole = RunResult(stack="", preview=False, resources=union, outputs={}, secret_outputs=set())
    (out / "arns.json").write_text(
        json.dumps(artifacts.arns(whole), indent=2, sort_keys=True) + "\n"
    )
    return matrix


def plan_environment(
    environment: str,
    out: Path,
    *,
    cloud: Cloud | None = None,
    config: Mapping[str, Any] | None = None,
    workers: int = 2,
    root: Path = offline.ROOT,
    on_plans: Callable[[dict[str, StackPlan]], None] | None = None,
    shards_only: Sequence[str] | None = None,
) -> int:
    """``platform-secrets plan --environment ENV --out DIR``; an exit code of ``platform_secrets.exit_codes``.

    ``root``: where ``environments/``, ``catalog.yaml`` and the stack files are read from (the code run is this
    checkout's); the program reads the environment file beside the catalog it is given (``--config catalog=``).
    """
    origin = f"environments/{environment}.yaml"
    path = root / origin
    if not path.is_file():
        print(
            f"error: {origin} not found: environment {environment} is not sharded", file=sys.stderr
        )
        return COULD_NOT_RUN
    try:
        layout = shards.read_layout(path, origin)
        catalog = load_catalog(root / "catalog.yaml")
    except (shards.LayoutError, CatalogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return FINDINGS
    problems = shards.layout_problems(layout, catalog, origin=origin)
    problems += [
        f"--shard {s}: not a shard of {origin} (its shards: {', '.join(sorted(layout.stacks))})"
        for s in shards_only or ()
        if s not in layout.stacks
    ]
    if problems:
        return _refuse(environment, problems)
    try:
        artifacts.clear(out)
    except artifacts.NotAPlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return FINDINGS
    overrides = dict(config or {})
    origins = {key: f"--config {key}=..." for key in overrides}
    if cloud is not None:
        overrides["cloud"], origins["cloud"] = cloud.value, f"--cloud {cloud.value}"
    try:
        project = offline.load_config(layout.foundation, root)[0]
    except offline.StackConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return FINDINGS
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        executor = process_pool(workers)
        with executor:
            plans = plan_stacks(
                layout,
                staging,
                executor,
                overrides,
                origins,
                project,
                config_root=None if root == offline.ROOT else root,
                shards_only=None if shards_only is None else sorted(set(shards_only)),
            )
        if on_plans is not None:  # the tests and the benchmark read the plans (pids, memory)
            on_plans(plans)
        problems = problems_of(layout, plans, origin)
        if problems:
            return _refuse(environment, problems)
        if shards_only is None:
            matrix = write_union(plans, staging)
        else:
            matrix = None
            artifacts.write_partial(staging, environment, sorted(plans))
        staging.chmod(0o755)  # mkdtemp's 0700 is for the half-written folder only
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for stack, plan in plans.items():
        role = (
            "foundation" if stack == layout.foundation else f"{len(layout.stacks[stack])} services"
        )
        print(
            f"stack {stack} ({role}): {len(plan.resources)} resources, peak {plan.peak_kb // 1024} MB"
        )
    if matrix is None:
        print(
            f"only {', '.join(sorted(plans))} planned: no union, no access.json (it needs every stack)"
        )
        print(f"artifacts written to {out}/ (one folder per stack)")
        return OK
    print(f"access.json: {len(matrix)} principals, derived on the union of {len(plans)} stacks")
    print(f"artifacts written to {out}/ (one folder per stack, the union at the top)")
    return OK


def _refuse(environment: str, problems: list[str]) -> int:
    print(
        f"error: environment {environment} has {len(problems)} problem(s); nothing was written:\n"
        + "\n".join(f"  - {p}" for p in problems),
        file=sys.stderr,
    )
    return FINDINGS
