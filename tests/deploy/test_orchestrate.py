"""Tier 1: the environment orchestration on the Automation API, against a stand-in ``pulumi`` executable.

The real CLI is not on this machine: ``tests/servers/pulumi_standin.py`` answers what the SDK asks (version,
stack select/init, preview/up with a file event log, outputs, history) and records every call with its times.
"""

from __future__ import annotations

import json
import stat
import sys

import pytest

from platform_secrets.deploy.command import deploy
from platform_secrets.deploy.orchestrate import render, run_environment, run_moves
from platform_secrets.model.shards import parse_layout
from platform_secrets.paths import PROJECT_ROOT

STANDIN = PROJECT_ROOT / "tests" / "servers" / "pulumi_standin.py"


class Standin:
    def __init__(self, tmp_path):
        self.root = tmp_path / "cli"
        (self.root / "bin").mkdir(parents=True)
        exe = self.root / "bin" / "pulumi"
        exe.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        self.log = tmp_path / "calls.jsonl"
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.work = tmp_path / "work"
        self.work.mkdir()
        (self.work / "Pulumi.yaml").write_text("name: platform-secrets\nruntime: python\n")
        self.scenario: dict[str, dict] = {}

    def env(self):
        return {
            "STANDIN_LOG": str(self.log),
            "STANDIN_STATE": str(self.state),
            "STANDIN_SCENARIO": json.dumps(self.scenario),
        }

    def command(self):
        from pulumi import automation

        return automation.PulumiCommand(root=str(self.root), skip_version_check=True)

    def run(self, layout, action="preview", bound=2):
        for name in layout.all_stacks():
            (self.state / name).touch()
        return run_environment(
            layout,
            action,
            bound=bound,
            work_dir=self.work,
            command=self.command(),
            env_vars=self.env(),
        )

    def calls(self, verb=None):
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [c for c in lines if verb is None or c["argv"][:1] == [verb]]


@pytest.fixture
def standin(tmp_path):
    return Standin(tmp_path)


def layout(n):
    return parse_layout(
        {"foundation": "env-f", "stacks": {f"env-{i}": [f"s{i}"] for i in range(n)}}, "env.yaml"
    )


def max_overlap(calls):
    events = sorted([(c["t0"], 1) for c in calls] + [(c["t1"], -1) for c in calls])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def test_the_foundation_finishes_before_any_shard_starts(standin):
    standin.scenario = {"env-f": {"sleep": 0.5}}
    reports = standin.run(layout(3))
    previews = standin.calls("preview")
    foundation = next(c for c in previews if c["stack"] == "env-f")
    assert all(c["t0"] >= foundation["t1"] for c in previews if c["stack"] != "env-f")
    assert [r.stack for r in reports] == ["env-f", "env-0", "env-1", "env-2"]


def test_no_more_than_bound_stacks_run_at_once(standin):
    standin.scenario = {f"env-{i}": {"sleep": 0.6} for i in range(5)}
    reports = standin.run(layout(5), bound=2)
    shards = [c for c in standin.calls("preview") if c["stack"] != "env-f"]
    assert len(shards) == 5 and max_overlap(shards) == 2
    assert all(r.status == "ok" for r in reports)


def test_a_failed_shard_stops_new_starts_and_lets_running_ones_finish(standin):
    standin.scenario = {"env-0": {"fail": True, "sleep": 0.2}, "env-1": {"sleep": 1.0}}
    reports = {r.stack: r for r in standin.run(layout(5), bound=2)}
    assert reports["env-0"].status == "failed"
    assert reports["env-0"].error == "error: scenario failure"
    assert reports["env-1"].status == "ok"  # running when env-0 failed: let finish
    assert {reports[s].status for s in ("env-2", "env-3", "env-4")} == {"not-started"}
    assert {c["stack"] for c in standin.calls("preview")} == {"env-f", "env-0", "env-1"}


def test_a_failed_foundation_starts_no_shard(standin):
    standin.scenario = {"env-f": {"fail": True}}
    reports = standin.run(layout(2))
    assert [(r.stack, r.status) for r in reports] == [
        ("env-f", "failed"),
        ("env-0", "not-started"),
        ("env-1", "not-started"),
    ]
    assert {c["stack"] for c in standin.calls("preview")} == {"env-f"}


def test_up_passes_yes_skip_preview_and_never_show_secrets_history(standin):
    reports = standin.run(layout(1), action="up")
    assert [r.status for r in reports] == ["ok", "ok"]
    ups = standin.calls("up")
    assert len(ups) == 2 and all({"--yes", "--skip-preview"} <= set(c["argv"]) for c in ups)
    history = [c for c in standin.calls("stack") if c["argv"][1] == "history"]
    assert history and all("--show-secrets" not in c["argv"] for c in history)
    assert reports[0].changes == {"same": 3}


def test_a_missing_stack_is_created(standin):
    lay = layout(1)
    reports = run_environment(
        lay,
        "preview",
        bound=1,
        work_dir=standin.work,
        command=standin.command(),
        env_vars=standin.env(),
    )
    assert [r.status for r in reports] == ["ok", "ok"]
    inits = [c["stack"] for c in standin.calls("stack") if c["argv"][1] == "init"]
    assert sorted(inits) == ["env-0", "env-f"]


def test_preview_without_a_summary_event_is_a_failed_stack(standin):
    standin.scenario = {"env-0": {"no_summary": True}}
    reports = {r.stack: r for r in standin.run(layout(1))}
    assert reports["env-0"].status == "failed"
    assert "summary event" in reports["env-0"].error


def test_the_summary_names_every_stack_with_its_status(standin, tmp_path, capsys):
    write_catalog(tmp_path, "s0", "s1")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(
        "foundation: env-f\nstacks:\n  env-0: [s0]\n  env-1: [s1]\n"
    )
    (tmp_path / "Pulumi.yaml").write_text("name: platform-secrets\nruntime: python\n")
    standin.scenario = {"env-0": {"fail": True}}
    code = deploy(
        "t", "preview", parallel=1, root=tmp_path, pulumi_root=standin.root, env_vars=standin.env()
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line.split()[:2] for line in out if line.startswith("env-")] == [
        ["env-f", "ok"],
        ["env-0", "failed"],
        ["env-1", "not-started"],
    ]
    assert out[-1] == "3 stacks: 1 failed, 1 not started"


def write_catalog(root, *services):
    (root / "catalog.yaml").write_text(
        "services:\n" + "".join(f"  {name}: {{}}\n" for name in services)
    )


def test_a_bad_assignment_runs_no_stack(standin, tmp_path, capsys):
    write_catalog(tmp_path, "s0", "s1", "s2")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(
        "foundation: env-f\nstacks:\n  env-0: [s0, s1]\n  env-1: [s1]\n"
    )
    code = deploy("t", "up", root=tmp_path, pulumi_root=standin.root, env_vars=standin.env())
    err = capsys.readouterr().err
    assert code == 2
    assert "s1 is in 2 stacks (env-0, env-1)" in err and "s2 is in no stack" in err
    assert not standin.log.exists()  # not one pulumi call


def test_deploy_without_a_cli_could_not_run(tmp_path, monkeypatch, capsys):
    write_catalog(tmp_path, "s")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text("foundation: f\nstacks: {a: [s]}\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert deploy("t", "preview", root=tmp_path) == 2
    assert "pulumi CLI is not on PATH" in capsys.readouterr().err


def moved_layout():
    return parse_layout(
        {
            "foundation": "env-f",
            "stacks": {"env-0": ["s0"], "env-1": ["s1", "s2"]},
            "moved": [{"service": "s2", "from": "env-0", "to": "env-1"}],
        },
        "env.yaml",
    )


# The shape the program registers (tests/program/prod_urns.txt): the component is a child of the stack root.
S2 = "urn:pulumi:env-0::platform-secrets::pulumi:pulumi:Stack$platform-secrets:index:ServiceSecrets::s2"


def test_a_recorded_move_runs_state_move_before_the_ups(standin):
    (standin.state / "env-0").write_text(S2 + "\n")
    reports = standin.run(moved_layout(), action="up")
    moves = standin.calls("state")
    assert [c["argv"] for c in moves] == [
        ["state", "move", "--source", "env-0", "--dest", "env-1", "--yes", S2]
    ]
    ups = standin.calls("up")
    assert len(ups) == 3 and all(c["t0"] >= moves[0]["t1"] for c in ups)
    assert (standin.state / "env-1").read_text() == S2.replace("env-0", "env-1") + "\n"
    assert reports[0].stack == "move s2 env-0 -> env-1" and reports[0].status == "ok"
    assert [r.status for r in reports[1:]] == ["ok", "ok", "ok"]


def test_a_move_already_done_is_not_run_again(standin):
    (standin.state / "env-0").touch()
    (standin.state / "env-1").write_text(S2.replace("env-0", "env-1") + "\n")
    reports = run_moves(moved_layout(), "up", standin.work, standin.command(), standin.env())
    assert standin.calls("state") == []
    assert reports[0].status == "ok" and reports[0].changes == {"already moved": 1}
    exports = [c for c in standin.calls("stack") if c["argv"][1] == "export"]
    assert exports and all("--show-secrets" not in c["argv"] for c in exports)


def test_a_failed_move_starts_no_stack(standin):
    (standin.state / "env-0").write_text(S2 + "\n")
    standin.scenario = {"state-move": {"fail": True}}
    reports = standin.run(moved_layout(), action="up")
    assert [(r.stack, r.status) for r in reports] == [
        ("move s2 env-0 -> env-1", "failed"),
        ("env-f", "not-started"),
        ("env-0", "not-started"),
        ("env-1", "not-started"),
    ]
    assert standin.calls("up") == []


def test_a_preview_runs_no_move_and_reports_it_pending(standin):
    reports = run_moves(moved_layout(), "preview", standin.work, standin.command(), standin.env())
    assert not standin.log.exists()  # not one pulumi call
    assert reports[0].status == "pending" and "deploy --up" in reports[0].error
    assert render(reports).endswith("0 stacks: 0 failed, 0 not started; 1 move(s), 1 pending")


def test_the_move_finds_only_the_services_own_component():
    from platform_secrets.deploy.orchestrate import component_of

    p = "urn:pulumi:env-0::platform-secrets::"
    urns = {
        f"{p}pulumi:pulumi:Stack$platform-secrets:index:SharedSecrets::s2",
        f"{p}pulumi:pulumi:Stack$platform-secrets:index:ServiceSecrets::s22",
        f"{p}platform-secrets:index:ServiceSecrets$aws:iam/role:Role::s2",
        S2,
    }
    assert component_of(urns, "s2") == S2
    assert component_of(urns - {S2}, "s2") is None
