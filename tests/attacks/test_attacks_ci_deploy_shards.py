"""Attacks on the deploy of a sharded environment (issue 19, item 4): ``deploy.yml``'s foundation and shard jobs.

The workflow cannot run here: its job graph is read as GitHub reads it (``tests/ci_conditions.py`` evaluates
each ``if:`` for a scenario of outcomes), and its matrices come from ``platform_secrets.ci.deploy_matrix``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_secrets.ci.deploy_matrix import deploy_matrices
from platform_secrets.model.shards import LayoutError
from tests import ci_conditions
from tests import ci_workflows as ci

EMPTY = json.dumps({"include": []}, separators=(",", ":"))
ONE = json.dumps({"include": [{"stack": "s", "environment": "e", "github_environment": "s"}]})
SHARD_JOBS = ("preview-shard", "up-shard")


def deploy_jobs() -> dict[str, Any]:
    return ci.load(ci.WORKFLOW_DIR / "deploy.yml")["jobs"]


def generated(previews: bool = True) -> dict[str, dict[str, str]]:
    """The generator job's outputs: one foundation and one shard, prod (with previews) or not."""
    preview = ONE if previews else EMPTY
    return {
        "sharded-stacks": {
            "foundations": ONE,
            "foundation_previews": preview,
            "shards": ONE,
            "shard_previews": preview,
        }
    }


def run(**kwargs: Any) -> dict[str, str]:
    return ci_conditions.run(deploy_jobs(), outputs=kwargs.pop("outputs", generated()), **kwargs)


def test_a_shard_deploys_before_or_without_its_foundation() -> None:
    """Attack: the shards start beside the foundation (no ``needs``), or after a foundation that failed or was
    skipped (``if: always()``, or ``!cancelled() && !failure()`` alone, which a skipped foundation passes): a
    shard reads the foundation's outputs (stack references) and the grants of its shared secrets, so it deploys
    against a foundation that is not there, or is stale. Every shard job needs ``up-foundation``, and runs only
    once it succeeded."""
    jobs = deploy_jobs()
    for name in SHARD_JOBS:
        assert "up-foundation" in jobs[name]["needs"], name
    assert run() == dict.fromkeys(jobs, "success")
    stops = [
        ("failure", "up-foundation"),
        ("failure", "preview-foundation"),
        ("failure", "sharded-stacks"),
    ]
    stops += [("skipped", "up-foundation"), ("skipped", "sharded-stacks")]
    for outcome, start in stops:
        results = run(outcomes={start: outcome})
        assert [results[j] for j in SHARD_JOBS] == ["skipped", "skipped"], (start, outcome)


def test_a_dev_environment_without_previews_still_deploys_its_shards() -> None:
    """Control for the attack above: the guard is not "never": with no prod stack the preview jobs are skipped
    (empty matrices), and the foundation and shards still go up; a failed shard preview stops every shard up."""
    results = run(outputs=generated(previews=False))
    assert results["preview-foundation"] == results["preview-shard"] == "skipped"
    assert results["up-foundation"] == results["up-shard"] == "success"
    assert run(outcomes={"preview-shard": "failure"})["up-shard"] == "skipped"
    assert run(outcomes={"preview-foundation": "failure"})["up-foundation"] == "skipped"


def test_a_shard_job_runs_from_a_feature_branch() -> None:
    """Attack: ``workflow_dispatch`` the deploy on a feature branch: its generator (the branch's code) lists any
    stack under any GitHub environment and the shard jobs take credentials for them. Off main no job of the
    sharded deploy starts (and ``pulumi-stack.yml`` refuses again, before its checkout)."""
    results = run(ref="refs/heads/feature")
    assert {results[j] for j in results} == {"skipped"}, results


def test_a_matrix_value_is_expanded_in_a_script() -> None:
    """Attack: a generated matrix value (a stack name from the assignment, a branch's at worst) expanded by
    ``${{ }}`` inside a ``run:`` becomes shell code in a credentialed job. In deploy.yml a matrix value appears
    only in a job's ``name``, its ``with:`` (the reusable job's inputs, which it passes through ``env:``) and
    its ``strategy``; no script names one."""
    for name, job in deploy_jobs().items():
        for key, value in job.items():
            if key not in ("name", "with", "strategy", "env"):
                assert "matrix." not in yaml.safe_dump(value), (name, key)
        for step in job.get("steps", []):
            assert not re.search(r"\$\{\{", str(step.get("run", ""))), (name, step)


def test_a_shard_runs_under_another_stacks_github_environment() -> None:
    """Attack: the shard jobs name a fixed or shared GitHub environment (``dev``, ``prod``, the foundation's), so
    one shard's deployer holds another stack's role and Pulumi team. Each matrix job passes the entry's own
    ``github_environment`` (the stack's name, or ``preview-<stack>``), and up-ing a prod stack waits for its
    preview, as prod does."""
    jobs = deploy_jobs()
    matrix_jobs = {
        n: j for n, j in jobs.items() if isinstance(j.get("strategy", {}).get("matrix"), str)
    }
    assert set(matrix_jobs) == {"preview-foundation", "up-foundation", *SHARD_JOBS}
    for name, job in matrix_jobs.items():
        output = name.split("-")[1] + ("s" if name.startswith("up-") else "_previews")
        assert (
            job["strategy"]["matrix"]
            == f"${{{{ fromJSON(needs.sharded-stacks.outputs.{output}) }}}}"
        )
        assert job["strategy"]["fail-fast"] is False and 1 <= job["strategy"]["max-parallel"] <= 8
        assert job["uses"] == "./.github/workflows/pulumi-stack.yml"
        assert job["with"] == {
            "stack": "${{ matrix.stack }}",
            "command": name.split("-")[0],
            "environment": "${{ matrix.github_environment }}",
        }, name
    assert "preview-foundation" in jobs["up-foundation"]["needs"]
    assert "preview-shard" in jobs["up-shard"]["needs"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two environments: ``live`` (prod: foundation live-base, shards live-a, live-b) and ``lab`` (dev), plus
    the one-stack ``dev`` and ``prod``."""
    (tmp_path / "catalog.yaml").write_text("services:\n  s1: {}\n  s2: {}\n  s3: {}\n")
    (tmp_path / "environments").mkdir()
    layouts = {
        "live": {"foundation": "live-base", "stacks": {"live-b": ["s2"], "live-a": ["s1", "s3"]}},
        "lab": {"foundation": "lab-base", "stacks": {"lab-a": ["s1", "s2", "s3"]}},
    }
    for env, layout in layouts.items():
        (tmp_path / "environments" / f"{env}.yaml").write_text(yaml.safe_dump(layout))
        for stack in [layout["foundation"], *layout["stacks"]]:
            write_stack(tmp_path, stack, "prod" if env == "live" else "dev", env)
    for stack in ("dev", "prod"):
        write_stack(tmp_path, stack, stack)
    return tmp_path


def write_stack(root: Path, stack: str, environment: str, env_file: str | None = None) -> None:
    join = f"  platform-secrets:environmentFile: environments/{env_file}.yaml\n" if env_file else ""
    (root / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n{join}  platform-secrets:environment: {environment}\n"
    )


def stacks_of(data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        k: [(e["stack"], e["github_environment"]) for e in v["include"]] for k, v in data.items()
    }


def test_a_prod_shard_is_previewed_before_its_protected_up(project: Path) -> None:
    """Attack: a prod environment split into shards deploys each shard straight to ``up`` (no preview for the
    reviewers of its protected environment), or is judged dev by a name that does not say prod. Prod-ness
    comes from the stack's files: only the ``live`` stacks get a ``preview-<stack>``, each stack its own
    GitHub environment."""
    assert stacks_of(deploy_matrices(project)) == {
        "foundations": [("lab-base", "lab-base"), ("live-base", "live-base")],
        "foundation_previews": [("live-base", "preview-live-base")],
        "shards": [("lab-a", "lab-a"), ("live-a", "live-a"), ("live-b", "live-b")],
        "shard_previews": [("live-a", "preview-live-a"), ("live-b", "preview-live-b")],
    }


def test_a_stack_named_like_another_stacks_github_environment_is_refused(project: Path) -> None:
    """Attack: a dev shard named ``preview-prod`` (or ``preview-live-a``): its ``up`` runs under the GitHub
    environment that holds prod's (or live-a's) preview role and team. The generator refuses every GitHub
    environment two stacks would share, and a stack in two environment files, naming each."""
    layout = yaml.safe_load((project / "environments" / "lab.yaml").read_text())
    layout["stacks"] = {"preview-prod": ["s1"], "preview-live-a": ["s2"], "live-b": ["s3"]}
    (project / "environments" / "lab.yaml").write_text(yaml.safe_dump(layout))
    for stack in ("preview-prod", "preview-live-a"):
        write_stack(project, stack, "dev", "lab")
    with pytest.raises(LayoutError) as error:
        deploy_matrices(project)
    text = str(error.value)
    for name in ("preview-prod", "preview-live-a"):
        assert f"GitHub environment {name} would be shared by two stacks" in text, text
    assert "stack live-b is in both environments/lab.yaml and environments/live.yaml" in text, text


@pytest.mark.parametrize(
    "condition",
    [
        "always() && github.ref == 'refs/heads/main'",
        "!cancelled() && !failure() && github.ref == 'refs/heads/main'",
        "github.ref == 'refs/heads/main' && needs.sharded-stacks.outputs.shards != '{\"include\":[]}'",
    ],
    ids=["always", "not-failure-alone", "default-success"],
)
def test_control_a_weaker_shard_guard_is_seen(condition: str) -> None:
    """Control for the ordering attack: the same reading flags each guard that is not enough (``always()`` runs
    after a failed foundation, ``!cancelled() && !failure()`` after a skipped one) or too much (the default
    ``success()`` never deploys a dev shard, whose skipped preview job it counts as not a success)."""
    jobs = deploy_jobs()
    jobs["up-shard"] = {**jobs["up-shard"], "if": condition}
    scenarios = [
        ({"up-foundation": "failure"}, generated(), "skipped"),
        ({"up-foundation": "skipped"}, generated(), "skipped"),
        ({}, generated(previews=False), "success"),
    ]
    wrong = [
        (outcomes, expected)
        for outcomes, outputs, expected in scenarios
        if ci_conditions.run(jobs, outcomes=outcomes, outputs=outputs)["up-shard"] != expected
    ]
    assert wrong, "this guard should have been seen as wrong"


def test_an_empty_matrix_is_the_literal_each_job_skips_on(tmp_path: Path, monkeypatch) -> None:
    """Attack: the generator writes an empty matrix as ``{"include": []}`` (a space) while the jobs compare with
    ``'{"include":[]}'``: the comparison never matches, ``fromJSON`` gets an empty matrix and the job fails on
    every push without a sharded environment. The generator's empty output is byte for byte the workflow's."""
    from platform_secrets.ci.deploy_matrix import OUTPUTS, main

    (tmp_path / "catalog.yaml").write_text("services: {}\n")
    (tmp_path / "environments").mkdir()
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["--github-output", "--project-dir", str(tmp_path)]) == 0
    assert out.read_text().splitlines() == [f"{name}={EMPTY}" for name in OUTPUTS]
    jobs = deploy_jobs()
    for name, output in [("preview-foundation", "foundation_previews"), ("up-foundation", "foundations"),
                         ("preview-shard", "shard_previews"), ("up-shard", "shards")]:  # fmt: skip
        assert f"needs.sharded-stacks.outputs.{output} != '{EMPTY}'" in jobs[name]["if"], name


def test_a_recorded_move_is_deployed_by_two_parallel_ups(project: Path) -> None:
    """Attack: merge a ``moved:`` record (s3 from live-a to live-b). The CI's per-stack ups run no ``pulumi
    state move``: live-a's up deletes the service (new generated values in dev; a protected prod entry refuses,
    half-way) while live-b's up creates it again beside it. The deploy of an environment with a pending move is
    refused before any stack, pointing to the orchestration that moves first (runbooks/shards.md)."""
    path = project / "environments" / "live.yaml"
    layout = yaml.safe_load(path.read_text())
    layout["stacks"] = {"live-a": ["s1"], "live-b": ["s2", "s3"]}
    layout["moved"] = [{"service": "s3", "from": "live-a", "to": "live-b"}]
    path.write_text(yaml.safe_dump(layout))
    with pytest.raises(LayoutError, match=r"pending move s3 live-a -> live-b") as error:
        deploy_matrices(project)
    assert "platform-secrets deploy --environment live --up" in str(error.value)
