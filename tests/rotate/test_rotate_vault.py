"""The rotate command on a real OpenBao server: the dev plan on Vault replayed, one value made due.

As on ministack (``tests/rotate/test_rotate_aws.py``): shared JWT_SECRET gets a 90-day period, the clock runs 100
days on, and the command, reading KV v2 metadata through the audit's guarded Vault reader, bumps exactly that
epoch in a copy of the stack file; the replanned stack regenerates that value only.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from platform_secrets.audit.declared import Declared, declare
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.rotate.command import rotate
from platform_secrets.rotate.stackfile import KEY
from tests.servers.openbao_server import OpenBao
from tests.servers.vault_replay import replayed_dev

RANDOM = "random:index/randomPassword:RandomPassword"


ENDPOINT: list[str] = []
"""The server's address while the module's server runs: the command is pointed at it explicitly."""


@pytest.fixture(scope="module")
def declared(vault_dev_run: RunResult) -> Declared:
    return declare("dev", overrides={"cloud": "vault"}, run=vault_dev_run)


@pytest.fixture(scope="module")
def server(vault_dev_run: RunResult, declared: Declared) -> Iterator[OpenBao]:
    with replayed_dev(vault_dev_run, declared.entries) as bao:
        ENDPOINT[:] = [bao.address]
        yield bao


def _keepers(resources: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {r.name: r.inputs.get("keepers") for r in resources if r.type == RANDOM}


def test_rotate_command_on_openbao_bumps_exactly_the_100_day_old_epoch(
    server: OpenBao, declared: Declared, tmp_path: Path
) -> None:
    one_due = dataclasses.replace(
        declared,
        entries={
            n: dataclasses.replace(e, rotation_days=90 if e.key == "JWT_SECRET" else None)
            for n, e in declared.entries.items()
        },
    )
    shutil.copy(offline.ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    as_of = datetime.now(UTC).date() + timedelta(days=100)
    out = tmp_path / "rotate.json"
    code = rotate("dev", "14d", as_of, out, root=tmp_path, declared=one_due, endpoint=ENDPOINT[0])
    result = json.loads(out.read_text())
    assert code == 1 and result["bumped"] == {"shared.JWT_SECRET": as_of.isoformat()}, result

    overrides = {"cloud": "vault", KEY: result["bumped"]}
    rerun = offline.run("dev", overrides=overrides, secrets=offline.stub_secrets("dev", overrides))
    assert rerun.error is None
    before, after = _keepers(declared.resources), _keepers(rerun.resources)
    assert {n for n in after if after[n] != before.get(n)} == {"shared-jwt-secret-generated"}
