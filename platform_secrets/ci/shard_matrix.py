"""The GitHub Actions matrix of an environment's shards, from its assignment (``environments/<env>.yaml``).

``python -m platform_secrets.ci.shard_matrix --environment ENV [--github-output]`` prints
``{"include": [{"stack", "environment", "github_environment"}, ...]}``, shards sorted, the foundation left out
(it runs alone, first). One GitHub environment per stack (``github_environment`` is the stack's name) is what
keeps a shard's deployer from another shard's secrets. ``--stack S`` checks one stack instead: that it belongs to
the environment, and (with ``--plan``) that it is under the resource limit. Exit 0 fine, 1 refused, 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from platform_secrets.model import shards
from platform_secrets.model.catalog import CatalogError, load_catalog
from platform_secrets.model.shards import EnvironmentLayout, LayoutError
from platform_secrets.paths import PROJECT_ROOT

MATRIX_LIMIT = 256
"""GitHub's cap on the jobs one matrix may generate per workflow run."""


def matrix_of(layout: EnvironmentLayout, environment: str) -> dict[str, Any]:
    if len(layout.stacks) > MATRIX_LIMIT:
        raise LayoutError(
            f"environments/{environment}.yaml",
            [f"{len(layout.stacks)} shards: a GitHub matrix runs at most {MATRIX_LIMIT} jobs"],
        )
    return {
        "include": [
            {"stack": stack, "environment": environment, "github_environment": stack}
            for stack in sorted(layout.stacks)
        ]
    }


def matrix(
    environment: str,
    github_output: Path | None = None,
    stack: str | None = None,
    plan: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> int:
    """Print (or append to ``$GITHUB_OUTPUT`` as ``matrix=<json>``) the matrix; or check one ``stack``."""
    origin = f"environments/{environment}.yaml"
    path = root / "environments" / f"{environment}.yaml"
    if not path.is_file():
        print(f"error: {origin} not found", file=sys.stderr)
        return 2
    try:
        layout = shards.read_layout(path, origin)
        catalog = load_catalog(root / "catalog.yaml")
        data = matrix_of(layout, environment)
    except (LayoutError, CatalogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    counts = None
    if plan is not None:
        records = json.loads((plan / "resources.json").read_text(encoding="utf-8"))
        counts = shards.stack_counts(layout, *shards.counts_from_records(records))
    problems = shards.layout_problems(
        layout, catalog, origin=origin, counts=counts, stacks=[stack] if stack else []
    )
    if problems:
        print("error:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        return 1
    if stack is not None:
        size = f", {counts[stack]} resources" if counts is not None else ""
        print(f"{stack}: in {origin}{size} (limit {layout.stack_resource_limit})")
        return 0
    text = json.dumps(data, separators=(",", ":"))
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as out:
            out.write(f"matrix={text}\n")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_secrets.ci.shard_matrix")
    parser.add_argument("--environment", required=True)
    parser.add_argument("--stack", help="check this stack only")
    parser.add_argument(
        "--plan", type=Path, help="an offline plan's artifacts, for the resource limit"
    )
    parser.add_argument(
        "--github-output", action="store_true", help="also write matrix=<json> to $GITHUB_OUTPUT"
    )
    args = parser.parse_args(argv)
    output = os.environ.get("GITHUB_OUTPUT") if args.github_output else None
    if args.github_output and not output:
        print("error: --github-output without $GITHUB_OUTPUT", file=sys.stderr)
        return 2
    return matrix(args.environment, Path(output) if output else None, args.stack, args.plan)


if __name__ == "__main__":
    sys.exit(main())
