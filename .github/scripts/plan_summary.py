"""Markdown summary of offline plans for a GitHub job summary: ``python .github/scripts/plan_summary.py DIR...``.

Reads each plan directory written by ``platform-secrets plan --out DIR`` (``resources.json`` and
``access.json``) and prints, per plan: resource counts and the access matrix (who can read which keys and
entries). Standard library only, so it runs before or without the project's virtualenv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def render(plan: Path) -> str:
    resources = json.loads((plan / "resources.json").read_text())
    access = json.loads((plan / "access.json").read_text())
    protected = sum(1 for r in resources if r.get("protect"))
    lines = [
        f"### Offline plan `{plan.name}`",
        "",
        f"{len(resources)} resources, {protected} protected. Not `pulumi preview`: no state, no provider; "
        "the matrix is derived from the registered IAM documents and bindings.",
        "",
        "| principal | kind | keys | entries |",
        "|---|---|---|---|",
    ]
    for name, row in sorted(access.items()):
        keys = ", ".join(f"`{k}`" for k in row.get("keys", [])) or "-"
        entries = "<br>".join(f"`{e}`" for e in row.get("entries", [])) or "-"
        lines.append(f"| `{name}` | {row.get('kind', '')} | {keys} | {entries} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    print("\n".join(render(Path(arg)) for arg in argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
