"""The offline plan: ``python -m tools.plan --stack dev --out plan-dev``.

Runs the program for a stack under the mock engine (no CLI, no cloud, no credentials), prints a summary
(resources per service, the access matrix) and writes the artifacts of ``tools.artifacts``. It is not
``pulumi preview``: it diffs against no state and asks no provider; it shows what the program declares.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from components.settings import Cloud
from tools import artifacts, offline
from tools.offline import RunResult

COMPONENT = "platform-secrets:index:"


def summary(result: RunResult, matrix: dict[str, Any]) -> dict[str, Any]:
    """What the plan prints: counts per component, the access matrix, what is missing."""
    by_urn = {r.urn: r for r in result.resources}

    def component_of(r: offline.Registered) -> str:
        node = r
        while node.parent in by_urn:
            node = by_urn[node.parent]
            if node.type.startswith(COMPONENT):
                return node.name
        return "(stack)"

    per_component: dict[str, Counter[str]] = {}
    for r in result.resources:
        if r.type.startswith(COMPONENT):
            continue
        per_component.setdefault(component_of(r), Counter())[r.type] += 1
    return {
        "stack": result.stack,
        "environment": result.outputs.get("environment"),
        "cloud": result.outputs.get("cloud"),
        "resources": len(result.resources),
        "protected": sum(r.protect for r in result.resources),
        "per_component": {
            name: dict(sorted(counts.items())) for name, counts in sorted(per_component.items())
        },
        "access": {
            name: {"identity": row["identity"], "keys": row["keys"], "kind": row["kind"]}
            for name, row in matrix.items()
        },
        "missing_secrets": result.outputs.get("missing_secrets", []),
        "warnings": result.warnings,
    }


def render(data: dict[str, Any]) -> str:
    lines = [
        f"stack {data['stack']} ({data['environment']}, {data['cloud']}): "
        f"{data['resources']} resources, {data['protected']} protected",
        "",
        "resources per component:",
    ]
    for name, counts in data["per_component"].items():
        lines.append(
            f"  {name:<22} {sum(counts.values()):>3}  "
            + ", ".join(f"{_short(t)} x{n}" for t, n in counts.items())
        )
    lines += ["", "access matrix (derived from the registered IAM documents and bindings):"]
    width = max((len(name) for name in data["access"]), default=10)
    for name, row in data["access"].items():
        keys = ", ".join(row["keys"]) or "-"
        lines.append(f"  {name:<{width}}  {row['kind']:<8}  {keys}")
        lines.append(f"  {'':<{width}}  {'':<8}  as {row['identity']}")
    if data["missing_secrets"]:
        lines += ["", "config secrets with no value (entries created empty):"]
        lines += [f"  {key}" for key in data["missing_secrets"]]
    return "\n".join(lines)


def _short(type_: str) -> str:
    """``aws:iam/role:Role`` -> ``iam/Role``; ``kubernetes:rbac.authorization.k8s.io/v1:Role`` -> ``rbac/Role``."""
    package, module, name = ([*type_.split(":"), "", ""])[:3]
    group = module.split("/")[0].split(".")[0] if module else package
    return f"{group}/{name}" if name else type_


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.plan", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")
    parser.add_argument("--out", type=Path, help="directory for the artifacts (emptied first)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--cloud",
        choices=[cloud.value for cloud in Cloud],
        help="plan on this cloud instead of the stack's `cloud` setting (a config override)",
    )
    parser.add_argument(
        "--stub-secrets",
        action="store_true",
        help="treat every config-sourced secret the stack lacks as set (offline placeholder, secret): "
        "to review a prod plan before its secrets are set",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a plain config value for this run, like `pulumi config set` (JSON values allowed)",
    )
    args = parser.parse_args(argv)

    overrides = {}
    for item in args.config:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    origins = {key: f"--config {key}=..." for key in overrides}
    if args.cloud:
        overrides["cloud"] = args.cloud
        origins["cloud"] = f"--cloud {args.cloud}"
    try:
        secrets = offline.stub_secrets(args.stack, overrides) if args.stub_secrets else None
        result = offline.run(
            args.stack,
            overrides=overrides,
            secrets=secrets,
            override_origins=origins,
            secrets_origin="--stub-secrets",
        )
    except offline.StackConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result.error is not None:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    matrix = (
        artifacts.write(result, args.out) if args.out else artifacts.access.derive(result.resources)
    )
    data = summary(result, matrix)
    if secrets:
        data["stubbed_secrets"] = sorted(secrets)
    print(json.dumps(data, indent=2) if args.json else render(data))
    if args.out and not args.json:
        print(f"\nartifacts written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
