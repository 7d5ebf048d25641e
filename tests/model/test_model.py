"""Tier 1: the stack model — prod rules, required secrets, plaintext secrets — pure, no Pulumi."""

from __future__ import annotations

import re

import pytest
import yaml

from platform_secrets.model.catalog import load_catalog
from platform_secrets.model.settings import SettingsError, parse_settings
from platform_secrets.model.stack_model import StackError, build_model
from platform_secrets.paths import PROJECT_ROOT
from tests import catalog_facts

ROOT = PROJECT_ROOT
CATALOG = load_catalog(ROOT / "catalog.yaml")
PROD_CONFIG_SECRETS = {key: True for key in catalog_facts.fake_config_secrets(CATALOG)}
"""Every config-sourced secret of the catalog, present (a `secure:` value in the stack file)."""


def stack_settings(stack: str, **changes) -> dict:
    """The stack file's `platform-secrets:` keys, namespace removed, with changes applied."""
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    raw = {
        key.split(":", 1)[1]: value
        for key, value in config.items()
        if key.startswith("platform-secrets:")
    }
    raw.update(changes)
    return raw


def prod_model(secrets=None, **changes):
    settings = parse_settings(stack_settings("prod", **changes))
    return build_model(CATALOG, settings, PROD_CONFIG_SECRETS if secrets is None else secrets)


def with_media(**values) -> dict:
    settings = stack_settings("prod")["settings"]
    return {**settings, "media": {**settings["media"], **values}}


def test_prod_with_every_required_secret_builds():
    model = prod_model()
    assert {s.name for s in model.services} == set(CATALOG.services)
    assert model.missing == ()


def test_prod_missing_required_secret_names_key_and_service():
    secrets = dict(PROD_CONFIG_SECRETS)
    del secrets["media.S3_ACCESS_KEY_ID"]
    with pytest.raises(StackError) as error:
        prod_model(secrets)
    assert "media.S3_ACCESS_KEY_ID: required in prod but not set" in str(error.value)
    assert "read by media" in str(error.value)


def test_prod_wildcard_cors_is_refused():
    with pytest.raises(StackError, match=r"settings\.media\.CORS_ORIGIN: '\*' allows any origin"):
        prod_model(settings=with_media(CORS_ORIGIN="*"))


def test_prod_wildcard_inside_an_origin_list_is_refused():
    with pytest.raises(StackError, match=re.escape("allows any origin")):
        prod_model(settings=with_media(CORS_ORIGIN="https://app.example.com, *"))


def test_prod_http_urls_are_refused():
    settings = with_media(S3_ENDPOINT="http://minio.internal:9000")
    settings["events-service"] = {"EVENTS_BASE_URL": "http://events.example.com"}
    with pytest.raises(StackError) as error:
        prod_model(settings=settings)
    assert "settings.media.S3_ENDPOINT: 'http://minio.internal:9000' is not an https:// URL" in str(
        error.value
    )
    assert "settings.events-service.EVENTS_BASE_URL" in str(error.value)


def test_prod_typesense_protocol_must_be_https():
    settings = stack_settings("prod")["settings"] | {
        "agent9-search": {"TYPESENSE_PROTOCOL": "http"}
    }
    with pytest.raises(StackError, match=re.escape("TYPESENSE_PROTOCOL: 'http' must be 'https'")):
        prod_model(settings=settings)


def test_prod_names_every_violation_at_once():
    secrets = {k: v for k, v in PROD_CONFIG_SECRETS.items() if not k.startswith("media.")}
    settings = with_media(CORS_ORIGIN="*", S3_BUCKET=None)
    settings["media"] = {k: v for k, v in settings["media"].items() if v is not None}
    settings["events-service"] = {"EVENTS_BASE_URL": "http://events.example.com"}
    with pytest.raises(StackError) as error:
        prod_model(secrets, settings=settings)
    message = str(error.value)
    assert "5 problem(s)" in message  # `*` is one problem: the origin-list grammar names it
    for fragment in (
        "media.S3_ACCESS_KEY_ID",
        "media.S3_SECRET_ACCESS_KEY",
        "CORS_ORIGIN",
        "S3_BUCKET: required in prod",
        "EVENTS_BASE_URL",
    ):
        assert fragment in message


def test_dev_allows_what_prod_refuses_and_reports_missing_secrets():
    settings = parse_settings(stack_settings("dev"))
    model = build_model(CATALOG, settings, {})
    assert (
        dict(s for svc in model.services for s in svc.settings if svc.name == "media")[
            "CORS_ORIGIN"
        ]
        == "*"
    )
    assert set(model.missing) == set(PROD_CONFIG_SECRETS)
    assert all(e.pending for e in model.entries if e.config_key in model.missing)


def test_a_secret_stored_in_plaintext_in_the_stack_file_is_refused():
    secrets = {**PROD_CONFIG_SECRETS, "backend.REDIS_URL": False}
    with pytest.raises(StackError, match=re.escape("backend.REDIS_URL: stored in plaintext")):
        prod_model(secrets)


def test_a_config_value_for_a_generated_secret_is_refused():
    with pytest.raises(
        StackError,
        match=re.escape("backend.OTP_PEPPER: set in the stack's config, but the catalog"),
    ):
        prod_model({**PROD_CONFIG_SECRETS, "backend.OTP_PEPPER": True})


def test_settings_for_unknown_services_and_keys_are_refused():
    settings = stack_settings("prod")["settings"] | {"nope": {"A": "b"}}
    settings["media"] = {**settings["media"], "TYPO_KEY": "x"}
    with pytest.raises(StackError) as error:
        prod_model(settings=settings)
    assert "settings.nope: no such service" in str(error.value)
    assert "settings.media.TYPO_KEY: not a setting of media" in str(error.value)


def test_prod_rotation_longer_than_90_days_is_refused():
    with pytest.raises(
        SettingsError, match=re.escape("rotationDays: prod rotates at least every 90 days")
    ):
        parse_settings(stack_settings("prod", rotationDays=120))


def test_prod_recovery_window_is_30_days_and_protection_is_on():
    settings = parse_settings(stack_settings("prod"))
    assert settings.effective_recovery_window_days == 30
    assert settings.protect
    assert settings.effective_rotation_days == 90
    with pytest.raises(SettingsError, match=re.escape("recoveryWindowDays")):
        parse_settings(stack_settings("prod", recoveryWindowDays=7))


def test_prod_requires_a_replica_region_on_aws():
    aws = {k: v for k, v in stack_settings("prod")["aws"].items() if k != "replicaRegion"}
    with pytest.raises(SettingsError, match=re.escape("aws.replicaRegion: prod replicates")):
        parse_settings(stack_settings("prod", aws=aws))


def test_safety_comes_from_environment_not_stack_name():
    settings = parse_settings(
        stack_settings(
            "dev",
            environment="prod",
            aws={**stack_settings("dev")["aws"], "replicaRegion": "eu-central-1"},
            recoveryWindowDays=None,
        )
    )
    assert settings.protect and settings.strict


def test_stack_setting_typos_are_refused():
    with pytest.raises(SettingsError, match=re.escape("aws.regoin")):
        parse_settings(stack_settings("dev", aws={**stack_settings("dev")["aws"], "regoin": "x"}))


def test_native_binding_cannot_deliver_external_secrets_to_workloads():
    import copy

    data = copy.deepcopy(yaml.safe_load((ROOT / "catalog.yaml").read_text()))
    data["services"]["media"]["secrets"]["S3_ACCESS_KEY_ID"]["source"] = "external"
    del data["services"]["media"]["secrets"]["S3_ACCESS_KEY_ID"][
        "required_in"
    ]  # refused on external
    from platform_secrets.model.catalog import parse_catalog

    catalog = parse_catalog(data)
    settings = parse_settings(stack_settings("dev", binding="native"))
    with pytest.raises(
        StackError, match=re.escape("media.S3_ACCESS_KEY_ID: external entries have no value")
    ):
        build_model(catalog, settings, {})


def test_a_config_secret_that_breaks_its_format_is_a_problem_named_by_its_key():
    """The model gets only the verdict (``ConfigSecret.malformed``), never the value."""
    from platform_secrets.model.stack_model import ConfigSecret

    settings = parse_settings(stack_settings("dev"))
    problem = "the value does not match the catalog's format '^x$'; the value is not shown"
    states = {"backend.REDIS_URL": ConfigSecret(secure=True, malformed=problem)}
    with pytest.raises(StackError) as error:
        build_model(CATALOG, settings, states)
    assert f"backend.REDIS_URL: {problem}" in str(error.value)
    # a blank value is "not set", not malformed: dev creates it empty and reports it
    blank = {"backend.REDIS_URL": ConfigSecret(secure=True, blank=True, malformed=problem)}
    assert "backend.REDIS_URL" in build_model(CATALOG, settings, blank).missing


def test_keys_of_other_namespaces_that_look_like_ours_are_named_and_providers_keys_are_not():
    from platform_secrets.model.settings import SETTINGS_KEYS
    from platform_secrets.model.stack_model import foreign_config_keys

    names = ["backend:REDIS_URL", "aws:region", "vault:token", "pulumi:tags", "gcp:project"]
    found = foreign_config_keys(names, "platform-secrets", SETTINGS_KEYS, CATALOG)
    assert [line.split(":", 2)[:2] for line in found] == [["backend", "REDIS_URL"]], found
