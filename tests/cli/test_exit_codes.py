"""One set of exit codes for every subcommand (``platform_secrets.exit_codes``): 0 fine, 1 findings or
refused input (a usage error included), 2 could not run; and ``--json`` prints JSON only, quiet in CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from platform_secrets.cli.app import main
from platform_secrets.paths import PROJECT_ROOT


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--stak", "dev"],
        ["audit", "--stack", "dev", "--jsn"],
        ["env", "pull", "--stack", "dev", "--servce", "backend"],
        ["derived", "--chek"],
        ["scan", "--sinc", "HEAD"],
        ["diff", "a", "b", "--outt", "c"],
    ],
)
def test_a_misspelt_flag_exits_1_naming_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    wrong = next(a for a in argv if a.startswith("--") and a not in ("--stack",))
    assert f"No such option: {wrong}" in err and err.count("Error:") == 1, err


def test_a_refused_value_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--config", "no-equals-sign"]) == 1
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_a_stack_that_does_not_exist_is_refused_input_for_plan_env_and_audit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (
        ["plan", "--stack", "nosuchstack"],
        ["env", "check", "--stack", "nosuchstack", "--service", "backend"],
        ["audit", "--stack", "nosuchstack"],
    ):
        assert main(argv) == 1, argv
    assert "nosuchstack" in capsys.readouterr().err


def test_a_diff_of_folders_that_are_no_plans_is_refused(tmp_path: Path) -> None:
    assert main(["diff", str(tmp_path), str(tmp_path)]) == 1


def test_fresh_derived_files_exit_0() -> None:
    assert main(["derived", "--check"]) == 0


def test_a_missing_tool_binary_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--root", str(PROJECT_ROOT), "--gitleaks", str(tmp_path / "no-gitleaks")])
    assert code == 2, capsys.readouterr()


def test_an_internal_error_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from platform_secrets.generate import derived

    def broken(**_: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(derived, "derived", broken)
    assert main(["derived"]) == 2
    assert "internal error: RuntimeError: a bug" in capsys.readouterr().err


def test_every_subcommand_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["plan"], ["diff"], ["audit"], ["env", "pull"], ["env", "check"], ["env", "push"],
                 ["derived"], ["scan"]):  # fmt: skip
        assert main([*argv, "--help"]) == 0
        assert f"Example: platform-secrets {argv[0]}" in capsys.readouterr().out, argv


def test_plan_json_is_pure_json_and_ci_mode_prints_nothing_on_stderr() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "platform_secrets", "plan", "--stack", "dev", "--json"],
        capture_output=True,
        text=True,
        env={"CI": "1", "PATH": "/usr/bin:/bin", "HOME": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["stack"] == "dev"
    assert ran.stderr == ""
