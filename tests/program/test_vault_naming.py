"""Tier 1 for the Vault store: its names and paths (the contract of issue 11) and its settings, pure."""

from __future__ import annotations

import pytest

from platform_secrets.model.settings import SettingsError, parse_settings
from platform_secrets.program.clouds import vault_naming as naming
from tests.model.test_model import stack_settings


def test_names_follow_the_contract():
    assert naming.kv_mount("platform-secrets", "prod") == "platform-secrets-prod"
    assert naming.auth_path("platform-secrets", "prod") == "platform-secrets-prod-k8s"
    assert naming.ci_auth_path("platform-secrets", "prod") == "platform-secrets-prod-ci"
    assert naming.secret_path("backend", "JWT_SECRET") == "backend/JWT_SECRET"
    assert naming.data_path("m", "backend/JWT_SECRET") == "m/data/backend/JWT_SECRET"
    assert naming.metadata_path("m", "backend/JWT_SECRET") == "m/metadata/backend/JWT_SECRET"
    assert naming.policy_name("ps", "dev", "media") == "ps-dev-media"
    assert naming.role_name("media") == "media"
    assert naming.workload_subject("media", "media") == "system:serviceaccount:media:media"


def test_import_ids_follow_the_contract():
    assert naming.mount_import_id("ps-dev") == "ps-dev"
    assert naming.secret_import_id("ps-dev", "media/S3_BUCKET") == "ps-dev/data/media/S3_BUCKET"
    assert naming.policy_import_id("ps-dev-media") == "ps-dev-media"
    assert naming.auth_backend_import_id("ps-dev-k8s") == "ps-dev-k8s"
    assert naming.role_import_id("ps-dev-k8s", "media") == "auth/ps-dev-k8s/role/media"


def test_paths_default_from_prefix_and_environment_and_follow_the_settings():
    settings = parse_settings(stack_settings("dev", cloud="vault"))
    paths = naming.paths(settings)
    assert (paths.mount, paths.auth, paths.ci_auth) == (
        "platform-secrets-dev",
        "platform-secrets-dev-k8s",
        "platform-secrets-dev-ci",
    )
    vault = {
        **stack_settings("dev")["vault"],
        "kvMount": "kv",
        "authPath": "k8s",
        "ciAuthPath": "gh",
    }
    paths = naming.paths(parse_settings(stack_settings("dev", cloud="vault", vault=vault)))
    assert (paths.mount, paths.auth, paths.ci_auth) == ("kv", "k8s", "gh")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jwtValidationPubkeys": ["-----BEGIN PUBLIC KEY-----"]}, "exactly one of discoveryUrl"),
        ({"discoveryUrl": None}, "exactly one of discoveryUrl"),
        ({"audiences": []}, "audiences"),
        ({"tokenTtl": 86400}, "tokenTtl"),
        ({"toolingClaims": {"linear-integration": {"repository": "acme/*"}}}, "toolingClaims"),
    ],
    ids=["both-key-sources", "no-key-source", "no-audience", "long-ttl", "glob-claim"],
)
def test_incomplete_or_loose_vault_settings_are_refused(change, message):
    vault = {k: v for k, v in {**stack_settings("dev")["vault"], **change}.items() if v is not None}
    with pytest.raises(SettingsError, match=message):
        parse_settings(stack_settings("dev", cloud="vault", vault=vault))


def test_vault_settings_are_required_when_selected():
    raw = stack_settings("dev", cloud="vault")
    del raw["vault"]
    with pytest.raises(SettingsError, match="vault: required when cloud is vault"):
        parse_settings(raw)


def test_prod_refuses_plain_http_and_few_versions_naming_both():
    vault = {**stack_settings("prod")["vault"], "address": "http://vault:8200", "maxVersions": 3}
    with pytest.raises(SettingsError) as error:
        parse_settings(stack_settings("prod", cloud="vault", vault=vault))
    assert "prod talks to Vault over https" in str(error.value)
    assert "at least 10 versions" in str(error.value)
