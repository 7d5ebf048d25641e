"""The validated model of one stack: the catalog resolved against the stack's settings.

Pure Python, no Pulumi. ``build_model`` checks every rule of the environment (required secrets, plain settings'
rules, secrets set in plaintext) and raises one ``StackError`` naming every problem, so that nothing is registered
before the input is known to be good.

Over 400 lines because every cross-check between the catalog and the settings lives here, so that one run names every problem at once; splitting it would scatter that single pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from platform_secrets.model import values
from platform_secrets.model.catalog import (
    SHARED_OWNER,
    Catalog,
    Rule,
    SecretSpec,
    SharedRef,
    Source,
    did_you_mean,
)
from platform_secrets.model.overlaps import overlap_problems
from platform_secrets.model.settings import Binding, Settings, config_key, is_config_secret_key
from platform_secrets.model.shards import StackRole

STACK_CONFIG = "the stack's config"
"""Where a config value came from when nothing more precise is known (under the CLI: the stack file, or
``pulumi up --config``, or an ESC environment; the offline runner names the file or ``--config``)."""


NEAR_NAMESPACE = 0.8
"""How alike a config namespace must be to the project's to be taken for a misspelling of it."""
OFFLINE_PLACEHOLDER = "offline-placeholder-not-a-secret"
"""What the offline runner (``platform_secrets.offline.runner.SECURE_PLACEHOLDER``) gives a secret it cannot decrypt or that the
stack does not hold: no value, so no format to check."""


class StackError(ValueError):
    """The stack cannot be deployed as configured; the message names every problem."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)
        """The problems, one sentence each, for a caller that reports them with others."""


@dataclass(frozen=True)
class ConfigSecret:
    """What the model knows of a config secret's value without ever holding it."""

    secure: bool
    """Stored encrypted (``secure:``)."""
    blank: bool = False
    """Empty or whitespace only (``values.is_blank``): counts as not set."""
    malformed: str | None = None
    """Why the value breaks the catalog's ``format`` for it (``values.format_problem``: never quotes it)."""


@dataclass(frozen=True)
class Entry:
    """One secret-store entry: a secret of one service, or a shared secret."""

    owner: str
    """The service that owns it, or ``shared``."""
    key: str
    """The secret's name, which is also the env var name of its readers."""
    spec: SecretSpec
    readers: tuple[str, ...]
    """Services whose identity may read it."""
    rotation_days: int | None
    pending: bool = False
    """A config-sourced secret with no value yet (non-strict stacks): created empty, reported."""
    epoch: str = ""
    """Rotation epoch of a generated value: the keeper whose change regenerates it."""
    previous_version: str | None = None
    """During an overlap (``rotationOverlaps``): the store version readers also get as ``<KEY>_PREVIOUS``."""

    @property
    def id(self) -> str:
        return f"{self.owner}/{self.key}"

    @property
    def config_key(self) -> str:
        return config_key(self.owner, self.key)

    @property
    def source(self) -> Source:
        return self.spec.source


@dataclass(frozen=True)
class Service:
    """One service as deployed in this stack."""

    name: str
    workload: bool
    namespace: str
    env: tuple[tuple[str, str], ...]
    """(env var, entry id) for each secret the service reads."""
    settings: tuple[tuple[str, str], ...]
    """(env var, value) for each plain setting with a value."""
    tooling_principals: tuple[str, ...] = ()

    @property
    def service_account(self) -> str:
        return self.name

    @property
    def secret_name(self) -> str:
        """Name of the Kubernetes Secret that holds the service's env vars."""
        return f"{self.name}-secrets"

    @property
    def configmap_name(self) -> str:
        return f"{self.name}-settings"

    @property
    def entry_ids(self) -> tuple[str, ...]:
        return tuple(entry_id for _, entry_id in self.env)


@dataclass(frozen=True)
class StackModel:
    """Everything the program declares for one stack, decided before any resource exists."""

    settings: Settings
    entries: tuple[Entry, ...]
    services: tuple[Service, ...]
    missing: tuple[str, ...] = field(default=())
    """Config-sourced secrets with no value in a non-strict stack: created empty (pending), reported."""
    role: StackRole | None = None
    """In a sharded environment, what this stack holds; None: the stack is the whole environment. The
    entries and services stay the whole catalog's (the foundation grants readers in every shard); the program
    registers only the role's."""

    @property
    def own_services(self) -> tuple[Service, ...]:
        """The services this stack registers: all of them in one stack, a shard's own, none in a foundation."""
        if self.role is None:
            return self.services
        owners = self.role.owners
        return tuple(service for service in self.services if service.name in owners)

    @cached_property
    def _by_owner(self) -> dict[str, tuple[Entry, ...]]:
        grouped: dict[str, list[Entry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.owner, []).append(entry)
        return {owner: tuple(entries) for owner, entries in grouped.items()}

    def entries_of(self, owner: str) -> tuple[Entry, ...]:
        """The entries a service (or ``shared``) owns; grouped once, not scanned per service."""
        return self._by_owner.get(owner, ())

    @cached_property
    def _by_reader(self) -> dict[str, tuple[Entry, ...]]:
        grouped: dict[str, list[Entry]] = {}
        for entry in self.entries:
            for reader in dict.fromkeys(entry.readers):  # a reader named twice reads it once
                grouped.setdefault(reader, []).append(entry)
        return {reader: tuple(entries) for reader, entries in grouped.items()}

    def entries_read_by(self, service: str) -> tuple[Entry, ...]:
        """The entries a service reads, in the entries' order; grouped once, not scanned per service."""
        return self._by_reader.get(service, ())


def build_model(
    catalog: Catalog,
    settings: Settings,
    config_secrets: Mapping[str, bool | ConfigSecret],
    origins: Mapping[str, str] | None = None,
    owners: frozenset[str] | None = None,
) -> StackModel:
    """Resolve the catalog for a stack.

    ``config_secrets`` maps each config key that has a value to a ``ConfigSecret`` (or just whether it is
    stored encrypted): values themselves never enter this module. ``origins`` names where each top-level
    config key came from (``settings`` -> ``Pulumi.prod.yaml``, ``--config``), for the messages. ``owners``
    (a sharded stack's: its services, or ``shared`` for the foundation) limits the checks of secrets' values and
    services' settings to what this stack holds: another shard's secrets live in that shard's file.
    """

    def here(owner: str) -> bool:
        return owners is None or owner in owners

    env = settings.environment
    problems: list[str] = []
    missing: list[str] = []

    def origin(key: str) -> str:
        return (origins or {}).get(key, STACK_CONFIG)

    for name in settings.settings.keys() - catalog.services.keys():
        problems.append(
            f"settings.{name}: no such service in the catalog"
            + did_you_mean(name, catalog.services)
            + f" (in {origin('settings')})"
        )
    for name in settings.tooling_principals:
        service = catalog.services.get(name)
        if service is None or service.workload:
            problems.append(f"toolingPrincipals.{name}: not a non-workload service of the catalog")

    # Which secret specs exist, who reads each.
    specs: dict[str, tuple[str, str, SecretSpec]] = {}
    readers: dict[str, list[str]] = {}
    for name, service in catalog.services.items():
        for key, ref in service.secrets.items():
            if isinstance(ref, SharedRef):
                entry_id = f"{SHARED_OWNER}/{ref.shared}"
                specs[entry_id] = (SHARED_OWNER, ref.shared, catalog.shared[ref.shared])
            else:
                entry_id = f"{name}/{key}"
                specs[entry_id] = (name, key, ref)
            readers.setdefault(entry_id, []).append(name)

    entries: list[Entry] = []
    for entry_id, (owner, key, spec) in specs.items():
        ckey = config_key(owner, key)
        pending = False
        given = config_secrets.get(ckey)
        state = ConfigSecret(secure=given) if isinstance(given, bool) else given
        if not here(owner):
            if state is not None:
                problems.append(
                    f"{ckey}: set in {origin(ckey)}, but {owner} is in another stack of the "
                    "environment: its secrets live in that stack's file only"
                )
        elif spec.source is Source.CONFIG:
            if state is None or state.blank:
                how = (
                    "not set"
                    if state is None
                    else f"empty (blank after trimming, in {origin(ckey)})"
                )
                if env in spec.required_in:
                    problems.append(
                        f"{ckey}: required in {env.value} but {how} "
                        f"(pulumi config set --secret {ckey} ...; read by {', '.join(readers[entry_id])})"
                    )
                else:
                    missing.append(ckey)
                    pending = True
            elif state.malformed:
                problems.append(f"{ckey}: {state.malformed} (in {origin(ckey)})")
            if state is not None and not state.secure:
                problems.append(
                    f"{ckey}: stored in plaintext (in {origin(ckey)}); set it with "
                    f"`pulumi config set --secret {ckey}`"
                )
        elif state is not None:
            problems.append(
                f"{ckey}: set in {origin(ckey)}, but the catalog's source is {spec.source.value}"
            )
        entries.append(
            Entry(
                owner=owner,
                key=key,
                spec=spec,
                readers=tuple(readers[entry_id]),
                rotation_days=spec.rotation_days or settings.effective_rotation_days,
                pending=pending,
                epoch=settings.rotation_epochs.get(ckey, settings.rotation_epoch)
                if spec.source is Source.GENERATED
                else "",
                previous_version=settings.rotation_overlaps.get(ckey),
            )
        )
    problems += overlap_problems(settings, entries)
    generated = {e.config_key for e in entries if e.source is Source.GENERATED}
    problems += [
        f"rotationEpochs.{key}: not a generated secret of the catalog"
        for key in settings.rotation_epochs.keys() - generated
    ]
    if settings.aws is not None:
        third_party = {e.config_key for e in entries if e.source is not Source.GENERATED}
        problems += [
            f"aws.rotationLambdaArns.{key}: not a config or external secret of the catalog"
            for key in settings.aws.rotation_lambda_arns.keys() - third_party
        ]
    if settings.adopt_existing and settings.binding is Binding.NATIVE:
        problems.append(
            "adoptExisting: with binding native the pods would get regenerated values while the "
            "store keeps the adopted ones; adopt with binding external-secrets"
        )
    if settings.binding is Binding.NATIVE:
        for entry in entries:
            workloads = [name for name in entry.readers if catalog.services[name].workload]
            if entry.source is Source.EXTERNAL and workloads and here(entry.owner):
                problems.append(
                    f"{entry.config_key}: external entries have no value Pulumi can write; "
                    f"binding: native cannot deliver it to {', '.join(workloads)}"
                )
    if settings.strict:
        for entry in entries:
            if here(entry.owner) and (entry.rotation_days is None or entry.rotation_days > 90):
                problems.append(f"{entry.config_key}: prod rotates at least every 90 days")

    services: list[Service] = []
    judged = problems
    for name, service in catalog.services.items():
        # Another shard's service is built (its readers, its kind) but judged in its own stack.
        problems = judged if here(name) else []
        overrides = settings.settings.get(name, {})
        for key in overrides.keys() - service.settings.keys():
            problems.append(
                f"settings.{name}.{key}: not a setting of {name} in the catalog"
                + did_you_mean(key, service.settings)
                + f" (in {origin('settings')})"
            )
        delivered: list[tuple[str, str]] = []
        for key, setting in service.settings.items():
            value = overrides.get(key, setting.default)
            where = origin("settings") if key in overrides else "the catalog's default"
            if env in setting.required_in and (absent := values.required_problem(value)):
                problems.append(
                    f"settings.{name}.{key}: required in {env.value} but {absent}"
                    + (f" (in {where})" if value is not None else "")
                )
                continue
            if value is None:
                continue
            found = [values.control_problem(value)]
            if env in setting.rules_in and found[0] is None:
                found += [_rule_violation(rule, value) for rule in setting.rules]
            problems += [
                f"settings.{name}.{key}: {message} (in {where})"
                for message in dict.fromkeys(found)
                if message
            ]
            delivered.append((key, value))
        env_refs = [
            (key, f"{SHARED_OWNER}/{ref.shared}" if isinstance(ref, SharedRef) else f"{name}/{key}")
            for key, ref in service.secrets.items()
        ]
        services.append(
            Service(
                name=name,
                workload=service.workload,
                namespace=service.namespace or name,
                env=tuple(env_refs),
                settings=tuple(delivered),
                tooling_principals=settings.tooling_principals.get(name, ()),
            )
        )

    problems = judged
    if problems:
        raise StackError(
            f"stack ({env.value}) has {len(problems)} problem(s); nothing was created:\n"
            + "\n".join(f"  - {problem}" for problem in problems),
            problems,
        )
    return StackModel(
        settings=settings,
        entries=tuple(entries),
        services=tuple(services),
        missing=tuple(missing),
    )


def _rule_violation(rule: Rule, value: str) -> str | None:
    """Why ``value`` breaks ``rule``, or None: the grammar of ``platform_secrets.model.values``."""
    if rule is Rule.NO_WILDCARD:
        return (
            f"{value!r} allows any origin; list the exact https origins" if "*" in value else None
        )
    if rule is Rule.HTTPS_ORIGINS:
        return values.origin_list_problem(value)
    if rule is Rule.HTTPS_URL:
        return values.https_url_problem(value)
    return values.https_protocol_problem(value)


def secret_specs(catalog: Catalog) -> dict[str, SecretSpec]:
    """Every secret the catalog declares, by its config key ``<owner>.<KEY>``."""
    specs = {config_key(SHARED_OWNER, key): spec for key, spec in catalog.shared.items()}
    for name, service in catalog.services.items():
        specs |= {
            config_key(name, key): spec
            for key, spec in service.secrets.items()
            if isinstance(spec, SecretSpec)
        }
    return specs


def secret_config_keys(catalog: Catalog) -> list[str]:
    """Every config key the catalog gives meaning to as a secret, ``<owner>.<KEY>``, whatever its source."""
    keys = [config_key(SHARED_OWNER, key) for key in catalog.shared]
    for name, service in catalog.services.items():
        keys += [
            config_key(name, key)
            for key, spec in service.secrets.items()
            if not isinstance(spec, SharedRef)
        ]
    return keys


def unknown_config_keys(
    keys: Iterable[str],
    settings_keys: Iterable[str],
    catalog: Catalog | None,
    origins: Mapping[str, str] | None = None,
    namespace: str = "",
) -> list[str]:
    """A sentence for each config key (namespace removed) that nothing reads, with the closest known key.

    Without a catalog (it did not validate) only the keys that cannot be a secret's are judged.
    """
    settings_known = set(settings_keys)
    secret_known = set(secret_config_keys(catalog)) if catalog is not None else None
    problems = []
    for key in sorted(keys):
        if key in settings_known or (secret_known is not None and key in secret_known):
            continue
        if is_config_secret_key(key):
            if secret_known is None:
                continue
            hint = did_you_mean(key, secret_known) or did_you_mean(key, settings_known)
            what = "no secret of the catalog has this key"
        else:
            hint = did_you_mean(key, settings_known) or did_you_mean(key, secret_known or ())
            what = "not a setting of this program"
        where = (origins or {}).get(key, STACK_CONFIG)
        problems.append(f"{namespace}{key}: {what}, so it would be ignored{hint} (in {where})")
    return problems


def foreign_config_keys(
    names: Iterable[str],
    project: str,
    settings_keys: Iterable[str],
    catalog: Catalog | None,
    origins: Mapping[str, str] | None = None,
    plaintext: Callable[[str], bool] = lambda name: False,
) -> list[str]:
    """A sentence for each config key of another namespace that looks like one of ours, which the program
    would ignore: a namespace that is a near miss of ``project`` (``platform-secret:``), a ``<owner>.<KEY>``
    key, or a catalog secret's key (``backend:REDIS_URL``). A provider's own keys (``aws:region``) are not.
    """
    secret_keys = secret_config_keys(catalog) if catalog is not None else []
    known = {f"{project}:{key}" for key in [*settings_keys, *secret_keys]}
    problems = []
    for name in sorted(names):
        namespace, sep, key = name.partition(":")
        if not sep or namespace == project:
            continue
        near = difflib.SequenceMatcher(None, namespace, project).ratio() >= NEAR_NAMESPACE
        if near or is_config_secret_key(key):
            meant = key
        elif any(known_key.endswith(f".{key}") for known_key in secret_keys):
            owners = [k for k in secret_keys if k == f"{namespace}.{key}"]
            meant = (owners or [k for k in secret_keys if k.endswith(f".{key}")])[0]
        else:
            continue
        hint = did_you_mean(f"{project}:{meant}", known)
        note = (
            f"; it is in plaintext: remove it and set it with `pulumi config set --secret {meant}`"
            if plaintext(name) and meant in secret_keys
            else ""
        )
        where = (origins or {}).get(name, STACK_CONFIG)
        problems.append(
            f"{name}: outside the {project} namespace, so the program ignores it{hint}{note} "
            f"(in {where})"
        )
    return problems


def rotation_overdue(model: StackModel, today: date) -> list[str]:
    """Generated secrets whose epoch is a date older than their rotation period (a reminder, not an error)."""
    late = []
    for entry in model.entries:
        if entry.source is not Source.GENERATED or not entry.rotation_days:
            continue
        try:
            since = date.fromisoformat(entry.epoch)
        except ValueError:
            continue  # a non-date epoch carries no age
        age = (today - since).days
        if age > entry.rotation_days:
            late.append(
                f"{entry.config_key}: generated {age} days ago (epoch {entry.epoch}), rotation is due "
                f"every {entry.rotation_days} days: pulumi config set rotationEpoch {today.isoformat()}"
            )
    return late
