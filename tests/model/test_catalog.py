"""Tier 1: the catalog model — parsing, cross-checks, every problem named at once."""

from __future__ import annotations

import json

import pytest
import yaml

from platform_secrets.model.catalog import (
    CatalogError,
    Environment,
    Source,
    json_schema,
    load_catalog,
    parse_catalog,
)
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "catalog.yaml")


# The guide's services, keys and required-in-prod flags: tests/model/test_guide_conformance.py.


def test_connection_urls_are_secrets_not_settings(catalog):
    assert "REDIS_URL" in catalog.services["backend"].secrets
    assert "EVENTS_DATABASE_URL" in catalog.services["events-service"].secrets


def test_jwt_secret_is_one_shared_secret_read_by_backend_and_messaging(catalog):
    assert catalog.services["backend"].secrets["JWT_SECRET"].shared == "JWT_SECRET"
    assert catalog.services["agent7-messaging"].secrets["JWT_SECRET"].shared == "JWT_SECRET"
    assert catalog.shared["JWT_SECRET"].source is Source.GENERATED


def test_linear_key_is_external_and_not_a_workload(catalog):
    linear = catalog.services["linear-integration"]
    assert linear.workload is False
    assert linear.secrets["LINEAR_API_KEY"].source is Source.EXTERNAL


def _bad_catalog() -> dict:
    return {
        "shared": {"UNUSED": {"source": "generated"}},
        "services": {
            "Bad_Name": {"secrets": {}},
            "api": {
                "secrets": {
                    "lower_case": {"source": "config"},
                    "TOKEN": {"source": "magic"},
                    "SESSION": {"shared": "MISSING"},
                    "SHORT": {"source": "generated", "length": 4},
                },
                "settings": {"TOKEN": {"rules": ["no_such_rule"]}},
            },
        },
    }


def test_every_field_problem_is_named_in_one_error():
    with pytest.raises(CatalogError) as error:
        parse_catalog(_bad_catalog())
    message = str(error.value)
    for expected in ("Bad_Name", "lower_case", "TOKEN.source", "SHORT.length", "no_such_rule"):
        assert expected in message, expected


def test_every_cross_reference_problem_is_named_in_one_error():
    data = {
        "shared": {"UNUSED": {"source": "generated"}},
        "services": {
            "api": {
                "secrets": {
                    "SESSION": {"shared": "MISSING"},
                    "A": {"source": "config", "length": 20},
                }
            },
            "web": {
                "namespace": "api",
                "settings": {"A": {}},
                "secrets": {"A": {"source": "config"}},
            },
            "shared": {},
        },
    }
    with pytest.raises(CatalogError) as error:
        parse_catalog(data)
    message = str(error.value)
    assert "shared secret 'MISSING' is not declared" in message
    assert "shared.UNUSED: declared but read by no service" in message
    assert "namespace 'api' is already used by 'api'" in message
    assert "A is both a secret and a setting" in message
    assert "'shared' is reserved" in message
    assert "`length` applies only to generated secrets" in message


def test_unknown_fields_are_refused_not_ignored():
    with pytest.raises(CatalogError, match="requird_in"):
        parse_catalog(
            {"services": {"api": {"secrets": {"A": {"source": "config", "requird_in": ["prod"]}}}}}
        )


def test_committed_json_schema_matches_the_model():
    committed = json.loads((ROOT / "catalog.schema.json").read_text())
    assert committed == json_schema(), "run `make schema` and commit catalog.schema.json"


def test_catalog_yaml_validates_against_its_json_schema():
    import jsonschema

    jsonschema.validate(yaml.safe_load((ROOT / "catalog.yaml").read_text()), json_schema())


def test_a_secret_format_must_compile():
    data = {
        "services": {"api": {"secrets": {"TOKEN": {"source": "config", "format": "^tok_[a-z"}}}}
    }
    with pytest.raises(CatalogError, match=r"TOKEN\.format: not a valid regular expression"):
        parse_catalog(data)


def test_the_linear_key_declares_its_format(catalog):
    from platform_secrets.model import values

    spec = catalog.services["linear-integration"].secrets["LINEAR_API_KEY"]
    assert spec.format is not None
    assert values.format_problem(spec, "lin_api_" + "x7" * 20) is None
    assert values.format_problem(spec, "LINEAR_API_KEY=lin_api_" + "x7" * 20) is not None


def test_a_misspelt_catalog_field_is_named_with_the_closest_field():
    data = {
        "services": {"api": {"setings": {}, "secrets": {"A": {"source": "config", "lenght": 20}}}}
    }
    with pytest.raises(CatalogError) as error:
        parse_catalog(data)
    assert "services.api.setings: Extra inputs are not permitted (did you mean 'settings'?)" in str(
        error.value
    )
    assert "(did you mean 'length'?)" in str(error.value)


# --- constraints that no environment would enforce are refused ---


def _one_secret(**spec):
    return {"services": {"svc": {"secrets": {"KEY": spec}}}}


def test_required_in_on_an_external_secret_is_refused():
    """Prod would deploy with the entry empty: its value is filled after the deploy, out of band."""
    with pytest.raises(CatalogError) as error:
        parse_catalog(_one_secret(source="external", required_in=["prod"]))
    message = str(error.value)
    assert "services.svc.secrets.KEY" in message and "required_in" in message, message
    assert "audit" in message, message  # says what does hold it: the audit's high finding


@pytest.mark.parametrize("source", ["config", "external"])
def test_special_on_a_non_generated_secret_is_refused(source):
    with pytest.raises(CatalogError) as error:
        parse_catalog(_one_secret(source=source, special=True))
    assert "services.svc.secrets.KEY: `special` applies only to generated secrets" in str(
        error.value
    )


def test_format_on_a_generated_secret_is_refused():
    """A generated value's shape is `length` and `special`; a format on it would never be checked."""
    with pytest.raises(CatalogError) as error:
        parse_catalog(_one_secret(source="generated", format="^[a-z]+$"))
    assert "services.svc.secrets.KEY: `format`" in str(error.value)


def test_format_on_config_and_external_secrets_is_accepted():
    for source in ("config", "external"):
        parse_catalog(_one_secret(source=source, format="^[a-z]+$"))


def test_every_external_secret_must_hold_a_value_in_prod_and_only_there():
    """What `required_in` cannot say for an external secret, prod says for all of them (the audit's high
    finding for an empty entry, platform_secrets.live.env's required key)."""
    catalog = parse_catalog(_one_secret(source="external"))
    spec = catalog.services["svc"].secrets["KEY"]
    assert spec.must_hold_value(Environment.PROD)
    assert not spec.must_hold_value(Environment.DEV)
    config = parse_catalog(_one_secret(source="config")).services["svc"].secrets["KEY"]
    assert not config.must_hold_value(Environment.PROD)  # only what required_in says
