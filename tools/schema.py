"""Writes ``catalog.schema.json`` from the catalog model: ``python -m tools.schema`` (also part of
``python -m tools.derived``, which regenerates every file derived from the catalog)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.catalog import json_schema

TARGET = Path(__file__).resolve().parent.parent / "catalog.schema.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    TARGET.write_text(render(json_schema()))
    print(f"wrote {TARGET.name}")


if __name__ == "__main__":
    main()
