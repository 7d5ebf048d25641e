"""``platform-secrets shards ...``: the typer sub-app over ``platform_secrets.offline.shards``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.ci import shard_matrix
from platform_secrets.ci import stack_info as stack_info_module
from platform_secrets.offline import shards
from platform_secrets.paths import PROJECT_ROOT

app = typer.Typer(help="An environment split over several stacks (environments/<env>.yaml).")

Environment = Annotated[str, typer.Option("--environment", "-e", help="environments/<env>.yaml")]
Plan = Annotated[
    Path | None,
    typer.Option("--plan", help="an offline plan's artifacts (resources.json) to count resources"),
]
ProjectDir = Annotated[
    Path | None,
    typer.Option(
        "--project-dir", help="read environments/ and the catalog from DIR (the head's files)"
    ),
]


@app.command(epilog="Example: platform-secrets shards check --environment example --plan plan-dev")
def check(environment: Environment, plan: Plan = None) -> None:
    """Name every problem of the assignment; with --plan, each stack over the resource limit."""
    raise typer.Exit(shards.check(environment, plan))


@app.command(
    epilog="Example: platform-secrets shards propose notifications --environment example --write"
)
def propose(
    service: str,
    environment: Environment,
    plan: Plan = None,
    write: Annotated[bool, typer.Option("--write", help="append it to the proposed stack")] = False,
) -> None:
    """Print the least filled shard for a new service; --write appends it there, moving no other."""
    raise typer.Exit(shards.propose(environment, service, plan, write))


@app.command(epilog="Example: platform-secrets shards matrix --environment example")
def matrix(
    environment: Environment,
    stack: Annotated[str | None, typer.Option("--stack", help="check this stack only")] = None,
    plan: Plan = None,
    github_output: Annotated[
        Path | None, typer.Option("--github-output", help="append matrix=<json> to this file")
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option("--base", help="the base's environment plan: list affected shards only"),
    ] = None,
    head: Annotated[Path | None, typer.Option("--head", help="the head's environment plan")] = None,
    changed_files: Annotated[
        Path | None,
        typer.Option(
            "--changed-files", help="the changed paths, one a line (git diff --name-only)"
        ),
    ] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Print the GitHub Actions matrix of the environment's shards (sorted; the foundation runs alone);
    with --base/--head, only the shards whose plan differs (every one for a change no plan shows)."""
    raise typer.Exit(
        shard_matrix.matrix(
            environment, github_output, stack, plan, project_dir or PROJECT_ROOT, base, head,
            changed_files,
        )
    )  # fmt: skip


@app.command(
    epilog="Example: platform-secrets shards moves --environment example --base plan-base --head plan-head"
)
def moves(
    environment: Environment,
    base: Annotated[
        Path,
        typer.Option("--base", help="the base's environment plan (DIR/<stack>/resources.json)"),
    ],
    head: Annotated[Path, typer.Option("--head", help="the head's environment plan")],
    project_dir: ProjectDir = None,
) -> None:
    """Refuse a resource changing stack without a `moved:` record; print the `pulumi state move` steps."""
    raise typer.Exit(shards.moves(environment, base, head, project_dir or PROJECT_ROOT))


@app.command(name="stack-info", epilog="Example: platform-secrets shards stack-info example-a")
def stack_info(
    stack: Annotated[str, typer.Argument(help="stack name (Pulumi.<stack>.yaml)")],
    project_dir: ProjectDir = None,
) -> None:
    """Print {"environment","role","github_environment"} of a stack, read from its files (never its name)."""
    raise typer.Exit(
        stack_info_module.main([stack, "--project-dir", str(project_dir or PROJECT_ROOT)])
    )
