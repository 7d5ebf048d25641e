"""keep_previous: during an overlap (``rotationOverlaps``), each reader's Secret also carries ``<KEY>_PREVIOUS``,
fetched from the same entry at the recorded version; nobody else's, and nothing without an overlap.

One mock run of dev per cloud with both signing keys in an overlap (small: the dev stack file).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from platform_secrets.access import matrix as access
from platform_secrets.model.catalog import load_catalog
from platform_secrets.model.settings import parse_settings
from platform_secrets.model.stack_model import StackError, build_model
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.paths import PROJECT_ROOT
from tests.checks import eso_validator
from tests.model.test_model import stack_settings

CATALOG = load_catalog(PROJECT_ROOT / "catalog.yaml")

EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
GCP_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
VERSIONS = {
    "aws": "6f1f2a4e-0c1d-4b1e-9a7e-3c2b1a0f9e8d",
    "vault": "3",
    "gcp": "3",
    "azure": "0123456789abcdef" * 2,  # a Key Vault version id's shape: 32 hex digits
}
SELECTOR = {"aws": "AWSPREVIOUS", "vault": "3", "gcp": "3", "azure": VERSIONS["azure"]}
"""What ESO's remoteRef.version must say: AWS's stage that AWS moves by itself, else the recorded id."""
READERS = {"JWT_SECRET": {"backend", "agent7-messaging"}, "EVENTS_SECRET_KEY": {"events-service"}}


def overlap(cloud: str) -> dict[str, Any]:
    version = VERSIONS[cloud]
    return {
        "cloud": cloud,
        "rotationOverlaps": {
            "shared.JWT_SECRET": version,
            "events-service.EVENTS_SECRET_KEY": version,
        },
    }


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def overlap_run(request: pytest.FixtureRequest) -> tuple[str, RunResult]:
    overrides = overlap(request.param)
    run = offline.run("dev", overrides=overrides, secrets=offline.stub_secrets("dev", overrides))
    assert run.error is None, run.error
    return request.param, run


def _data(run: RunResult) -> dict[str, dict[str, dict[str, str]]]:
    """Service -> its ExternalSecret's secretKey -> remoteRef."""
    return {
        r.inputs["metadata"]["name"]: {
            item["secretKey"]: item["remoteRef"] for item in r.inputs["spec"]["data"]
        }
        for r in run.resources
        if r.type == EXTERNAL_SECRET
    }


def test_readers_secret_carries_key_previous_during_overlap(
    overlap_run: tuple[str, RunResult],
) -> None:
    cloud, run = overlap_run
    data = _data(run)
    for key, readers in READERS.items():
        having = {service for service, refs in data.items() if f"{key}_PREVIOUS" in refs}
        assert having == readers, (cloud, key, having)
        for service in readers:
            assert data[service][f"{key}_PREVIOUS"]["version"] == SELECTOR[cloud]


def test_previous_ref_names_the_same_entry_as_current(overlap_run: tuple[str, RunResult]) -> None:
    _, run = overlap_run
    for service, refs in _data(run).items():
        for name, ref in refs.items():
            if name.endswith("_PREVIOUS"):
                current = refs[name.removesuffix("_PREVIOUS")]
                assert {k: v for k, v in ref.items() if k != "version"} == current, service
                assert "version" not in current


def test_an_overlap_adds_only_previous_keys_and_changes_no_access(
    overlap_run: tuple[str, RunResult], dev_run: RunResult
) -> None:
    """The rotation pull request's access diff says "no access change": same entries, readers and keys."""
    cloud, run = overlap_run
    baseline = {"aws": dev_run}.get(cloud)
    if baseline is None:
        return  # the shared dev run is AWS's; the other clouds' keys are checked above
    before, after = _data(baseline), _data(run)
    for service, refs in after.items():
        assert {k: v for k, v in refs.items() if not k.endswith("_PREVIOUS")} == before[service]
    assert access.derive(run.resources) == access.derive(baseline.resources)


def test_external_secrets_with_version_validate_against_the_strict_crd(
    overlap_run: tuple[str, RunResult],
) -> None:
    _, run = overlap_run
    validator = eso_validator("ExternalSecret")
    found = [r for r in run.resources if r.type == EXTERNAL_SECRET]
    assert any("version" in str(r.inputs["spec"]["data"]) for r in found)
    for r in found:
        validator.validate(
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": {"name": "x", "namespace": "y"},
                "spec": r.inputs["spec"],
            }
        )


def test_no_previous_key_without_an_overlap_entry(
    dev_run: RunResult, gcp_dev_run: RunResult, vault_dev_run: RunResult
) -> None:
    for run in (dev_run, gcp_dev_run, vault_dev_run):
        for refs in _data(run).values():
            assert not [k for k in refs if k.endswith("_PREVIOUS")]
            assert all("version" not in ref for ref in refs.values())


def test_gcp_keep_previous_versions_are_abandoned_not_destroyed(gcp_dev_run: RunResult) -> None:
    """A replaced GCP version is destroyed (dev) or disabled (prod) in the same `up`: ESO could not read the
    previous one. Versions of keep_previous entries are abandoned: they stay enabled and readable."""
    policies = {
        r.name: r.inputs.get("deletionPolicy")
        for r in gcp_dev_run.resources
        if r.type == GCP_VERSION
    }
    keeping = {
        n
        for n in policies
        if n.startswith(("shared-jwt-secret", "events-service-events-secret-key"))
    }
    assert keeping and all(policies[n] == "ABANDON" for n in keeping), policies
    assert all(policies[n] != "ABANDON" for n in policies.keys() - keeping), policies


# --- attacks: a previous value for someone who does not read the entry ---


def test_a_previous_ref_cannot_point_at_another_services_entry(
    overlap_run: tuple[str, RunResult],
) -> None:
    """Every ``_PREVIOUS`` ref a service's ExternalSecret holds is of an entry its identity reads (the plan's
    access matrix, derived from the identity's grants): the overlap opens no door."""
    cloud, run = overlap_run
    matrix = access.derive(run.resources)
    namespaces = {row.get("service_account", "").split("/")[0]: row for row in matrix.values()}
    refs = {
        r.inputs["metadata"]["namespace"]: [
            item["remoteRef"] for item in r.inputs["spec"]["data"] if "version" in item["remoteRef"]
        ]
        for r in run.resources
        if r.type == EXTERNAL_SECRET
    }
    assert any(refs.values())
    for namespace, previous in refs.items():
        current_keys = {
            item["remoteRef"]["key"]
            for r in run.resources
            if r.type == EXTERNAL_SECRET and r.inputs["metadata"]["namespace"] == namespace
            for item in r.inputs["spec"]["data"]
            if "version" not in item["remoteRef"]
        }
        assert {ref["key"] for ref in previous} <= current_keys, (cloud, namespace)
        if cloud in (
            "aws",
            "azure",
        ):  # Azure: a Secrets User assignment at a secret covers all its versions
            readable = set(namespaces[namespace]["entries"])
            assert {ref["key"] for ref in previous} <= readable, namespace


@pytest.mark.parametrize(
    "forged",
    [
        "media.S3_SECRET_ACCESS_KEY",
        "backend.OTP_PEPPER",
        "linear.LINEAR_API_KEY",
        "media.JWT_SECRET",
    ],
)
def test_a_forged_overlap_for_an_entry_without_keep_previous_is_refused(forged: str) -> None:
    """An overlap named for another entry (not keep_previous, or not an entry at all) is refused before
    anything registers: no reader gains a `_PREVIOUS` of it."""
    overrides = {"rotationOverlaps": {forged: VERSIONS["aws"]}}
    settings = parse_settings({**stack_settings("dev"), **overrides})
    with pytest.raises(StackError, match=rf"rotationOverlaps\.{re.escape(forged)}: "):
        build_model(
            CATALOG, settings, {"media.S3_ACCESS_KEY_ID": True, "media.S3_SECRET_ACCESS_KEY": True}
        )
