"""Attacks through the inputs, one test per attack (the threat model: tests/attacks/README.md).

An input that is silently ignored or misread is a way around every rule: a second `environment:` key that
turns prod into dev, a misspelt setting whose default then applies, a secret set under a key nobody reads.
Each test feeds the input to the program the way an operator would (the stack file, the catalog, `--config`)
and expects one refusal that names the file, the key and, for a document, the line, before anything registers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings

from platform_secrets.cli.app import main as cli_main
from platform_secrets.model.catalog import CatalogError, load_catalog, parse_catalog
from platform_secrets.offline import runner as offline
from platform_secrets.paths import PROJECT_ROOT
from platform_secrets.program import stack
from tests.conftest import PROD_SECRETS

ROOT = PROJECT_ROOT
SECRET_SIG = rpc._special_secret_sig
"""The wire signature of a Pulumi secret."""


def project_copy(tmp_path: Path) -> Path:
    """A copy of the project (program, components, catalog, stack files) whose files a test may break."""
    for name in (
        "Pulumi.yaml",
        "Pulumi.prod.yaml",
        "Pulumi.dev.yaml",
        "__main__.py",
        "catalog.yaml",
    ):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "platform_secrets", tmp_path / "platform_secrets")
    return tmp_path


def refused(result: offline.RunResult) -> str:
    assert result.error is not None, "the program accepted the input"
    assert result.resources == [], "something was registered before validation refused the input"
    return str(result.error)


def test_duplicate_service_in_the_catalog(tmp_path: Path) -> None:
    """`backend:` twice in catalog.yaml: YAML keeps the last one and the first service silently disappears."""
    text = (ROOT / "catalog.yaml").read_text()
    twice = text.replace("\n  media:\n", "\n  backend:\n    path: backend\n\n  media:\n", 1)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(twice)
    first = twice.splitlines().index("  backend:") + 1
    second = twice.splitlines().index("  backend:", first) + 1
    with pytest.raises(CatalogError) as error:
        load_catalog(catalog)
    message = str(error.value)
    assert str(catalog) in message and "'backend'" in message
    assert f"line {second}" in message and f"line {first}" in message


def test_second_environment_key_in_the_prod_stack_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`platform-secrets:environment: dev` appended to Pulumi.prod.yaml: the last key wins, prod turns dev."""
    root = project_copy(tmp_path)
    stack_file = root / "Pulumi.prod.yaml"
    merged = offline.load_config("prod", root, secrets=PROD_SECRETS)  # before the attack
    with stack_file.open("a") as handle:
        handle.write("  platform-secrets:environment: dev\n")
    line = len(stack_file.read_text().splitlines())
    with pytest.raises(offline.StackConfigError) as error:
        offline.run("prod", root=root, secrets=PROD_SECRETS)
    message = str(error.value)
    assert "Pulumi.prod.yaml" in message and "'platform-secrets:environment'" in message
    assert f"line {line}" in message

    # Under the CLI the program gets the config already merged; its loader reads the stack file itself.
    project, config, secret_keys = merged
    config[f"{project}:environment"] = "dev"
    monkeypatch.setattr(stack, "PROJECT_ROOT", root)
    runtime_settings._set_project(project)
    runtime_settings._set_stack("prod")
    pulumi.runtime.set_all_config(config, secret_keys)
    with pytest.raises(pulumi.RunError) as run_error:
        stack.load_stack_model()
    assert f"line {line}: duplicate key 'platform-secrets:environment'" in str(run_error.value)


@pytest.mark.parametrize(
    ("key", "meant"),
    [("refreshIntervall", "refreshInterval"), ("namePrefx", "namePrefix")],
)
def test_misspelt_stack_setting_in_the_stack_file(tmp_path: Path, key: str, meant: str) -> None:
    """`platform-secrets:refreshIntervall` / `namePrefx`: ignored, and the default used in its place."""
    root = project_copy(tmp_path)
    with (root / "Pulumi.prod.yaml").open("a") as handle:
        handle.write(f"  platform-secrets:{key}: x\n")
    message = refused(offline.run("prod", root=root, secrets=PROD_SECRETS))
    assert f"platform-secrets:{key}" in message and f"did you mean '{meant}'?" in message
    assert "Pulumi.prod.yaml" in message


def test_misspelt_secret_key() -> None:
    """`pulumi config set --secret backend.REDIS_UR ...`: nobody reads it, backend.REDIS_URL stays unset."""
    message = refused(
        offline.run("prod", secrets={**PROD_SECRETS, "backend.REDIS_UR": "offline-test-typo"})
    )
    assert "backend.REDIS_UR" in message and "did you mean 'backend.REDIS_URL'?" in message
    assert "offline-test-typo" not in message


def test_undeclared_shared_secret_hidden_behind_field_errors() -> None:
    """A `shared:` reference to an undeclared name is reported only once every field error is fixed."""
    data = {
        "services": {
            "api": {
                "secrets": {
                    "SESSION": {"shared": "NOT_DECLARED"},
                    "TOKEN": {"source": "magic"},
                }
            }
        }
    }
    with pytest.raises(CatalogError) as error:
        parse_catalog(data)
    message = str(error.value)
    assert "TOKEN.source" in message
    assert "shared secret 'NOT_DECLARED' is not declared" in message


def test_catalog_with_undecodable_bytes(tmp_path: Path) -> None:
    """A catalog saved in Latin-1: a bare `'utf-8' codec can't decode` that does not say which file."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_bytes((ROOT / "catalog.yaml").read_bytes() + "# caf\xe9\n".encode("latin-1"))
    with pytest.raises(CatalogError) as error:
        load_catalog(catalog)
    assert str(catalog) in str(error.value) and "UTF-8" in str(error.value)


def test_config_override_blamed_on_the_stack_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`platform_secrets.offline.plan --config ...`: a bad value given on the command line is reported as the stack file's."""
    code = cli_main(
        [
            "plan",
            "--stack",
            "prod",
            "--stub-secrets",
            "--config",
            "refreshInterval=soon",
            "--config",
            "media.S3_ACCESS_KEY_ID=offline-test-plain",
        ]
    )
    err = capsys.readouterr().err
    assert code != 0
    refresh = next(line for line in err.splitlines() if "refreshInterval" in line)
    plaintext = next(line for line in err.splitlines() if "media.S3_ACCESS_KEY_ID" in line)
    for line in (refresh, plaintext):
        assert "--config" in line and "Pulumi.prod.yaml" not in line, line
    assert "offline-test-plain" not in err


# --- a config secret's format, checked at `pulumi up` without showing the value ---


def _catalog_with_a_format(tmp_path: Path, pattern: str) -> Path:
    text = (ROOT / "catalog.yaml").read_text()
    anchor = "      S3_ACCESS_KEY_ID:\n        description: Access key id of the S3-compatible object store.\n"
    assert anchor in text
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text.replace(anchor, anchor + f"        format: '{pattern}'\n", 1))
    return catalog


def test_a_config_secret_that_breaks_its_format_is_refused_before_anything_registers(
    tmp_path: Path,
) -> None:
    """`format` was only checked by `platform_secrets.live.env push`; a config value known at `pulumi up` went in as is."""
    catalog = _catalog_with_a_format(tmp_path, "^AKIA[A-Z0-9]{16}$")
    value = PROD_SECRETS["media.S3_ACCESS_KEY_ID"]  # generated per session; not of that shape
    message = refused(
        offline.run("prod", overrides={"catalog": str(catalog)}, secrets=PROD_SECRETS)
    )
    assert "media.S3_ACCESS_KEY_ID" in message and "format" in message, message
    assert value not in message  # never shown


def test_a_config_secret_that_matches_its_format_deploys_and_stays_secret(tmp_path: Path) -> None:
    catalog = _catalog_with_a_format(tmp_path, "^offline-test-[0-9a-f]{12}$")
    result = offline.run("prod", overrides={"catalog": str(catalog)}, secrets=PROD_SECRETS)
    assert result.error is None, result.error
    value = PROD_SECRETS["media.S3_ACCESS_KEY_ID"]
    entries = [r for r in result.resources if value in str(r.inputs)]
    assert entries and all(SECRET_SIG in str(r.inputs) for r in entries)  # wrapped secret


# --- secrets under a namespace the program does not read ---


@pytest.mark.parametrize(
    ("line", "meant"),
    [
        (
            "platform-secret:media.S3_SECRET_ACCESS_KEY",
            "platform-secrets:media.S3_SECRET_ACCESS_KEY",
        ),
        ("backend:REDIS_URL", "platform-secrets:backend.REDIS_URL"),
        ("media:S3_SECRET_ACCESS_KEY", "platform-secrets:media.S3_SECRET_ACCESS_KEY"),
        ("aws:media.S3_SECRET_ACCESS_KEY", "platform-secrets:media.S3_SECRET_ACCESS_KEY"),
        ("platfrom-secrets:environment", "platform-secrets:environment"),
    ],
    ids=[
        "near-miss-namespace",
        "owner-as-namespace",
        "service-namespace",
        "owner-key-shape",
        "typo",
    ],
)
def test_a_secret_under_a_wrong_namespace_is_refused(tmp_path: Path, line: str, meant: str) -> None:
    """A plaintext value under a namespace nothing reads: it plans clean and sits in the file unencrypted."""
    root = project_copy(tmp_path)
    stack_file = root / "Pulumi.prod.yaml"
    with stack_file.open("a") as handle:
        handle.write(f"  {line}: not-a-real-value\n")
    message = refused(offline.run("prod", root=root, secrets=PROD_SECRETS))
    assert f"{line}:" in message and f"did you mean {meant!r}" in message, message
    assert "not-a-real-value" not in message


def test_other_namespaces_of_the_stack_file_are_left_alone(tmp_path: Path) -> None:
    """A provider's own keys (`aws:region`, `vault:token`...) are the providers', not a misplaced secret."""
    root = project_copy(tmp_path)
    with (root / "Pulumi.prod.yaml").open("a") as handle:
        handle.write("  aws:region: eu-west-1\n  kubernetes:context: apps-prod\n")
    result = offline.run("prod", root=root, secrets=PROD_SECRETS)
    assert result.error is None, result.error


def test_an_offline_plan_of_encrypted_values_is_not_refused_for_their_format(
    tmp_path: Path,
) -> None:
    """The offline runner cannot decrypt `secure:` values: its placeholder is no value, so no format applies."""
    from platform_secrets.model.stack_model import OFFLINE_PLACEHOLDER

    assert OFFLINE_PLACEHOLDER == offline.SECURE_PLACEHOLDER
    catalog = _catalog_with_a_format(tmp_path, "^AKIA[A-Z0-9]{16}$")
    secrets = {**PROD_SECRETS, "media.S3_ACCESS_KEY_ID": offline.SECURE_PLACEHOLDER}
    result = offline.run("prod", overrides={"catalog": str(catalog)}, secrets=secrets)
    assert result.error is None, result.error


def test_an_external_prod_entry_must_hold_a_value_for_the_audit(
    prod_run: offline.RunResult,
) -> None:
    """`required_in` is refused on external secrets; prod holds every external entry to a value instead, so
    an empty Linear key is the audit's high finding, not a low one."""
    from platform_secrets.audit.declared import declare

    declared = declare("prod", run=prod_run)
    external = [e for e in declared.entries.values() if e.source == "external"]
    assert external and all(e.required for e in external), external
    dev = declare("dev", run=offline.run("dev"))
    assert not any(e.required for e in dev.entries.values() if e.source == "external")


def test_a_stack_an_environment_file_names_is_refused_unless_its_file_joins_it(
    tmp_path: Path,
) -> None:
    """`pulumi up` of `example-a`, a shard of environments/example.yaml, from a stack file that does not set
    `environmentFile`: as one stack it would register every service of the catalog in that stack too (and
    again in the foundation and every other shard): two stacks fighting over one secret and one identity."""
    root = project_copy(tmp_path)
    shutil.copytree(ROOT / "environments", root / "environments")
    shutil.copy(root / "Pulumi.dev.yaml", root / "Pulumi.example-a.yaml")
    message = refused(offline.run("example-a", root=root))
    assert "example-a" in message and "environments/example.yaml" in message, message
    assert "shard" in message, message
