"""Who can *become* a reader on GCP and Azure: every way in is followed by the access derivation, and the
program leaves no door that an identity administrator of the secrets' project or the vault's group can open.

GCP: the workloads read through their Workload Identity principal directly (no Google service account that a
project-level Token Creator could impersonate); every act-as grant, at a service account or the project, makes
its member a reader of what the account reads. Azure: the managed identities live in a resource group of their
own (a Contributor of the vault's group cannot add a federated credential to them); a federated credential that
is not the identity's own ServiceAccount is a reader named for it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from platform_secrets.access import matrix as access
from platform_secrets.model.settings import SettingsError, parse_settings
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import Registered, RunResult
from platform_secrets.program.clouds import gcp_naming
from tests.checks import OWN_KEYS, WORKLOADS
from tests.conftest import PROD_SECRETS
from tests.program.test_gcp import gcp_settings

INSIDER = "user:insider@example.com"
PROJECT = "acme-secrets-prod"
NUMBER = "210987654321"
"""gcp.projectNumber of the prod stack file."""


def registered(type_: str, name: str, inputs: dict[str, Any], outputs: Any = None) -> Registered:
    return Registered(
        urn=f"urn:pulumi:test::platform-secrets::{type_}::{name}",
        type=type_,
        name=name,
        inputs=inputs,
        outputs=outputs or {},
        id=name,
    )


def project_grant(role: str, member: str, project: str = PROJECT) -> Registered:
    inputs = {"project": project, "role": role, "member": member}
    return registered("gcp:projects/iAMMember:IAMMember", f"extra-{role}-{member}", inputs)


# --- GCP: the derivation follows every act-as grant ---


def _one_account_reading_one_secret() -> list[Registered]:
    """A secret, a Google service account that reads it, and nothing else."""
    secret_id = f"projects/{PROJECT}/secrets/p-prod-backend-JWT_SECRET"
    email = f"p-prod-backend@{PROJECT}.iam.gserviceaccount.com"
    return [
        registered(
            "gcp:secretmanager/secret:Secret",
            secret_id,
            {
                "project": PROJECT,
                "secretId": "p-prod-backend-JWT_SECRET",
                "annotations": {"platform-secrets-key": "JWT_SECRET"},
            },
        ),
        registered(
            "gcp:serviceaccount/account:Account",
            "backend-identity",
            {"accountId": "p-prod-backend", "project": PROJECT, "displayName": "backend"},
            {
                "email": email,
                "member": f"serviceAccount:{email}",
                "name": f"projects/{PROJECT}/serviceAccounts/{email}",
            },
        ),
        registered(
            "gcp:secretmanager/secretIamMember:SecretIamMember",
            "backend-reads",
            {
                "secretId": secret_id,
                "role": gcp_naming.ACCESSOR_ROLE,
                "member": f"serviceAccount:{email}",
            },
        ),
    ]


@pytest.mark.parametrize(
    "role",
    [
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.workloadIdentityUser",
    ],
)
def test_a_project_level_act_as_grant_makes_its_member_a_reader_of_every_account(role):
    matrix = access.derive([*_one_account_reading_one_secret(), project_grant(role, INSIDER)])
    assert matrix.get(INSIDER, {}).get("entries") == ["p-prod-backend-JWT_SECRET"], matrix
    assert matrix[INSIDER]["assumes"] == [f"p-prod-backend@{PROJECT}.iam.gserviceaccount.com"]


def test_a_service_account_user_on_the_account_itself_makes_a_reader():
    resources = _one_account_reading_one_secret()
    account = resources[1].outputs["name"]
    grant = registered(
        "gcp:serviceaccount/iAMMember:IAMMember",
        "extra",
        {"serviceAccountId": account, "role": "roles/iam.serviceAccountUser", "member": INSIDER},
    )
    matrix = access.derive([*resources, grant])
    assert matrix.get(INSIDER, {}).get("entries") == ["p-prod-backend-JWT_SECRET"], matrix


def test_a_project_level_grant_in_another_project_reaches_no_account():
    grant = project_grant("roles/iam.serviceAccountTokenCreator", INSIDER, project="elsewhere-1")
    matrix = access.derive([*_one_account_reading_one_secret(), grant])
    assert INSIDER not in matrix


# --- GCP: the plan leaves no service account to impersonate ---


@pytest.mark.parametrize(
    "role",
    [
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.workloadIdentityUser",
    ],
)
def test_a_project_level_act_as_grant_reads_no_prod_secret(gcp_prod_run: RunResult, role):
    """The hole: with the readers as service accounts of the secrets' project, one project-level Token
    Creator (or Service Account User) grant reached every one of them."""
    widened = [*gcp_prod_run.resources, project_grant(role, INSIDER)]
    row = access.derive(widened).get(INSIDER, {"entries": []})
    assert row["entries"] == [], f"{role} at the project reads {row['entries']}"


def test_the_plan_registers_no_google_service_account(gcp_prod_run: RunResult):
    accounts = gcp_prod_run.of_type("gcp:serviceaccount/account:Account")
    assert [a.name for a in accounts] == []


@pytest.mark.parametrize("service", WORKLOADS)
def test_a_workload_reads_through_its_workload_identity_principal_directly(
    gcp_prod_run: RunResult, service
):
    principal = (
        "principal://iam.googleapis.com/projects/310987654321/locations/global/"
        f"workloadIdentityPools/acme-apps-prod.svc.id.goog/subject/ns/{service}/sa/{service}"
    )
    row = access.derive(gcp_prod_run.resources)[service]
    assert (row["identity"], row["kind"], row["service_account"]) == (
        principal,
        "workload",
        f"{service}/{service}",
    )
    assert row["keys"] == OWN_KEYS[service]
    sa = gcp_prod_run.by_name(f"{service}-service-account", "kubernetes:core/v1:ServiceAccount")
    # No iam.gke.io/gcp-service-account: ESO then uses the federated token itself (direct access).
    assert not (sa.inputs["metadata"].get("annotations") or {}), sa.inputs["metadata"]


def _gcp(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "project": "acme-secrets-prod",
        "projectNumber": NUMBER,
        "locations": ["europe-west1"],
        "clusterName": "apps-prod",
        "clusterLocation": "europe-west1",
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def _settings(gcp: dict[str, Any]) -> None:
    parse_settings(
        {"environment": "dev", "cloud": "gcp", "rotationEpoch": "2026-11-29", "gcp": gcp},
        "Pulumi.test.yaml",
    )


@pytest.mark.parametrize("number", [None, "12ab", "1"])
def test_the_project_number_is_required_and_must_be_a_number(number):
    with pytest.raises(SettingsError, match="projectNumber"):
        _settings(_gcp(projectNumber=number))


def test_a_foreign_cluster_project_needs_its_own_number():
    with pytest.raises(SettingsError, match="clusterProjectNumber"):
        _settings(_gcp(clusterProject="acme-apps-prod"))
    _settings(_gcp(clusterProject="acme-apps-prod", clusterProjectNumber="111122223333"))


# --- Azure: identities apart from the vault, every federated credential followed ---

AZURE_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
AZURE_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"


def test_the_identities_live_in_a_resource_group_apart_from_the_vaults(azure_prod_run: RunResult):
    vault = azure_prod_run.of_type("azure-native:keyvault:Vault")[0]
    groups = {
        r.inputs["resourceGroupName"]
        for r in azure_prod_run.resources
        if r.type in (AZURE_IDENTITY, AZURE_CREDENTIAL)
    }
    assert groups and vault.inputs["resourceGroupName"] not in groups, groups
    created = azure_prod_run.of_type("azure-native:resources:ResourceGroup")
    assert [g.inputs["resourceGroupName"] for g in created] == sorted(groups)
    assert all(g.protect for g in created), "prod protects the identities' group"


def _azure(**changes: Any) -> dict[str, Any]:
    raw = {
        "subscriptionId": "9e4f2a6b-8c1d-4e3f-a5b7-c9d1e3f5a7b9",
        "tenantId": "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c",
        "resourceGroupName": "rg-secrets",
        "location": "westeurope",
        "oidcIssuer": "https://westeurope.oic.prod-aks.azure.com/t/c/",
    }
    raw.update(changes)
    return raw


def test_identities_in_the_vaults_resource_group_are_refused():
    with pytest.raises(SettingsError, match=r"identityResourceGroupName.*vault's resource group"):
        parse_settings(
            {
                "environment": "dev",
                "cloud": "azure",
                "azure": _azure(identityResourceGroupName="RG-Secrets"),
            },
            "Pulumi.test.yaml",
        )


def _with_credential(run: RunResult, service: str, issuer: str, subject: str) -> list[Registered]:
    identity = run.by_name(f"{service}-identity", AZURE_IDENTITY)
    extra = copy.deepcopy(run.of_type(AZURE_CREDENTIAL)[0])
    extra.name = f"{service}-extra-credential"
    extra.inputs = {
        **extra.inputs,
        "resourceName": identity.outputs["name"],
        "issuer": issuer,
        "subject": subject,
    }
    return [*run.resources, extra]


@pytest.mark.parametrize(
    ("issuer", "subject"),
    [
        ("https://token.actions.githubusercontent.com", "repo:attacker/fork:ref:refs/heads/main"),
        (
            "https://oidc.prod-aks.azure.com/another-tenant/another-cluster/",
            "system:serviceaccount:backend:backend",
        ),
    ],
)
def test_a_federated_credential_added_to_a_workload_is_a_reader_named_for_it(
    azure_prod_run: RunResult, issuer, subject
):
    matrix = access.derive(_with_credential(azure_prod_run, "backend", issuer, subject))
    row = matrix.get(f"{issuer} {subject}")
    assert row is not None, sorted(matrix)
    assert row["keys"] == matrix["backend"]["keys"] == OWN_KEYS["backend"]
    assert row["kind"] == "federated"
    assert row["assumes"] == [matrix["backend"]["identity"]]


def test_a_wildcard_subject_on_a_tooling_identity_is_a_reader_named_for_it(
    azure_prod_run: RunResult,
):
    issuer = "https://token.actions.githubusercontent.com"
    widened = _with_credential(azure_prod_run, "linear-integration", issuer, "repo:acme/*")
    row = access.derive(widened).get(f"{issuer} repo:acme/*")
    assert row is not None and row["keys"] == OWN_KEYS["linear-integration"]


def test_the_planned_federations_make_no_extra_reader(azure_prod_run: RunResult):
    """The control: the plan's own credentials are the services' rows, nothing else."""
    matrix = access.derive(azure_prod_run.resources)
    assert set(matrix) == set(OWN_KEYS), sorted(matrix)


# --- GCP: GKE's Workload Identity pool is per project (issue item 12) ---


def test_prod_refuses_a_workload_pool_in_the_secrets_project():
    """Whoever may create a Workload Identity cluster in the pool's project mints every workload's principal:
    in prod that project must not be the secrets' one, whose administrators hold broad store permissions."""
    gcp = gcp_settings("prod")["gcp"]
    gcp.pop("clusterProject", None)
    gcp.pop("clusterProjectNumber", None)
    result = offline.run("prod", overrides={"cloud": "gcp", "gcp": gcp}, secrets=PROD_SECRETS)
    assert "gcp.clusterProject: prod needs the cluster in a project of its own" in str(result.error)
    assert result.resources == []
