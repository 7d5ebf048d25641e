"""Tier 1: `shards check` and `shards propose` on an environment file and a plan's resources.json."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from platform_secrets.cli.app import main as cli_main
from platform_secrets.model.shards import COMPONENT
from platform_secrets.offline import shards
from platform_secrets.paths import PROJECT_ROOT


@pytest.fixture
def root(tmp_path):
    shutil.copy(PROJECT_ROOT / "catalog.yaml", tmp_path / "catalog.yaml")
    (tmp_path / "environments").mkdir()
    shutil.copy(
        PROJECT_ROOT / "environments" / "example.yaml", tmp_path / "environments" / "example.yaml"
    )
    return tmp_path


def plan_dir(tmp_path, per_service: dict[str, int]):
    records = [{"urn": "prov", "type": "pulumi:providers:aws", "name": "aws", "parent": None}]
    for service, count in per_service.items():
        records.append({"urn": service, "type": COMPONENT, "name": service, "parent": None})
        records += [
            {"urn": f"{service}/{i}", "type": "aws:x:Y", "name": str(i), "parent": service}
            for i in range(count - 1)
        ]
    out = tmp_path / "plan"
    out.mkdir()
    (out / "resources.json").write_text(json.dumps(records))
    return out


def remove(root, service):
    path = root / "environments" / "example.yaml"
    data = yaml.safe_load(path.read_text())
    data["stacks"] = {k: [s for s in v if s != service] for k, v in data["stacks"].items()}
    path.write_text(yaml.safe_dump(data))


def test_the_shipped_example_environment_passes_the_check(capsys):
    assert shards.check("example") == 0
    assert "example-a: 3 services" in capsys.readouterr().out


def test_the_shipped_example_is_checked_against_the_dev_plan(tmp_path, capsys):
    # The real plan's resources: no stack of the example is near the limit.

    assert cli_main(["plan", "--stack", "dev", "--out", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert shards.check("example", plan=tmp_path / "p") == 0
    out = capsys.readouterr().out
    assert "example-foundation: foundation, " in out and "(limit 1000)" in out


def test_a_stack_over_the_limit_fails_the_check_naming_it_and_its_count(root, tmp_path, capsys):
    counts = {"backend": 900, "media": 100, "linear-integration": 4, "agent7-messaging": 9}
    assert shards.check("example", plan=plan_dir(tmp_path, counts), root=root) == 1
    err = capsys.readouterr().err
    assert "stack example-a holds 1005 resources, over the limit of 1000" in err


def test_an_environment_with_no_file_could_not_run(root, capsys):
    assert shards.check("dev", root=root) == 2
    assert "environments/dev.yaml not found" in capsys.readouterr().err


def test_a_service_missing_from_the_file_fails_the_check(root, capsys):
    remove(root, "media")
    assert shards.check("example", root=root) == 1
    assert "media is in no stack (proposed: example-a;" in capsys.readouterr().err


def test_propose_write_appends_to_the_least_filled_and_moves_no_other(root, tmp_path, capsys):
    before = yaml.safe_load((root / "environments" / "example.yaml").read_text())
    remove(root, "media")
    counts = {
        "backend": 15,
        "linear-integration": 4,
        "agent7-messaging": 9,
        "agent9-search": 11,
        "events-service": 15,
    }
    # example-a: 1 + 15 + 4 = 20 resources, example-b: 1 + 35: media goes to example-a
    assert (
        shards.propose("example", "media", plan=plan_dir(tmp_path, counts), write=True, root=root)
        == 0
    )
    assert capsys.readouterr().out == "example-a\n"
    text = (root / "environments" / "example.yaml").read_text()
    after = yaml.safe_load(text)
    assert after["stacks"]["example-b"] == before["stacks"]["example-b"]
    assert after["stacks"]["example-a"] == ["backend", "linear-integration", "media"]
    assert shards.check("example", root=root) == 0


def test_propose_keeps_the_files_opening_comments(root):
    path = root / "environments" / "example.yaml"
    comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
    remove(root, "media")
    path.write_text("".join(f"{c}\n" for c in comments) + path.read_text())
    assert shards.propose("example", "media", write=True, root=root) == 0
    assert path.read_text().splitlines()[: len(comments)] == comments


def test_propose_refuses_a_service_already_placed_and_writes_nothing(root, capsys):
    path = root / "environments" / "example.yaml"
    before = path.read_text()
    assert shards.propose("example", "backend", write=True, root=root) == 1
    assert "backend is already in example-a" in capsys.readouterr().err
    assert path.read_text() == before


def test_propose_refuses_a_service_not_in_the_catalog(root, capsys):
    assert shards.propose("example", "ghost", root=root) == 1
    assert "ghost is not in the catalog" in capsys.readouterr().err
