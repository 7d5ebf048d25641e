"""``platform-secrets derived``: the files derived from the catalog (``platform_secrets.generate.derived``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.generate import derived as generate

EXAMPLE = "Example: platform-secrets derived --check"


def derived(
    check: Annotated[
        bool, typer.Option("--check", help="write nothing; exit 1 if a derived file is stale")
    ] = False,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="the catalog (default: catalog.yaml)")
    ] = None,
    root: Annotated[
        Path,
        typer.Option("--root", help="where the derived files live", show_default="the checkout"),
    ] = generate.ROOT,
) -> int:
    """Regenerate catalog.schema.json and env-examples/ from catalog.yaml (run after editing it)."""
    return generate.derived(check=check, catalog_path=catalog, root=root)
