"""``platform-secrets audit``: the live store against the declaration (``platform_secrets.audit.command``)."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.audit import command
from platform_secrets.cli import options
from platform_secrets.exit_codes import COULD_NOT_RUN
from platform_secrets.progress import status_for

EXAMPLE = "Example: platform-secrets audit --stack prod --out audit-prod.json"


def audit(
    stack: Annotated[
        str | None, typer.Option("--stack", help="stack name (Pulumi.<stack>.yaml)")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            help="a sharded environment (environments/<env>.yaml): its store judged against the union "
            "of all its stacks (per stack, every other stack's entries would look orphaned)",
        ),
    ] = None,
    out: Annotated[
        Path | None, options.out_option("file to write the report into, as JSON")
    ] = None,
    as_json: options.Json = False,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="judge ages as of this date (default: today, UTC)"
        ),
    ] = None,
    cloud: options.CloudOption = None,
    config: options.Config = None,
    endpoint: options.Endpoint = None,
) -> int:
    """Audit a stack's live store, read-only, with your credentials: entries, ages, readers, protection."""
    when: date | None = as_of.date() if as_of else None
    if (stack is None) == (environment is None):
        print("error: give --stack STACK or --environment ENV (one of them)", file=sys.stderr)
        return COULD_NOT_RUN
    return command.run_audit(
        stack,
        environment=environment,
        out=out,
        as_json=as_json,
        as_of=when,
        cloud=cloud,
        config=options.parse_config(config),
        endpoint=endpoint,
        status=status_for(as_json),
    )
