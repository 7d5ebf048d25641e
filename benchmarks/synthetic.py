"""Synthetic catalogs for the scale benchmark, and the stack overrides that make them plan.

Each synthetic service looks like the guide's services: three secrets (one generated, two set with
``pulumi config set --secret``, one of them required in prod) and two plain settings (one set per stack and
checked as an https URL, one with a default and the https-protocol rule). Services are independent: no shared
secret, so every service registers the same resources and nothing of one service may wait for another's.

Pure data and file writing; the runs themselves happen in ``benchmarks.worker``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_secrets.offline import runner as offline

SECRETS: dict[str, dict[str, Any]] = {
    "SESSION_SECRET": {
        "description": "Signs session tokens.",
        "source": "generated",
        "length": 64,
        "required_in": ["prod"],
    },
    "API_KEY": {
        "description": "Key of the upstream API.",
        "source": "config",
        "required_in": ["prod"],
    },
    "DATABASE_URL": {
        "description": "Database connection URL; carries a password, so it is a secret.",
        "source": "config",
    },
}
SETTINGS: dict[str, dict[str, Any]] = {
    "PUBLIC_URL": {
        "description": "Public base URL of the service.",
        "required_in": ["prod"],
        "rules": ["https_url"],
    },
    "UPSTREAM_PROTOCOL": {
        "description": "Protocol used to reach the upstream.",
        "default": "https",
        "rules": ["https_protocol"],
    },
}
CONFIG_SECRETS = tuple(key for key, spec in SECRETS.items() if spec["source"] == "config")


def service_names(size: int) -> list[str]:
    """``svc-0000`` ... : DNS labels of one width up to 10 000 services, so names cost the same at every size."""
    width = max(4, len(str(size - 1)))
    return [f"svc-{i:0{width}d}" for i in range(size)]


def catalog(size: int) -> dict[str, Any]:
    """A catalog of ``size`` independent services, as ``catalog.yaml`` would hold it."""
    return {
        "services": {
            name: {
                "description": f"Synthetic service {name}.",
                "path": f"services/{name}",
                # Copies: a shared object would be written once as a YAML anchor, not per service.
                "secrets": copy.deepcopy(SECRETS),
                "settings": copy.deepcopy(SETTINGS),
            }
            for name in service_names(size)
        }
    }


@dataclass(frozen=True)
class Plan:
    """Everything one offline run of a synthetic catalog needs: the stack, its overrides and secrets."""

    size: int
    cloud: str
    stack: str
    catalog_path: Path
    services: tuple[str, ...]
    overrides: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def write_plan(
    size: int, cloud: str, stack: str, directory: Path, base: dict[str, Any] | None = None
) -> Plan:
    """Write the synthetic catalog of ``size`` services into ``directory`` and return the run's inputs.

    The catalog is block-style YAML, as the real one. ``base`` holds the overrides that select the cloud
    (``stack_for``). The stack's own per-service settings and tooling principals name services of the real
    catalog, so they are replaced, as ``pulumi config set`` would, by the synthetic services' values.
    """
    names = service_names(size)
    path = directory / f"catalog-{cloud}-{size}.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(catalog(size), Dumper=dumper, sort_keys=False, default_flow_style=False)
    path.write_text("# synthetic catalog (benchmarks.synthetic)\n" + text)
    overrides = {
        **(base or {}),
        "catalog": str(path),
        "settings": {
            name: {"PUBLIC_URL": f"https://{name}.dev.example.internal"} for name in names
        },
        "toolingPrincipals": {},
    }
    secrets = {
        f"{name}.{key}": f"offline-benchmark-{key.lower()}-{name}"
        for name in names
        for key in CONFIG_SECRETS
    }
    return Plan(size, cloud, stack, path, tuple(names), overrides, secrets)


def _cloud_overrides(stack: str, cloud: str) -> tuple[bool, dict[str, Any]] | None:
    """(whether the stack is prod, the overrides that plan it on ``cloud``), or None if it cannot.

    A stack runs a cloud it selects, or one whose settings block it carries (``cloud`` is then overridden,
    as ``platform_secrets.offline.plan --cloud`` does). Maps of that block keyed by the real catalog's services (tooling
    principals) are emptied: the synthetic catalog has none of those services.
    """
    project, config, _ = offline.load_config(stack)
    block = config.get(f"{project}:{cloud}")
    selected = config.get(f"{project}:cloud", "aws")
    if block is None:
        return None
    catalog_path = offline.ROOT / config.get(f"{project}:catalog", "catalog.yaml")
    real = set((yaml.safe_load(catalog_path.read_text()) or {}).get("services") or {})
    settings = json.loads(block)
    settings = {
        key: {} if isinstance(value, dict) and value and set(value) <= real else value
        for key, value in settings.items()
    }
    prod = config.get(f"{project}:environment") == "prod"
    return prod, {"cloud": cloud, cloud: settings} if selected != cloud else {cloud: settings}


def stack_for(cloud: str) -> tuple[str, dict[str, Any]] | None:
    """The stack (non-prod first, ``dev`` first, one that selects the cloud first) to plan a cloud with."""
    candidates = []
    for stack in offline.stacks():
        try:
            found = _cloud_overrides(stack, cloud)
        except Exception:  # a stack file another engineer is still writing: not ours to judge here
            continue
        if found is not None:
            prod, overrides = found
            candidates.append(
                ((prod, "cloud" in overrides, stack != "dev", stack), stack, overrides)
            )
    if not candidates:
        return None
    _, stack, overrides = min(candidates, key=lambda item: item[0])
    return stack, overrides
