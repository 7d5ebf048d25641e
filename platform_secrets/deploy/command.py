"""``platform-secrets deploy -e ENV (--preview|--up) --parallel N``: exit 0 all ok, 1 a stack failed,
2 could not run (no ``pulumi`` CLI, no or a bad environment file)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from pulumi import automation

from platform_secrets.deploy.orchestrate import Action, render, run_environment
from platform_secrets.model.catalog import CatalogError, load_catalog
from platform_secrets.model.shards import LayoutError, layout_problems, read_layout
from platform_secrets.paths import PROJECT_ROOT


def deploy(
    environment: str,
    action: Action,
    parallel: int = 4,
    root: Path = PROJECT_ROOT,
    pulumi_root: Path | None = None,
    env_vars: Mapping[str, str] | None = None,
) -> int:
    """Run the environment's stacks (foundation, then shards) and print the per-stack summary."""
    path = root / "environments" / f"{environment}.yaml"
    if not path.is_file():
        print(f"error: environments/{environment}.yaml not found", file=sys.stderr)
        return 2
    origin = f"environments/{environment}.yaml"
    try:
        layout = read_layout(path, origin)
        problems = layout_problems(layout, load_catalog(root / "catalog.yaml"), origin=origin)
    except (LayoutError, CatalogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if problems:  # nothing runs on an assignment that does not hold
        print(
            "error: nothing was run:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr
        )
        return 2
    if parallel < 1:
        print("error: --parallel is at least 1", file=sys.stderr)
        return 2
    if pulumi_root is None and shutil.which("pulumi") is None:
        print("error: the pulumi CLI is not on PATH", file=sys.stderr)
        return 2
    command = (
        automation.PulumiCommand(root=str(pulumi_root), skip_version_check=True)
        if pulumi_root is not None
        else None
    )
    reports = run_environment(
        layout, action, bound=parallel, work_dir=root, command=command, env_vars=env_vars
    )
    print(render(reports))
    return 1 if any(r.status not in ("ok", "pending") for r in reports) else 0
