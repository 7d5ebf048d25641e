"""Writes ``catalog.schema.json`` from the catalog model: ``python -m tools.schema`` (``make schema``)."""

from __future__ import annotations

import json
from pathlib import Path

from components.catalog import json_schema

TARGET = Path(__file__).resolve().parent.parent / "catalog.schema.json"


def main() -> None:
    TARGET.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {TARGET.name}")


if __name__ == "__main__":
    main()
