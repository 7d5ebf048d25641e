"""``plan --environment ENV --project-dir DIR``: a pull request's environment planned from its files, as data.

``shards.yml`` plans the head's environment with the base's code; the head's catalog, environment file and stack
files are what is planned, never this checkout's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from platform_secrets.cli.app import main as cli_main
from platform_secrets.paths import PROJECT_ROOT as ROOT


def head_copy(to: Path) -> Path:
    to.mkdir()
    for name in (
        "Pulumi.yaml",
        "catalog.yaml",
        *(p.name for p in ROOT.glob("Pulumi.example-*.yaml")),
    ):
        shutil.copy(ROOT / name, to / name)
    shutil.copytree(ROOT / "environments", to / "environments")
    return to


def test_the_heads_files_are_planned_not_this_checkouts(tmp_path: Path) -> None:
    head = head_copy(tmp_path / "head")
    catalog = yaml.safe_load((head / "catalog.yaml").read_text())
    del catalog["services"]["media"]
    (head / "catalog.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    layout = yaml.safe_load((head / "environments/example.yaml").read_text())
    layout["stacks"]["example-a"].remove("media")
    del layout["config"]["settings"]["media"]
    (head / "environments/example.yaml").write_text(yaml.safe_dump(layout, sort_keys=False))
    out = tmp_path / "plan-head"
    code = cli_main(
        ["plan", "--environment", "example", "--project-dir", str(head), "--out", str(out)]
    )
    assert code == 0
    names = {r["name"] for r in json.loads((out / "example-a/resources.json").read_text())}
    assert "media" not in names and "backend" in names, sorted(names)[:20]


def test_a_head_catalog_outside_its_project_dir_is_refused(tmp_path: Path, capsys) -> None:
    head = head_copy(tmp_path / "head")
    code = cli_main(
        [
            "plan",
            "--environment",
            "example",
            "--project-dir",
            str(head),
            "--config",
            "catalog=../elsewhere.yaml",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    assert "lies outside the project directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
