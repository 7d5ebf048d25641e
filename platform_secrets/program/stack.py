"""Reads the stack's config through the Pulumi SDK and returns the validated model, or fails before anything.

The only module that reads config. For each config-sourced secret it asks only whether the key has a value,
whether that value is stored encrypted, and whether it is blank: under the CLI the language host hands the
program every config value decrypted (``PULUMI_CONFIG``, copied into ``pulumi.runtime.config`` by the exec shim
before the program runs), so the check can happen before anything registers. The value itself is never kept,
logged or put in a message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import date
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import get_config, get_config_env, is_config_secret
from pydantic import ValidationError

from platform_secrets.model import environment_file as environment
from platform_secrets.model import values
from platform_secrets.model.catalog import (
    Catalog,
    CatalogError,
    SecretSpec,
    load_catalog,
    validation_lines,
)
from platform_secrets.model.documents import DocumentError, read_yaml
from platform_secrets.model.settings import SETTINGS_KEYS, Binding, Settings
from platform_secrets.model.shards import StackRole, unjoined_stack_problems
from platform_secrets.model.stack_model import (
    OFFLINE_PLACEHOLDER,
    ConfigSecret,
    StackError,
    StackModel,
    build_model,
    foreign_config_keys,
    rotation_overdue,
    secret_config_keys,
    secret_specs,
    unknown_config_keys,
)
from platform_secrets.paths import PROJECT_ROOT
from platform_secrets.program.clouds import adapter_class

PROJECT_ROOT = PROJECT_ROOT
CATALOG_KEY = "catalog"
_ORIGINS: ContextVar[Mapping[str, str] | None] = ContextVar(
    "platform_secrets_config_origins", default=None
)


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


@contextlib.contextmanager
def config_origins(origins: Mapping[str, str]) -> Iterator[None]:
    """Within the block, name where each config key (``<project>:<key>``) came from, for the messages.

    The offline runner knows (``Pulumi.yaml``, the stack file, ``--config``); under the CLI nothing says, and
    every value is taken to come from the stack file (it may also come from an ESC environment it imports).
    """
    token = _ORIGINS.set(dict(origins))
    try:
        yield
    finally:
        _ORIGINS.reset(token)


def _all_config_names() -> set[str]:
    """Every config key this run has, of every namespace (``aws:region``, ``<project>:cloud``...)."""
    return set(runtime_config.CONFIG.get()) | set(get_config_env())


def _config_names(project: str) -> set[str]:
    """Every config key of the project's namespace that this run has, namespace removed.

    Under the CLI the language host passes the whole config as ``PULUMI_CONFIG`` and the exec shim copies it
    into ``pulumi.runtime.config.CONFIG`` before the program runs; under mocks ``set_all_config`` fills it.
    """
    names = _all_config_names()
    prefix = f"{project}:"
    return {name[len(prefix) :] for name in names if name.startswith(prefix)}


def load_stack_model() -> StackModel:
    """Validate catalog + stack settings + cloud names; raise ``pulumi.RunError`` naming every problem.

    Each stage reports what it can even when another failed, so that one run names every problem: the stack
    file's duplicate keys, the catalog, config keys nothing reads, the settings, the model's rules (with any
    setting that failed validation left at its default and its consequences not reported), the cloud's.
    """
    project, stack = pulumi.get_project(), pulumi.get_stack()
    stack_file = f"Pulumi.{stack}.yaml"
    known_origins = _ORIGINS.get() or {}
    origins = {
        name: known_origins.get(f"{project}:{name}", stack_file) for name in _config_names(project)
    }
    sections: list[str] = []
    problems: list[str] = []

    if (PROJECT_ROOT / stack_file).is_file():
        # The CLI has already merged a duplicate key (the last one wins); the file itself still shows it.
        try:
            read_yaml(PROJECT_ROOT / stack_file)
        except DocumentError as error:
            sections.append(str(error))
    catalog_path = PROJECT_ROOT / (get_config(f"{project}:{CATALOG_KEY}") or "catalog.yaml")
    catalog: Catalog | None = None
    try:
        catalog = load_catalog(catalog_path)
    except CatalogError as error:
        sections.append(str(error))
    problems += unknown_config_keys(
        origins.keys() - {CATALOG_KEY}, SETTINGS_KEYS, catalog, origins, f"{project}:"
    )
    problems += foreign_config_keys(
        _all_config_names(),
        project,
        SETTINGS_KEYS,
        catalog,
        {name: known_origins.get(name, stack_file) for name in _all_config_names()},
        plaintext=lambda name: not is_config_secret(name),
    )

    raw = _raw_settings(project)
    # The environment files sit beside the catalog they assign (`environments/` of the project).
    role: StackRole | None = None
    if isinstance(raw.get("environmentFile"), str):
        role, found = environment.join(
            stack, raw, origins, catalog, catalog_path.parent, raw["environmentFile"]
        )
        problems += found
    else:
        problems += unjoined_stack_problems(stack, catalog_path.parent / "environments")
    settings: Settings | None = None
    dropped: set[str] = set()
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        problems += [
            line.removeprefix("  - ")
            for line in validation_lines(error, model=Settings, origin_of=origins.get)
        ]
        # Check the rest with the broken keys at their defaults, reporting nothing that follows from them.
        dropped = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        with contextlib.suppress(ValidationError):
            settings = Settings.model_validate({k: v for k, v in raw.items() if k not in dropped})
    if role is not None and settings is not None and settings.binding is Binding.NATIVE:
        problems.append(
            "binding: native cannot be split over stacks: a shard's Kubernetes Secrets would need the "
            "shared secrets' values, which its foundation does not export; use external-secrets"
        )
    model: StackModel | None = None
    if catalog is not None and settings is not None:
        # Every secret's config key is looked at, so that a value set for a generated or external
        # secret is reported rather than silently ignored.
        specs = secret_specs(catalog)
        present = {
            key: state
            for key in secret_config_keys(catalog)
            if (state := _secret_state(f"{project}:{key}", specs[key])) is not None
        }
        try:
            model = build_model(
                catalog, settings, present, origins, owners=role.owners if role else None
            )
        except StackError as error:
            problems += [p for p in error.problems if p.split(".")[0].split(":")[0] not in dropped]
        else:
            model = dataclasses.replace(model, role=role)
            problems += adapter_class(settings.cloud).problems(model)
    if problems:
        env = f" ({settings.environment.value})" if settings is not None else ""
        sections.append(
            f"stack {stack}{env} has {len(problems)} problem(s):\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    if sections or model is None:
        raise pulumi.RunError("nothing was created.\n" + "\n".join(sections))
    for message in rotation_overdue(model, date.today()):
        pulumi.log.warn(message)
    for key in model.missing:
        pulumi.log.warn(
            f"{key}: no value in this stack; its entry is created empty and ESO cannot sync its "
            f"readers' Secret until it is set (pulumi config set --secret {key} ...)"
        )
    return model


def _secret_state(name: str, spec: SecretSpec) -> ConfigSecret | None:
    """Whether a config secret is set, encrypted, non-blank and of its catalog ``format``; its value goes no
    further than this function (the program itself reads it with ``require_secret``, an Output)."""
    raw = get_config(name)
    if raw is None:
        return None
    value = str(raw)
    blank = values.is_blank(value)
    judged = spec.format and not blank and value != OFFLINE_PLACEHOLDER
    malformed = values.format_problem(spec, value) if judged else None
    return ConfigSecret(secure=is_config_secret(name), blank=blank, malformed=malformed)
