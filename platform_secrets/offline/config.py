"""A stack's config read the way the Pulumi CLI reads it: ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``.

Project-namespaced keys, project-level defaults, structured values as JSON, ``secure:`` values present and
secret without being decrypted (``SECURE_PLACEHOLDER``); and the placeholders of a review-only plan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platform_secrets.model.documents import DocumentError, read_yaml
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
SECURE_PLACEHOLDER = "offline-placeholder-not-a-secret"
"""What a ``secure:`` value reads as offline: present, secret, never decrypted."""


class StackConfigError(ValueError):
    """A stack file that cannot be read."""


def load_config(
    stack: str,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    *,
    origins: dict[str, str] | None = None,
    override_origins: Mapping[str, str] | None = None,
    secrets_origin: str = "the runner's secrets",
) -> tuple[str, dict[str, str], list[str]]:
    """Return (project, config map as the language host passes it, secret keys).

    ``overrides`` sets plain values and ``secrets`` secret values (short keys are project-namespaced), as
    ``pulumi config set [--secret]`` would, without touching the stack file. Both files are read strictly
    (``platform_secrets.model.documents``: duplicate keys, bad bytes and YAML errors named with file and line). When
    ``origins`` is given it is filled with where each key's value came from: ``Pulumi.yaml``, the stack file,
    ``override_origins[key]`` (default ``--config``) or ``secrets_origin``.
    """
    try:
        project_doc = read_yaml(root / "Pulumi.yaml") or {}
        project = project_doc["name"]
        stack_path = root / f"Pulumi.{stack}.yaml"
        if not stack_path.exists():
            raise StackConfigError(
                f"{stack_path.name} does not exist (stacks: {', '.join(stacks(root))})"
            )
        stack_doc = read_yaml(stack_path) or {}
    except DocumentError as error:
        raise StackConfigError(str(error)) from None
    except (KeyError, TypeError):
        raise StackConfigError(f"{root / 'Pulumi.yaml'}: has no project `name`") from None
    if not isinstance(stack_doc, dict) or not isinstance(stack_doc.get("config") or {}, dict):
        raise StackConfigError(f"{stack_path}: `config` is not a mapping of keys to values")

    def full(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    came_from: dict[str, str] = {}
    for key, spec in (project_doc.get("config") or {}).items():
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            value = spec.get("value", spec.get("default"))
        elif isinstance(spec, dict) and "type" in spec:
            continue
        else:
            value = spec
        config[full(key)] = _encode(value)
        came_from[full(key)] = "Pulumi.yaml"
    for key, value in (stack_doc.get("config") or {}).items():
        encoded, is_secret = _encode_stack_value(value)
        config[full(key)] = encoded
        came_from[full(key)] = stack_path.name
        if is_secret:
            secret_keys.append(full(key))
    for key, value in (overrides or {}).items():
        config[full(key)] = _encode(value)
        came_from[full(key)] = (override_origins or {}).get(key, "--config")
        if full(key) in secret_keys:
            secret_keys.remove(full(key))
    for key, value in (secrets or {}).items():
        config[full(key)] = _encode(value)
        came_from[full(key)] = secrets_origin
        secret_keys.append(full(key))
    if origins is not None:
        origins.update(came_from)
    return project, config, sorted(set(secret_keys))


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _encode_stack_value(value: Any) -> tuple[str, bool]:
    """A stack file value as the CLI passes it; ``secure:`` leaves read as a placeholder and mark it secret."""
    found = False

    def walk(node: Any) -> Any:
        nonlocal found
        if isinstance(node, dict):
            if set(node) == {"secure"}:
                found = True
                return SECURE_PLACEHOLDER
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    plain = walk(value)
    return _encode(plain), found


def stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


# --- mocks with realistic ids ---


def stub_secrets(
    stack: str, overrides: dict[str, Any] | None = None, root: Path = ROOT
) -> dict[str, str]:
    """A placeholder for each config-sourced secret of the catalog that the stack does not set.

    A catalog that does not validate gives none: the program then names its problems with every other one.
    """
    from platform_secrets.model.catalog import (
        SHARED_OWNER,
        CatalogError,
        SharedRef,
        Source,
        load_catalog,
    )

    project, config, _ = load_config(stack, root, overrides)
    try:
        catalog = load_catalog(root / config.get(f"{project}:catalog", "catalog.yaml"))
    except CatalogError:
        return {}
    declared = [(SHARED_OWNER, key, spec) for key, spec in catalog.shared.items()]
    for name, service in catalog.services.items():
        declared += [
            (name, key, spec)
            for key, spec in service.secrets.items()
            if not isinstance(spec, SharedRef)
        ]
    return {
        f"{owner}.{key}": SECURE_PLACEHOLDER
        for owner, key, spec in declared
        if spec.source is Source.CONFIG and f"{project}:{owner}.{key}" not in config
    }
