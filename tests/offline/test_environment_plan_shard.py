"""Tier 2 (mock engine): ``plan --environment E --shard S``, one shard's preview as a CI shard job runs it.

The shard job of ``shards.yml`` planned the whole environment for one stack's preview (at 5,000 services, 92
stacks per job). It plans the foundation and its shard only; what it writes of them must be what the
environment's plan writes, byte for byte, and it writes no union (it would be an environment's access matrix
missing every other shard).
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from platform_secrets.cli.app import main as cli_main
from platform_secrets.offline import environment as env_plan
from tests.sharded import ENVIRONMENT, FOUNDATION, SHARDS


def _same_tree(left: Path, right: Path) -> list[str]:
    """Paths that differ (or exist on one side only) between two folders, recursively."""
    compared = filecmp.dircmp(left, right)
    found = [
        f"{left.name}/{n}" for n in compared.left_only + compared.right_only + compared.funny_files
    ]
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    found += [f"{left.name}/{n}" for n in mismatch + errors]
    for sub in compared.common_dirs:
        found += _same_tree(left / sub, right / sub)
    return found


@pytest.fixture(scope="module")
def one_shard(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one-shard") / "plan"
    assert env_plan.plan_environment(ENVIRONMENT, out, workers=0, shards_only=[SHARDS[-1]]) == 0
    return out


def test_a_shard_planned_alone_writes_what_the_environment_plan_writes(one_shard, example_plan):
    for stack in (FOUNDATION, SHARDS[-1]):
        assert _same_tree(one_shard / stack, example_plan.out / stack) == [], stack


def test_a_shard_planned_alone_plans_no_other_shard_and_writes_no_union(one_shard):
    assert sorted(p.name for p in one_shard.iterdir()) == sorted(
        [FOUNDATION, SHARDS[-1], "partial.json"]
    )
    assert not any((one_shard / f).exists() for f in ("resources.json", "access.json", "arns.json"))


def test_a_partial_plan_is_planned_again_into_the_same_folder(one_shard, capsys):
    again = ["plan", "--environment", ENVIRONMENT, "--shard", SHARDS[0], "--out", str(one_shard)]
    assert cli_main(again) == 0
    assert "no union, no access.json (it needs every stack)" in capsys.readouterr().out
    assert sorted(p.name for p in one_shard.iterdir()) == sorted(
        [FOUNDATION, SHARDS[0], "partial.json"]
    )


def test_an_unknown_shard_or_the_foundation_is_refused_and_nothing_is_touched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "resources.json").write_text("[]\n")  # an earlier plan: it must survive a refused run
    code = cli_main(
        ["plan", "--environment", ENVIRONMENT, "--shard", "nope", "--shard", FOUNDATION,
         "--out", str(out)]
    )  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "--shard nope: not a shard of environments/example.yaml" in err
    assert f"--shard {FOUNDATION}: not a shard" in err
    assert [p.name for p in out.iterdir()] == ["resources.json"]


def test_shard_without_an_environment_is_refused(capsys):
    assert cli_main(["plan", "--stack", "dev", "--shard", SHARDS[0]]) == 2
    assert "--shard plans part of an --environment" in capsys.readouterr().err
