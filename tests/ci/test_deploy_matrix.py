"""Tier 1: the deploy's matrices of the sharded environments come from their files (``ci.deploy_matrix``), pure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from platform_secrets.ci.deploy_matrix import OUTPUTS, deploy_matrices, main
from platform_secrets.model.shards import LayoutError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Environment ``ex`` (dev): foundation ex-f, shards ex-b, ex-a; and the one-stack ``dev``."""
    (tmp_path / "catalog.yaml").write_text("services:\n  s1: {}\n  s2: {}\n")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "ex.yaml").write_text(
        "foundation: ex-f\nstacks:\n  ex-b: [s2]\n  ex-a: [s1]\n"
    )
    for stack in ("ex-f", "ex-a", "ex-b"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(
            "config:\n  platform-secrets:environmentFile: environments/ex.yaml\n"
            "  platform-secrets:environment: dev\n"
        )
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  platform-secrets:environment: dev\n")
    return tmp_path


def test_foundations_and_shards_sorted_each_under_its_own_environment_no_preview_for_dev(root):
    entry = lambda s: {"stack": s, "environment": "ex", "github_environment": s}  # noqa: E731
    assert deploy_matrices(root) == {
        "foundations": {"include": [entry("ex-f")]},
        "foundation_previews": {"include": []},
        "shards": {"include": [entry("ex-a"), entry("ex-b")]},
        "shard_previews": {"include": []},
    }


def test_no_environment_file_gives_empty_matrices(root):
    for path in (root / "environments").iterdir():
        path.unlink()
    assert deploy_matrices(root) == {name: {"include": []} for name in OUTPUTS}


def test_every_matrix_is_written_to_github_output(root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["--github-output", "--project-dir", str(root)]) == 0
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert list(lines) == list(OUTPUTS)
    assert json.loads(lines["shards"])["include"][1]["stack"] == "ex-b"
    assert json.loads(capsys.readouterr().out)["foundations"]["include"][0]["stack"] == "ex-f"


def test_a_stack_without_its_file_or_joining_another_environment_is_refused_with_every_problem(
    root,
):
    (root / "Pulumi.ex-a.yaml").unlink()
    (root / "Pulumi.ex-b.yaml").write_text(
        "config:\n  platform-secrets:environmentFile: environments/other.yaml\n"
        "  platform-secrets:environment: dev\n"
    )
    (root / "environments" / "other.yaml").write_text(
        yaml.safe_dump({"foundation": "o-f", "stacks": {}})
    )
    with pytest.raises(LayoutError) as error:
        deploy_matrices(root)
    text = str(error.value)
    assert "unknown stack ex-a: no Pulumi.ex-a.yaml" in text
    assert "environments/ex.yaml: stack ex-b is not in environments/other.yaml" in text
    assert "unknown stack o-f" in text


def test_an_invalid_assignment_is_refused_and_exits_1(root, capsys):
    (root / "environments" / "ex.yaml").write_text(
        "foundation: ex-f\nstacks:\n  ex-a: [s1, nope]\n"
    )
    assert main(["--project-dir", str(root)]) == 1
    err = capsys.readouterr().err
    assert "s2 is in no stack" in err and "nope" in err, err
