"""``platform-secrets deploy``: the typer sub-app over ``platform_secrets.deploy.command``."""

from __future__ import annotations

from typing import Annotated

import typer

from platform_secrets.deploy.command import deploy as run

EXAMPLE = "Example: platform-secrets deploy --environment example --preview"

app = typer.Typer(
    help="Preview or deploy an environment's stacks: the foundation, then the shards."
)


@app.command()
def deploy(
    environment: Annotated[
        str, typer.Option("--environment", "-e", help="environments/<env>.yaml")
    ],
    up: Annotated[bool, typer.Option("--up/--preview", help="deploy (default: preview)")] = False,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="shards at once")] = 4,
) -> None:
    """Foundation first; then the shards in parallel; the first failure starts nothing new."""
    raise typer.Exit(run(environment, "up" if up else "preview", parallel))
