"""Read the GitHub Actions workflows as GitHub would: triggers, jobs, the reusable workflows they call.

Shared by ``tests/ci/test_ci_workflows.py`` and ``tests/attacks/test_attacks_ci.py``. GitHub Actions cannot run
here, so what a job can reach is derived from the YAML: its own ``environment`` and ``vars``, and for a job
that calls a local reusable workflow, that workflow's jobs with the caller's ``with:`` values substituted (one
combination per matrix entry).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
GITHUB = ROOT / ".github"
WORKFLOW_DIR = GITHUB / "workflows"

UNREVIEWED_TRIGGERS = {"pull_request", "pull_request_target"}
"""Events whose jobs run (or may be edited to run) code from a branch nobody has reviewed yet."""


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def workflows(directory: Path = WORKFLOW_DIR) -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in sorted(directory.glob("*.yml"))}


@dataclass
class Reach:
    """One way a job can run: the workflow that started it, and everything it can name once it runs."""

    workflow: str
    job: str
    triggers: set[str]
    environments: set[str] = field(default_factory=set)
    stacks: set[str] = field(default_factory=set)
    conditions: list[str] = field(default_factory=list)

    def reaches_prod(self) -> bool:
        """A GitHub environment or a called stack named like prod (``prod``, ``preview-prod``, ``prod-dr``)."""
        return any(re.search(r"prod", v, re.IGNORECASE) for v in self.environments | self.stacks)


DYNAMIC = "<generated matrix value: may be prod>"
"""What a ``${{ matrix.x }}`` of a generated (``fromJSON``) matrix stands for: anything, prod included."""


def _matrix_rows(job: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    if isinstance(matrix, str):  # generated at run time: every matrix value may be any stack
        names = set(re.findall(r"matrix\.([\w-]+)", yaml.safe_dump(job)))
        return [dict.fromkeys(sorted(names), DYNAMIC)]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    rows = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    rows = rows or [{}]
    rows += list(matrix.get("include", []))
    return rows


def _substitute(value: Any, context: dict[str, Any]) -> str:
    """``${{ matrix.x }}`` / ``${{ inputs.x }}`` replaced by what the caller passes; other expressions kept."""
    text = value if isinstance(value, str) else yaml.safe_dump(value)

    def one(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        return str(context[expr]) if expr in context else match.group(0)

    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", one, text)


def reaches(directory: Path = WORKFLOW_DIR) -> list[Reach]:
    """Every (workflow, job, matrix row) with what it can reach, following calls into local workflows."""
    found: list[Reach] = []
    for name, workflow in workflows(directory).items():
        on = set(triggers(workflow))
        if on == {"workflow_call"}:
            continue  # judged through its callers
        for job_name, job in workflow["jobs"].items():
            for row in _matrix_rows(job):
                context = {f"matrix.{k}": v for k, v in row.items()}
                found.append(_reach(directory, name, job_name, job, on, context))
    return found


def _reach(
    directory: Path,
    name: str,
    job_name: str,
    job: dict[str, Any],
    on: set[str],
    context: dict[str, Any],
) -> Reach:
    reach = Reach(name, job_name, on)
    if job.get("if"):
        reach.conditions.append(str(job["if"]))
    if "environment" in job:
        env = job["environment"]
        reach.environments.add(
            _substitute(env.get("name") if isinstance(env, dict) else env, context)
        )
    uses = job.get("uses", "")
    if uses.startswith("./.github/workflows/"):
        called = load(directory / Path(uses).name)
        inputs = {
            f"inputs.{k}": _substitute(v, context) for k, v in (job.get("with") or {}).items()
        }
        if "inputs.stack" in inputs:
            reach.stacks.add(inputs["inputs.stack"])
        for called_job in called["jobs"].values():
            if "environment" in called_job:
                reach.environments.add(_substitute(called_job["environment"], inputs))
            if called_job.get("if"):
                reach.conditions.append(str(called_job["if"]))
    return reach


def run_scripts(job: dict[str, Any], env: dict[str, str], cwd: Path, until: str) -> tuple[int, str]:
    """Run a job's ``run:`` steps in order, as GitHub's default shell does (``bash -eo pipefail``), up to and
    including the first whose script contains ``until``; ``uses:`` steps are left out (nothing is checked out
    or installed: ``cwd`` stands for the checkout). The first failing step's exit code and output, or 0."""
    import os
    import subprocess

    output = []
    for step in job["steps"]:
        script = step.get("run")
        if script is None:
            continue
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
            check=False,
        )
        output.append(done.stdout + done.stderr)
        if done.returncode != 0:
            return done.returncode, "".join(output)
        if until in script:
            return 0, "".join(output)
    raise AssertionError(f"no step runs {until!r}")
