"""The rotate command on Azure, Key Vault faked at the HTTP transport of the official client (the audit's fake).

The prod plan on Azure as the fake's vault; shared JWT_SECRET (keep_previous) is given a 90-day period and the
command runs with a clock 100 days on: it bumps exactly that epoch and records the secret's current version id
(from the versions listing, read through the audit's guarded reader) in ``rotationOverlaps``, where before it
held every Azure keep_previous value. No value read is sent.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from platform_secrets.audit.declared import Declared, declare
from platform_secrets.live.readers import azure as azure_store
from platform_secrets.model.overlaps import VERSION_FORMS
from platform_secrets.model.settings import Cloud
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.rotate.command import plan_rotation, rotate
from platform_secrets.rotate.stackfile import KEY, OVERLAPS
from tests.audit_fake_clouds import FakeAzure, FakeAzureCredential, FakeHttp

SET_AT = datetime(2026, 8, 1, 12, tzinfo=UTC)
AS_OF = SET_AT.date() + timedelta(days=100)
TARGET = ("shared", "JWT_SECRET")


@pytest.fixture(scope="module")
def declared(azure_prod_run: RunResult) -> Declared:
    """The prod plan on Azure with only shared JWT_SECRET on a (90-day) rotation period."""
    whole = declare("prod", overrides={"cloud": "azure"}, run=azure_prod_run)
    return dataclasses.replace(
        whole,
        entries={
            name: dataclasses.replace(e, rotation_days=90 if (e.owner, e.key) == TARGET else None)
            for name, e in whole.entries.items()
        },
    )


def _reader(fake: FakeAzure, http: FakeHttp) -> azure_store.AzureReader:
    return azure_store.AzureReader(
        fake.subscription,
        fake.group,
        fake.vault,
        credential=FakeAzureCredential(),
        adapter=http,
        identity_group=fake.identity_group,
    )


def _jwt(declared: Declared) -> str:
    (name,) = [n for n, e in declared.entries.items() if (e.owner, e.key) == TARGET]
    return name


def test_a_100_day_old_keep_previous_value_on_azure_is_bumped_with_its_version_recorded(
    declared: Declared, tmp_path: Path
) -> None:
    fake = FakeAzure.from_plan(declared, SET_AT)
    (current,) = fake.versions[_jwt(declared)]
    shutil.copy(offline.ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    http = FakeHttp(fake.handle)
    out = tmp_path / "rotate.json"
    code = rotate(
        "prod", "14d", AS_OF, out, root=tmp_path, declared=declared, reader=_reader(fake, http)
    )
    result = json.loads(out.read_text())
    assert code == 1, result
    assert result["held"] == [], result
    assert result["bumped"] == {"shared.JWT_SECRET": AS_OF.isoformat()}
    assert result["overlaps_set"] == {"shared.JWT_SECRET": current}
    config = yaml.safe_load((tmp_path / "Pulumi.prod.yaml").read_text())["config"]
    assert config[KEY] == {"shared.JWT_SECRET": AS_OF.isoformat()}
    assert config[OVERLAPS] == {"shared.JWT_SECRET": current}
    assert VERSION_FORMS[Cloud.AZURE][0].fullmatch(current)  # the stack file then validates
    # The control: only metadata went out (the listings), never a value read.
    data_plane = [p.split("vault.azure.net", 1)[1] for _, p in http.sent if "vault.azure.net" in p]
    assert f"/secrets/{_jwt(declared)}/versions" in data_plane
    assert not [p for p in data_plane if re.fullmatch(azure_store.VALUE_READS[0], p)]


def test_an_azure_overlap_ends_once_the_new_version_is_deployed_and_overlap_days_old(
    declared: Declared,
) -> None:
    fake = FakeAzure.from_plan(declared, SET_AT)
    jwt = _jwt(declared)
    (recorded,) = fake.versions[jwt]
    overlaps = {"shared.JWT_SECRET": recorded}
    entry = declared.entries[jwt]
    settings = declared.settings.model_copy(update={"rotation_overlaps": overlaps})
    with_overlap = dataclasses.replace(declared, settings=settings)

    def ended(days: int) -> tuple[str, ...]:
        as_of = SET_AT.date() + timedelta(days=days)
        reader = _reader(fake, FakeHttp(fake.handle))
        return plan_rotation(with_overlap, as_of, timedelta(days=0), reader).overlaps_ended

    assert (
        ended(entry.overlap_days + 1) == ()
    )  # not deployed: the recorded version is still current
    fake.add_version(jwt, SET_AT + timedelta(days=1))  # the rotation, deployed
    assert ended(entry.overlap_days) == ()
    assert ended(entry.overlap_days + 1) == ("shared.JWT_SECRET",)
