"""The options several subcommands share, spelled once: ``--stack``, ``--cloud``, ``--json``, ``--out``, ``--config``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from platform_secrets.model.settings import Cloud

Stack = Annotated[str, typer.Option("--stack", help="stack name (Pulumi.<stack>.yaml)")]
CloudOption = Annotated[
    Cloud | None,
    typer.Option("--cloud", help="this cloud instead of the stack's `cloud` setting (an override)"),
]
Json = Annotated[
    bool, typer.Option("--json", help="print the machine-readable result on stdout, nothing else")
]
Config = Annotated[
    list[str] | None,
    typer.Option(
        "--config",
        metavar="KEY=VALUE",
        help="override a plain config value, like `pulumi config set` (JSON values allowed); repeatable",
    ),
]


def out_option(help_: str) -> Any:
    return typer.Option("--out", help=help_)


OutDir = Annotated[Path | None, out_option("folder to write (emptied first)")]


def parse_config(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` items -> overrides (a value that parses as JSON is JSON); no ``=`` is a usage error."""
    overrides: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="'--config'")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        metavar="URL",
        help="the store's address instead of the stack's (Vault, AWS; https only in prod); "
        "a variable such as VAULT_ADDR or AWS_ENDPOINT_URL that points elsewhere is refused",
    ),
]
