"""The declared side of a sharded environment's audit: the union of every stack's plan.

Audited stack by stack, each shard would take every other stack's entries for orphans (entries under the
environment's prefix that it does not declare) and the foundation every shard's readers for undeclared ones.
The environment is one store, so it is judged once, against what all its stacks declare together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platform_secrets.audit.declared import AuditInputError, Declared, declare
from platform_secrets.model import shards
from platform_secrets.offline import environment as env_plan
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult


def declare_environment(
    environment: str,
    overrides: Mapping[str, Any] | None = None,
    root: Path = offline.ROOT,
    plans: Mapping[str, env_plan.StackPlan] | None = None,
) -> Declared:
    """Plan every stack of ``environments/<environment>.yaml`` (or take ``plans``) and declare their union.

    Each stack's missing config secrets are stubbed, its own only (another shard's would be refused)."""
    origin = f"environments/{environment}.yaml"
    try:
        layout = shards.read_layout(root / origin, origin)
    except (shards.LayoutError, OSError) as error:
        raise AuditInputError(str(error)) from None
    given = dict(overrides or {})
    if plans is None:
        secrets = {
            stack: _own_stubs(layout, stack, given, root, origin) for stack in layout.all_stacks()
        }
        origins = {key: f"--config {key}=..." for key in given}
        plans = env_plan.plan_stacks(
            layout, None, env_plan.InProcess(), given, origins, secrets=secrets
        )
    failed = [f"{stack}: {plan.error}" for stack, plan in plans.items() if plan.error]
    if failed or set(plans) != set(layout.all_stacks()):
        raise AuditInputError(
            f"the offline plan of environment {environment} fails: " + "; ".join(failed)
        )
    union = [r for plan in plans.values() for r in plan.resources]
    run = RunResult(
        stack=environment, preview=False, resources=union, outputs={}, secret_outputs=set()
    )
    declared = declare(layout.foundation, given, root, run=run)
    return Declared(
        stack=environment,
        settings=declared.settings,
        entries=declared.entries,
        matrix=declared.matrix,
        resources=declared.resources,
    )


def _own_stubs(
    layout: shards.EnvironmentLayout, stack: str, overrides: dict[str, Any], root: Path, origin: str
) -> dict[str, str]:
    role = shards.role_of(layout, stack, origin)
    owners = role.owners if role is not None else frozenset()
    stubs = offline.stub_secrets(stack, overrides, root)
    return {key: value for key, value in stubs.items() if key.split(".", 1)[0] in owners}
