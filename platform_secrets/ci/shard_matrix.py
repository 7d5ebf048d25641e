"""The GitHub Actions matrix of an environment's shards, from its assignment (``environments/<env>.yaml``).

``python -m platform_secrets.ci.shard_matrix --environment ENV [--github-output]`` prints
``{"include": [{"stack", "environment", "github_environment"}, ...]}``, shards sorted, the foundation left out
(it runs alone, first). One GitHub environment per stack (``github_environment`` is the stack's name) is what
keeps a shard's deployer from another shard's secrets. ``--stack S`` checks one stack instead: that it belongs to
the environment, and (with ``--plan``) that it is under the resource limit. ``--base DIR --head DIR
[--changed-files FILE]`` (two environment plans) lists only the shards a pull request touches
(``platform_secrets.ci.affected_stacks``). ``--every-environment`` makes one matrix of every
``environments/*.yaml`` (what ``shards.yml`` runs: a pull request previews the touched shards of each sharded
environment, not of one named in the workflow), ``--base``/``--head`` then holding ``DIR/<env>/``;
``--list-environments`` prints their names, a line each (a file name that is no stack name is refused: the
names reach the workflow's log). Exit 0 fine, 1 refused, 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from platform_secrets.ci import affected_stacks
from platform_secrets.model import shards
from platform_secrets.model.catalog import CatalogError, load_catalog
from platform_secrets.model.shards import EnvironmentLayout, LayoutError
from platform_secrets.paths import PROJECT_ROOT

MATRIX_LIMIT = 256
"""GitHub's cap on the jobs one matrix may generate per workflow run."""


def matrix_of(
    layout: EnvironmentLayout, environment: str, stacks: Sequence[str] | None = None
) -> dict[str, Any]:
    """The matrix of ``stacks`` (default: every shard), sorted; refused over GitHub's cap."""
    chosen = sorted(layout.stacks if stacks is None else stacks)
    if len(chosen) > MATRIX_LIMIT:
        raise LayoutError(
            f"environments/{environment}.yaml",
            [f"{len(chosen)} shards: a GitHub matrix runs at most {MATRIX_LIMIT} jobs"],
        )
    return {
        "include": [
            {"stack": stack, "environment": environment, "github_environment": stack}
            for stack in chosen
        ]
    }


def _affected(
    layout: EnvironmentLayout, base: Path, head: Path, changed_files: Path | None
) -> list[str]:
    """The shards whose head plan differs from the base's (or all, for a change no plan shows)."""
    changed = changed_files.read_text(encoding="utf-8").splitlines() if changed_files else []
    found = affected_stacks.affected(list(layout.stacks), base, head, changed)
    for stack, reason in found.reasons.items():
        print(f"{stack}: {reason}", file=sys.stderr)
    return list(found.stacks)


class _Stop(Exception):
    """One environment's matrix could not be made: exit ``code`` (1 refused, 2 could not run)."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


def _entries(
    environment: str,
    root: Path,
    stack: str | None,
    plan: Path | None,
    plans: tuple[Path, Path] | None,
    changed_files: Path | None,
) -> list[dict[str, str]]:
    """One environment's matrix entries (none when checking ``stack``, whose line is printed); ``_Stop``."""
    origin = f"environments/{environment}.yaml"
    path = root / "environments" / f"{environment}.yaml"
    if not path.is_file():
        raise _Stop(2, f"error: {origin} not found")
    try:
        layout = shards.read_layout(path, origin)
        catalog = load_catalog(root / "catalog.yaml")
        chosen = _affected(layout, *plans, changed_files) if plans else None
        entries: list[dict[str, str]] = matrix_of(layout, environment, chosen)["include"]
    except (LayoutError, CatalogError) as error:
        raise _Stop(1, f"error: {error}") from None
    except (OSError, ValueError) as error:
        raise _Stop(2, f"error: {error}") from None
    counts = None
    if plan is not None:
        records = json.loads((plan / "resources.json").read_text(encoding="utf-8"))
        counts = shards.stack_counts(layout, *shards.counts_from_records(records))
    problems = shards.layout_problems(
        layout, catalog, origin=origin, counts=counts, stacks=[stack] if stack else []
    )
    if problems:
        raise _Stop(1, "error:\n" + "\n".join(f"  - {p}" for p in problems))
    if stack is not None:
        size = f", {counts[stack]} resources" if counts is not None else ""
        print(f"{stack}: in {origin}{size} (limit {layout.stack_resource_limit})")
        return []
    return entries


def environments(root: Path = PROJECT_ROOT) -> list[str]:
    """Every sharded environment (``environments/*.yaml``), sorted; a file name that is no stack name is
    refused (``LayoutError``): the names reach the workflow's log and paths."""
    names = sorted(p.stem for p in (root / "environments").glob("*.yaml"))
    bad = [n for n in names if not re.fullmatch(shards.STACK_NAME, n)]
    if bad:
        raise LayoutError(
            "environments/",
            [
                f"environments/{n}.yaml: an environment's name must match {shards.STACK_NAME}"
                for n in bad
            ],
        )
    return names


def matrix(
    environment: str | None,
    github_output: Path | None = None,
    stack: str | None = None,
    plan: Path | None = None,
    root: Path = PROJECT_ROOT,
    base: Path | None = None,
    head: Path | None = None,
    changed_files: Path | None = None,
) -> int:
    """Print (or append to ``$GITHUB_OUTPUT`` as ``matrix=<json>``) the matrix; or check one ``stack``.

    With ``base`` and ``head`` (two environment plans) only the shards they show affected are listed; the
    ``changed_files`` (one path a line, e.g. ``git diff --name-only``) add what no plan shows.
    ``environment`` None: every environment's shards in one matrix, ``base`` and ``head`` then holding one
    environment plan per environment (``DIR/<env>/<stack>/``); each environment's problems are named."""
    if (base is None) != (head is None) or (changed_files and base is None):
        print(
            "error: --base and --head go together (and --changed-files with them)", file=sys.stderr
        )
        return 2
    if environment is None and (stack or plan):
        print("error: --stack and --plan check one --environment", file=sys.stderr)
        return 2
    try:
        names = [environment] if environment is not None else environments(root)
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    entries: list[dict[str, str]] = []
    refused = 0
    for name in names:
        plans = None
        if base and head:
            plans = (base, head) if environment is not None else (base / name, head / name)
        try:
            entries += _entries(name, root, stack, plan, plans, changed_files)
        except _Stop as stop:
            print(stop, file=sys.stderr)
            if stop.code == 2:
                return 2
            refused = 1
    if refused or stack is not None:
        return refused
    if len(entries) > MATRIX_LIMIT:
        print(
            f"error: {len(entries)} shards in {len(names)} environments: a GitHub matrix runs at most "
            f"{MATRIX_LIMIT} jobs",
            file=sys.stderr,
        )
        return 1
    text = json.dumps({"include": entries}, separators=(",", ":"))
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as out:
            out.write(f"matrix={text}\n")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_secrets.ci.shard_matrix")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--environment")
    which.add_argument(
        "--every-environment",
        action="store_true",
        help="every environments/*.yaml in one matrix (--base/--head: DIR/<env>/ each)",
    )
    which.add_argument(
        "--list-environments",
        action="store_true",
        help="print every environment's name, a line each",
    )
    parser.add_argument("--stack", help="check this stack only")
    parser.add_argument(
        "--plan", type=Path, help="an offline plan's artifacts, for the resource limit"
    )
    parser.add_argument(
        "--github-output", action="store_true", help="also write matrix=<json> to $GITHUB_OUTPUT"
    )
    parser.add_argument("--base", type=Path, help="the base's environment plan (DIR/<stack>/)")
    parser.add_argument("--head", type=Path, help="the head's environment plan")
    parser.add_argument("--changed-files", type=Path, help="the changed paths, one a line")
    parser.add_argument(
        "--project-dir", type=Path, default=PROJECT_ROOT, help="read environments/ from DIR"
    )
    args = parser.parse_args(argv)
    if args.list_environments:
        try:
            print("".join(f"{name}\n" for name in environments(args.project_dir)), end="")
        except LayoutError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    output = os.environ.get("GITHUB_OUTPUT") if args.github_output else None
    if args.github_output and not output:
        print("error: --github-output without $GITHUB_OUTPUT", file=sys.stderr)
        return 2
    return matrix(
        args.environment,
        Path(output) if output else None,
        args.stack,
        args.plan,
        args.project_dir,
        args.base,
        args.head,
        args.changed_files,
    )


if __name__ == "__main__":
    sys.exit(main())
