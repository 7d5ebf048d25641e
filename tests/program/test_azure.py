"""Azure: names (pure), settings, and the real program with the real stack files under the mock engine.

One Key Vault per environment with RBAC, one secret per entry, one user-assigned identity per service with "Key
Vault Secrets User" on each of its own secrets only, a federated credential for exactly its ServiceAccount, and
the ESO azurekv store.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime

import pytest
from pulumi.runtime import rpc

from platform_secrets.access import matrix as access
from platform_secrets.model.catalog import Source, parse_catalog
from platform_secrets.model.settings import SettingsError, parse_settings
from platform_secrets.model.stack_model import build_model
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import Registered, RunResult
from platform_secrets.program.clouds import azure_naming as naming
from platform_secrets.program.clouds.azure import AzureAdapter
from tests import catalog_facts
from tests.checks import OWN_KEYS, WORKLOADS
from tests.conftest import PROD_SECRETS

SUBSCRIPTION = {
    "dev": "0b7c5a1e-3f2d-4c8b-9a61-5d2e8f4c7a10",
    "prod": "9e4f2a6b-8c1d-4e3f-a5b7-c9d1e3f5a7b9",
}
TENANT = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"
GROUP = {"dev": "rg-platform-secrets-dev", "prod": "rg-platform-secrets-prod"}
ISSUER = {
    "dev": "https://westeurope.oic.prod-aks.azure.com/6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c/"
    "3c9a8b7d-1e2f-4a5b-8c6d-7e8f9a0b1c2d/",
    "prod": "https://westeurope.oic.prod-aks.azure.com/6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c/"
    "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a/",
}
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


@pytest.fixture(scope="module", params=["dev", "prod"])
def azure_run(request, azure_dev_run, azure_prod_run) -> RunResult:
    return azure_dev_run if request.param == "dev" else azure_prod_run


def secret_name(service: str, key: str) -> str:
    owner, key = catalog_facts.reads()[service][key]
    return f"{owner}--{key.lower().replace('_', '-')}"


def entries_of(*sources: Source) -> set[str]:
    """The catalog's vault secret names whose value comes from one of ``sources`` (all if none)."""
    return {
        f"{e.owner}--{e.key.lower().replace('_', '-')}"
        for e in catalog_facts.entries()
        if not sources or e.spec.source in sources
    }


def written(run: RunResult) -> set[str]:
    return {s.inputs["secretName"] for s in run.of_type(SECRET) if "value" in properties(s)}


def secrets_by_name(run: RunResult) -> dict[str, Registered]:
    return {r.inputs["secretName"]: r for r in run.of_type(SECRET)}


def properties(secret: Registered) -> dict:
    """A secret's properties input; the whole property is secret when it carries a value."""
    return rpc.unwrap_rpc_secret(secret.inputs["properties"])


# --- names (pure) ---


def test_derived_vault_names_fit_key_vaults_rule_and_differ_per_subscription():
    names = {
        naming.vault_name("platform-secrets", env, sub, "rg")
        for env in ("dev", "staging", "prod")
        for sub in SUBSCRIPTION.values()
    }
    assert len(names) == 6
    for name in names:
        assert naming.VAULT_NAME.fullmatch(name) and "--" not in name and len(name) <= 24, name


def test_secret_names_follow_key_vaults_rule():
    name = naming.secret_name("events-service", "EVENTS_SECRET_KEY")
    assert name == "events-service--events-secret-key"
    assert naming.SECRET_NAME.fullmatch(name)


def test_role_assignment_names_are_deterministic_guids_per_scope_role_and_identity():
    scope = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v/secrets/a"
    name = naming.role_assignment_name(scope, SECRETS_USER, "identity")
    assert uuid.UUID(name).version == 5
    assert name == naming.role_assignment_name(scope.upper(), SECRETS_USER, "identity")
    assert name != naming.role_assignment_name(scope + "b", SECRETS_USER, "identity")
    assert name != naming.role_assignment_name(scope, SECRETS_USER, "other-identity")


def test_expiry_is_the_rotation_period_after_the_epoch_at_midnight_utc():
    expected = datetime(2027, 2, 27, tzinfo=UTC).timestamp()
    assert naming.expires(date(2026, 11, 29), 90) == int(expected)


def test_secret_names_that_collide_without_case_are_refused():
    catalog = parse_catalog(
        {
            "services": {
                "a--b": {"secrets": {"C": {"source": "generated"}}},
                "a": {"secrets": {"B__C": {"source": "generated"}}},
            }
        }
    )
    settings = parse_settings(azure_settings("dev"))
    problems = AzureAdapter.problems(build_model(catalog, settings, {}))
    assert any("'a--b--c' is also" in p for p in problems), problems


# --- settings ---


def azure_settings(stack: str, **changes) -> dict:
    config = offline.load_config(stack)[1]
    raw = {
        key.split(":", 1)[1]: config[key]
        for key in ("platform-secrets:environment", "platform-secrets:rotationEpoch")
        if key in config
    }
    azure = {**json.loads(config["platform-secrets:azure"]), **changes}
    kubernetes = json.loads(config["platform-secrets:kubernetes"])  # prod names its cluster
    return {**raw, "cloud": "azure", "azure": azure, "kubernetes": kubernetes}


def test_the_stack_files_azure_sections_are_valid():
    for stack in ("dev", "prod"):
        assert parse_settings(azure_settings(stack)).azure is not None


def test_azure_settings_are_required_when_azure_is_selected():
    with pytest.raises(SettingsError, match="azure: required when cloud is azure"):
        parse_settings({"environment": "dev", "cloud": "azure"})


def test_a_wildcard_federated_subject_is_refused_by_the_settings():
    federations = {
        "linear-integration": [
            {"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:acme/*"}
        ]
    }
    with pytest.raises(SettingsError, match="toolingFederations"):
        parse_settings(azure_settings("dev", toolingFederations=federations))


# --- the vault and its secrets ---


def test_one_vault_per_environment_with_rbac_and_soft_delete(azure_run):
    stack = azure_run.stack
    (vault,) = azure_run.of_type(VAULT)
    props = vault.inputs["properties"]
    assert vault.inputs["resourceGroupName"] == GROUP[stack]
    assert naming.VAULT_NAME.fullmatch(vault.inputs["vaultName"])
    assert props["tenantId"] == TENANT
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == (30 if stack == "prod" else 7)
    assert props["publicNetworkAccess"] == "Enabled"
    assert "accessPolicies" not in props


def test_prod_vault_has_purge_protection_and_dev_leaves_it_off(azure_prod_run, azure_dev_run):
    (prod,) = azure_prod_run.of_type(VAULT)
    (dev,) = azure_dev_run.of_type(VAULT)
    assert prod.inputs["properties"]["enablePurgeProtection"] is True
    assert "enablePurgeProtection" not in dev.inputs["properties"]  # the API refuses `false`


def test_public_network_access_is_configurable():
    azure = azure_settings("dev", publicNetworkAccess=False)["azure"]
    result = offline.run("dev", overrides={"cloud": "azure", "azure": azure})
    assert result.error is None, result.error
    (vault,) = result.of_type(VAULT)
    assert vault.inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert vault.inputs["properties"]["networkAcls"] == {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
    }


def test_each_secret_has_one_entry_in_the_vault(azure_run):
    (vault,) = azure_run.of_type(VAULT)
    entries = secrets_by_name(azure_run)
    assert set(entries) == {secret_name(s, k) for s, keys in OWN_KEYS.items() for k in keys}
    for name, entry in entries.items():
        assert naming.SECRET_NAME.fullmatch(name)
        assert entry.inputs["vaultName"] == vault.inputs["vaultName"]
        assert entry.id == f"{vault.id}/secrets/{name}"


@pytest.mark.parametrize("mode", ["update", "preview"])
def test_entry_values_are_secret_in_preview_and_update(mode, azure_prod_run, azure_prod_preview):
    run = azure_prod_run if mode == "update" else azure_prod_preview
    # generated and config values; never an external entry
    assert written(run) == entries_of(Source.GENERATED, Source.CONFIG)
    for secret in [s for s in run.of_type(SECRET) if "value" in properties(s)]:
        assert rpc.is_rpc_secret(secret.inputs["properties"]), secret.name


def test_external_and_missing_entries_are_created_without_a_value(azure_dev_run):
    assert written(azure_dev_run) == entries_of(Source.GENERATED)


def test_prod_secrets_expire_90_days_after_the_rotation_epoch(azure_prod_run):
    expires = int(datetime(2027, 2, 27, tzinfo=UTC).timestamp())
    for secret in azure_prod_run.of_type(SECRET):
        assert properties(secret)["attributes"] == {"enabled": True, "expires": expires}


def test_dev_secrets_do_not_expire(azure_dev_run):
    for secret in azure_dev_run.of_type(SECRET):
        assert "expires" not in properties(secret)["attributes"]


def test_prod_vault_and_secrets_are_protected_and_retained(azure_prod_run):
    durable = azure_prod_run.of_type(VAULT) + azure_prod_run.of_type(SECRET)
    assert len(azure_prod_run.of_type(VAULT)) == 1
    assert set(secrets_by_name(azure_prod_run)) == entries_of()
    for r in durable:
        assert r.protect and r.retain_on_delete, r.name


def test_dev_protects_nothing(azure_dev_run):
    # Namespaces are retained in every environment (deleting one deletes its workloads), never protected in dev.
    assert not [
        r.name
        for r in azure_dev_run.resources
        if r.protect or (r.retain_on_delete and r.type != "kubernetes:core/v1:Namespace")
    ]


# --- identities, role assignments, federated credentials ---


def test_one_identity_per_service(azure_run):
    identities = {
        r.inputs["tags"]["platform-secrets-service"]: r for r in azure_run.of_type(IDENTITY)
    }
    assert set(identities) == set(OWN_KEYS)
    for service, identity in identities.items():
        assert identity.inputs["resourceName"] == f"platform-secrets-{azure_run.stack}-{service}"


@pytest.mark.parametrize("service", list(OWN_KEYS))
def test_each_identity_is_a_secrets_user_of_exactly_its_own_secrets(azure_run, service):
    identity = azure_run.by_name(f"{service}-identity", IDENTITY)
    entries = secrets_by_name(azure_run)
    assignments = [
        a
        for a in azure_run.of_type(ASSIGNMENT)
        if a.inputs["principalId"] == identity.outputs["principalId"]
    ]
    assert sorted(a.inputs["scope"] for a in assignments) == sorted(
        entries[secret_name(service, key)].id for key in OWN_KEYS[service]
    )
    subscription = SUBSCRIPTION[azure_run.stack]
    role = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"
    for assignment in assignments:
        assert assignment.inputs["roleDefinitionId"] == role
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        assert assignment.inputs["roleAssignmentName"] == naming.role_assignment_name(
            assignment.inputs["scope"], SECRETS_USER, identity.id
        )


def test_no_assignment_is_broader_than_one_secret(azure_run):
    secret_ids = {r.id for r in azure_run.of_type(SECRET)}
    assignments = azure_run.of_type(ASSIGNMENT)
    identities = {r.outputs["principalId"] for r in azure_run.of_type(IDENTITY)}
    assert {a.inputs["principalId"] for a in assignments} == identities  # no foreign principal
    for assignment in assignments:
        assert assignment.inputs["scope"] in secret_ids, (
            assignment.name
        )  # no vault, group, subscription
        assert assignment.inputs["roleDefinitionId"].endswith(f"/{SECRETS_USER}")
    assert not [
        r.name
        for r in azure_run.resources
        if r.type.startswith("azure-native:keyvault:AccessPolicy")
    ]


def test_no_federated_subject_or_issuer_has_a_wildcard(azure_run):
    credentials = azure_run.of_type(CREDENTIAL)
    federated = {c.inputs["resourceName"] for c in credentials}
    stack = azure_run.stack
    assert federated >= {f"platform-secrets-{stack}-{s}" for s in WORKLOADS}
    for credential in credentials:
        assert "*" not in credential.inputs["subject"] + credential.inputs["issuer"], (
            credential.name
        )
        assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize("service", WORKLOADS)
def test_federation_admits_exactly_the_services_kubernetes_service_account(azure_run, service):
    identity = azure_run.by_name(f"{service}-identity", IDENTITY)
    credentials = [
        c.inputs
        for c in azure_run.of_type(CREDENTIAL)
        if c.inputs["resourceName"] == identity.outputs["name"]
    ]
    assert credentials == [
        {
            "federatedIdentityCredentialResourceName": f"aks-{service}-{service}",
            "resourceName": identity.outputs["name"],
            # The identities' own group, never the vault's (a Contributor there could federate them).
            "resourceGroupName": f"{GROUP[azure_run.stack]}-identities",
            "issuer": ISSUER[azure_run.stack],
            "subject": f"system:serviceaccount:{service}:{service}",
            "audiences": ["api://AzureADTokenExchange"],
        }
    ]


def test_the_linear_key_is_read_only_by_its_ci_federation(azure_run):
    identity = azure_run.by_name("linear-integration-identity", IDENTITY)
    (credential,) = [
        c.inputs
        for c in azure_run.of_type(CREDENTIAL)
        if c.inputs["resourceName"] == identity.outputs["name"]
    ]
    assert credential["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential["subject"] == f"repo:acme/platform:environment:{azure_run.stack}"
    linear = secrets_by_name(azure_run)["linear-integration--linear-api-key"]
    readers = {
        a.inputs["principalId"]
        for a in azure_run.of_type(ASSIGNMENT)
        if a.inputs["scope"] == linear.id
    }
    assert readers == {identity.outputs["principalId"]}


# --- Kubernetes ---


@pytest.mark.parametrize("service", WORKLOADS)
def test_service_account_is_annotated_with_the_identitys_client_id(azure_run, service):
    sa = azure_run.by_name(f"{service}-service-account", "kubernetes:core/v1:ServiceAccount")
    identity = azure_run.by_name(f"{service}-identity", IDENTITY)
    assert sa.inputs["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": identity.outputs["clientId"],
        "azure.workload.identity/tenant-id": TENANT,
    }


@pytest.mark.parametrize("service", WORKLOADS)
def test_eso_store_uses_azurekv_with_workload_identity(azure_run, service):
    (vault,) = azure_run.of_type(VAULT)
    store = azure_run.by_name(f"{service}-secret-store")
    assert store.inputs["spec"] == {
        "provider": {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": f"https://{vault.inputs['vaultName']}.vault.azure.net/",
                "tenantId": TENANT,
                "serviceAccountRef": {"name": service},
            }
        }
    }
    es = azure_run.by_name(f"{service}-external-secret")
    got = {d["secretKey"]: d["remoteRef"]["key"] for d in es.inputs["spec"]["data"]}
    assert got == {key: secret_name(service, key) for key in OWN_KEYS[service]}


# --- the access matrix reads the assignments ---


def test_access_is_derived_so_a_vault_level_assignment_shows_up(azure_dev_run):
    widened = copy.deepcopy(azure_dev_run)
    assert access.derive(widened.resources)["media"]["keys"] == OWN_KEYS["media"]
    (vault,) = widened.of_type(VAULT)
    identity = widened.by_name("media-identity", IDENTITY)
    assignment = next(
        a
        for a in widened.of_type(ASSIGNMENT)
        if a.inputs["principalId"] == identity.outputs["principalId"]
    )
    assignment.inputs["scope"] = vault.id
    keys = access.derive(widened.resources)["media"]["keys"]
    assert sorted(keys) == sorted({k for ks in OWN_KEYS.values() for k in ks})


# --- adoption after a lost state ---


def test_adoption_imports_the_vault_secrets_identities_and_assignments_by_arm_id(azure_prod_run):
    adopted = offline.run(
        "prod", secrets=PROD_SECRETS, overrides={"cloud": "azure", "adoptExisting": True}
    )
    assert adopted.error is None, adopted.error
    ids = {r.urn: r.id for r in azure_prod_run.resources}
    kinds = (VAULT, SECRET, IDENTITY, CREDENTIAL, ASSIGNMENT)
    imported = [r for r in adopted.resources if r.type in kinds]
    expected = {r.urn for r in azure_prod_run.resources if r.type in kinds}
    assert {r.urn for r in imported} == expected  # every one of these kinds is adopted
    for r in imported:
        assert r.import_id == ids[r.urn], r.name  # the ARM id the resource of that name has
    # The store's generated values are the live ones: adoption writes only the config values.
    assert written(adopted) == entries_of(Source.CONFIG)


# --- the vault's network exposure (issue 9, item 10; the attacks: tests/attacks/test_attacks_azure_network.py) ---

PUBLIC_NETWORK_REASON = "platform-secrets-public-network-reason"


def _without_network(azure: dict) -> dict:
    network = {"allowedSubnetIds", "allowPublicNetworkAccessInProd", "publicNetworkAccessReason"}
    return {key: value for key, value in azure.items() if key not in network}


def _prod_azure_run(**changes) -> RunResult:
    azure = {**_without_network(azure_settings("prod")["azure"]), **changes}
    return offline.run("prod", overrides={"cloud": "azure", "azure": azure}, secrets=PROD_SECRETS)


def test_prod_vault_denies_every_network_but_the_stack_files_subnets(azure_prod_run):
    subnets = azure_settings("prod")["azure"]["allowedSubnetIds"]
    (vault,) = azure_prod_run.of_type(VAULT)
    assert subnets
    assert vault.inputs["properties"]["publicNetworkAccess"] == "Enabled"
    assert vault.inputs["properties"]["networkAcls"] == {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
        "virtualNetworkRules": [
            {"id": subnet, "ignoreMissingVnetServiceEndpoint": False} for subnet in subnets
        ],
    }
    assert PUBLIC_NETWORK_REASON not in vault.inputs["tags"]


def test_dev_vault_may_stay_open_to_every_network(azure_dev_run):
    (vault,) = azure_dev_run.of_type(VAULT)
    assert vault.inputs["properties"]["networkAcls"] == {
        "bypass": "AzureServices",
        "defaultAction": "Allow",
    }


def test_prod_vault_private_endpoint_only_needs_no_subnet():
    result = _prod_azure_run(publicNetworkAccess=False)
    assert result.error is None, result.error
    (vault,) = result.of_type(VAULT)
    assert vault.inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert vault.inputs["properties"]["networkAcls"]["defaultAction"] == "Deny"


def test_prod_opt_in_opens_the_vault_and_keeps_its_reason_on_it():
    reason = "partner X reads from its own network until 2027-01 (INC-4711)"
    result = _prod_azure_run(
        publicNetworkAccess=True,
        allowPublicNetworkAccessInProd=True,
        publicNetworkAccessReason=reason,
    )
    assert result.error is None, result.error
    (vault,) = result.of_type(VAULT)
    assert vault.inputs["properties"]["networkAcls"]["defaultAction"] == "Allow"
    assert vault.inputs["tags"][PUBLIC_NETWORK_REASON] == reason


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"allowPublicNetworkAccessInProd": True}, "needs azure.publicNetworkAccessReason"),
        ({"publicNetworkAccessReason": "because"}, "publicNetworkAccessReason"),
        (
            {
                "publicNetworkAccess": False,
                "allowedSubnetIds": [
                    "/subscriptions/9e4f2a6b-8c1d-4e3f-a5b7-c9d1e3f5a7b9/resourceGroups/rg-net/providers/"
                    "Microsoft.Network/virtualNetworks/vnet/subnets/nodes"
                ],
            },
            "azure.allowedSubnetIds: has no effect",
        ),
        ({"allowedSubnetIds": ["/subscriptions/x/subnets/nodes"]}, "allowedSubnetIds"),
    ],
    ids=["opt-in-without-reason", "short-reason", "subnets-on-a-private-vault", "not-a-subnet-id"],
)
def test_network_settings_that_would_be_misread_are_refused(changes, problem):
    azure = {**_without_network(azure_settings("prod")["azure"]), **changes}
    with pytest.raises(SettingsError, match=problem):
        parse_settings({**azure_settings("prod"), "azure": azure})
