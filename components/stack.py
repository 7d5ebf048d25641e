"""Reads the stack's config through the Pulumi SDK and returns the validated model, or fails before anything.

The only module that reads config. For each config-sourced secret it asks only whether the key has a value,
whether that value is stored encrypted, and whether it is blank: under the CLI the language host hands the
program every config value decrypted (``PULUMI_CONFIG``, copied into ``pulumi.runtime.config`` by the exec shim
before the program runs), so the check can happen before anything registers. The value itself is never kept,
logged or put in a message.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import get_config, is_config_secret

from components import values
from components.catalog import SHARED_OWNER, Catalog, CatalogError, SharedRef, load_catalog
from components.clouds import adapter_class
from components.model import ConfigSecret, StackError, StackModel, build_model, rotation_overdue
from components.settings import SETTINGS_KEYS, SettingsError, config_key, parse_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CATALOG_KEY = "catalog"


def _raw_settings(project: str) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key in SETTINGS_KEYS:
        value = get_config(f"{project}:{key}")
        if value is None:
            continue
        if isinstance(value, str) and value[:1] in "{[":
            # Structured values arrive as JSON; a broken one stays a string and the model names it.
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        raw[key] = value
    return raw


def load_stack_model() -> StackModel:
    """Validate catalog + stack settings + cloud names; raise ``pulumi.RunError`` naming every problem."""
    project = pulumi.get_project()
    catalog_path = PROJECT_ROOT / (get_config(f"{project}:{CATALOG_KEY}") or "catalog.yaml")
    try:
        catalog = load_catalog(catalog_path)
        settings = parse_settings(_raw_settings(project), f"Pulumi.{pulumi.get_stack()}.yaml")
        # Every secret's config key is looked at, so that a value set for a generated or external
        # secret is reported rather than silently ignored.
        present = {
            key: state
            for key in _secret_config_keys(catalog)
            if (state := _secret_state(f"{project}:{key}")) is not None
        }
        model = build_model(catalog, settings, present)
        problems = adapter_class(settings.cloud).problems(model)
        if problems:
            raise StackError(
                f"stack has {len(problems)} problem(s) on {settings.cloud.value}; nothing was created:\n"
                + "\n".join(f"  - {problem}" for problem in problems)
            )
    except (CatalogError, SettingsError, StackError) as error:
        raise pulumi.RunError(str(error)) from None
    for message in rotation_overdue(model, date.today()):
        pulumi.log.warn(message)
    for key in model.missing:
        pulumi.log.warn(
            f"{key}: no value in this stack; its entry is created empty and ESO cannot sync its "
            f"readers' Secret until it is set (pulumi config set --secret {key} ...)"
        )
    return model


def _secret_state(name: str) -> ConfigSecret | None:
    """Whether a config secret is set, encrypted and non-blank; its value goes no further than this line."""
    raw = get_config(name)
    if raw is None:
        return None
    return ConfigSecret(secure=is_config_secret(name), blank=values.is_blank(str(raw)))


def _secret_config_keys(catalog: Catalog) -> list[str]:
    keys = [config_key(SHARED_OWNER, key) for key in catalog.shared]
    for name, service in catalog.services.items():
        keys += [
            config_key(name, key)
            for key, spec in service.secrets.items()
            if not isinstance(spec, SharedRef)
        ]
    return keys
