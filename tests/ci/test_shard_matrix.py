"""Tier 1: the shards' GitHub Actions matrix comes from the assignment, and the workflow consumes it safely."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from platform_secrets.ci.shard_matrix import main, matrix, matrix_of
from platform_secrets.model.shards import LayoutError, parse_layout
from platform_secrets.paths import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "shards.yml"


def test_matrix_lists_every_shard_sorted_and_not_the_foundation(capsys):
    assert matrix("example") == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "include": [
            {"stack": "example-a", "environment": "example", "github_environment": "example-a"},
            {"stack": "example-b", "environment": "example", "github_environment": "example-b"},
        ]
    }


def test_matrix_follows_the_assignment_file(tmp_path, capsys):
    (tmp_path / "environments").mkdir()
    (tmp_path / "catalog.yaml").write_text((PROJECT_ROOT / "catalog.yaml").read_text())
    layout = yaml.safe_load((PROJECT_ROOT / "environments" / "example.yaml").read_text())
    layout["stacks"] = {
        "z-last": layout["stacks"]["example-a"],
        "a-first": layout["stacks"]["example-b"],
    }
    (tmp_path / "environments" / "example.yaml").write_text(yaml.safe_dump(layout))
    assert matrix("example", root=tmp_path) == 0
    stacks = [e["stack"] for e in json.loads(capsys.readouterr().out)["include"]]
    assert stacks == ["a-first", "z-last"]


def test_matrix_refuses_more_than_256_stacks():
    layout = parse_layout(
        {"foundation": "f", "stacks": {f"s{i:03}": [f"svc{i}"] for i in range(257)}}, "e.yaml"
    )
    with pytest.raises(LayoutError, match="257 shards: a GitHub matrix runs at most 256 jobs"):
        matrix_of(layout, "e")


def test_matrix_is_written_to_github_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["--environment", "example", "--github-output"]) == 0
    line = out.read_text()
    assert line.startswith("matrix={") and json.loads(line.removeprefix("matrix="))["include"]


def test_a_stack_not_in_the_environment_is_refused(capsys):
    assert main(["--environment", "example", "--stack", "prod"]) == 1
    assert "stack prod is not in environments/example.yaml" in capsys.readouterr().err


def test_shard_matrix_comes_from_the_assignment_job():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert "shard_matrix" in jobs["stacks"]["steps"][-1]["run"]
    assert jobs["stacks"]["outputs"]["matrix"] == "${{ steps.m.outputs.matrix }}"
    assert jobs["shard"]["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.matrix) }}"
    assert jobs["shard"]["needs"] == ["stacks"]


def test_matrix_values_never_expand_in_run_scripts():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    runs = [step.get("run", "") for job in jobs.values() for step in job.get("steps", [])]
    assert runs and not any(re.search(r"\$\{\{", run) for run in runs)
    assert jobs["shard"]["env"]["STACK"] == "${{ matrix.stack }}"


def test_the_shard_workflow_holds_no_credential():
    data = yaml.safe_load(WORKFLOW.read_text())
    assert data["permissions"] == {"contents": "read"}
    assert all(
        "permissions" not in job and "environment" not in job for job in data["jobs"].values()
    )
    assert not re.search(r"\$\{\{\s*secrets\.", WORKFLOW.read_text())


def test_a_generated_matrix_job_is_judged_as_reaching_prod(tmp_path):
    # A pull-request job whose environment comes from a generated matrix could be any stack's, prod's too:
    # the workflow checks (tests/attacks/test_attacks_ci.py) must see it as reaching prod.
    from tests.ci_workflows import reaches

    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["shard"]
    job["environment"] = "${{ matrix.github_environment }}"
    workflow = {"name": "w", "on": {"pull_request": {}}, "jobs": {"shard": job}}
    (tmp_path / "w.yml").write_text(yaml.safe_dump(workflow))
    found = [r for r in reaches(tmp_path) if r.job == "shard"]
    assert found and all(r.reaches_prod() for r in found)
    job.pop("environment")
    (tmp_path / "w.yml").write_text(yaml.safe_dump(workflow))
    assert not any(r.reaches_prod() for r in reaches(tmp_path))
