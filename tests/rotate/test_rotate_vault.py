"""The rotate command on a real OpenBao server: the dev plan on Vault replayed, one value made due.

As on ministack (``tests/rotate/test_rotate_aws.py``): shared JWT_SECRET gets a 90-day period, the clock runs 100
days on, and the command, reading KV v2 metadata through the audit's guarded Vault reader, bumps exactly that
epoch in a copy of the stack file; the replanned stack regenerates that value only.

JWT_SECRET keeps its previous value (keep_previous): the command records its current KV v2 version in
``rotationOverlaps``; the replanned stack's new value is written (``replay_rotation``: a new version); the readers,
logged in with their ServiceAccount tokens (signed by this module's key), read the version their ExternalSecret
names for ``JWT_SECRET`` (the current one) and for ``JWT_SECRET_PREVIOUS`` (``?version=N`` on the same data
path); another service is denied both.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hvac
import jwt
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
from platform_secrets.program.clouds import vault_naming
from platform_secrets.rotate.command import rotate
from platform_secrets.rotate.stackfile import KEY, OVERLAPS
from tests.servers.openbao_server import OpenBao
from tests.servers.vault_replay import key_pair, replay_rotation, replayed_dev

RANDOM = "random:index/randomPassword:RandomPassword"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


ENDPOINT: list[str] = []
"""The server's address while the module's server runs: the command is pointed at it explicitly."""


@pytest.fixture(scope="module")
def declared(vault_dev_run: RunResult) -> Declared:
    return declare("dev", overrides={"cloud": "vault"}, run=vault_dev_run)


KEY_PAIR: list[Any] = []
"""The private key the module signs ServiceAccount tokens with (its public key verifies them on the server)."""


@pytest.fixture(scope="module")
def server(vault_dev_run: RunResult, declared: Declared) -> Iterator[OpenBao]:
    private, public = key_pair()
    KEY_PAIR[:] = [private]
    with replayed_dev(vault_dev_run, declared.entries, public=public) as bao:
        ENDPOINT[:] = [bao.address]
        yield bao


def _keepers(resources: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {r.name: r.inputs.get("keepers") for r in resources if r.type == RANDOM}


@dataclasses.dataclass(frozen=True)
class Rotated:
    result: dict[str, Any]
    stack_dir: Path
    rerun: RunResult
    old_version: int
    old_value: str
    new_value: str


def _one_due(declared: Declared) -> Declared:
    return dataclasses.replace(
        declared,
        entries={
            n: dataclasses.replace(e, rotation_days=90 if e.key == "JWT_SECRET" else None)
            for n, e in declared.entries.items()
        },
    )


def _mount(run: RunResult) -> str:
    return str(run.outputs["store"]["kv_mount"])


@pytest.fixture(scope="module")
def rotated(
    server: OpenBao,
    declared: Declared,
    vault_dev_run: RunResult,
    tmp_path_factory: pytest.TempPathFactory,
) -> Rotated:
    stack_dir = tmp_path_factory.mktemp("rotate-vault")
    shutil.copy(offline.ROOT / "Pulumi.dev.yaml", stack_dir / "Pulumi.dev.yaml")
    root, mount = server.root_client(), _mount(vault_dev_run)
    meta = root.secrets.kv.v2.read_secret_metadata(path=JWT_PATH, mount_point=mount)["data"]
    old = root.secrets.kv.v2.read_secret_version(path=JWT_PATH, mount_point=mount)
    as_of = datetime.now(UTC).date() + timedelta(days=100)
    out = stack_dir / "rotate.json"
    code = rotate(
        "dev", "14d", as_of, out, root=stack_dir, declared=_one_due(declared), endpoint=ENDPOINT[0]
    )
    result = json.loads(out.read_text())
    assert code == 1 and result["bumped"] == {"shared.JWT_SECRET": as_of.isoformat()}, result
    overrides = {"cloud": "vault", KEY: result["bumped"], OVERLAPS: result["overlaps_set"]}
    rerun = offline.run("dev", overrides=overrides)  # as the shared run: config values unset
    assert rerun.error is None, rerun.error
    written = replay_rotation(root, vault_dev_run.resources, rerun.resources)
    assert set(written) == {f"{mount}/{JWT_PATH}"}, written
    return Rotated(
        result,
        stack_dir,
        rerun,
        int(meta["current_version"]),
        str(old["data"]["data"]["value"]),
        written[f"{mount}/{JWT_PATH}"],
    )


JWT_PATH = "shared/JWT_SECRET"


def test_rotate_command_on_openbao_bumps_exactly_the_100_day_old_epoch(
    rotated: Rotated, declared: Declared
) -> None:
    before, after = _keepers(declared.resources), _keepers(rotated.rerun.resources)
    assert {n for n in after if after[n] != before.get(n)} == {"shared-jwt-secret-generated"}


def test_the_recorded_vault_version_is_the_one_before_the_rotation(rotated: Rotated) -> None:
    assert rotated.result["overlaps_set"] == {"shared.JWT_SECRET": str(rotated.old_version)}


def _refs(run: RunResult, service: str) -> dict[str, dict[str, str]]:
    (es,) = [
        r
        for r in run.resources
        if r.type == EXTERNAL_SECRET and r.inputs["metadata"]["name"] == service
    ]
    return {item["secretKey"]: item["remoteRef"] for item in es.inputs["spec"]["data"]}


def _login(server: OpenBao, run: RunResult, service: str) -> Any:
    """A client logged in as the service's ServiceAccount (ESO's TokenRequest), on the planned auth mount."""
    store = run.outputs["store"]
    (issuer,) = [
        r.inputs["boundIssuer"]
        for r in run.resources
        if r.type == "vault:jwt/authBackend:AuthBackend" and r.inputs["path"] == store["auth_path"]
    ]
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": vault_naming.workload_subject(service, service),
        "aud": ["vault"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "kubernetes.io": {"namespace": service, "serviceaccount": {"name": service, "uid": "0"}},
    }
    client = server.client()
    token = jwt.encode(claims, KEY_PAIR[0], algorithm="RS256")
    client.auth.jwt.jwt_login(role=service, jwt=token, path=store["auth_path"])
    return client


def _read(client: Any, mount: str, ref: dict[str, str]) -> str:
    """What ESO's Vault provider (KV v2) fetches for a remoteRef: ``?version=N`` on the same data path."""
    version = int(ref["version"]) if "version" in ref else None
    found = client.secrets.kv.v2.read_secret_version(
        path=ref["key"], version=version, mount_point=mount, raise_on_deleted_version=True
    )
    return str(found["data"]["data"][ref["property"]])


@pytest.mark.parametrize("service", ["backend", "agent7-messaging"])
def test_after_rotation_the_reader_reads_current_and_previous(
    rotated: Rotated, server: OpenBao, vault_dev_run: RunResult, service: str
) -> None:
    refs, mount = _refs(rotated.rerun, service), _mount(vault_dev_run)
    assert refs["JWT_SECRET_PREVIOUS"]["key"] == refs["JWT_SECRET"]["key"]
    assert refs["JWT_SECRET_PREVIOUS"]["version"] == str(rotated.old_version)
    client = _login(server, rotated.rerun, service)
    assert _read(client, mount, refs["JWT_SECRET"]) == rotated.new_value
    assert _read(client, mount, refs["JWT_SECRET_PREVIOUS"]) == rotated.old_value


def test_another_service_is_denied_current_and_previous(
    rotated: Rotated, server: OpenBao, vault_dev_run: RunResult
) -> None:
    refs, mount = _refs(rotated.rerun, "backend"), _mount(vault_dev_run)
    assert "JWT_SECRET_PREVIOUS" not in _refs(rotated.rerun, "media")
    client = _login(server, rotated.rerun, "media")
    for ref in (refs["JWT_SECRET"], refs["JWT_SECRET_PREVIOUS"]):
        with pytest.raises(hvac.exceptions.Forbidden):
            _read(client, mount, ref)


def test_after_the_overlap_the_plan_has_no_previous_ref(
    rotated: Rotated, declared: Declared, tmp_path: Path
) -> None:
    shutil.copy(rotated.stack_dir / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    settings = declared.settings.model_copy(
        update={"rotation_overlaps": rotated.result["overlaps_set"]}
    )
    in_overlap = dataclasses.replace(_one_due(declared), settings=settings)
    window = datetime.now(UTC).date() + timedelta(days=14)
    for as_of, ended in ((window, ["shared.JWT_SECRET"]),):  # the day before: test_rotate_plan.py
        out = tmp_path / "rotate.json"
        rotate("dev", "0d", as_of, out, root=tmp_path, declared=in_overlap, endpoint=ENDPOINT[0])
        assert json.loads(out.read_text())["overlaps_ended"] == ended, as_of
    config = yaml.safe_load((tmp_path / "Pulumi.dev.yaml").read_text())["config"]
    assert OVERLAPS not in config
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("platform-secrets:")}
    model = build_model(
        load_catalog(offline.ROOT / "catalog.yaml"),
        parse_settings({**raw, "cloud": "vault"}),
        {"media.S3_ACCESS_KEY_ID": True, "media.S3_SECRET_ACCESS_KEY": True},
    )
    assert [e.config_key for e in model.entries if e.previous_version] == []


def test_the_audit_sees_the_recorded_version_readable_as_the_previous_one(
    rotated: Rotated, declared: Declared
) -> None:
    """The audit's overlap-broken check, on the live store after the rotation: the recorded version is the one a
    `_PREVIOUS` ref reads, so no finding; a version the store does not serve is one."""
    view = VIEWS[declared.cloud](declared, endpoint=ENDPOINT[0])
    for version, kinds in (
        (rotated.result["overlaps_set"]["shared.JWT_SECRET"], []),
        ("99", ["overlap-broken"]),
    ):
        settings = declared.settings.model_copy(
            update={"rotation_overlaps": {"shared.JWT_SECRET": version}}
        )
        found = overlap_findings(dataclasses.replace(declared, settings=settings), view)
        assert [f.kind for f in found] == kinds, version
