"""The service catalog: which services exist and which secrets and plain settings each needs.

Plain Python and pydantic, no Pulumi: the catalog is data (``catalog.yaml``) shared by every stack, and this
module turns it into a validated model or one error that names every problem at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from platform_secrets.model import values
from platform_secrets.model.documents import DocumentError, read_yaml

SERVICE_NAME = r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$"
"""A DNS-1123 label short enough for every cloud's identity names (GCP service accounts allow 30 chars
once the environment prefix is added; the model checks the composed names in ``naming``)."""

KEY_NAME = r"^[A-Z][A-Z0-9_]*$"
"""An environment variable name."""

SHARED_OWNER = "shared"
"""Owner name of the secrets that several services read; no service may take this name."""


class Source(str, Enum):
    """Where a secret's value comes from."""

    GENERATED = "generated"
    CONFIG = "config"
    EXTERNAL = "external"


class Rule(str, Enum):
    """A rule on a plain setting's value, checked in the environments of ``rules_in``.

    The grammar of each is ``platform_secrets.model.values``: ``no_wildcard`` no ``*``; ``https_url`` one absolute https
    URL with a host, no userinfo, whitespace or control character; ``https_origins`` comma-separated
    ``https://host[:port]`` origins and nothing else; ``https_protocol`` exactly ``https``.
    """

    NO_WILDCARD = "no_wildcard"
    HTTPS_URL = "https_url"
    HTTPS_ORIGINS = "https_origins"
    HTTPS_PROTOCOL = "https_protocol"


class Environment(str, Enum):
    """The environment a stack deploys; ``prod`` turns on protection and the strict rules."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class _Strict(BaseModel):
    # Validators are built on first use, for the two documents validated (Catalog), not per nested model.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class SecretSpec(_Strict):
    """A secret owned by one service, or a shared secret."""

    description: str = Field(default="", description="What the secret is for.")
    source: Source = Field(description="Where the value comes from: generated, config or external.")
    length: Annotated[int, Field(ge=16, le=256)] = Field(
        default=48, description="Length of a generated value (generated only)."
    )
    special: bool = Field(
        default=False,
        description="Whether a generated value may contain punctuation (off: safe in URLs and shells; "
        "generated only).",
    )
    required_in: tuple[Environment, ...] = Field(
        default=(),
        description="Environments in which the secret must have a value (generated or config; an "
        "external value is filled after the deploy, and the audit reports it empty).",
    )
    rotation_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        default=None, description="Rotation period in days; the stack's default when unset."
    )
    keep_previous: bool = Field(
        default=False,
        description="During an overlap after a rotation, each reader's Secret also carries the value being "
        "replaced as `<KEY>_PREVIOUS` (a signing key: tokens signed before the rotation still verify). "
        "Generated secrets only; the stack's `rotationOverlaps` (written by `platform-secrets rotate`) "
        "names the version, binding external-secrets only.",
    )
    overlap_days: Annotated[int, Field(ge=1, le=90)] = Field(
        default=14,
        description="Days `<KEY>_PREVIOUS` stays delivered after the new value is written (keep_previous "
        "only): at least the longest lifetime of what the old value signed.",
    )
    format: str | None = Field(
        default=None,
        description="A Python regular expression the whole value must match (re.fullmatch), e.g. "
        "`^lin_api_[A-Za-z0-9]{20,}$` (config and external secrets only); checked before anything "
        "registers for a config value, by platform_secrets.live.env push and pull for an external one, with a message "
        "that never shows the value.",
    )

    def must_hold_value(self, environment: Environment) -> bool:
        """Whether the entry must hold a value in ``environment``: ``required_in``, and every external entry
        in prod (the deploy cannot fill or check it; the audit and ``platform_secrets.live.env`` hold it to a value)."""
        return environment in self.required_in or (
            self.source is Source.EXTERNAL and environment is Environment.PROD
        )

    @field_validator("format")
    @classmethod
    def _format_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return pattern


class SharedRef(_Strict):
    """A service's use of a shared secret, under the service's env var name."""

    shared: str = Field(description="Name of the secret under the catalog's `shared` section.")


class SettingSpec(_Strict):
    """A plain (non-secret) setting, delivered through a ConfigMap."""

    description: str = Field(default="", description="What the setting is for.")
    default: str | None = Field(default=None, description="Value used when the stack sets none.")
    required_in: tuple[Environment, ...] = Field(
        default=(), description="Environments in which the setting must have a value."
    )
    rules: tuple[Rule, ...] = Field(default=(), description="Rules on the value.")
    rules_in: tuple[Environment, ...] = Field(
        default=(Environment.PROD,), description="Environments in which the rules are enforced."
    )


def _secret_kind(value: Any) -> str:
    shared = isinstance(value, SharedRef) or (isinstance(value, dict) and "shared" in value)
    return "SharedRef" if shared else "SecretSpec"


SecretRef = Annotated[
    Annotated[SecretSpec, Tag("SecretSpec")] | Annotated[SharedRef, Tag("SharedRef")],
    Discriminator(_secret_kind),
]
"""A service's secret: its own (``source: ...``) or a shared one (``shared: NAME``)."""
_TAGS = {"SecretSpec", "SharedRef"}


class ServiceSpec(_Strict):
    """One service: its secrets (own or shared) and plain settings."""

    description: str = Field(default="", description="What the service is.")
    path: str = Field(default="", description="Where the service lives in the source tree.")
    workload: bool = Field(
        default=True,
        description="A Kubernetes workload (namespace, ServiceAccount, bindings); false for CI/tooling.",
    )
    namespace: str | None = Field(
        default=None,
        pattern=SERVICE_NAME,
        description="Kubernetes namespace; the service name when unset. One service per namespace.",
    )
    secrets: dict[Annotated[str, Field(pattern=KEY_NAME)], SecretRef] = Field(
        default_factory=dict, description="Env var name -> secret."
    )
    settings: dict[Annotated[str, Field(pattern=KEY_NAME)], SettingSpec] = Field(
        default_factory=dict, description="Env var name -> plain setting."
    )


class Catalog(_Strict):
    """The whole catalog."""

    shared: dict[Annotated[str, Field(pattern=KEY_NAME)], SecretSpec] = Field(
        default_factory=dict, description="Secrets read by several services."
    )
    services: dict[Annotated[str, Field(pattern=SERVICE_NAME)], ServiceSpec] = Field(
        description="Service name (a DNS label) -> service."
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> Catalog:
        problems = catalog_problems(self.model_dump(mode="json", exclude_unset=True))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def catalog_problems(data: Any) -> list[str]:
    """Every cross-reference problem of catalog data, as sentences that name the place.

    Works on the raw document (tolerating parts of the wrong shape), so that ``parse_catalog`` reports these
    together with the field errors in one round: pydantic runs a model validator only once every field is
    valid, which hid an undeclared shared secret until everything else was fixed.
    """
    problems: list[str] = []
    shared = _mapping(_mapping(data).get("shared"))
    services = _mapping(_mapping(data).get("services"))
    if SHARED_OWNER in services:
        problems.append(f"service name {SHARED_OWNER!r} is reserved for shared secrets")
    used: set[str] = set()
    namespaces: dict[str, str] = {}
    specs: list[tuple[str, str, dict[Any, Any]]] = [
        ("shared", key, _mapping(spec)) for key, spec in shared.items()
    ]
    for name, service in services.items():
        service = _mapping(service)
        secrets, settings = _mapping(service.get("secrets")), _mapping(service.get("settings"))
        for key, spec in secrets.items():
            spec = _mapping(spec)
            if "shared" in spec:
                ref = spec["shared"]
                if isinstance(ref, str):
                    used.add(ref)
                if isinstance(ref, str) and ref not in shared:
                    problems.append(
                        f"services.{name}.secrets.{key}: shared secret {ref!r} is not declared"
                        + did_you_mean(ref, map(str, shared))
                    )
            else:
                specs.append((f"services.{name}.secrets", key, spec))
        for key in secrets.keys() & settings.keys():
            problems.append(f"services.{name}: {key} is both a secret and a setting")
        problems += _previous_collisions(name, secrets, settings, shared)
        if service.get("workload", True) is not False:
            ns = service.get("namespace") or name
            if ns in namespaces:
                problems.append(
                    f"services.{name}: namespace {ns!r} is already used by {namespaces[ns]!r} "
                    "(one service per namespace keeps RBAC and identities apart)"
                )
            namespaces[ns] = name
        elif settings:
            problems.append(
                f"services.{name}: a non-workload service has no ConfigMap for settings"
            )
    for key in sorted(shared.keys() - used, key=str):
        problems.append(f"shared.{key}: declared but read by no service")
    for owner, key, spec in specs:
        problems += _constraint_problems(f"{owner}.{key}", spec)
    return problems


PREVIOUS_SUFFIX = "_PREVIOUS"
"""The env var of a ``keep_previous`` secret's value being replaced: ``<KEY>_PREVIOUS``."""


def _previous_collisions(
    service: str, secrets: dict[Any, Any], settings: dict[Any, Any], shared: dict[Any, Any]
) -> list[str]:
    """A service's ``<KEY>_PREVIOUS`` would be both the previous value of ``KEY`` and another variable."""
    problems = []
    for key, spec in secrets.items():
        spec = _mapping(spec)
        if "shared" in spec:
            spec = _mapping(shared.get(spec["shared"]) if isinstance(spec["shared"], str) else None)
        previous = f"{key}{PREVIOUS_SUFFIX}"
        if spec.get("keep_previous") is True and (previous in secrets or previous in settings):
            problems.append(
                f"services.{service}: {previous} is declared, but {key} keeps its previous value "
                f"under that name (keep_previous): rename it"
            )
    return problems


def _constraint_problems(where: str, spec: dict[Any, Any]) -> list[str]:
    """Constraints of a secret that no step would enforce for its source: refused, never ignored."""
    source = spec.get("source", Source.GENERATED.value)
    problems = []
    if source != Source.GENERATED.value:
        problems += [
            f"{where}: `{field}` applies only to generated secrets"
            for field in ("length", "special")
            if field in spec
        ]
    elif spec.get("format") is not None:
        problems.append(
            f"{where}: `format` applies to config and external values; a generated value's shape is "
            "its `length` and `special`"
        )
    if spec.get("keep_previous") is True and source != Source.GENERATED.value:
        problems.append(
            f"{where}: `keep_previous` applies only to generated secrets (the program writes their "
            f"versions; a {source} value is written out of band, so its previous version is unknown)"
        )
    if "overlap_days" in spec and spec.get("keep_previous") is not True:
        problems.append(f"{where}: `overlap_days` applies only with `keep_previous: true`")
    if source == Source.EXTERNAL.value and spec.get("required_in"):
        problems.append(
            f"{where}: `required_in` cannot hold for an external secret (its entry is created empty and "
            "filled after the deploy, out of band): drop it. In prod every external entry must hold a "
            "value: the audit reports an empty one as high"
        )
    return problems


class CatalogError(ValueError):
    """The catalog is invalid; the message names every problem."""


def vocabulary(model: type[BaseModel]) -> set[str]:
    """Every field name and alias of a model and of the models nested in it (for "did you mean")."""
    found: set[str] = set()
    todo, seen = [model], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            found |= {name, info.alias or name}
            stack = [info.annotation]
            while stack:
                annotation = stack.pop()
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    todo.append(annotation)
                stack += list(get_args(annotation))
    return found


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known word, or nothing."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validation_lines(
    error: ValidationError,
    *,
    model: type[BaseModel] | None = None,
    origin_of: Callable[[str], str | None] | None = None,
) -> list[str]:
    """One readable line per problem, each naming its place in the document (and where its value came from,
    when ``origin_of`` says, for the top-level key of the place)."""
    words = vocabulary(model) if model is not None else set()
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"] if str(part) not in _TAGS)
        message = re.sub(r"^Value error, ", "", item["msg"])
        if item["type"] == "extra_forbidden" and item["loc"]:
            message += did_you_mean(str(item["loc"][-1]), words)
        elif item["type"] != "value_error" and isinstance(item.get("input"), str):
            message += f" (got {values.shown(item['input'])})"
        elif item["type"] != "value_error" and isinstance(item.get("input"), (int, float)):
            message += f" (got {item['input']!r})"
        origin = origin_of(str(item["loc"][0])) if origin_of and item["loc"] else None
        suffix = f" (in {origin})" if origin else ""
        lines += [f"  - {loc + ': ' if loc else ''}{part}{suffix}" for part in message.split("; ")]
    return lines


def format_validation_error(
    error: ValidationError, where: str, model: type[BaseModel] | None = None
) -> str:
    """One readable line per problem, each naming its place in the document."""
    lines = validation_lines(error, model=model)
    return f"{where} has {len(lines)} problem(s):\n" + "\n".join(lines)


def parse_catalog(data: Any, where: str = "catalog") -> Catalog:
    """Validate raw catalog data; raise CatalogError naming every problem, field errors and cross-reference
    problems together."""
    try:
        return Catalog.model_validate(data)
    except ValidationError as error:
        lines = validation_lines(error, model=Catalog)
    lines += [
        f"  - {problem}" for problem in catalog_problems(data) if f"  - {problem}" not in lines
    ]
    raise CatalogError(f"{where} has {len(lines)} problem(s):\n" + "\n".join(lines))


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file; every error names the file."""
    try:
        data = read_yaml(path)
    except DocumentError as error:
        raise CatalogError(str(error)) from None
    return parse_catalog(data, str(path))


def json_schema() -> dict[str, Any]:
    """The catalog's JSON Schema, for editors (yaml-language-server) and reviews."""
    schema = Catalog.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "platform-secrets service catalog"
    return schema
