"""Files derived from the catalog: one command regenerates them all, and a check names the stale ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from platform_secrets.cli.app import main as cli_main
from platform_secrets.generate import derived

ROOT = derived.ROOT
NEW = "derived-check-service"
"""A service name no catalog uses (tests/offline/test_adding_a_service.py adds `notifications`)."""


def copy_derived(to: Path) -> Path:
    """A copy of the repository's derived files (what a clone has), to edit and check."""
    to.mkdir(parents=True)
    for rel in derived.owned():
        source = ROOT / rel
        if source.is_dir():
            shutil.copytree(source, to / rel)
        else:
            shutil.copy(source, to / rel)
    return to


def with_new_service(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "catalog.yaml").read_text())
    assert NEW not in data["services"]
    data["services"][NEW] = {
        "path": NEW,
        "secrets": {"PUSH_TOKEN": {"source": "config", "required_in": ["prod"]}},
    }
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump(data))
    return catalog


def test_the_committed_derived_files_are_up_to_date(capsys):
    code = cli_main(["derived", "--check"])
    assert code == 0, capsys.readouterr().err


def test_a_catalog_edit_without_regeneration_fails_the_check_naming_files_and_command(
    tmp_path, capsys
):
    root = copy_derived(tmp_path / "repo")
    catalog = with_new_service(tmp_path)
    assert cli_main(["derived", "--check", "--catalog", str(catalog), "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"env-examples/{NEW}/.env.example: missing" in err
    assert "env-examples/README.md: stale" in err
    assert "run `make derived` (or `.venv/bin/platform-secrets derived`)" in err
    assert cli_main(["derived", "--catalog", str(catalog), "--root", str(root)]) == 0
    assert cli_main(["derived", "--check", "--catalog", str(catalog), "--root", str(root)]) == 0


def test_a_stale_schema_and_a_leftover_file_are_named(tmp_path, capsys):
    root = copy_derived(tmp_path / "repo")
    schema = root / "catalog.schema.json"
    schema.write_text(schema.read_text().replace('"title"', '"x-title"', 1))
    (root / "env-examples" / "retired").mkdir()
    (root / "env-examples" / "retired" / ".env.example").write_text("OLD=\n")
    assert cli_main(["derived", "--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "catalog.schema.json: stale" in err
    assert "env-examples/retired/.env.example: no longer generated (remove it)" in err
