"""What one offline run registered, as plain data: the shape the plan, the access derivation and the audit read.

Pure (no Pulumi): the access derivation imports it without loading the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET = "[secret]"
UNKNOWN = "[unknown]"

# The SDK's wire format of a secret in serialised inputs (pulumi.runtime.rpc ``_special_sig_key`` and
# ``_special_secret_sig``), so that plain readers unwrap it without loading the engine; a test holds these
# equal to the SDK's.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def unwrap_secret(value: Any) -> Any:
    """The value inside a serialised secret, or the value itself."""
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        return value["value"]
    return value


@dataclass
class Registered:
    """One registered resource, as the engine would have received it (a live object read by the audit takes
    the defaults for what only a registration has)."""

    urn: str
    type: str
    name: str
    parent: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    """Inputs as the SDK serialised them; secret values keep the SDK's secret wrapper."""
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    import_id: str = ""
    provider: str = ""
    aliases: list[str] = field(default_factory=list)
    custom: bool = True


@dataclass
class RunResult:
    """What one offline run registered and exported, or the error that stopped it."""

    stack: str
    preview: bool
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    error: Exception | None = None
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str, type_: str | None = None) -> Registered:
        matches = [r for r in self.resources if r.name == name and type_ in (None, r.type)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r} of type {type_!r}")
        return matches[0]
