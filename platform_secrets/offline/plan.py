"""The offline plan: ``platform-secrets plan --stack dev --out plan-dev``.

Runs the program for a stack under the mock engine (no CLI, no cloud, no credentials), prints a summary
(resources per service, the access matrix) and writes the artifacts of ``platform_secrets.offline.artifacts``. It is not
``pulumi preview``: it diffs against no state and asks no provider; it shows what the program declares.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from platform_secrets.access import diff as access_diff
from platform_secrets.exit_codes import FINDINGS, OK
from platform_secrets.model.settings import Cloud
from platform_secrets.offline import artifacts
from platform_secrets.offline import project_dir as project_dir_
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.progress import Status, silent

COMPONENT = "platform-secrets:index:"


IDENTITY_NAMES = {
    # identity resource type -> (output holding the id the access matrix shows, input holding its name)
    "aws:iam/role:Role": ("arn", "name"),
    "gcp:serviceaccount/account:Account": ("email", "accountId"),
    "azure-native:managedidentity:UserAssignedIdentity": ("clientId", "resourceName"),
}
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


def identity_names(result: RunResult) -> dict[str, str]:
    """Cloud id of each identity (role ARN, service account email, Azure client id) -> its name."""
    names = {}
    for r in result.resources:
        fields = IDENTITY_NAMES.get(r.type)
        if fields and isinstance(r.outputs.get(fields[0]), str):
            names[r.outputs[fields[0]]] = str(r.inputs.get(fields[1], r.name))
    return names


def missing_consequences(result: RunResult, matrix: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per service that reads a config secret with no value: which keys, and what that means for it."""
    services = result.outputs.get("services") or {}
    shared = result.outputs.get("shared_entries") or {}
    entry_of = {}  # `<owner>.<KEY>` -> store entry name
    for owner, exported in services.items():
        for key, name in (exported.get("entries") or {}).items():
            entry_of[f"{owner}.{key}"] = name
    for key, exported in shared.items():
        entry_of[f"shared.{key}"] = exported["name"]
    synced = {
        r.inputs["metadata"]["namespace"]
        for r in result.resources
        if r.type == EXTERNAL_SECRET and isinstance(r.inputs.get("metadata"), dict)
    }
    out: dict[str, dict[str, Any]] = {}
    for config_key in result.outputs.get("missing_secrets") or []:
        entry = entry_of.get(config_key)
        key = config_key.split(".", 1)[1]
        for name, row in matrix.items():
            if row["kind"] in ("workload", "tooling") and entry in row["entries"]:
                out.setdefault(name, {"keys": [], "kind": row["kind"]})["keys"].append(key)
    for name, item in out.items():
        keys = ", ".join(item["keys"])
        verb = "has" if len(item["keys"]) == 1 else "have"
        exported = services.get(name, {})
        secret = exported.get("secret_name", f"{name}-secrets")
        if item["kind"] == "tooling":
            item["consequence"] = f"{name}'s tooling reads an empty entry: {keys} {verb} no value"
        elif exported.get("namespace") in synced:
            item["consequence"] = (
                f"ESO cannot sync {name}'s Secret {secret}: {keys} {verb} no value "
                "(its pods get no Secret)"
            )
        else:
            item["consequence"] = f"{name}'s Secret {secret} lacks {keys}: no value was given"
    return dict(sorted(out.items()))


def summary(result: RunResult, matrix: dict[str, Any]) -> dict[str, Any]:
    """What the plan prints: counts per component, who reads what as whom, what is missing or protected."""
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
    names = identity_names(result)
    access = {}
    for name, row in matrix.items():
        item = {
            "kind": row["kind"],
            "identity": row["identity"],
            "identity_name": names.get(row["identity"], row["identity"]),
            "keys": row["keys"],
            "entries": row["entries"],
        }
        item.update(
            {k: row[k] for k in ("service_account", "assumed_by", "note", "admits") if k in row}
        )
        if "via" in row:  # a reader through a trust chain: the role it assumed, by name
            item["via"] = {e: [names.get(r, r) for r in roles] for e, roles in row["via"].items()}
        access[name] = item
    protected = [
        {
            "type": r.type,
            "name": r.name,
            "component": component_of(r),
            "protect": r.protect,
            "retain_on_delete": r.retain_on_delete,
        }
        for r in result.resources
        if r.protect or r.retain_on_delete
    ]
    return {
        "stack": result.stack,
        "environment": result.outputs.get("environment"),
        "cloud": result.outputs.get("cloud"),
        "resources": len(result.resources),
        "protected": sum(r.protect for r in result.resources),
        "per_component": {
            name: dict(sorted(counts.items())) for name, counts in sorted(per_component.items())
        },
        "access": access,
        "tooling": {
            name: {"identity_name": row["identity_name"], "assumed_by": row.get("assumed_by", [])}
            for name, row in access.items()
            if row["kind"] == "tooling"
        },
        "missing_secrets": result.outputs.get("missing_secrets", []),
        "missing_consequences": missing_consequences(result, matrix),
        "stubbed_secrets": [],
        "protected_resources": sorted(protected, key=lambda p: (p["component"], p["name"])),
        "warnings": result.warnings,
    }


def render(data: dict[str, Any]) -> str:
    lines = [
        f"stack {data['stack']} ({data['environment']}, {data['cloud']}): "
        f"{data['resources']} resources, {data['protected']} protected",
    ]
    if data["stubbed_secrets"]:
        lines += [
            "",
            "REVIEW-ONLY PLAN: these config secrets were stubbed with placeholders (--stub-secrets); "
            "set them before `pulumi up`:",
        ]
        lines += [f"  {key}" for key in data["stubbed_secrets"]]
    lines += ["", "resources per component:"]
    for name, counts in data["per_component"].items():
        lines.append(
            f"  {name:<22} {sum(counts.values()):>3}  "
            + ", ".join(f"{_short(t)} x{n}" for t, n in counts.items())
        )
    lines += ["", "who reads what (derived from the registered IAM documents and bindings):"]
    for name, row in data["access"].items():
        where = f", ServiceAccount {row['service_account']}" if "service_account" in row else ""
        lines.append(f"  {name} ({row['kind']}{where})")
        identity = row["identity_name"]
        if identity != row["identity"]:
            identity += f"  [{row['identity']}]"
        lines.append(f"    identity  {identity}")
        lines.append(f"    keys      {', '.join(row['keys']) or '-'}")
        via = row.get("via", {})
        for i, entry in enumerate(row["entries"] or ["-"]):
            through = f"  (via {', '.join(via[entry])})" if entry in via else ""
            lines.append(f"    {'entries' if i == 0 else '':<8}  {entry}{through}")
        if "note" in row:
            lines.append(f"    note      {row['note']}")
    if data["tooling"]:
        lines += ["", "tooling identities and who may assume them:"]
        for name, row in data["tooling"].items():
            by = ", ".join(row["assumed_by"]) or "nobody (no principal is trusted)"
            lines.append(f"  {name} ({row['identity_name']}): {by}")
    if data["missing_secrets"]:
        lines += ["", "config secrets with no value (entries created empty):"]
        lines += [f"  {key}" for key in data["missing_secrets"]]
        lines += ["what that means, per service:"]
        lines += [f"  {item['consequence']}" for item in data["missing_consequences"].values()]
    if data["protected_resources"]:
        lines += [
            "",
            "protected resources (protect: pulumi refuses to delete; retain: kept on destroy):",
        ]
        for item in data["protected_resources"]:
            flags = "+".join(flag for flag in ("protect", "retain_on_delete") if item[flag])
            lines.append(
                f"  {item['component']:<22} {_short(item['type']):<24} {item['name']}  ({flags})"
            )
    shown = tuple(f"{key}: " for key in data["missing_secrets"])
    warnings = (
        [w for w in data["warnings"] if not w.startswith(shown)] if shown else data["warnings"]
    )
    if warnings:
        lines += ["", "warnings:"]
        lines += [f"  {warning}" for warning in warnings]
    return "\n".join(lines)


def _short(type_: str) -> str:
    """``aws:iam/role:Role`` -> ``iam/Role``; ``kubernetes:rbac.authorization.k8s.io/v1:Role`` -> ``rbac/Role``."""
    package, module, name = ([*type_.split(":"), "", ""])[:3]
    group = module.split("/")[0].split(".")[0] if module else package
    return f"{group}/{name}" if name else type_


def plan(
    stack: str,
    *,
    out: Path | None = None,
    as_json: bool = False,
    cloud: Cloud | None = None,
    stub_secrets: bool = False,
    config: dict[str, Any] | None = None,
    diff_against: Path | None = None,
    project_dir: Path | None = None,
    status: Status = silent,
) -> int:
    """``platform-secrets plan``: plan ``stack`` offline, print the summary, write the artifacts to ``out``.

    ``config`` overrides plain config values (``--config KEY=VALUE``); ``diff_against`` is another plan's
    folder whose access change is printed (and written into ``out``). Returns an exit code of
    ``platform_secrets.exit_codes``.
    """
    if diff_against and not (diff_against / "access.json").is_file():
        print(
            f"error: {diff_against}/access.json not found: not a plan's artifacts", file=sys.stderr
        )
        return FINDINGS

    overrides = dict(config or {})
    origins = {key: f"--config {key}=..." for key in overrides}
    if cloud:
        overrides["cloud"] = cloud.value
        origins["cloud"] = f"--cloud {cloud.value}"
    try:
        if out:
            # A failed plan must not leave an earlier run's artifacts looking like its own.
            artifacts.clear(out)
        data_root = project_dir_.data_root(project_dir, stack, overrides, origins)
        secrets = (
            offline.stub_secrets(stack, overrides, root=data_root or offline.ROOT)
            if stub_secrets
            else None
        )
        with status(f"planning stack {stack} under the mock engine"):
            result = offline.run(
                stack,
                overrides=overrides,
                secrets=secrets,
                override_origins=origins,
                secrets_origin="--stub-secrets",
                config_root=data_root,
            )
    except (
        offline.StackConfigError,
        artifacts.NotAPlanError,
        project_dir_.ProjectDirError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return FINDINGS
    if result.error is not None:
        hint = _review_hint(stack, cloud, stub_secrets, result)
        print(f"error: {result.error}{hint}", file=sys.stderr)
        return FINDINGS
    with tempfile.TemporaryDirectory(prefix="plan-") as tmp:
        target = out or (Path(tmp) / "head" if diff_against else None)
        matrix = (
            artifacts.write(result, target) if target else artifacts.access.derive(result.resources)
        )
        data = summary(result, matrix)
        if secrets:
            data["stubbed_secrets"] = sorted(secrets)
        diff = access_diff.diff(diff_against, target) if diff_against and target else None
    if diff is not None:
        data["access_diff"] = {"changed": access_diff.changed(diff), **diff}
        if out:
            access_diff.write(diff, out)
    if as_json:
        print(json.dumps(data, indent=2))
        return OK
    print(render(data))
    if diff is not None:
        print(f"\naccess change against {diff_against}/:\n\n{access_diff.render(diff)}", end="")
    if out:
        print(f"\nartifacts written to {out}/")
    return OK


def _review_hint(stack: str, cloud: Cloud | None, stub_secrets: bool, result: RunResult) -> str:
    """How to get a review-only plan when the stack stopped for secrets it lacks."""
    if stub_secrets or "but not set" not in str(result.error):
        return ""
    make = f"make plan STACK={stack} REVIEW=1" + (f" CLOUD={cloud.value}" if cloud else "")
    return (
        "\nFor a review-only plan before these secrets are set, stub them: "
        f"`{make}` (or add --stub-secrets); `pulumi up` still needs the real values."
    )
