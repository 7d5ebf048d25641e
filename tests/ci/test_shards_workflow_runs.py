"""Tier 2: the pull-request workflow of the sharded environments (``shards.yml``), its ``stacks`` job's scripts run.

GitHub Actions cannot run here; ``tests.ci_workflows.run_scripts`` runs the job's ``run:`` steps in order under
``bash -eo pipefail`` with the workflow's and the job's ``env:`` (``uses:`` steps left out: the base checkout is
this repository, through a ``.venv`` that runs its code; the head is a git repository of data files). What the
job writes (``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``) is read back as GitHub would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from platform_secrets.paths import PROJECT_ROOT
from tests import ci_workflows as ci

WORKFLOW = ci.WORKFLOW_DIR / "shards.yml"
DATA = ["catalog.yaml", "Pulumi.yaml", "environments/example.yaml"] + [
    f"Pulumi.example-{s}.yaml" for s in ("foundation", "a", "b")
]


def _git(head: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(head), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _checkout(tmp_path: Path) -> Path:
    """The base checkout: a ``.venv`` whose ``python`` and ``platform-secrets`` run this repository's code."""
    root = tmp_path / "base"
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shims = {
        "python": f'exec {sys.executable} "$@"',
        "platform-secrets": f'exec {sys.executable} -m platform_secrets "$@"',
    }
    for name, line in shims.items():
        (bin_dir / name).write_text(f"#!/bin/sh\nPYTHONPATH={PROJECT_ROOT} {line}\n")
        (bin_dir / name).chmod(0o755)
    (root / ".github").mkdir()
    shutil.copytree(PROJECT_ROOT / ".github" / "scripts", root / ".github" / "scripts")
    return root


def _head(root: Path) -> tuple[Path, str]:
    """The pull request's head: the repository's data, then a second sharded environment ``other`` and a change
    of one setting that only ``example-b`` holds. Returns the head and the base commit."""
    head = root / ".pr-head"
    for name in DATA:
        (head / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / name, head / name)
    _git(head, "init", "-q")
    _git(head, "add", "-A")
    _git(head, "commit", "-qm", "base")
    base_sha = _git(head, "rev-parse", "HEAD")
    example = head / "environments" / "example.yaml"
    text = example.read_text()
    assert "http://events.dev.internal" in text
    example.write_text(text.replace("http://events.dev.internal", "http://events-2.dev.internal"))
    layout = yaml.safe_load(text)
    layout["foundation"] = "other-foundation"
    layout["stacks"] = {s.replace("example-", "other-"): v for s, v in layout["stacks"].items()}
    (head / "environments" / "other.yaml").write_text(yaml.safe_dump(layout))
    for stack in ("foundation", "a", "b"):
        (head / f"Pulumi.other-{stack}.yaml").write_text(
            "config:\n  platform-secrets:environmentFile: environments/other.yaml\n"
        )
    _git(head, "add", "-A")
    _git(head, "commit", "-qm", "head")
    return head, base_sha


@pytest.fixture(scope="module")
def stacks_job(tmp_path_factory):
    """The ``stacks`` job run once on a head with two sharded environments, then the ``shard`` job of
    ``other-a``: (rc, output, outputs, summary, (the shard job's rc, output, checkout))."""
    root = _checkout(tmp_path_factory.mktemp("shards-workflow"))
    workflow = ci.load(WORKFLOW)
    _, base_sha = _head(root)
    job = workflow["jobs"]["stacks"]
    env = {**workflow.get("env", {}), **job.get("env", {})}
    assert env["HEAD_DATA"] == ".pr-head", "the head's path the test builds"
    env |= {
        "BASE_SHA": base_sha,
        "GITHUB_OUTPUT": str(root / "github-output"),
        "GITHUB_STEP_SUMMARY": str(root / "summary.md"),
        "PATH": f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        # Each plan in its own process, one stack after another (no two workers to start per plan); a stack
        # planned so equals the workers' (test_environment_plan_shard.py). GitHub's runners use the default.
        "PLATFORM_SECRETS_PLAN_WORKERS": "0",
    }
    rc, out = ci.run_scripts(job, env, root, until="--github-output")
    # A matrix job runs on a fresh runner: its own checkout of the base and of the head.
    fresh = _checkout(tmp_path_factory.mktemp("shard-job"))
    shutil.copytree(root / ".pr-head", fresh / ".pr-head")
    shard_env = {
        **workflow.get("env", {}),
        **env,
        "STACK": "other-a",
        "SHARD_ENVIRONMENT": "other",
        "GITHUB_STEP_SUMMARY": str(fresh / "summary.md"),
        "PATH": f"{fresh / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    shard = (*ci.run_scripts(workflow["jobs"]["shard"], shard_env, fresh, until="--stack"), fresh)
    outputs = dict(
        line.split("=", 1) for line in (root / "github-output").read_text().splitlines() if line
    ) if rc == 0 else {}  # fmt: skip
    summary = (root / "summary.md").read_text() if (root / "summary.md").exists() else ""
    return rc, out, outputs, summary, shard


def test_a_second_sharded_environment_is_previewed_beside_the_first(stacks_job):
    """Attack (issue 19): a pull request adds environments/other.yaml (and changes one setting of example-b).
    A workflow that names its environment (``ENVIRONMENT: example``) plans, diffs and previews example's
    stacks only: other's shards deploy on main without one preview. Every environment of the head is planned,
    and the one matrix holds the shards the pull request touches in each."""
    rc, out, outputs, _, _ = stacks_job
    assert rc == 0, out
    entries = json.loads(outputs["matrix"])["include"]
    assert [(e["environment"], e["stack"]) for e in entries] == [
        ("example", "example-b"),
        ("other", "other-a"),
        ("other", "other-b"),
    ], out
    assert all(e["github_environment"] == e["stack"] for e in entries)
    assert "the base branch could not plan environment other" in out, "other is new: no base plan"


def test_each_environment_gets_its_moves_and_its_access_diff_in_the_summary(stacks_job):
    rc, out, _, summary, _ = stacks_job
    assert rc == 0, out
    for environment in ("example", "other"):
        assert f"## Services changing stack ({environment})" in summary
        assert f"## Access change of environment {environment}" in summary
    example = summary.split("## Access change of environment example", 1)[1]
    example = example.split("## Access change of environment other", 1)[0]
    assert "no access change" in example, "a setting's value changes nobody's access"
    other = summary.split("## Access change of environment other", 1)[1]
    assert "no base plan: the head's access matrix follows" in other


def test_a_shard_job_previews_its_stack_from_the_foundation_and_its_own_plan(stacks_job):
    """The ``shard`` job of a matrix entry (``other-a``): its facts, its plan (the foundation and itself, not
    the environment again: ``tests/offline/test_environment_plan_shard.py``) and its count under the limit."""
    rc, out, fresh = stacks_job[4]
    assert rc == 0, out
    assert "other-a: in environments/other.yaml, " in out and "resources (limit 1000)" in out, out
    planned = sorted(p.name for p in (fresh / "plan-head").iterdir())
    assert planned == ["other-a", "other-foundation", "partial.json"], (
        "the other shard is not planned"
    )
    assert "other-a" in (fresh / "summary.md").read_text()


def test_an_environment_file_named_to_inject_a_workflow_command_is_refused(tmp_path, capsys):
    """Attack: an environment file called ``x::error::y.yaml`` in the head; its name would reach the log inside
    ``::warning::`` (a workflow command). The list of environments refuses it, naming the file."""
    from platform_secrets.ci.shard_matrix import main

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "ok.yaml").write_text("foundation: f\nstacks: {}\n")
    (tmp_path / "environments" / "x::error::y.yaml").write_text("foundation: f\nstacks: {}\n")
    assert main(["--list-environments", "--project-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "environments/x::error::y.yaml: an environment's name must match" in err
    (tmp_path / "environments" / "x::error::y.yaml").unlink()
    assert main(["--list-environments", "--project-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "ok\n"
