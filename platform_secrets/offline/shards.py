"""``platform-secrets shards check|propose|moves``: an environment's assignment of services to stacks.

Plain functions returning an exit code (0 fine, 1 findings or refused input, 2 could not run); the CLI wraps
them. The resource counts come from an offline plan's ``resources.json`` (``--plan DIR``, e.g. ``make plan``'s
output of a one-stack run of the same catalog): each service's resources are its component's subtree.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from platform_secrets.model import shards
from platform_secrets.model.catalog import Catalog, CatalogError, load_catalog
from platform_secrets.model.shard_moves import move_problems
from platform_secrets.model.shards import EnvironmentLayout, LayoutError
from platform_secrets.offline import moves as shard_moves
from platform_secrets.paths import PROJECT_ROOT


class CannotRun(Exception):
    """A file is missing or unreadable: exit 2."""


def layout_path(environment: str, root: Path) -> Path:
    return root / "environments" / f"{environment}.yaml"


def _load(environment: str, root: Path) -> tuple[EnvironmentLayout, Catalog, str]:
    path = layout_path(environment, root)
    origin = f"environments/{environment}.yaml"
    if not path.is_file():
        raise CannotRun(f"{origin} not found: environment {environment} is not sharded")
    try:
        catalog = load_catalog(root / "catalog.yaml")
    except CatalogError as error:
        raise CannotRun(str(error)) from None
    return shards.read_layout(path, origin), catalog, origin


def _counts(layout: EnvironmentLayout, plan: Path | None) -> dict[str, int] | None:
    if plan is None:
        return None
    try:
        records = json.loads((plan / "resources.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CannotRun(f"{plan}/resources.json is not a plan's artifacts: {error}") from None
    per_service, foundation, overhead = shards.counts_from_records(records)
    return shards.stack_counts(layout, per_service, foundation, overhead)


def check(environment: str, plan: Path | None = None, root: Path = PROJECT_ROOT) -> int:
    """Name every problem of the environment's assignment (and, with a plan, each stack over the limit)."""
    try:
        layout, catalog, origin = _load(environment, root)
        counts = _counts(layout, plan)
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except CannotRun as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems = shards.layout_problems(layout, catalog, origin=origin, counts=counts)
    if problems:
        print(
            f"environment {environment} has {len(problems)} problem(s):\n"
            + "\n".join(f"  - {p}" for p in problems),
            file=sys.stderr,
        )
        return 1
    for stack in layout.all_stacks():
        size = f"{counts[stack]} resources" if counts is not None else "resources not counted"
        role = (
            "foundation" if stack == layout.foundation else f"{len(layout.stacks[stack])} services"
        )
        print(f"{stack}: {role}, {size} (limit {layout.stack_resource_limit})")
    return 0


def propose(
    environment: str,
    service: str,
    plan: Path | None = None,
    write: bool = False,
    root: Path = PROJECT_ROOT,
) -> int:
    """Print the shard a new service should go to (the least filled); ``write`` appends it there."""
    try:
        layout, catalog, origin = _load(environment, root)
        counts = _counts(layout, plan)
        if service not in catalog.services:
            print(f"error: {service} is not in the catalog (add it there first)", file=sys.stderr)
            return 1
        if (home := layout.stack_of(service)) is not None:
            print(
                f"error: {service} is already in {home}; proposing never moves it", file=sys.stderr
            )
            return 1
        target = shards.propose(layout, counts)
        updated = shards.with_service(layout, service, target)
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except CannotRun as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(target)
    if write:
        path = layout_path(environment, root)
        text = "".join(f"{line}\n" for line in _leading(path)) + shards.dump_layout(updated)
        path.write_text(text, encoding="utf-8")
        print(f"{service} appended to {target} in {origin}", file=sys.stderr)
    return 0


def _leading(path: Path) -> list[str]:
    """The file's opening comment lines, kept as they are when the file is rewritten."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def moves(environment: str, base: Path, head: Path, root: Path = PROJECT_ROOT) -> int:
    """Compare two environment plans (``DIR/<stack>/resources.json``): refuse a resource that changes stack
    without a ``moved:`` record (exit 1), else print the ``pulumi state move`` steps the deploy runs."""
    try:
        layout, catalog, origin = _load(environment, root)
        report = shard_moves.compare(
            shard_moves.read_plans(base), shard_moves.read_plans(head), layout.moved, origin
        )
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (CannotRun, shard_moves.NotAPlan) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems = move_problems(layout, catalog, origin) + report.problems
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if problems:
        print(
            f"environment {environment}: {len(problems)} problem(s) with services changing stack:\n"
            + "\n".join(f"  - {p}" for p in problems),
            file=sys.stderr,
        )
        return 1
    if not report.steps:
        print("no service changes stack")
    for step in report.steps:
        print(f"{step.service}: {shlex.join(step.argv())}")  # URNs hold `$`: quoted for a shell
    if report.steps:
        print(
            "The deploy runs these (with --yes) before any up; dry-run one without --yes first "
            "(runbooks/shards.md)"
        )
    return 0
