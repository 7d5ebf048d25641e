"""The rotate command on a running AWS API: the dev plan replayed on ministack, one value made due.

The replay writes every entry today; the catalog's dev entries have no rotation period, so the test gives one
entry (shared JWT_SECRET) a 90-day period and runs the command with a clock 100 days on: exactly that entry's
epoch is bumped, in a copy of the stack file, and the replanned stack then regenerates that value only.
The command reads metadata through the audit's guarded reader (it refuses a value read before sending it).

JWT_SECRET keeps its previous value (keep_previous): the command records its current VersionId in
``rotationOverlaps``, the replanned stack's new value is written (``replay_rotation``: PutSecretValue, so
AWSPREVIOUS moves to the replaced version), and the readers' IRSA sessions read both the version their
ExternalSecret names for ``JWT_SECRET`` and the one for ``JWT_SECRET_PREVIOUS``; another service's session is
denied both. Resource policies in the replay's ``emulator-compat`` mode, so that ministack lets the readers in.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from platform_secrets.audit.checks import overlap_findings
from platform_secrets.audit.command import VIEWS
from platform_secrets.audit.declared import Declared, declare
from platform_secrets.model.catalog import load_catalog
from platform_secrets.model.settings import parse_settings
from platform_secrets.model.stack_model import build_model
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.rotate.command import rotate
from platform_secrets.rotate.stackfile import KEY, OVERLAPS
from tests.servers.aws_replay import (
    LiveEnv,
    assume_role_with_web_identity,
    error_code,
    mint_web_identity_token,
    replay_plan,
    replay_rotation,
)
from tests.servers.ministack_server import ROOT_SECRET_KEY, running_ministack

TARGET = ("shared", "JWT_SECRET")
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


ENDPOINT: list[str] = []
"""The server's address while the module's server runs: the command is pointed at it explicitly."""


@pytest.fixture(scope="module")
def dev_declared(dev_run: RunResult) -> Declared:
    return declare("dev", run=dev_run)


@pytest.fixture(scope="module")
def live(aws_dev_plan_dir: Path, dev_declared: Declared) -> Iterator[LiveEnv]:
    assert dev_declared.settings.aws is not None
    account = dev_declared.settings.aws.account_id
    with running_ministack() as endpoint, pytest.MonkeyPatch.context() as patch:
        env = replay_plan(
            aws_dev_plan_dir, endpoint, account_id=account, resource_policies="emulator-compat"
        )
        ENDPOINT[:] = [endpoint]
        for name, value in {
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_KEY,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        yield env


def _one_due(declared: Declared) -> Declared:
    return dataclasses.replace(
        declared,
        entries={
            name: dataclasses.replace(e, rotation_days=90 if (e.owner, e.key) == TARGET else None)
            for name, e in declared.entries.items()
        },
    )


@dataclasses.dataclass(frozen=True)
class Rotated:
    """One rotation of shared JWT_SECRET on the server: the command's result, the replanned stack, the values."""

    result: dict[str, object]
    stack_dir: Path
    before: str
    """The stack file before the command."""
    rerun: RunResult
    old_version: str
    old_value: str
    new_value: str
    as_of: date


@pytest.fixture(scope="module")
def rotated(
    live: LiveEnv,
    dev_declared: Declared,
    dev_run: RunResult,
    tmp_path_factory: pytest.TempPathFactory,
) -> Rotated:
    stack_dir = tmp_path_factory.mktemp("rotate-aws")
    shutil.copy(offline.ROOT / "Pulumi.dev.yaml", stack_dir / "Pulumi.dev.yaml")
    before = (stack_dir / "Pulumi.dev.yaml").read_text()
    name = _entry_name(dev_declared)
    stages = live.client("secretsmanager").describe_secret(SecretId=live.secrets[name])
    (old_version,) = [v for v, s in stages["VersionIdsToStages"].items() if "AWSCURRENT" in s]
    old_value = live.values[name]
    as_of = datetime.now(UTC).date() + timedelta(days=100)
    out = stack_dir / "rotate.json"
    code = rotate(
        "dev",
        "14d",
        as_of,
        out,
        root=stack_dir,
        declared=_one_due(dev_declared),
        endpoint=ENDPOINT[0],
    )
    result = json.loads(out.read_text())
    assert code == 1, result
    overrides = {KEY: result["bumped"], OVERLAPS: result["overlaps_set"]}
    # As the shared dev run: config values unset (pending), so only generated values can differ.
    rerun = offline.run("dev", overrides=overrides)
    assert rerun.error is None, rerun.error
    written = replay_rotation(live, dev_run.resources, rerun.resources)
    assert set(written) == {name}, written
    return Rotated(result, stack_dir, before, rerun, old_version, old_value, written[name], as_of)


def _entry_name(declared: Declared) -> str:
    (name,) = [n for n, e in declared.entries.items() if (e.owner, e.key) == TARGET]
    return name


def test_rotate_command_on_ministack_bumps_exactly_the_100_day_old_epoch(
    rotated: Rotated, dev_declared: Declared
) -> None:
    result, as_of = rotated.result, rotated.as_of
    assert result["bumped"] == {"shared.JWT_SECRET": as_of.isoformat()}
    after = (rotated.stack_dir / "Pulumi.dev.yaml").read_text()
    assert yaml.safe_load(after)["config"][KEY] == {"shared.JWT_SECRET": as_of.isoformat()}
    assert after.startswith(rotated.before.rstrip("\n")), "only lines added at the end of config"

    # The replayed plan: exactly the bumped value's keeper changes, so only it is regenerated.
    rerun = rotated.rerun
    assert _keepers(rerun) != _keepers_of(dev_declared)
    changed = {
        name
        for name, keepers in _keepers(rerun).items()
        if _keepers_of(dev_declared).get(name) != keepers
    }
    assert changed == {"shared-jwt-secret-generated"}, changed


def test_the_rotate_report_holds_no_value(rotated: Rotated, live: LiveEnv) -> None:
    text = json.dumps(rotated.result)
    assert rotated.old_value not in text and rotated.new_value not in text
    assert not [name for name, value in live.values.items() if value in text]


def test_the_recorded_version_is_the_one_before_the_rotation(rotated: Rotated) -> None:
    assert rotated.result["overlaps_set"] == {"shared.JWT_SECRET": rotated.old_version}
    config = yaml.safe_load((rotated.stack_dir / "Pulumi.dev.yaml").read_text())["config"]
    assert config[OVERLAPS] == {"shared.JWT_SECRET": rotated.old_version}


def _refs(run: RunResult, service: str) -> dict[str, dict[str, str]]:
    (es,) = [
        r
        for r in run.resources
        if r.type == EXTERNAL_SECRET and r.inputs["metadata"]["name"] == service
    ]
    return {item["secretKey"]: item["remoteRef"] for item in es.inputs["spec"]["data"]}


def _session(live: LiveEnv, service: str) -> object:
    namespace, _, account = str(live.plan.access[service]["service_account"]).partition("/")
    token = mint_web_identity_token(live.issuer, namespace, account)
    credentials = assume_role_with_web_identity(live, live.role_arn(service), token)
    return live.client("secretsmanager", credentials)


def _get(client: object, ref: dict[str, str]) -> dict[str, str]:
    """GetSecretValue as ESO's AWS provider sends it for a remoteRef (a version is a VersionStage)."""
    extra = {"VersionStage": ref["version"]} if "version" in ref else {}
    return client.get_secret_value(SecretId=ref["key"], **extra)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("service", ["backend", "agent7-messaging"])
def test_after_rotation_the_reader_reads_current_and_previous(
    rotated: Rotated, live: LiveEnv, service: str
) -> None:
    refs = _refs(rotated.rerun, service)
    assert refs["JWT_SECRET_PREVIOUS"]["key"] == refs["JWT_SECRET"]["key"]
    client = _session(live, service)
    assert _get(client, refs["JWT_SECRET"])["SecretString"] == rotated.new_value
    previous = _get(client, refs["JWT_SECRET_PREVIOUS"])
    assert previous["SecretString"] == rotated.old_value
    assert previous["VersionId"] == rotated.old_version


def test_another_service_is_denied_current_and_previous(rotated: Rotated, live: LiveEnv) -> None:
    refs = _refs(rotated.rerun, "backend")
    client = _session(live, "media")
    assert "JWT_SECRET_PREVIOUS" not in _refs(rotated.rerun, "media")
    for ref in (refs["JWT_SECRET"], refs["JWT_SECRET_PREVIOUS"]):
        extra = {"VersionStage": ref["version"]} if "version" in ref else {}
        code = error_code(client.get_secret_value, SecretId=ref["key"], **extra)  # type: ignore[attr-defined]
        assert code == "AccessDeniedException", (ref, code)


def test_after_the_overlap_the_plan_has_no_previous_ref(
    rotated: Rotated, live: LiveEnv, dev_declared: Declared, tmp_path: Path
) -> None:
    """Once the new value is overlap_days (14) old, the command removes the overlap: the stack's model then has
    no previous version, so the program adds no `_PREVIOUS` (tests/program/test_keep_previous.py)."""
    shutil.copy(rotated.stack_dir / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    settings = dev_declared.settings.model_copy(
        update={"rotation_overlaps": rotated.result["overlaps_set"]}
    )
    declared = dataclasses.replace(_one_due(dev_declared), settings=settings)
    window = datetime.now(UTC).date() + timedelta(days=14)
    for as_of, ended in ((window, ["shared.JWT_SECRET"]),):  # the day before: test_rotate_plan.py
        out = tmp_path / "rotate.json"
        rotate("dev", "0d", as_of, out, root=tmp_path, declared=declared, endpoint=ENDPOINT[0])
        assert json.loads(out.read_text())["overlaps_ended"] == ended, as_of
    config = yaml.safe_load((tmp_path / "Pulumi.dev.yaml").read_text())["config"]
    assert OVERLAPS not in config
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("platform-secrets:")}
    model = build_model(load_catalog(offline.ROOT / "catalog.yaml"), parse_settings(raw), _FILLED)
    assert [e.config_key for e in model.entries if e.previous_version] == []


_FILLED = {"media.S3_ACCESS_KEY_ID": True, "media.S3_SECRET_ACCESS_KEY": True}


def test_nothing_due_changes_nothing(live: LiveEnv, dev_declared: Declared, tmp_path: Path) -> None:
    shutil.copy(offline.ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    before = (tmp_path / "Pulumi.dev.yaml").read_text()
    code = rotate(
        "dev",
        "14d",
        None,
        None,
        root=tmp_path,
        declared=_one_due(dev_declared),
        endpoint=ENDPOINT[0],
    )
    assert code == 0
    assert (tmp_path / "Pulumi.dev.yaml").read_text() == before


RANDOM = "random:index/randomPassword:RandomPassword"


def _keepers(run: RunResult) -> dict[str, object]:
    return {r.name: r.inputs.get("keepers") for r in run.resources if r.type == RANDOM}


def _keepers_of(declared: Declared) -> dict[str, object]:
    return {r.name: r.inputs.get("keepers") for r in declared.resources if r.type == RANDOM}


def test_the_audit_sees_the_recorded_version_readable_as_the_previous_one(
    rotated: Rotated, dev_declared: Declared
) -> None:
    """The audit's overlap-broken check, on the live store after the rotation: the recorded version is the one a
    `_PREVIOUS` ref reads, so no finding; a version the store does not serve is one."""
    view = VIEWS[dev_declared.cloud](dev_declared, endpoint=ENDPOINT[0])
    for version, kinds in (
        (rotated.result["overlaps_set"]["shared.JWT_SECRET"], []),
        ("99", ["overlap-broken"]),
    ):
        settings = dev_declared.settings.model_copy(
            update={"rotation_overlaps": {"shared.JWT_SECRET": version}}
        )
        found = overlap_findings(dataclasses.replace(dev_declared, settings=settings), view)
        assert [f.kind for f in found] == kinds, version
