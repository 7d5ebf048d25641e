"""The rotate command on a running AWS API: the dev plan replayed on ministack, one value made due.

The replay writes every entry today; the catalog's dev entries have no rotation period, so the test gives one
entry (shared JWT_SECRET) a 90-day period and runs the command with a clock 100 days on: exactly that entry's
epoch is bumped, in a copy of the stack file, and the replanned stack then regenerates that value only.
The command reads metadata through the audit's guarded reader (it refuses a value read before sending it).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from platform_secrets.audit.declared import Declared, declare
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.rotate.command import rotate
from platform_secrets.rotate.stackfile import KEY
from tests.servers.aws_replay import LiveEnv, replay_plan
from tests.servers.ministack_server import ROOT_SECRET_KEY, running_ministack

TARGET = ("shared", "JWT_SECRET")


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
        env = replay_plan(aws_dev_plan_dir, endpoint, account_id=account)
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


def test_rotate_command_on_ministack_bumps_exactly_the_100_day_old_epoch(
    live: LiveEnv, dev_declared: Declared, tmp_path: Path
) -> None:
    shutil.copy(offline.ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    before = (tmp_path / "Pulumi.dev.yaml").read_text()
    as_of = datetime.now(UTC).date() + timedelta(days=100)
    out = tmp_path / "rotate.json"
    code = rotate(
        "dev",
        "14d",
        as_of,
        out,
        root=tmp_path,
        declared=_one_due(dev_declared),
        endpoint=ENDPOINT[0],
    )
    result = json.loads(out.read_text())
    assert code == 1, result
    assert result["bumped"] == {"shared.JWT_SECRET": as_of.isoformat()}
    after = (tmp_path / "Pulumi.dev.yaml").read_text()
    assert yaml.safe_load(after)["config"][KEY] == {"shared.JWT_SECRET": as_of.isoformat()}
    assert after.startswith(before.rstrip("\n")), "only lines added at the end of config"

    # The replayed plan: exactly the bumped value's keeper changes, so only it is regenerated.
    overrides = {KEY: {"shared.JWT_SECRET": as_of.isoformat()}}
    rerun = offline.run("dev", overrides=overrides, secrets=offline.stub_secrets("dev", overrides))
    assert rerun.error is None
    assert _keepers(rerun) != _keepers_of(dev_declared)
    changed = {
        name
        for name, keepers in _keepers(rerun).items()
        if _keepers_of(dev_declared).get(name) != keepers
    }
    assert changed == {"shared-jwt-secret-generated"}, changed


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
