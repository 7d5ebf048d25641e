"""``platform-secrets diff``: the access change between two plan folders (``platform_secrets.access.diff``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_secrets.access import diff as access_diff
from platform_secrets.cli import options
from platform_secrets.exit_codes import FINDINGS, OK

EXAMPLE = "Example: platform-secrets diff plan-base plan-head --out plan-head"


def diff(
    base_dir: Annotated[Path, typer.Argument(help="the base plan's folder (`plan --out`)")],
    head_dir: Annotated[Path, typer.Argument(help="the head plan's folder")],
    out: Annotated[
        Path | None, options.out_option("folder to write access-diff.md and access-diff.json into")
    ] = None,
    as_json: options.Json = False,
) -> int:
    """Who may read what, as whom, that could not before (and what was removed): widenings first."""
    missing = [str(d) for d in (base_dir, head_dir) if not (d / "access.json").is_file()]
    if missing:
        print(
            f"error: {', '.join(missing)}: no access.json, not a plan's artifacts", file=sys.stderr
        )
        return FINDINGS
    result = access_diff.diff(base_dir, head_dir)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        access_diff.write(result, out)
    if as_json:
        print(json.dumps({"changed": access_diff.changed(result), **result}, indent=2))
    else:
        print(access_diff.render(result), end="")
    return OK
