"""The deploy's matrices of every sharded environment (``environments/*.yaml``): foundations first, then shards.

``python -m platform_secrets.ci.deploy_matrix [--github-output] [--project-dir DIR]`` prints one JSON object of
four GitHub Actions matrices, each ``{"include": [{"stack", "environment", "github_environment"}, ...]}``:

- ``foundations``: every environment's foundation stack, for ``pulumi up`` (``deploy.yml`` job ``up-foundation``);
- ``foundation_previews``: the foundations of a prod environment, for the ``pulumi preview`` the reviewers of
  the protected ``<stack>`` environment read first (GitHub environment ``preview-<stack>``);
- ``shards`` and ``shard_previews``: the same for the shards, started only once every foundation is up.

A stack's prod-ness comes from its files (``platform_secrets.ci.stack_info``), never its name. Refused, every
problem named at once (exit 1): an environment file that does not validate, a pending ``moved:`` record (the
per-stack ups run no ``pulumi state move``; ``platform-secrets deploy --up`` does), a stack that has no stack
file or does not join its environment file, a stack in two environment files, more than 256 entries in one
matrix, and a GitHub environment two stacks would share (a stack called ``preview-<other>``, or one that a
one-stack environment already uses). Exit 2: could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from platform_secrets.ci.shard_matrix import MATRIX_LIMIT
from platform_secrets.ci.stack_info import Refused, stack_info
from platform_secrets.model import shards
from platform_secrets.model.catalog import CatalogError, Environment, load_catalog
from platform_secrets.model.shards import LayoutError
from platform_secrets.paths import PROJECT_ROOT

OUTPUTS = ("foundations", "foundation_previews", "shards", "shard_previews")
Entry = dict[str, str]


def _entry(stack: str, environment: str, github_environment: str) -> Entry:
    return {"stack": stack, "environment": environment, "github_environment": github_environment}


def _one_stack_environments(root: Path, sharded: set[str]) -> set[str]:
    """The GitHub environments the one-stack jobs use: ``<stack>`` and ``preview-<stack>`` of each stack file
    that no environment file lists."""
    names = {
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    }
    return {e for name in names - sharded for e in (name, f"preview-{name}")}


def deploy_matrices(root: Path = PROJECT_ROOT) -> dict[str, dict[str, list[Entry]]]:
    """The four matrices (see the module's text); ``LayoutError`` naming every problem."""
    problems: list[str] = []
    found: dict[str, list[Entry]] = {name: [] for name in OUTPUTS}
    owner: dict[str, str] = {}
    try:
        catalog = load_catalog(root / "catalog.yaml")
    except CatalogError as error:
        raise LayoutError("catalog.yaml", [str(error)]) from None
    for path in sorted((root / "environments").glob("*.yaml")):
        environment = path.stem
        origin = f"environments/{path.name}"
        try:
            layout = shards.read_layout(path, origin)
        except LayoutError as error:
            problems += error.problems
            continue
        problems += shards.layout_problems(layout, catalog, origin=origin)
        problems += [
            f"{origin}: pending move {m.service} {m.source} -> {m.dest}: the per-stack ups run no "
            f"`pulumi state move` (the old shard would delete the service, the new one create it again); "
            f"run `platform-secrets deploy --environment {environment} --up` (it moves first), then remove "
            "the record (runbooks/shards.md)"
            for m in layout.moved
        ]
        for stack in layout.all_stacks():
            if stack in owner:
                problems.append(f"stack {stack} is in both {owner[stack]} and {origin}")
                continue
            owner[stack] = origin
            try:
                info = stack_info(stack, root)
            except Refused as error:
                problems.append(f"{origin}: {error}")
                continue
            if info.environment_file != origin:
                problems.append(
                    f"{origin} lists {stack}, but Pulumi.{stack}.yaml joins {info.environment_file}"
                )
                continue
            role = "foundations" if stack == layout.foundation else "shards"
            found[role].append(_entry(stack, environment, info.github_environment))
            if info.environment == Environment.PROD.value:
                previews = role.removesuffix("s") + "_previews"
                found[previews].append(_entry(stack, environment, f"preview-{stack}"))
    used = Counter(e["github_environment"] for entries in found.values() for e in entries)
    taken = _one_stack_environments(root, set(owner))
    for github_environment, count in sorted(used.items()):
        if count > 1 or github_environment in taken:
            problems.append(
                f"GitHub environment {github_environment} would be shared by two stacks: each stack "
                "needs its own (its role, its Pulumi team, its protection rules); rename the stack"
            )
    for name, entries in found.items():
        if len(entries) > MATRIX_LIMIT:
            problems.append(
                f"{name}: {len(entries)} stacks, a GitHub matrix runs at most {MATRIX_LIMIT} jobs"
            )
    if problems:
        raise LayoutError("environments/", problems)
    return {
        name: {"include": sorted(entries, key=lambda e: e["stack"])}
        for name, entries in found.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_secrets.ci.deploy_matrix")
    parser.add_argument(
        "--github-output", action="store_true", help="also write <name>=<json> to $GITHUB_OUTPUT"
    )
    parser.add_argument(
        "--project-dir", type=Path, default=PROJECT_ROOT, help="read environments/ from DIR"
    )
    args = parser.parse_args(argv)
    output = os.environ.get("GITHUB_OUTPUT") if args.github_output else None
    if args.github_output and not output:
        print("error: --github-output without $GITHUB_OUTPUT", file=sys.stderr)
        return 2
    try:
        data: dict[str, Any] = deploy_matrices(args.project_dir)
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if output:
        with Path(output).open("a", encoding="utf-8") as out:
            for name in OUTPUTS:
                out.write(f"{name}={json.dumps(data[name], separators=(',', ':'))}\n")
    print(json.dumps(data, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
