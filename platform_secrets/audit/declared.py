"""What the program declares for a stack, as the audit compares it with the live store.

The offline plan of the same stack (``platform_secrets.offline.runner``, config secrets stubbed: the audit judges entries, not the
values in the stack file) gives the declared entries and, through ``platform_secrets.access.matrix``, the declared access matrix;
the catalog gives each entry's rules (required in which environment, rotation period). Nothing here talks to a
store.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_secrets.access import matrix as access
from platform_secrets.model import environment_file
from platform_secrets.model.catalog import SHARED_OWNER, Catalog, SharedRef, load_catalog
from platform_secrets.model.settings import SETTINGS_KEYS, Settings, parse_settings
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import Registered, RunResult

ENTRY_TYPES = {
    # store entry resource type -> (input holding its name, input holding its metadata, metadata key prefix)
    "aws:secretsmanager/secret:Secret": ("name", "tags", "platform-secrets/"),
    "gcp:secretmanager/secret:Secret": ("secretId", "annotations", "platform-secrets-"),
    "azure-native:keyvault:Secret": ("secretName", "tags", "platform-secrets-"),
}


VAULT_ENTRY_TYPES = ("vault:kv/secretV2:SecretV2", "vault:generic/endpoint:Endpoint")
"""A KV v2 entry with a value, or an external one declared by its metadata only."""


class AuditInputError(ValueError):
    """The stack cannot be planned, so there is nothing to compare the store with."""


@dataclass(frozen=True)
class DeclaredEntry:
    """One store entry the program declares, with the catalog's rules for it in this environment."""

    name: str
    owner: str
    key: str
    source: str
    required: bool
    """Required in this stack's environment (``required_in``): it must hold a value."""
    rotation_days: int | None
    resource: Registered = field(repr=False, compare=False)
    keep_previous: bool = False
    """Readers get the replaced value as ``<KEY>_PREVIOUS`` for ``overlap_days`` after a rotation."""
    overlap_days: int = 14


@dataclass(frozen=True)
class Declared:
    """The declared side of one stack's audit."""

    stack: str
    settings: Settings
    entries: dict[str, DeclaredEntry]
    matrix: dict[str, dict[str, Any]]
    resources: list[Registered] = field(repr=False)

    @property
    def environment(self) -> str:
        return self.settings.environment.value

    @property
    def cloud(self) -> str:
        return self.settings.cloud.value

    @property
    def prod(self) -> bool:
        return self.settings.strict

    def readers(self) -> dict[str, dict[str, str]]:
        """Entry name -> {reader identity: its name in the matrix}."""
        return readers_of(self.matrix)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]


def readers_of(matrix: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Entry name -> {reader identity: its name in the matrix}, for a plan's matrix or a live one."""
    found: dict[str, dict[str, str]] = {}
    for label, row in matrix.items():
        # A GCP service account is its email in a service's row, ``serviceAccount:<email>`` in a grant's.
        identity = str(row["identity"]).removeprefix("serviceAccount:")
        for entry in row.get("entries", []):
            found.setdefault(entry, {})[identity] = label
    return found


def settings_of(
    stack: str, overrides: dict[str, Any] | None = None, root: Path = offline.ROOT
) -> tuple[Settings, str]:
    """The stack's validated settings and its catalog path, read the way the program reads them."""
    project, config, _ = offline.load_config(stack, root, overrides)
    raw: dict[str, Any] = {}
    for key in SETTINGS_KEYS:
        value = config.get(f"{project}:{key}")
        if value is None:
            continue
        if value[:1] in "{[":
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        raw[key] = value
    if isinstance(raw.get("environmentFile"), str):
        # A stack of a sharded environment: the shared settings are in its environment file.
        origins = {
            key: "--config" if key in (overrides or {}) else f"Pulumi.{stack}.yaml" for key in raw
        }
        _, problems = environment_file.join(stack, raw, origins, None, root, raw["environmentFile"])
        if problems:
            raise ValueError("\n".join(problems))
    return parse_settings(raw, f"Pulumi.{stack}.yaml"), config.get(
        f"{project}:catalog", "catalog.yaml"
    )


def declare(
    stack: str,
    overrides: dict[str, Any] | None = None,
    root: Path = offline.ROOT,
    run: RunResult | None = None,
) -> Declared:
    """Plan ``stack`` offline (or take ``run``, a plan of it) and return what it declares."""
    try:
        settings, catalog_path = settings_of(stack, overrides, root)
        catalog = load_catalog(root / catalog_path)
    except (offline.StackConfigError, ValueError) as error:
        raise AuditInputError(str(error)) from None
    if run is None:
        secrets = offline.stub_secrets(stack, overrides, root)
        run = offline.run(stack, overrides=overrides, secrets=secrets, root=root)
    if run.error is not None:
        raise AuditInputError(f"the offline plan of {stack} fails: {run.error}")
    entries = {}
    for resource in run.resources:
        if resource.type in ENTRY_TYPES:
            entry = _entry(resource, catalog, settings)
        elif resource.type == VAULT_ENTRY_TYPES[0] or (
            resource.type == VAULT_ENTRY_TYPES[1] and "/metadata/" in str(resource.inputs["path"])
        ):
            entry = _vault_entry(resource, catalog, settings)
        else:
            continue
        entries[entry.name] = entry
    return Declared(
        stack=stack,
        settings=settings,
        entries=dict(sorted(entries.items())),
        matrix=access.derive(run.resources),
        resources=run.resources,
    )


def _entry(resource: Registered, catalog: Catalog, settings: Settings) -> DeclaredEntry:
    name_input, meta_input, prefix = ENTRY_TYPES[resource.type]
    meta = resource.inputs.get(meta_input) or {}
    owner, key = meta[f"{prefix}owner"], meta[f"{prefix}key"]
    return _declared(str(resource.inputs[name_input]), owner, key, resource, catalog, settings)


def _vault_entry(resource: Registered, catalog: Catalog, settings: Settings) -> DeclaredEntry:
    """A KV v2 entry: a secret with its value, or (external) its metadata only, at ``<owner>/<KEY>``."""
    if resource.type == VAULT_ENTRY_TYPES[0]:
        mount, path = str(resource.inputs["mount"]), str(resource.inputs["name"])
    else:
        mount, path = str(resource.inputs["path"]).split("/metadata/", 1)
    owner, key = path.split("/", 1)
    return _declared(f"{mount}/{path}", owner, key, resource, catalog, settings)


def _declared(
    name: str,
    owner: str,
    key: str,
    resource: Registered,
    catalog: Catalog,
    settings: Settings,
) -> DeclaredEntry:
    if owner == SHARED_OWNER:
        spec = catalog.shared[key]
    else:
        ref = catalog.services[owner].secrets[key]
        assert not isinstance(ref, SharedRef), f"{owner}.{key} is a reference, not an entry"
        spec = ref
    return DeclaredEntry(
        name=name,
        owner=owner,
        key=key,
        source=spec.source.value,
        required=spec.must_hold_value(settings.environment),
        rotation_days=spec.rotation_days or settings.effective_rotation_days,
        resource=resource,
        keep_previous=spec.keep_previous,
        overlap_days=spec.overlap_days,
    )
