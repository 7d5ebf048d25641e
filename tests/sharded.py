"""The example sharded environment, planned once per session (fixtures ``example_plan``, ``example_cloud_plans``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_secrets.model.shards import EnvironmentLayout, read_layout
from platform_secrets.offline import artifacts
from platform_secrets.offline import environment as env_plan
from platform_secrets.offline.environment import StackPlan
from platform_secrets.paths import PROJECT_ROOT

ENVIRONMENT = "example"
LAYOUT: EnvironmentLayout = read_layout(PROJECT_ROOT / "environments" / "example.yaml")
FOUNDATION = LAYOUT.foundation
SHARDS = tuple(sorted(LAYOUT.stacks))


@dataclass
class ExamplePlan:
    out: Path
    code: int
    plans: dict[str, StackPlan]


def plan_example(out: Path) -> ExamplePlan:
    held: dict[str, StackPlan] = {}
    code = env_plan.plan_environment(ENVIRONMENT, out, workers=2, on_plans=held.update)
    assert code == 0, f"the example environment's plan failed (exit {code})"
    return ExamplePlan(out, code, held)


def records(plan: StackPlan) -> str:
    """The stack's ``resources.json`` text, as the plan writes it."""
    rows = sorted((artifacts.resource_record(r) for r in plan.resources), key=lambda r: r["urn"])
    return json.dumps(rows, indent=2, sort_keys=True) + "\n"


def references(foundation: StackPlan) -> dict[str, dict[str, Any]]:
    return {f"organization/platform-secrets/{FOUNDATION}": foundation.outputs}


def plan_inline(cloud: str | None = None, **config: Any) -> dict[str, StackPlan]:
    """Every stack of the example, in this process (overrides as ``--cloud`` / ``--config`` give them)."""
    overrides = {**config, **({"cloud": cloud} if cloud else {})}
    origins = {key: f"--config {key}=..." for key in overrides}
    if cloud:
        origins["cloud"] = f"--cloud {cloud}"
    return env_plan.plan_stacks(LAYOUT, None, env_plan.InProcess(), overrides, origins)


@dataclass
class CloudPlans:
    aws: ExamplePlan
    cached: dict[str, dict[str, StackPlan]] = field(default_factory=dict)

    def __getitem__(self, cloud: str) -> dict[str, StackPlan]:
        if cloud == "aws":
            return self.aws.plans
        if cloud not in self.cached:
            self.cached[cloud] = plan_inline(cloud)
        return self.cached[cloud]


def plan_stack_inline(stack: str, **config: Any) -> StackPlan:
    origins = {key: f"--config {key}=..." for key in config}
    return env_plan.plan_stack(stack, None, config, origins)
