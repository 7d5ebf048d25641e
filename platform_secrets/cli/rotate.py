"""``platform-secrets rotate``: bump the epochs of due generated values (``platform_secrets.rotate.command``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.rotate.command import rotate as rotate_stack

app = typer.Typer()


@app.command()
def rotate(
    stack: Annotated[str, typer.Option(help="stack name (Pulumi.<stack>.yaml)")],
    due_within: Annotated[
        str, typer.Option(help="also rotate what is due within, e.g. 14d")
    ] = "14d",
    as_of: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="judge ages as of (default today)")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the result as JSON")
    ] = None,
) -> None:
    """Bump the rotationEpochs entry of every generated value overdue or due; list the others."""
    raise typer.Exit(rotate_stack(stack, due_within, as_of.date() if as_of else None, json_out))
