"""``platform-secrets rotate``: bump the epochs of due generated values (``platform_secrets.rotate.command``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.cli import options
from platform_secrets.rotate.command import rotate as rotate_stack

EXAMPLE = "Example: platform-secrets rotate --stack prod --due-within 14d --out rotate.json"


def rotate(
    stack: options.Stack,
    due_within: Annotated[
        str, typer.Option(help="also rotate what is due within, e.g. 14d")
    ] = "14d",
    as_of: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="judge ages as of (default today)")
    ] = None,
    json_out: Annotated[
        Path | None, options.out_option("file to write the result into, as JSON")
    ] = None,
    endpoint: options.Endpoint = None,
) -> None:
    """Bump the rotationEpochs entry of every generated value overdue or due; list the others."""
    when = as_of.date() if as_of else None
    raise typer.Exit(rotate_stack(stack, due_within, when, json_out, endpoint=endpoint))
