"""``platform-secrets scan``: the secret scan (``platform_secrets.ci.secret_scan``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.ci import secret_scan

EXAMPLE = "Example: platform-secrets scan --since origin/main"


def scan(
    root: Annotated[
        Path,
        typer.Option(
            "--root", help="repository to scan (a git work tree)", show_default="the checkout"
        ),
    ] = secret_scan.ROOT,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline", help="detect-secrets baseline (default: ROOT/.secrets.baseline)"
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="REV", help="history: only REV..HEAD")
    ] = None,
    gitleaks_config: Annotated[
        Path | None,
        typer.Option(
            "--gitleaks-config", help="gitleaks configuration (default: ROOT/.gitleaks.toml)"
        ),
    ] = None,
    gitleaks: Annotated[
        str | None,
        typer.Option(
            "--gitleaks",
            metavar="PATH",
            help="gitleaks binary (default: $GITLEAKS, else .venv/bin)",
        ),
    ] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="rewrite the baseline instead of scanning")
    ] = False,
) -> int:
    """Fail on any plaintext secret the repository holds or held: gitleaks (tree and history), detect-secrets."""
    return secret_scan.run_scan(
        root=root,
        baseline=baseline,
        since=since,
        config=gitleaks_config,
        gitleaks=gitleaks,
        update=update_baseline,
    )
