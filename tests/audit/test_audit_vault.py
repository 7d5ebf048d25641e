"""The audit on a real OpenBao server: the dev plan on Vault replayed, then one drift at a time.

The server (``bao server -dev``, its own for this module: the drifts change global state) gets the plan's mounts,
entries (every one with a value, the external one filled as its owner would), policies and JWT roles
(``tests/servers/vault_replay.py``). The audit reads it with a token through ``VAULT_ADDR`` and ``VAULT_TOKEN``, as
an operator's shell would. Each drift test undoes its drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from platform_secrets.audit import command as audit
from platform_secrets.audit.declared import Declared, declare
from platform_secrets.live.readers import ValueReadRefused
from platform_secrets.live.readers.vault import ALLOWED, VaultReader
from platform_secrets.offline.runner import RunResult
from tests.servers.openbao_server import OpenBao
from tests.servers.vault_replay import public_key, replayed_dev


@pytest.fixture(scope="module")
def declared(vault_dev_run: RunResult) -> Declared:
    return declare("dev", overrides={"cloud": "vault"}, run=vault_dev_run)


@pytest.fixture(scope="module")
def server(vault_dev_run: RunResult, declared: Declared) -> Iterator[OpenBao]:
    with replayed_dev(vault_dev_run, declared.entries) as bao:
        ADDRESS[:] = [bao.address]
        yield bao


def today() -> Any:
    return datetime.now(UTC).date()


ADDRESS: list[str] = []
"""OpenBao's address while the module's server runs: the audit is pointed at it explicitly."""


def run_audit(declared: Declared, days: int = 0) -> dict[str, Any]:
    return audit.audit(declared, today() + timedelta(days=days), endpoint=ADDRESS[0])


def kinds(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["kind"], f["entry"], f["principal"]) for f in report["findings"]}


def mount_of(declared: Declared) -> str:
    return next(iter(declared.entries)).split("/", 1)[0]


def test_vault_clean(server: OpenBao, declared: Declared) -> None:
    report = run_audit(declared)
    print("\n" + audit.render(report))
    assert report["findings"] == [], audit.render(report)
    assert all(e["readers"] == e["declared_readers"] != [] for e in report["entries"])


def test_vault_extra_policy_granting_read(server: OpenBao, declared: Declared) -> None:
    client = server.root_client()
    mount = mount_of(declared)
    entry = f"{mount}/backend/OTP_PEPPER"
    policy = f'path "{mount}/data/backend/OTP_PEPPER" {{ capabilities = ["read"] }}'
    client.sys.create_or_update_policy(name="console-grant", policy=policy)
    try:
        report = run_audit(declared)
        assert ("extra-reader", entry, "policy:console-grant") in kinds(report), audit.render(
            report
        )
        assert audit.exit_code(report) == 1
    finally:
        client.sys.delete_policy("console-grant")


def test_vault_deleted_entry_orphan_and_age(server: OpenBao, declared: Declared) -> None:
    client = server.root_client()
    mount = mount_of(declared)
    gone = f"{mount}/media/S3_ACCESS_KEY_ID"
    kept = client.secrets.kv.v2.read_secret_metadata(
        path="media/S3_ACCESS_KEY_ID", mount_point=mount
    )
    client.secrets.kv.v2.delete_metadata_and_all_versions(
        path="media/S3_ACCESS_KEY_ID", mount_point=mount
    )
    client.secrets.kv.v2.create_or_update_secret(
        path="backend/ORPHAN", secret={"value": "fake-orphan"}, mount_point=mount
    )
    try:
        report = run_audit(declared)
        found = kinds(report)
        assert ("missing", gone, "") in found, audit.render(report)
        assert ("orphan", f"{mount}/backend/ORPHAN", "") in found
        every_90_days = dataclasses.replace(
            declared,
            entries={
                n: dataclasses.replace(e, rotation_days=90) for n, e in declared.entries.items()
            },
        )
        aged = run_audit(every_90_days, days=100)
        overdue = {e for k, e, _ in kinds(aged) if k == "overdue"}
        assert overdue == set(declared.entries) - {gone}, audit.render(aged)
    finally:
        client.secrets.kv.v2.delete_metadata_and_all_versions(
            path="backend/ORPHAN", mount_point=mount
        )
        client.secrets.kv.v2.create_or_update_secret(
            path="media/S3_ACCESS_KEY_ID", secret={"value": "fake-restored"}, mount_point=mount
        )
        client.secrets.kv.v2.update_metadata(
            path="media/S3_ACCESS_KEY_ID",
            mount_point=mount,
            max_versions=kept["data"]["max_versions"],
            custom_metadata=kept["data"]["custom_metadata"],
        )


def test_vault_reader_never_reads_data(server: OpenBao, declared: Declared) -> None:
    mount = mount_of(declared)
    reader = VaultReader(ADDRESS[0])
    with pytest.raises(ValueReadRefused, match=f"/v1/{mount}/data/backend/OTP_PEPPER"):
        reader.client.secrets.kv.v2.read_secret_version(
            path="backend/OTP_PEPPER", mount_point=mount, raise_on_deleted_version=True
        )
    assert not any("/data/" in path for _, path in ALLOWED)
    # The control: the root token reads it through an unguarded client (the server serves values).
    assert server.root_client().secrets.kv.v2.read_secret_version(
        path="backend/OTP_PEPPER", mount_point=mount, raise_on_deleted_version=True
    )["data"]["data"]["value"]


# --- trust drift: who may become a reader ---


def _role(server: OpenBao, auth: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = server.root_client().read(f"auth/{auth}/role/{name}")["data"]
    return data


def _trust(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["kind"].startswith("trust-")]


def test_control_the_replay_as_planned_has_no_trust_finding(
    server: OpenBao, declared: Declared
) -> None:
    report = run_audit(declared)
    assert _trust(report) == [], audit.render(report)
    # The doors were compared, not skipped: every planned role has one live.
    from platform_secrets.audit.live_view import vault_view

    view = vault_view(declared, endpoint=ADDRESS[0])
    assert view.doors is not None and view.doors == view.planned_doors
    assert len(view.doors) == len(declared.of_type("vault:jwt/authBackendRole:AuthBackendRole"))


@pytest.mark.parametrize(
    "change",
    [
        {"bound_subject": ""},
        {"bound_subject": "system:serviceaccount:backend:backend"},
        {"token_policies": ["platform-secrets-dev-media", "default"]},
        {"token_no_default_policy": False},
        {
            "bound_subject": "",
            "bound_claims": {"sub": "system:serviceaccount:*"},
            "bound_claims_type": "glob",
        },
        {"groups_claim": "groups"},
        {"bound_audiences": ["vault", "sts.amazonaws.com"]},
    ],
    ids=[
        "bound-subject-emptied",
        "bound-subject-changed",
        "policy-added",
        "default-re-enabled",
        "subject-globbed",
        "groups-claim-added",
        "audience-added",
    ],
)
def test_a_role_whose_trust_is_widened_is_a_high_finding(
    server: OpenBao, declared: Declared, vault_dev_run: RunResult, change: dict[str, Any]
) -> None:
    auth = vault_dev_run.outputs["store"]["auth_path"]
    client = server.root_client()
    kept = _role(server, auth, "media")
    client.write(f"auth/{auth}/role/media", **{**kept, **change})
    try:
        report = run_audit(declared)
        widened = [f for f in _trust(report) if f["kind"] == "trust-widened"]
        assert [(f["severity"], f["entry"]) for f in widened] == [
            ("high", f"auth/{auth}/role/media")
        ], audit.render(report)
        assert audit.exit_code(report) == 1
    finally:
        client.write(f"auth/{auth}/role/media", **kept)


def test_an_undeclared_role_on_the_stacks_mount_is_a_high_finding(
    server: OpenBao, declared: Declared, vault_dev_run: RunResult
) -> None:
    auth = vault_dev_run.outputs["store"]["auth_path"]
    client = server.root_client()
    client.write(
        f"auth/{auth}/role/shadow",
        role_type="jwt",
        user_claim="sub",
        bound_subject="system:serviceaccount:shadow:shadow",
        bound_audiences=["vault"],
        token_policies=["platform-secrets-dev-backend"],
    )
    try:
        report = run_audit(declared)
        assert ("trust-widened", f"auth/{auth}/role/shadow", f"auth/{auth}/role/shadow") in kinds(
            report
        ), audit.render(report)
    finally:
        client.delete(f"auth/{auth}/role/shadow")


def test_an_extra_reader_through_a_role_names_the_policy_that_grants_it(
    server: OpenBao, declared: Declared, vault_dev_run: RunResult
) -> None:
    auth = vault_dev_run.outputs["store"]["auth_path"]
    client = server.root_client()
    mount = mount_of(declared)
    policy = f'path "{mount}/data/backend/OTP_PEPPER" {{ capabilities = ["read"] }}'
    client.sys.create_or_update_policy(name="console-grant", policy=policy)
    kept = _role(server, auth, "media")
    client.write(
        f"auth/{auth}/role/media",
        **{**kept, "token_policies": [*kept["token_policies"], "console-grant"]},
    )
    try:
        report = run_audit(declared)
        extra = [
            f
            for f in report["findings"]
            if f["kind"] == "extra-reader" and f["entry"] == f"{mount}/backend/OTP_PEPPER"
        ]
        assert [f["principal"] for f in extra] == [f"auth/{auth}/role/media"], audit.render(report)
        assert "console-grant" in extra[0]["detail"], extra[0]["detail"]
    finally:
        client.write(f"auth/{auth}/role/media", **kept)
        client.sys.delete_policy("console-grant")


def test_a_policy_given_through_an_identity_group_is_a_reader_and_named(
    server: OpenBao, declared: Declared, vault_dev_run: RunResult
) -> None:
    """An identity administrator puts media's entity in a group carrying a policy: media's tokens read
    OTP_PEPPER though its role is unchanged. The audit names the group's policy and the wider door."""
    auth = vault_dev_run.outputs["store"]["auth_path"]
    client = server.root_client()
    mount = mount_of(declared)
    accessor = client.sys.list_auth_methods()["data"][f"{auth}/"]["accessor"]
    policy = f'path "{mount}/data/backend/OTP_PEPPER" {{ capabilities = ["read"] }}'
    client.sys.create_or_update_policy(name="group-grant", policy=policy)
    entity = client.secrets.identity.create_or_update_entity(name="media-entity")["data"]["id"]
    client.secrets.identity.create_or_update_entity_alias(
        name="system:serviceaccount:media:media", canonical_id=entity, mount_accessor=accessor
    )
    group = client.secrets.identity.create_or_update_group(
        name="console-group", policies=["group-grant"], member_entity_ids=[entity]
    )["data"]["id"]
    try:
        report = run_audit(declared)
        extra = [
            f
            for f in report["findings"]
            if f["kind"] == "extra-reader" and f["entry"] == f"{mount}/backend/OTP_PEPPER"
        ]
        assert [f["principal"] for f in extra] == [f"auth/{auth}/role/media"], audit.render(report)
        assert "group-grant" in extra[0]["detail"], extra[0]["detail"]
        widened = [f for f in _trust(report) if f["kind"] == "trust-widened"]
        assert [f["entry"] for f in widened] == [f"auth/{auth}/role/media"], audit.render(report)
    finally:
        client.secrets.identity.delete_group(group)
        client.secrets.identity.delete_entity(entity)
        client.sys.delete_policy("group-grant")


def test_a_role_of_another_teams_mount_that_reads_nothing_of_ours_is_no_finding(
    server: OpenBao, declared: Declared
) -> None:
    """Control for noise: the server is shared; a JWT mount of another team, with a role that reads none of the
    stack's entries, is no door into a reader of ours. Given one of our entries, it is a reader and a door."""
    client = server.root_client()
    mount = mount_of(declared)
    client.sys.enable_auth_method(method_type="jwt", path="other-team")
    client.adapter.post(
        "/v1/auth/other-team/config", json={"jwt_validation_pubkeys": [public_key()]}
    )
    client.sys.create_or_update_policy(
        name="other-team-app", policy='path "other/data/app" { capabilities = ["read"] }'
    )
    role = {
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_subject": "app",
        "bound_audiences": ["other"],
        "token_policies": ["other-team-app"],
    }
    client.write("auth/other-team/role/app", **role)
    try:
        report = run_audit(declared)
        assert report["findings"] == [], audit.render(report)
        client.sys.create_or_update_policy(
            name="other-team-app",
            policy=f'path "{mount}/data/backend/OTP_PEPPER" {{ capabilities = ["read"] }}',
        )
        found = kinds(run_audit(declared))
        assert ("extra-reader", f"{mount}/backend/OTP_PEPPER", "auth/other-team/role/app") in found
        assert ("trust-widened", "auth/other-team/role/app", "auth/other-team/role/app") in found
    finally:
        client.sys.disable_auth_method("other-team")
        client.sys.delete_policy("other-team-app")
