"""``plan --environment ENV --workers N`` (or ``$PLATFORM_SECRETS_PLAN_WORKERS``): how many spawned processes plan
the shards side by side; 0 plans every stack in this process, one after another (a small environment: no
interpreter to start per worker). What is planned does not depend on it (``tests/sharded.py`` plans in two
workers, ``tests/offline/test_environment_plan_shard.py`` in this process, and their shards are compared).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from platform_secrets.cli import plan as plan_cli
from platform_secrets.cli.app import main as cli_main

ENVVAR = "PLATFORM_SECRETS_PLAN_WORKERS"


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments each environment plan (and each one-stack plan) was called with."""
    calls: list[dict[str, Any]] = []

    def environment(name: str, out: Path, **kwargs: Any) -> int:
        calls.append({"environment": name, **kwargs})
        return 0

    def stack(name: str, **kwargs: Any) -> int:
        calls.append({"stack": name})
        return 0

    monkeypatch.setattr(plan_cli.environment_plan, "plan_environment", environment)
    monkeypatch.setattr(plan_cli.offline_plan, "plan", stack)
    monkeypatch.delenv(ENVVAR, raising=False)
    return calls


def test_the_workers_reach_the_environment_plan_from_the_flag_or_the_variable(
    asked: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = ["plan", "--environment", "example", "--out", str(tmp_path / "out")]
    assert cli_main(base) == 0
    assert cli_main([*base, "--workers", "0"]) == 0
    monkeypatch.setenv(ENVVAR, "3")
    assert cli_main(base) == 0
    assert cli_main([*base, "--workers", "1"]) == 0, "the flag wins over the variable"
    assert [call["workers"] for call in asked] == [2, 0, 3, 1]


@pytest.mark.parametrize("value", ["-1", "two", ""])
def test_a_bad_worker_count_is_refused_naming_the_flag(
    asked: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    """Attack: ``--workers -1`` (or a word) reaching the process pool; refused before anything is planned."""
    argv = ["plan", "--environment", "example", "--out", str(tmp_path / "out"), "--workers", value]
    assert cli_main(argv) == 1
    assert "--workers" in capsys.readouterr().err
    assert asked == []


def test_a_bad_variable_is_refused_naming_it(
    asked: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(ENVVAR, "-2")
    assert cli_main(["plan", "--environment", "example", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "--workers" in err and ENVVAR in err, err
    assert asked == []


def test_workers_given_to_a_one_stack_plan_is_refused_not_ignored(
    asked: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack: ``plan --stack dev --workers 4`` reads as if it did something; a one-stack plan has no workers.
    The variable, a default set once for a shell, does not make a one-stack plan fail."""
    # 2, as its siblings (--shard or --diff-against with the other mode) are.
    assert cli_main(["plan", "--stack", "dev", "--workers", "4"]) == 2
    assert "--workers plans the shards of an --environment" in capsys.readouterr().err
    assert asked == []
    monkeypatch.setenv(ENVVAR, "4")
    assert cli_main(["plan", "--stack", "dev"]) == 0
    assert asked == [{"stack": "dev"}]
