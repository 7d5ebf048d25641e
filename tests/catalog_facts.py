"""What the tests know about a catalog, read from it: never a hand-kept copy of its services, keys or counts.

The shipped catalog (the one ``Pulumi.yaml`` names) is ``SHIPPED``; adding a service or a key to it changes what
these return, and the tests that use them follow without an edit. Only ``tests/model/test_guide_conformance.py`` holds
the catalog against the guide's list.
"""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass
from pathlib import Path

import yaml

from platform_secrets.model.catalog import (
    SHARED_OWNER,
    Catalog,
    SecretSpec,
    SharedRef,
    Source,
    load_catalog,
)
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


def shipped_path(root: Path = ROOT) -> Path:
    """The catalog a stack uses unless it sets ``catalog``: ``Pulumi.yaml``'s default."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    return root / project["config"]["catalog"]["default"]


SHIPPED: Catalog = load_catalog(shipped_path())


@dataclass(frozen=True)
class Entry:
    """One store entry: its owner (a service, or ``shared``), its key, its spec and who reads it."""

    owner: str
    key: str
    spec: SecretSpec
    readers: tuple[str, ...]
    """(service, env var) pairs are in ``reads``; here only the services."""

    @property
    def config_key(self) -> str:
        """``<owner>.<KEY>``: how the stack file and ``missing_secrets`` name it."""
        return f"{self.owner}.{self.key}"


def entries(catalog: Catalog = SHIPPED) -> list[Entry]:
    """Every store entry of the catalog (one per secret; a shared secret is one entry)."""
    readers: dict[str, list[str]] = {key: [] for key in catalog.shared}
    found = []
    for name, service in catalog.services.items():
        for key, spec in service.secrets.items():
            if isinstance(spec, SharedRef):
                readers[spec.shared].append(name)
            else:
                found.append(Entry(name, key, spec, (name,)))
    found += [
        Entry(SHARED_OWNER, key, spec, tuple(readers[key])) for key, spec in catalog.shared.items()
    ]
    return sorted(found, key=lambda e: (e.owner, e.key))


def of_source(source: Source, catalog: Catalog = SHIPPED) -> list[Entry]:
    return [e for e in entries(catalog) if e.spec.source is source]


def reads(catalog: Catalog = SHIPPED) -> dict[str, dict[str, tuple[str, str]]]:
    """service -> {env var: (owner, key) of the entry it reads}."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, service in catalog.services.items():
        out[name] = {
            env: (SHARED_OWNER, spec.shared) if isinstance(spec, SharedRef) else (name, env)
            for env, spec in sorted(service.secrets.items())
        }
    return out


def own_keys(catalog: Catalog = SHIPPED) -> dict[str, list[str]]:
    """service -> the env vars of the secrets it reads, sorted (what ``access.json``'s ``keys`` holds)."""
    return {name: sorted(keys) for name, keys in reads(catalog).items()}


def workloads(catalog: Catalog = SHIPPED) -> list[str]:
    """Services that run as pods (a Kubernetes binding each)."""
    return [name for name, service in catalog.services.items() if service.workload]


def tooling(catalog: Catalog = SHIPPED) -> list[str]:
    """Services that are not pods (``workload: false``): their identity is assumed by CI or tooling."""
    return [name for name, service in catalog.services.items() if not service.workload]


def fake_config_secrets(catalog: Catalog = SHIPPED) -> dict[str, str]:
    """A value for every config-sourced secret, as ``pulumi config set --secret`` would give one.

    Obviously fake and generated per session (never a literal in code); URL-shaped keys get a URL so that
    a rule on the value's shape holds.
    """
    values = {}
    for entry in of_source(Source.CONFIG, catalog):
        token = f"offline-test-{_random.token_hex(6)}"
        if entry.key.endswith("_URL"):
            values[entry.config_key] = f"https://user:{token}@{entry.owner}.test.invalid/0"
        else:
            values[entry.config_key] = token
    return values
