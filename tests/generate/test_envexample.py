"""The per-service ``.env.example`` files: equal to a fresh generation from the catalog, names only.

If the catalog gains, loses or changes a key, ``test_committed_examples_equal_a_fresh_generation`` fails until
``platform-secrets derived`` is run and the result committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pulumi.runtime import rpc

from platform_secrets.ci import secret_scan as scan_secrets
from platform_secrets.cli.app import main as cli_main
from platform_secrets.generate import envexample
from platform_secrets.model.catalog import SHARED_OWNER, load_catalog
from platform_secrets.offline.runner import RunResult
from platform_secrets.paths import PROJECT_ROOT
from tests import catalog_facts

ROOT = PROJECT_ROOT
OUT = ROOT / envexample.OUT
CATALOG = load_catalog(ROOT / "catalog.yaml")
LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def secret_values_of(result: RunResult) -> set[str]:
    """Every string inside an input the run marked secret (generated values and config secrets)."""
    found: set[str] = set()

    def leaves(value: object, inside: bool) -> None:
        if rpc.is_rpc_secret(value):
            leaves(rpc.unwrap_rpc_secret(value), True)
        elif isinstance(value, dict):
            for item in value.values():
                leaves(item, inside)
        elif isinstance(value, list):
            for item in value:
                leaves(item, inside)
        elif inside and isinstance(value, str) and value:
            found.add(value)

    for resource in result.resources:
        leaves(resource.inputs, False)
    return found


def entries(service: str) -> dict[str, str]:
    """KEY -> value of every assignment line of a service's committed file."""
    text = (OUT / service / envexample.FILENAME).read_text()
    return {m[1]: m[2] for line in text.splitlines() if (m := LINE.match(line))}


def test_committed_examples_equal_a_fresh_generation() -> None:
    diffs = envexample.differences(OUT, envexample.render(CATALOG))
    assert diffs == [], "run `platform-secrets derived` and commit env-examples/"
    assert cli_main(["derived", "--check"]) == 0


@pytest.mark.parametrize("service", list(CATALOG.services))
def test_every_secret_and_setting_of_the_catalog_is_listed(service: str) -> None:
    spec = CATALOG.services[service]
    assert list(entries(service)) == [*spec.secrets, *spec.settings]


@pytest.mark.parametrize("service", list(CATALOG.services))
def test_each_key_has_a_comment_saying_what_it_is(service: str) -> None:
    spec = CATALOG.services[service]
    lines = (OUT / service / envexample.FILENAME).read_text().splitlines()
    for key in [*spec.secrets, *spec.settings]:
        index = lines.index(f"{key}={entries(service)[key]}")
        block = []
        for line in reversed(lines[:index]):
            if not line.startswith("#"):
                break
            block.insert(0, line)
        kind = "secret" if key in spec.secrets else "setting"
        assert block[0].startswith(f"# {key}: {kind}"), block
        assert "required in prod" in block[0] or "optional" in block[0]
        assert any(line.startswith("#   Source:") for line in block)


@pytest.mark.parametrize("service", list(CATALOG.services))
def test_no_secret_has_a_value(service: str) -> None:
    values = entries(service)
    for key in CATALOG.services[service].secrets:
        assert values[key] == "", f"{service}: {key} shows a value"


@pytest.mark.parametrize("service", list(CATALOG.services))
def test_settings_show_only_the_catalog_default(service: str) -> None:
    values = entries(service)
    for key, setting in CATALOG.services[service].settings.items():
        assert values[key] == (setting.default or "")


def test_a_shared_secret_names_its_other_readers() -> None:
    shared = [e for e in catalog_facts.entries(CATALOG) if e.owner == SHARED_OWNER]
    assert shared, "the shipped catalog shares a secret (JWT_SECRET)"
    for entry in shared:
        for reader in entry.readers:
            env = next(
                k
                for k, (o, key) in catalog_facts.reads(CATALOG)[reader].items()
                if key == entry.key and o == SHARED_OWNER
            )
            others = ", ".join(r for r in sorted(entry.readers) if r != reader)
            text = (OUT / reader / envexample.FILENAME).read_text()
            assert f"# {env}: secret ({entry.spec.source.value}; shared with {others})" in text


def test_no_value_of_any_secret_appears(dev_run: RunResult, prod_run: RunResult) -> None:
    """Every secret value the program writes in dev and prod, and every test secret, is absent."""
    values = secret_values_of(dev_run) | secret_values_of(prod_run)
    assert len(values) >= 5
    text = "\n".join(p.read_text() for p in sorted(OUT.rglob("*")) if p.is_file())
    leaked = sorted(v for v in values if v in text)
    assert leaked == []


def test_no_stack_setting_value_appears() -> None:
    """The examples come from the catalog alone: no stack's value (dev's `*` origin, prod's hosts)."""
    text = "\n".join(p.read_text() for p in sorted(OUT.rglob("*")) if p.is_file())
    for stack_file in sorted(ROOT.glob("Pulumi.*.yaml")):
        config = yaml.safe_load(stack_file.read_text())["config"]
        for values in config.get("platform-secrets:settings", {}).values():
            for value in values.values():
                assert f"={value}\n" not in text, f"{stack_file.name}: {value!r}"


def test_examples_are_committable_and_pass_the_env_file_rule() -> None:
    for path in sorted(OUT.glob(f"*/{envexample.FILENAME}")):
        relative = path.relative_to(ROOT).as_posix()
        assert not scan_secrets.is_forbidden_env_file(relative)
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", relative], cwd=ROOT, capture_output=True
        )
        assert ignored.returncode == 1, f"{relative} is git-ignored"


def test_drift_and_stale_services_are_detected(tmp_path: Path) -> None:
    out = tmp_path / "env-examples"
    shutil.copytree(OUT, out)
    catalog = tmp_path / "catalog.yaml"
    data = yaml.safe_load((ROOT / "catalog.yaml").read_text())
    data["services"]["media"]["settings"]["MAX_UPLOAD_MB"] = {"description": "Upload cap."}
    del data["services"]["agent9-search"]
    catalog.write_text(yaml.safe_dump(data))
    args = ["derived", "--catalog", str(catalog), "--root", str(tmp_path)]
    assert cli_main([*args, "--check"]) == 1
    assert cli_main(args) == 0
    assert cli_main([*args, "--check"]) == 0
    assert "MAX_UPLOAD_MB=" in (out / "media" / envexample.FILENAME).read_text()
    assert not (out / "agent9-search").exists()
