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


@pytest.fixture
def plans(tmp_path):
    """A project with shards t-a, t-b, t-c and base/head environment plans in which only t-b differs."""
    (tmp_path / "catalog.yaml").write_text("services:\n  s1: {}\n  s2: {}\n  s3: {}\n")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(
        "foundation: t-f\nstacks:\n  t-c: [s3]\n  t-a: [s1]\n  t-b: [s2]\n"
    )
    for side in ("base", "head"):
        for stack in ("t-f", "t-a", "t-b", "t-c"):
            records = [{"urn": f"urn:pulumi:{stack}::p::x:y:Z::{stack}", "inputs": {"v": 1}}]
            if side == "head" and stack in ("t-b", "t-f"):
                records[0]["inputs"] = {"v": 2}
            (tmp_path / side / stack).mkdir(parents=True)
            (tmp_path / side / stack / "resources.json").write_text(json.dumps(records))
    return tmp_path


def affected_matrix(root, capsys, changed=()):
    files = root / "changed.txt"
    files.write_text("".join(f"{c}\n" for c in changed))
    code = main(
        ["--environment", "t", "--base", str(root / "base"), "--head", str(root / "head"),
         "--changed-files", str(files), "--project-dir", str(root)]
    )  # fmt: skip
    out = capsys.readouterr()
    return code, [e["stack"] for e in json.loads(out.out)["include"]] if code == 0 else out.err


def test_matrix_lists_only_affected_stacks_sorted(plans, capsys):
    assert affected_matrix(plans, capsys, ["catalog.yaml"]) == (0, ["t-b"])


def test_a_new_shard_and_a_changed_stack_file_are_affected(plans, capsys):
    (plans / "base" / "t-c" / "resources.json").unlink()
    code, stacks = affected_matrix(plans, capsys, ["Pulumi.t-a.yaml"])
    assert (code, stacks) == (0, ["t-a", "t-b", "t-c"])


@pytest.mark.parametrize(
    "path",
    ["requirements.lock", "policy/requirements.lock", "policy/rules/x.py", "Pulumi.yaml",
     "platform_secrets/program/clouds/aws.py", "__main__.py"],
)  # fmt: skip
def test_a_provider_pin_change_affects_every_stack(plans, capsys, path):
    assert affected_matrix(plans, capsys, ["README.md", path]) == (0, ["t-a", "t-b", "t-c"])


def test_a_pull_request_touching_no_shard_gives_an_empty_matrix(plans, capsys):
    for stack in ("t-b", "t-f"):
        (plans / "head" / stack / "resources.json").write_text(
            (plans / "base" / stack / "resources.json").read_text()
        )
    assert affected_matrix(plans, capsys, ["README.md"]) == (0, [])


def test_an_affected_matrix_over_256_stacks_is_refused(tmp_path, capsys):
    names = [f"s{i:03}" for i in range(257)]
    (tmp_path / "catalog.yaml").write_text("services:\n" + "".join(f"  {n}: {{}}\n" for n in names))
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(
        yaml.safe_dump({"foundation": "f", "stacks": {f"t-{n}": [n] for n in names}})
    )
    for n in names:
        (tmp_path / "head" / f"t-{n}").mkdir(parents=True)
        (tmp_path / "head" / f"t-{n}" / "resources.json").write_text("[]")
    (tmp_path / "base").mkdir()
    code, err = affected_matrix(tmp_path, capsys)
    assert code == 1
    assert "257 shards: a GitHub matrix runs at most 256 jobs" in err


def test_the_shards_matrix_command_takes_the_base_and_the_head(plans, capsys):
    from platform_secrets.cli.app import main as cli_main

    code = cli_main(
        ["shards", "matrix", "-e", "t", "--base", str(plans / "base"), "--head",
         str(plans / "head"), "--project-dir", str(plans)]
    )  # fmt: skip
    assert code == 0
    assert [e["stack"] for e in json.loads(capsys.readouterr().out)["include"]] == ["t-b"]


def test_the_pull_request_plans_base_and_head_and_refuses_unrecorded_moves_before_the_matrix():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["stacks"]["steps"]
    runs = [s.get("run", "") for s in steps]
    plans = next(r for r in runs if '--out "plan-head/$env"' in r)
    assert 'plan --environment "$env" --out "plan-base/$env"' in plans
    assert '--project-dir "$HEAD_DATA" --out "plan-head/$env"' in plans, (
        "the head is data, planned by base tools"
    )
    assert "--list-environments" in plans, "every environment of the head, their names checked"
    order = [i for i, r in enumerate(runs) for key in ("shards moves", "diff plan-base plan-head",
             "shard_matrix") if key in r]  # fmt: skip
    assert order == sorted(order) and len(order) == 3, (
        "moves, then the access diff, then the matrix"
    )
    assert 'exit "$rc"' in next(r for r in runs if "shards moves" in r), (
        "a refused move fails the job"
    )
    assert "--every-environment" in runs[-1]
    assert "--base plan-base --head plan-head --changed-files changed-files.txt" in runs[-1]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert [c["with"]["ref"] for c in checkouts] == [
        "${{ github.event.pull_request.base.sha }}",
        "${{ github.event.pull_request.head.sha }}",
    ]


def _two_environments(root):
    (root / "catalog.yaml").write_text("services:\n  s1: {}\n  s2: {}\n")
    (root / "environments").mkdir()
    (root / "environments" / "u.yaml").write_text("foundation: u-f\nstacks:\n  u-a: [s1, s2]\n")
    (root / "environments" / "t.yaml").write_text(
        "foundation: t-f\nstacks:\n  t-b: [s2]\n  t-a: [s1]\n"
    )


def test_every_environment_is_one_matrix_environment_by_environment(tmp_path, capsys):
    _two_environments(tmp_path)
    assert main(["--every-environment", "--project-dir", str(tmp_path)]) == 0
    found = [(e["environment"], e["stack"]) for e in json.loads(capsys.readouterr().out)["include"]]
    assert found == [("t", "t-a"), ("t", "t-b"), ("u", "u-a")]


def test_every_environment_reads_each_ones_plans_from_its_own_folder(plans, capsys):
    # `plans`' environment t, its base and head plans moved under DIR/t/ as the workflow writes them.
    for side in ("base", "head"):
        (plans / side).rename(plans / f"{side}-t")
        (plans / side).mkdir()
        (plans / f"{side}-t").rename(plans / side / "t")
    code = main(
        ["--every-environment", "--base", str(plans / "base"), "--head", str(plans / "head"),
         "--project-dir", str(plans)]
    )  # fmt: skip
    assert code == 0
    assert [e["stack"] for e in json.loads(capsys.readouterr().out)["include"]] == ["t-b"]


def test_every_environment_names_the_problems_of_each_environment(tmp_path, capsys):
    _two_environments(tmp_path)
    (tmp_path / "environments" / "u.yaml").write_text("foundation: u-f\nstacks:\n  u-a: [s1]\n")
    (tmp_path / "environments" / "t.yaml").write_text("foundation: t-f\nstacks:\n  t-a: [s1, s9]\n")
    assert main(["--every-environment", "--project-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "environments/t.yaml" in err and "s9" in err
    assert "environments/u.yaml" in err and "s2" in err


def test_every_environment_counts_github_s_cap_over_all_of_them(tmp_path, capsys):
    # Each environment holds every service: 130 shards in t, 127 in u (one holds four), each under the cap.
    names = [f"s{i:03}" for i in range(130)]
    (tmp_path / "catalog.yaml").write_text("services:\n" + "".join(f"  {n}: {{}}\n" for n in names))
    (tmp_path / "environments").mkdir()
    layouts = {"t": {f"t-{n}": [n] for n in names}, "u": {f"u-{n}": [n] for n in names[:126]}}
    layouts["u"]["u-rest"] = names[126:]
    for env, stacks in layouts.items():
        (tmp_path / "environments" / f"{env}.yaml").write_text(
            yaml.safe_dump({"foundation": f"{env}-f", "stacks": stacks})
        )
    assert main(["--every-environment", "--project-dir", str(tmp_path)]) == 1
    assert (
        "257 shards in 2 environments: a GitHub matrix runs at most 256 jobs"
        in capsys.readouterr().err
    )


def test_every_environment_checks_no_single_stack(capsys):
    assert main(["--every-environment", "--stack", "example-a"]) == 2
    assert "--stack and --plan check one --environment" in capsys.readouterr().err
