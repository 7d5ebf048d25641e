"""Writes ``catalog.schema.json`` from the catalog model: ``python -m platform_secrets.generate.schema`` (also part of
``python -m platform_secrets.generate.derived``, which regenerates every file derived from the catalog)."""

from __future__ import annotations

import json
from typing import Any

from platform_secrets.model.catalog import json_schema
from platform_secrets.paths import PROJECT_ROOT

TARGET = PROJECT_ROOT / "catalog.schema.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    TARGET.write_text(render(json_schema()))
    print(f"wrote {TARGET.name}")


if __name__ == "__main__":
    main()
