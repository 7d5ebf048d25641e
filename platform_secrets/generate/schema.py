"""``catalog.schema.json`` from the catalog model, one of the files ``platform-secrets derived`` regenerates."""

from __future__ import annotations

import json
from typing import Any

from platform_secrets.paths import PROJECT_ROOT

TARGET = PROJECT_ROOT / "catalog.schema.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
