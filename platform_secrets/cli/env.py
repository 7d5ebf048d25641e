"""``platform-secrets env pull|check|push``: local files from a stack's store (``platform_secrets.live.env``)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.cli import options
from platform_secrets.live import env as live_env

app = typer.Typer(
    help="A service's local .env (or per-key files) from a stack's store, and pushing an external value.",
    no_args_is_help=True,
    epilog="Example: platform-secrets env pull --stack dev --service backend",
)

Service = Annotated[str, typer.Option("--service", help="service name in the catalog")]
AllowProd = Annotated[bool, typer.Option("--allow-prod", help="allow a prod environment")]
Root = Annotated[
    Path, typer.Option("--root", help="root of the services' tree", show_default="the checkout")
]


class Format(str, enum.Enum):
    ENV = "env"
    FILES = "files"


FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", help="`env` (the service's .env) or `files` (one 0600 file per key in --out)"
    ),
]
FilesOut = Annotated[
    Path | None, options.out_option("with --format files: the folder of the per-key files")
]


def _files_dir(format_: Format, out: Path | None) -> Path | None:
    if format_ is Format.FILES and out is None:
        raise typer.BadParameter("--format files needs --out DIR", param_hint="'--out'")
    if format_ is Format.ENV and out is not None:
        raise typer.BadParameter(
            "--out is the folder of --format files; the .env goes to the catalog's path under --root",
            param_hint="'--out'",
        )
    return out


def _pull(
    check: bool,
    stack: str,
    service: str,
    root: Path,
    format_: Format,
    out: Path | None,
    allow_prod: bool,
    endpoint: str | None,
) -> int:
    files_dir = _files_dir(format_, out)
    return live_env.run(
        lambda: live_env.pull(
            stack,
            service,
            root=root,
            files_dir=files_dir,
            check=check,
            allow_prod=allow_prod,
            endpoint=endpoint,
        )
    )


@app.command(
    epilog="Example: platform-secrets env pull --stack dev --service media --format files --out .secrets/media"
)
def pull(
    stack: options.Stack,
    service: Service,
    root: Root = live_env.ROOT,
    format_: FormatOption = Format.ENV,
    out: FilesOut = None,
    allow_prod: AllowProd = False,
    endpoint: options.Endpoint = None,
) -> int:
    """Write a service's .env (or per-key files) from the stack's store, as you; never prints a value."""
    return _pull(False, stack, service, root, format_, out, allow_prod, endpoint)


@app.command(epilog="Example: platform-secrets env check --stack dev --service media")
def check(
    stack: options.Stack,
    service: Service,
    root: Root = live_env.ROOT,
    format_: FormatOption = Format.ENV,
    out: FilesOut = None,
    allow_prod: AllowProd = False,
    endpoint: options.Endpoint = None,
) -> int:
    """Report what `env pull` would write (set, missing, empty, invalid per key); write nothing."""
    return _pull(True, stack, service, root, format_, out, allow_prod, endpoint)


@app.command(
    epilog="Example: platform-secrets env push --stack dev --service linear-integration "
    "--key LINEAR_API_KEY --from-file key.txt"
)
def push(
    stack: options.Stack,
    service: Service,
    key: Annotated[str, typer.Option("--key", help="the external secret's env var name")],
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="read the value from this file (else stdin)")
    ] = None,
    allow_prod: AllowProd = False,
    endpoint: options.Endpoint = None,
) -> int:
    """Write a new version of an external secret, after checking the catalog's format for it."""
    return live_env.run(
        lambda: live_env.push(
            stack, service, key, from_file=from_file, allow_prod=allow_prod, endpoint=endpoint
        )
    )
