"""An environment split over several stacks: which stack holds which service (``environments/<env>.yaml``).

Plain Python and pydantic, no Pulumi. Opt-in: an environment with no such file is one stack, as before, and
keeps its URNs. The file is explicit and reviewed, and stable: adding a service appends it to one stack
(:func:`propose`, :func:`with_service`) and never moves another. A stack's resource count is checked against
``stackResourceLimit`` (default 1,000) at plan time, from the plan's own registrations (:func:`counts_from_records`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from platform_secrets.model.catalog import SHARED_OWNER, Catalog, SharedRef, validation_lines
from platform_secrets.model.documents import DocumentError, read_yaml
from platform_secrets.model.settings import SETTINGS_KEYS, is_config_secret_key
from platform_secrets.model.shard_moves import Move, move_problems

STACK_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
DEFAULT_LIMIT = 1000
COMPONENT = "platform-secrets:index:ServiceSecrets"
PROVIDER = "pulumi:providers:"


class LayoutError(ValueError):
    """An environment file that cannot be read or does not validate; every problem named."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{origin} has {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        )


class EnvironmentLayout(BaseModel):
    """One environment: its foundation stack and its service shards, each a list of whole services."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    foundation: str = Field(
        pattern=STACK_NAME,
        description="The stack holding the store's foundation and the shared secrets; it reads no shard.",
    )
    stacks: dict[str, tuple[str, ...]] = Field(
        description="Shard stack name -> the services it holds (whole services; each in exactly one).",
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Plain settings every stack of the environment shares (short keys, as under the "
        "`platform-secrets:` namespace), written once here: a key also in a stack file is an error, a "
        "`secure:` value or a secret's `<owner>.<KEY>` is refused (secrets stay in their stack's file).",
    )
    stack_resource_limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=10,
        le=5000,
        description="Most resources one stack may hold; the plan names any stack over it.",
    )
    moved: tuple[Move, ...] = Field(
        default=(),
        description="Services moving between shards ({service, from, to}): the deploy runs "
        "`pulumi state move` before the ups; remove a record once deployed (runbooks/shards.md).",
    )

    def stack_of(self, service: str) -> str | None:
        """The first shard listing the service (the layout's problems name any second one)."""
        return next((stack for stack, names in self.stacks.items() if service in names), None)

    def all_stacks(self) -> tuple[str, ...]:
        return (self.foundation, *self.stacks)


def parse_layout(data: Any, origin: str) -> EnvironmentLayout:
    try:
        return EnvironmentLayout.model_validate(data)
    except ValidationError as error:
        lines = validation_lines(error, model=EnvironmentLayout)
        raise LayoutError(origin, [line.removeprefix("  - ") for line in lines]) from None


def read_layout(path: Path, origin: str | None = None) -> EnvironmentLayout:
    """The validated environment file; ``LayoutError`` naming every problem (duplicate keys included)."""
    where = origin or path.name
    try:
        data = read_yaml(path)
    except DocumentError as error:
        raise LayoutError(where, [str(error)]) from None
    return parse_layout(data, where)


def counts_from_records(records: Iterable[Mapping[str, Any]]) -> tuple[dict[str, int], int, int]:
    """From a plan's ``resources.json``: resources per service (its component and everything under it),
    the foundation's (everything else), and the providers every stack repeats (counted in each shard too)."""
    by_urn = {str(r["urn"]): r for r in records}
    per_service: dict[str, int] = {}
    rest = providers = 0
    for record in by_urn.values():
        node: Mapping[str, Any] | None = record
        owner = None
        while node is not None:
            if node["type"] == COMPONENT:
                owner = str(node["name"])
                break
            node = by_urn.get(str(node.get("parent") or ""))
        if owner is None:
            rest += 1
            providers += str(record["type"]).startswith(PROVIDER)
        else:
            per_service[owner] = per_service.get(owner, 0) + 1
    return per_service, rest, providers


def stack_counts(
    layout: EnvironmentLayout, per_service: Mapping[str, int], foundation: int, overhead: int
) -> dict[str, int]:
    """Resources per stack: the foundation's, and each shard's services plus its own providers."""
    counts = {layout.foundation: foundation}
    for stack, services in layout.stacks.items():
        counts[stack] = overhead + sum(per_service.get(s, 0) for s in services)
    return counts


def propose(layout: EnvironmentLayout, counts: Mapping[str, int] | None = None) -> str:
    """The shard a new service goes to: the least filled (by resources if known, else by services),
    ties by name. The foundation holds no service."""
    if not layout.stacks:
        raise LayoutError("the environment file", ["it lists no shard to put a service in"])

    def fill(stack: str) -> tuple[int, str]:
        size = counts.get(stack, 0) if counts is not None else len(layout.stacks[stack])
        return size, stack

    return min(layout.stacks, key=fill)


def with_service(layout: EnvironmentLayout, service: str, stack: str) -> EnvironmentLayout:
    """The layout with ``service`` appended to ``stack``; every other service stays where it is."""
    if layout.stack_of(service) is not None:
        raise LayoutError(
            "the environment file", [f"{service} is already in {layout.stack_of(service)}"]
        )
    if stack not in layout.stacks:
        raise LayoutError("the environment file", [f"{stack} is not a shard of this environment"])
    stacks = {
        name: (*names, service) if name == stack else names for name, names in layout.stacks.items()
    }
    return layout.model_copy(update={"stacks": stacks})


def dump_layout(layout: EnvironmentLayout) -> str:
    """The file's text: keys in a fixed order, each shard's services in their listed order."""
    data: dict[str, Any] = {"foundation": layout.foundation}
    if layout.stack_resource_limit != DEFAULT_LIMIT:
        data["stackResourceLimit"] = layout.stack_resource_limit
    data["stacks"] = {name: list(names) for name, names in layout.stacks.items()}
    if layout.moved:
        data["moved"] = [m.model_dump(by_alias=True) for m in layout.moved]
    if layout.config:
        data["config"] = layout.config
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def shared_readers(catalog: Catalog) -> dict[str, list[str]]:
    """Shared secret -> the services reading it (the foundation grants them by deterministic name)."""
    readers: dict[str, list[str]] = {key: [] for key in catalog.shared}
    for name, service in catalog.services.items():
        for ref in service.secrets.values():
            if isinstance(ref, SharedRef):
                readers.setdefault(ref.shared, []).append(name)
    return readers


def layout_problems(
    layout: EnvironmentLayout,
    catalog: Catalog,
    *,
    origin: str,
    counts: Mapping[str, int] | None = None,
    stacks: Collection[str] = (),
) -> list[str]:
    """Every problem of the layout against the catalog, each a sentence naming its place; all at once.

    ``counts`` (resources per stack, from a plan) adds the limit check; ``stacks`` are stacks named from
    elsewhere (a command's argument, a stack file joining the environment), each of which must be in it.
    """
    problems: list[str] = []
    if layout.foundation in layout.stacks:
        problems.append(
            f"{origin}: {layout.foundation} is the foundation and cannot also be a shard"
        )
    homes: dict[str, list[str]] = {}
    for stack, services in layout.stacks.items():
        for service in services:
            homes.setdefault(service, []).append(stack)
    for service, where in sorted(homes.items()):
        if service not in catalog.services:
            problems.append(
                f"{origin}: stacks.{where[0]} lists {service}, which is not in the catalog"
            )
        if len(where) > 1:
            problems.append(
                f"{origin}: {service} is in {len(where)} stacks ({', '.join(where)}); "
                "a service lives in exactly one"
            )
    unplaced = sorted(set(catalog.services) - homes.keys())
    if unplaced and layout.stacks:
        fill = dict(counts) if counts is not None else None
        for service in unplaced:
            target = propose(layout, fill)
            problems.append(
                f"{origin}: {service} is in no stack (proposed: {target}; "
                f"`platform-secrets shards propose {service} --write`)"
            )
    elif unplaced:
        problems.append(f"{origin}: it lists no shard, so {', '.join(unplaced)} have no stack")
    for key, readers in sorted(shared_readers(catalog).items()):
        for reader in readers:
            if reader not in homes:
                problems.append(
                    f"{origin}: shared secret {key} is read by {reader}, which is in no stack the "
                    f"foundation {layout.foundation} knows: it could not grant it"
                )
    problems += move_problems(layout, catalog, origin)
    problems += config_problems(layout, origin)
    for stack in sorted(set(stacks) - set(layout.all_stacks())):
        problems.append(
            f"stack {stack} is not in {origin} (its stacks: {', '.join(layout.all_stacks())})"
        )
    if counts is not None:
        limit = layout.stack_resource_limit
        for stack in layout.all_stacks():
            if counts.get(stack, 0) > limit:
                problems.append(
                    f"stack {stack} holds {counts[stack]} resources, over the limit of {limit} "
                    f"(stackResourceLimit in {origin}): move services to another shard or add one"
                )
    return problems


def config_problems(layout: EnvironmentLayout, origin: str) -> list[str]:
    """The shared ``config:`` holds plain settings only: no ``secure:`` value (a shard's secrets live in its own
    stack file, under its own encryption), no secret's ``<owner>.<KEY>``, no other namespace."""
    problems = []
    for key, value in sorted(layout.config.items()):
        if ":" in key:
            problems.append(
                f"{origin}: config.{key}: write settings without a namespace "
                "(the `platform-secrets:` keys only); a provider's key belongs in each stack file"
            )
        elif is_config_secret_key(key):
            problems.append(
                f"{origin}: config.{key}: a secret's key; set it in its own stack with "
                f"`pulumi config set --secret {key}`, never in the shared file"
            )
        elif key == "environmentFile":
            problems.append(
                f"{origin}: config.environmentFile: each stack file names its environment"
            )
        elif key not in SETTINGS_KEYS:
            problems.append(f"{origin}: config.{key}: not a setting of this program")
        if _holds_secure(value):
            problems.append(
                f"{origin}: config.{key} holds a `secure:` value; the environment file is shared by "
                "every stack and is plain: encrypted values live in one stack's file"
            )
    return problems


def _holds_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_holds_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secure(v) for v in value)
    return False


@dataclass(frozen=True)
class StackRole:
    """What one stack of a sharded environment holds: the foundation, or a shard's whole services."""

    environment_file: str
    """``environments/<env>.yaml``."""
    foundation: str
    """The foundation's stack name (a shard reads it through a stack reference)."""
    services: frozenset[str] | None = None
    """The shard's services; None for the foundation."""

    @property
    def is_foundation(self) -> bool:
        return self.services is None

    @property
    def owners(self) -> frozenset[str]:
        """Owners of the entries this stack creates and whose config it holds."""
        return frozenset({SHARED_OWNER}) if self.services is None else self.services


def role_of(layout: EnvironmentLayout, stack: str, origin: str) -> StackRole | None:
    """The stack's role in the layout, or None if the layout does not name it."""
    if stack == layout.foundation:
        return StackRole(origin, layout.foundation)
    if stack in layout.stacks:
        return StackRole(origin, layout.foundation, frozenset(layout.stacks[stack]))
    return None


def unjoined_stack_problems(stack: str, environments: Path) -> list[str]:
    """A stack that an environment file names but whose own file does not join it (no ``environmentFile``):
    as one stack it would register every service of the catalog, and two stacks would manage one secret and
    one identity."""
    problems = []
    for path in sorted(environments.glob("*.yaml")) if environments.is_dir() else []:
        try:
            layout = read_layout(path, f"environments/{path.name}")
        except LayoutError:
            continue  # `platform-secrets shards check` names its problems; this stack is judged by name only
        if stack in layout.all_stacks():
            role = "the foundation" if stack == layout.foundation else "a shard"
            problems.append(
                f"stack {stack} is {role} of environments/{path.name}, but its stack file does not set "
                f"platform-secrets:environmentFile: environments/{path.name}: as one stack it would "
                "register every service of the catalog here too"
            )
    return problems
