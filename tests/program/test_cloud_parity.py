"""One catalog, four stores: the same access matrix everywhere, and artifacts that outside tools accept.

- access.json of the offline plan, per stack: the same services read the same keys on AWS, GCP and Azure
  (identities differ by cloud), and that matrix is the catalog's intent; Vault counts as a fourth "cloud";
- every Kubernetes manifest of GCP and Azure: ``kubernetes-validate --strict``;
- every SecretStore and ExternalSecret: the served version of the ESO CRDs in ../shared/crds, made strict, plus
  the fields each provider needs to authenticate with workload identity;
- no secret value in any artifact; the grants are written to ``iam/``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from platform_secrets.cli.app import main as cli_main
from platform_secrets.offline import plan
from tests import catalog_facts
from tests.checks import (
    ESO_KINDS,
    OWN_KEYS,
    WORKLOADS,
    eso_validator,
    kubernetes_validate,
    manifests,
)
from tests.conftest import PROD_SECRETS

CLOUDS = ("aws", "gcp", "azure", "vault")
SERVICE_KINDS = ("workload", "tooling")


def service_rows(plan_dir: Path) -> dict[str, dict]:
    """The rows of access.json that are services (not admins or other principals)."""
    matrix = json.loads((plan_dir / "access.json").read_text())
    return {name: row for name, row in matrix.items() if row["kind"] in SERVICE_KINDS}


# --- parity ---


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_cloud_gives_the_same_service_to_keys_matrix(cloud_plan_dirs, stack):
    matrices = {
        cloud: {
            name: row["keys"] for name, row in service_rows(cloud_plan_dirs[(cloud, stack)]).items()
        }
        for cloud in CLOUDS
    }
    for cloud in CLOUDS[1:]:
        assert matrices[cloud] == matrices["aws"], cloud
    assert matrices["aws"] == OWN_KEYS


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_cloud_binds_the_same_service_accounts_and_tooling(cloud_plan_dirs, stack):
    shapes = {
        cloud: {
            name: (row["kind"], row.get("service_account"))
            for name, row in service_rows(cloud_plan_dirs[(cloud, stack)]).items()
        }
        for cloud in CLOUDS
    }
    assert shapes["gcp"] == shapes["aws"] == shapes["azure"] == shapes["vault"]
    identities = [
        {row["identity"] for row in service_rows(cloud_plan_dirs[(cloud, stack)]).values()}
        for cloud in CLOUDS
    ]
    services = set(catalog_facts.SHIPPED.services)
    for cloud in CLOUDS:
        assert set(service_rows(cloud_plan_dirs[(cloud, stack)])) == services, cloud
    assert all(len(ids) == len(services) for ids in identities)  # one distinct identity each
    for index in range(len(identities) - 1):
        assert not identities[index] & identities[index + 1]


@pytest.mark.parametrize("cloud", ["gcp", "azure", "vault"])
def test_no_principal_but_the_services_reads_a_secret_on_gcp_azure_and_vault(
    cloud_plan_dirs, cloud
):
    for stack in ("dev", "prod"):
        matrix = json.loads((cloud_plan_dirs[(cloud, stack)] / "access.json").read_text())
        assert {row["kind"] for row in matrix.values()} <= set(SERVICE_KINDS), matrix


def test_parity_check_catches_a_missing_key(cloud_plan_dirs, tmp_path):
    """The parity test compares what the plan derived: drop one grant's key and the matrices differ."""
    rows = service_rows(cloud_plan_dirs[("gcp", "dev")])
    broken = copy.deepcopy(rows)
    broken["backend"]["keys"].remove("OTP_PEPPER")
    aws = {name: row["keys"] for name, row in service_rows(cloud_plan_dirs[("aws", "dev")]).items()}
    assert {name: row["keys"] for name, row in rows.items()} == aws
    assert {name: row["keys"] for name, row in broken.items()} != aws


# --- manifests and ESO objects ---


def test_gcp_azure_and_vault_manifests_pass_kubernetes_validate_strict(cloud_plan_dirs):
    unique: dict[
        str, str
    ] = {}  # content -> one file with it (most objects are the same on every cloud)
    for cloud in ("gcp", "azure", "vault"):
        for stack in ("dev", "prod"):
            namespaces = set()
            for path, obj in manifests(cloud_plan_dirs[(cloud, stack)]):
                if obj["kind"] not in ESO_KINDS:
                    unique.setdefault(path.read_text(), str(path))
                    namespaces.add(obj["metadata"].get("namespace", obj["metadata"]["name"]))
            assert namespaces == set(WORKLOADS), (cloud, stack)
    files = sorted(unique.values())
    kubernetes_validate(files)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_eso_objects_of_every_cloud_validate_against_the_served_crd(cloud_plan_dirs, cloud):
    for stack in ("dev", "prod"):
        checked = set()
        for path, obj in manifests(cloud_plan_dirs[(cloud, stack)]):
            if obj["kind"] in ESO_KINDS:
                assert obj["apiVersion"] == "external-secrets.io/v1", path.name
                eso_validator(obj["kind"]).validate(obj)
                checked.add((obj["metadata"]["namespace"], obj["kind"]))
        assert checked == {(w, kind) for w in WORKLOADS for kind in ESO_KINDS}, stack


def stores(plan_dir: Path) -> list[dict]:
    return [obj for _, obj in manifests(plan_dir) if obj["kind"] == "SecretStore"]


def test_gcpsm_stores_have_what_workload_identity_needs(cloud_plan_dirs):
    for stack in ("dev", "prod"):
        for store in stores(cloud_plan_dirs[("gcp", stack)]):
            provider = store["spec"]["provider"]["gcpsm"]
            identity = provider["auth"]["workloadIdentity"]
            assert provider["projectID"] == f"acme-secrets-{stack}"
            # Set explicitly, so ESO does not depend on the metadata server of wherever it runs.
            assert (
                identity["clusterName"]
                and identity["clusterLocation"]
                and identity["clusterProjectID"]
            )
            assert identity["serviceAccountRef"] == {"name": store["metadata"]["namespace"]}


def test_azurekv_stores_have_what_workload_identity_needs(cloud_plan_dirs):
    for stack in ("dev", "prod"):
        for store in stores(cloud_plan_dirs[("azure", stack)]):
            provider = store["spec"]["provider"]["azurekv"]
            assert provider["authType"] == "WorkloadIdentity"
            assert provider["vaultUrl"].startswith("https://") and provider["vaultUrl"].endswith(
                ".vault.azure.net/"
            )
            assert provider["tenantId"]
            assert provider["serviceAccountRef"] == {"name": store["metadata"]["namespace"]}


@pytest.mark.parametrize(
    "provider",
    [
        {"gcpsm": {"projectID": "p", "auth": {"workloadIdentity": {"clusterName": "c"}}}},
        {
            "gcpsm": {
                "projectID": "p",
                "auth": {"workloadIdentity": {"serviceAcountRef": {"name": "x"}}},
            }
        },
        {"azurekv": {"authType": "WorkloadIdentity", "serviceAccountRef": {"name": "x"}}},
        {"azurekv": {"authType": "Federated", "vaultUrl": "https://v.vault.azure.net/"}},
        {"vault": {"path": "kv", "version": "v2", "auth": {"jwt": {"path": "k8s", "role": "r"}}}},
        {
            "vault": {
                "server": "https://v:8200",
                "version": "v2",
                "auth": {
                    "jwt": {
                        "path": "k8s",
                        "kubernetesServiceAccountToken": {"serviceAcountRef": {"name": "x"}},
                    }
                },
            }
        },
    ],
    ids=[
        "gcpsm-no-service-account",
        "gcpsm-misspelt",
        "azurekv-no-vault-url",
        "azurekv-bad-auth-type",
        "vault-no-server",
        "vault-misspelt",
    ],
)
def test_the_crd_check_refuses_an_incomplete_or_misspelt_store(provider):
    with pytest.raises(jsonschema.ValidationError):
        eso_validator("SecretStore").validate(
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "SecretStore",
                "metadata": {"name": "x"},
                "spec": {"provider": provider},
            }
        )


# --- artifacts ---


@pytest.mark.parametrize("cloud", ["gcp", "azure", "vault"])
def test_no_secret_value_reaches_any_artifact(cloud_plan_dirs, cloud):
    for stack in ("dev", "prod"):
        for path in cloud_plan_dirs[(cloud, stack)].rglob("*"):
            if path.is_file():
                text = path.read_text()
                assert "mock-" not in text, path  # the mocks' generated values
                for value in PROD_SECRETS.values():
                    assert value not in text, path


def test_the_grants_are_written_to_iam_per_owner(cloud_plan_dirs):
    gcp = sorted(p.name for p in (cloud_plan_dirs[("gcp", "prod")] / "iam").glob("*.json"))
    azure = sorted(p.name for p in (cloud_plan_dirs[("azure", "prod")] / "iam").glob("*.json"))
    assert "backend.secret-access.json" in gcp
    assert not [name for name in gcp if name.endswith(".service-account-iam.json")], gcp
    assert {"environment.key-iam.json", "environment.topic-iam.json"} <= set(gcp)
    assert {"backend.role-assignments.json", "backend.federated-credentials.json"} <= set(azure)
    doc = json.loads(
        (cloud_plan_dirs[("gcp", "prod")] / "iam" / "media.secret-access.json").read_text()
    )
    assert [g["secretId"].rsplit("/", 1)[-1] for g in doc["grants"]] == [
        f"platform-secrets-prod-{owner}-{key}"
        for owner, key in sorted(catalog_facts.reads()["media"].values())
    ]


def test_vault_stores_have_what_jwt_auth_needs(cloud_plan_dirs):
    for stack in ("dev", "prod"):
        for store in stores(cloud_plan_dirs[("vault", stack)]):
            provider = store["spec"]["provider"]["vault"]
            namespace = store["metadata"]["namespace"]
            assert provider["server"].startswith("https://")
            assert (provider["path"], provider["version"]) == (f"platform-secrets-{stack}", "v2")
            assert provider["auth"] == {
                "jwt": {
                    "path": f"platform-secrets-{stack}-k8s",
                    "role": namespace,
                    "kubernetesServiceAccountToken": {
                        "serviceAccountRef": {"name": namespace, "audiences": ["vault"]}
                    },
                }
            }


def test_plan_command_plans_another_cloud_with_the_same_stack_file(
    monkeypatch, capsys, azure_dev_run
):
    """`--cloud azure` reaches the program as the config override `cloud` (the session's run stands in)."""
    calls = []

    def run(stack, **kwargs):
        calls.append((stack, kwargs["overrides"]))
        return azure_dev_run

    monkeypatch.setattr(plan.offline, "run", run)
    assert cli_main(["plan", "--stack", "dev", "--cloud", "azure", "--json"]) == 0
    assert calls == [("dev", {"cloud": "azure"})]
    summary = json.loads(capsys.readouterr().out)
    assert summary["cloud"] == "azure"
    assert summary["access"]["media"]["keys"] == OWN_KEYS["media"]
    assert (
        summary["access"]["media"]["identity"]
        == azure_dev_run.outputs["services"]["media"]["identity"]
    )


def test_plan_command_refuses_an_unknown_cloud(capsys):
    assert cli_main(["plan", "--stack", "dev", "--cloud", "oracle"]) == 1
    assert "'oracle' is not one of" in capsys.readouterr().err
