"""The floor: the same resources registered straight through the Pulumi SDK, under the same mock engine.

A run of our program is recorded as a *manifest*: every custom resource it registered (providers included),
with its type, its logical name, the inputs the engine received and its explicit provider. The floor program
(``benchmarks/floor_project/__main__.py``) registers exactly those resources through the providers' own Python
classes (``pulumi_aws.secretsmanager.Secret``, ``pulumi_kubernetes.core.v1.Namespace``, ...), with the same input
values, secret values still secret, but as flat as the SDK allows: no catalog, no model, no validation, no
components (no parents), no ``Output`` passed between resources (no dependencies, no ``apply``). What is left is
the SDK's own cost of declaring these resources: the floor under any program that declares them.

It runs through the same harness as the program (``platform_secrets.offline.runner.run`` with ``root=FLOOR_ROOT``: the same
``RealisticMocks`` and ``RecordingMonitor``), under the project and stack names of the real program so that URNs
have the same length. ``python -m benchmarks.floor --manifest FILE`` is the whole-process floor.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
from pulumi import _types
from pulumi.runtime import rpc

from platform_secrets.offline.runner import Registered

FLOOR_ROOT = Path(__file__).resolve().parent / "floor_project"
"""A Pulumi project whose ``__main__.py`` is the floor program; same project name as the real one."""
FLOOR_STACK = "dev"
MANIFEST_KEY = "floorManifest"
"""Config key (under the project namespace) of the manifest's path."""
PROVIDER = "pulumi:providers:"
_SKIP = {"__self__", "resource_name", "opts", "__props__"}

_preloaded: list[dict[str, Any]] | None = None


# --- the manifest: what our run registered, flattened ---


def manifest(resources: list[Registered]) -> list[dict[str, Any]]:
    """The custom resources of a run, providers first, each with the explicit provider it used (or None)."""
    providers = {r.urn: r for r in resources if r.type.startswith(PROVIDER)}
    records: list[dict[str, Any]] = []
    for r in resources:
        if not r.custom:
            continue  # components: the floor has none
        provider_urn = r.provider.rsplit("::", 1)[0] if r.provider else ""
        provider = providers.get(provider_urn)
        records.append(
            {
                "type": r.type,
                "name": r.name,
                "inputs": r.inputs,
                "provider": [provider.type, provider.name] if provider else None,
            }
        )
    # Providers first; the sort is stable, so the recorded order is kept otherwise.
    records.sort(key=lambda rec: not str(rec["type"]).startswith(PROVIDER))
    return records


def write_manifest(path: Path, resources: list[Registered]) -> int:
    records = manifest(resources)
    path.write_text(json.dumps(records))
    return len(records)


def preload(path: Path) -> None:
    """Read the manifest before the clock starts (the floor program then registers from memory)."""
    global _preloaded
    _preloaded = json.loads(path.read_text())


def _records() -> list[dict[str, Any]]:
    if _preloaded is not None:
        return _preloaded
    data: list[dict[str, Any]] = json.loads(Path(pulumi.Config().require(MANIFEST_KEY)).read_text())
    return data


# --- from a type token to the provider SDK's class, and from wire names to its arguments ---


def _package(pkg: str) -> None:
    """Import a provider SDK, which registers its resource modules with the Pulumi runtime."""
    importlib.import_module("pulumi_" + pkg.replace("-", "_"))


@cache
def resource_class(type_: str) -> Any:
    """The provider SDK's class of a type token, found through the SDK's own resource-module registry."""
    if type_.startswith(PROVIDER):
        pkg = type_[len(PROVIDER) :]
        _package(pkg)
        package = rpc.get_resource_package(pkg, "")
        if package is None:
            raise LookupError(f"no provider SDK registers the package {pkg!r}")
        info = package.pkg_info  # type: ignore[attr-defined]
        return getattr(importlib.import_module(info["fqn"]), info["class"])
    pkg, mod, _name = type_.split(":")
    _package(pkg)
    module = rpc.get_resource_module(pkg, mod, "")
    classes = module.mod_info["classes"] if module is not None else {}  # type: ignore[attr-defined]
    if type_ in classes:
        fqn = module.mod_info["fqn"]  # type: ignore[union-attr]
        return getattr(importlib.import_module(fqn), classes[type_])
    if pkg == "kubernetes":  # a custom resource of a CRD (ESO's SecretStore, ExternalSecret, ...)
        from pulumi_kubernetes.apiextensions import CustomResource

        return CustomResource
    raise LookupError(f"no provider SDK class for {type_}")


@cache
def _argument_names(cls: Any) -> dict[str, str]:
    """Wire (camelCase) input name -> the class's Python argument name.

    From the class's typed ``<Class>Args`` where the SDK declares the wire name; otherwise the usual
    snake_case -> camelCase rule.
    """
    init = getattr(cls, "_internal_init", None) or cls.__init__
    params = [p for p in inspect.signature(init).parameters if p not in _SKIP]
    declared: dict[str, str] = {}
    for args_name in (f"{cls.__name__}Args", f"{cls.__name__}InitArgs"):
        args_cls = getattr(sys.modules[cls.__module__], args_name, None)
        if args_cls is not None and _types.is_input_type(args_cls):
            declared.update(_types.input_type_py_to_pulumi_names(args_cls))
    return {declared.get(p) or _camel(p): p for p in params}


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def _value(value: Any) -> Any:
    """An input as the program passed it: secret values become secret Outputs again."""
    if rpc.is_rpc_secret(value):
        return pulumi.Output.secret(_value(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _provider_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return _value(value)


def constructor(type_: str) -> Callable[[str, dict[str, Any], pulumi.ResourceOptions], Any]:
    """A function that registers one resource of ``type_`` from its wire inputs."""
    cls = resource_class(type_)
    names = _argument_names(cls)
    # A provider's inputs reach the engine JSON-encoded: decode them, the SDK encodes them again.
    decode = _provider_value if type_.startswith(PROVIDER) else _value

    def create(name: str, inputs: dict[str, Any], opts: pulumi.ResourceOptions) -> Any:
        unknown = inputs.keys() - names.keys()
        if unknown:
            raise KeyError(f"{type_}: no argument of {cls.__name__} for {sorted(unknown)}")
        kwargs = {names[key]: decode(value) for key, value in inputs.items()}
        return cls(name, opts=opts, **kwargs)

    return create


# --- the floor program ---


def register() -> int:
    """Register every resource of the manifest, flat; return how many."""
    records = _records()
    providers: dict[tuple[str, str], pulumi.ProviderResource] = {}
    seen: set[tuple[str, str]] = set()
    for index, record in enumerate(records):
        type_, name = record["type"], record["name"]
        if (type_, name) in seen:  # two parents once kept these apart; flat, the name must differ
            name = f"{name}-{index}"
        seen.add((type_, name))
        ref = record["provider"]
        opts = pulumi.ResourceOptions(provider=providers[tuple(ref)] if ref else None)
        resource = constructor(type_)(name, record["inputs"], opts)
        if type_.startswith(PROVIDER):
            providers[(type_, record["name"])] = resource
    return len(records)


def mismatches(resources: list[Registered]) -> list[str]:
    """Resources of the manifest that the floor did not register with exactly the recorded inputs."""
    registered = {(r.type, r.name): r.inputs for r in resources}
    return [
        f"{record['type']} {record['name']}"
        for record in _records()
        if registered.get((record["type"], record["name"])) != record["inputs"]
    ]


def main(argv: list[str] | None = None) -> int:
    """The whole-process floor: start, import, register the manifest under the mock engine, exit."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=main.__doc__)
    parser.add_argument(
        "--manifest", type=Path, required=True, help="a manifest (benchmarks.floor)"
    )
    args = parser.parse_args(argv)
    from platform_secrets.offline import runner as offline

    result = offline.run(
        FLOOR_STACK, root=FLOOR_ROOT, overrides={MANIFEST_KEY: str(args.manifest.resolve())}
    )
    if result.error is not None:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    print(f"{len(result.resources)} resources registered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
