"""keep_previous and rotationOverlaps: refused wherever a previous value could not be delivered as declared.

Pure: the catalog and the stack model, no Pulumi.
"""

from __future__ import annotations

import pytest

from platform_secrets.model.catalog import CatalogError, load_catalog, parse_catalog
from platform_secrets.model.settings import SettingsError, parse_settings
from platform_secrets.model.stack_model import StackError, build_model
from platform_secrets.paths import PROJECT_ROOT
from tests.model.test_model import stack_settings

CATALOG = load_catalog(PROJECT_ROOT / "catalog.yaml")
AWS_VERSION = "6f1f2a4e-0c1d-4b1e-9a7e-3c2b1a0f9e8d"


def _one_secret(**spec: object) -> dict[str, object]:
    return {"services": {"svc": {"secrets": {"KEY": spec}}}}


def test_the_signing_keys_keep_their_previous_value() -> None:
    assert CATALOG.shared["JWT_SECRET"].keep_previous
    assert CATALOG.services["events-service"].secrets["EVENTS_SECRET_KEY"].keep_previous  # type: ignore[union-attr]


@pytest.mark.parametrize("source", ["config", "external"])
def test_keep_previous_on_a_config_or_external_secret_is_refused(source: str) -> None:
    with pytest.raises(CatalogError) as error:
        parse_catalog(_one_secret(source=source, keep_previous=True))
    assert "services.svc.secrets.KEY: `keep_previous` applies only to generated secrets" in str(
        error.value
    )


def test_overlap_days_without_keep_previous_is_refused() -> None:
    with pytest.raises(CatalogError, match="`overlap_days` applies only with `keep_previous"):
        parse_catalog(_one_secret(source="generated", overlap_days=7))


@pytest.mark.parametrize(
    "clash",
    [
        {"secrets": {"SIGN": {"shared": "SIGN"}, "SIGN_PREVIOUS": {"source": "config"}}},
        {"secrets": {"SIGN": {"shared": "SIGN"}}, "settings": {"SIGN_PREVIOUS": {}}},
    ],
    ids=["secret", "setting"],
)
def test_a_key_named_like_a_previous_key_is_refused(clash: dict[str, object]) -> None:
    data = {
        "shared": {"SIGN": {"source": "generated", "keep_previous": True}},
        "services": {"svc": clash},
    }
    with pytest.raises(CatalogError, match=r"services\.svc: SIGN_PREVIOUS is declared, but SIGN"):
        parse_catalog(data)


def _model(stack: str = "dev", **changes: object):  # type: ignore[no-untyped-def]
    secrets = {"media.S3_ACCESS_KEY_ID": True, "media.S3_SECRET_ACCESS_KEY": True}
    return build_model(CATALOG, parse_settings(stack_settings(stack, **changes)), secrets)


def test_an_overlap_names_the_entrys_previous_version() -> None:
    model = _model(rotationOverlaps={"shared.JWT_SECRET": AWS_VERSION})
    found = {e.config_key: e.previous_version for e in model.entries if e.previous_version}
    assert found == {"shared.JWT_SECRET": AWS_VERSION}


def test_an_overlap_for_a_secret_without_keep_previous_is_refused() -> None:
    with pytest.raises(
        StackError, match=r"rotationOverlaps\.backend\.OTP_PEPPER: .* does not keep its previous"
    ):
        _model(rotationOverlaps={"backend.OTP_PEPPER": AWS_VERSION})


def test_an_overlap_for_an_unknown_secret_is_refused() -> None:
    with pytest.raises(StackError, match=r"rotationOverlaps\.backend\.JWT_SECRET: not a secret"):
        _model(rotationOverlaps={"backend.JWT_SECRET": AWS_VERSION})


def test_an_overlap_with_binding_native_is_refused() -> None:
    with pytest.raises(StackError, match="binding native holds only the current value"):
        _model(binding="native", rotationOverlaps={"shared.JWT_SECRET": AWS_VERSION})


@pytest.mark.parametrize(
    ("cloud", "version"),
    [("aws", "7"), ("vault", AWS_VERSION), ("gcp", "latest"), ("azure", "12")],
)
def test_an_overlap_version_in_the_wrong_format_is_refused(cloud: str, version: str) -> None:
    settings = stack_settings("dev", cloud=cloud)
    settings.update(rotationOverlaps={"shared.JWT_SECRET": version})
    with pytest.raises((StackError, SettingsError)) as error:
        build_model(CATALOG, parse_settings(settings), {})
    assert f"rotationOverlaps.shared.JWT_SECRET: {version!r} is not" in str(error.value)


def test_an_overlap_value_that_would_inject_text_is_refused_by_the_settings() -> None:
    with pytest.raises(SettingsError, match="rotationOverlaps"):
        injected = "1\nx: y"
        parse_settings(stack_settings("dev", rotationOverlaps={"shared.JWT_SECRET": injected}))


def test_vault_keep_previous_needs_at_least_two_versions() -> None:
    settings = stack_settings("dev", cloud="vault")
    settings["vault"] = {**settings["vault"], "maxVersions": 1}
    with pytest.raises(StackError, match=r"vault\.maxVersions: 1 keeps no previous version"):
        build_model(CATALOG, parse_settings(settings), {})
