"""GCP: names (pure), settings, and the real program with the real stack files under the mock engine.

Secret Manager with user-managed replication and CMEK, secretAccessor on each of a service's own secrets only,
granted directly to its Kubernetes ServiceAccount's Workload Identity principal (no Google service account to
impersonate), and the ESO gcpsm store.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from pulumi.runtime import rpc

from platform_secrets.access import matrix as access
from platform_secrets.model.catalog import Source
from platform_secrets.model.settings import SettingsError, parse_settings
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import Registered, RunResult
from platform_secrets.program.clouds import gcp_naming as naming
from tests import catalog_facts
from tests.checks import OWN_KEYS, WORKLOADS
from tests.conftest import PROD_SECRETS

PROJECT = {"dev": "acme-secrets-dev", "prod": "acme-secrets-prod"}
LOCATIONS = {"dev": ["europe-west1"], "prod": ["europe-west1", "europe-west4"]}
CI_MEMBER = "serviceAccount:ci-linear@acme-ci-tooling.iam.gserviceaccount.com"
SECRET = "gcp:secretmanager/secret:Secret"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_MEMBER = "gcp:secretmanager/secretIamMember:SecretIamMember"
POOL = {"dev": ("acme-secrets-dev", "109876543210"), "prod": ("acme-apps-prod", "310987654321")}
"""The cluster's project (its Workload Identity pool) and that project's number: prod's is apart."""


def principal(stack: str, service: str) -> str:
    """The Workload Identity principal of the service's ServiceAccount (namespace and name = service)."""
    project, number = POOL[stack]
    return (
        f"principal://iam.googleapis.com/projects/{number}/locations/global/"
        f"workloadIdentityPools/{project}.svc.id.goog/subject/ns/{service}/sa/{service}"
    )


def reader_of(stack: str, service: str) -> str:
    return principal(stack, service) if service in WORKLOADS else CI_MEMBER


@pytest.fixture(scope="module", params=["dev", "prod"])
def gcp_run(request, gcp_dev_run, gcp_prod_run) -> RunResult:
    return gcp_dev_run if request.param == "dev" else gcp_prod_run


def secret_id(stack: str, service: str, key: str) -> str:
    owner, key = catalog_facts.reads()[service][key]
    return f"platform-secrets-{stack}-{owner}-{key}"


def entries_of(stack: str, *sources: Source) -> set[str]:
    """The catalog's secret ids whose value comes from one of ``sources`` (every source if none)."""
    return {
        f"platform-secrets-{stack}-{e.owner}-{e.key}"
        for e in catalog_facts.entries()
        if not sources or e.spec.source in sources
    }


def written(run: RunResult) -> set[str]:
    return {v.inputs["secret"].rsplit("/", 1)[-1] for v in run.of_type(VERSION)}


def secrets_by_id(run: RunResult) -> dict[str, Registered]:
    return {r.inputs["secretId"]: r for r in run.of_type(SECRET)}


# --- names (pure) ---


def test_service_account_ids_of_the_catalog_fit_gcps_rule():
    for stack in ("dev", "staging", "prod"):
        ids = [naming.account_id("platform-secrets", stack, s) for s in OWN_KEYS]
        assert len(set(ids)) == len(ids)
        for account in ids:
            assert naming.ACCOUNT_ID.fullmatch(account) and 6 <= len(account) <= 30, account
    assert naming.account_id("platform-secrets", "dev", "backend") == "ps-dev-backend"


def test_long_service_account_ids_are_cut_with_a_hash_and_stay_distinct():
    a = naming.account_id("platform-secrets", "staging", "a-very-long-service-name-number-one")
    b = naming.account_id("platform-secrets", "staging", "a-very-long-service-name-number-two")
    assert a != b
    for account in (a, b):
        assert len(account) <= 30 and naming.ACCOUNT_ID.fullmatch(account), account
    assert a == naming.account_id(
        "platform-secrets", "staging", "a-very-long-service-name-number-one"
    )


def test_secret_ids_follow_gcps_naming_rule():
    name = naming.secret_id("platform-secrets", "prod", "events-service", "EVENTS_SECRET_KEY")
    assert name == "platform-secrets-prod-events-service-EVENTS_SECRET_KEY"
    assert naming.SECRET_ID.fullmatch(name)
    assert not naming.SECRET_ID.fullmatch("platform-secrets/prod/x")


@pytest.mark.parametrize(
    "member",
    [
        "allUsers",
        "allAuthenticatedUsers",
        "domain:example.com",
        "principalSet://iam.googleapis.com/x",
        "user:*@example.com",
    ],
)
def test_a_member_that_stands_for_many_principals_is_a_problem(member):
    assert naming.member_problem(member)


def test_one_principal_is_no_problem():
    assert naming.member_problem(CI_MEMBER) is None
    assert naming.member_problem(principal("prod", "backend")) is None


# --- settings ---


def gcp_settings(stack: str, **changes) -> dict:
    config = offline.load_config(stack)[1]
    raw = {
        key.split(":", 1)[1]: config[key]
        for key in ("platform-secrets:environment", "platform-secrets:rotationEpoch")
        if key in config
    }
    gcp = {**json.loads(config["platform-secrets:gcp"]), **changes}
    kubernetes = json.loads(config["platform-secrets:kubernetes"])  # prod names its cluster
    return {**raw, "cloud": "gcp", "gcp": gcp, "kubernetes": kubernetes}


def test_the_stack_files_gcp_sections_are_valid():
    for stack in ("dev", "prod"):
        assert parse_settings(gcp_settings(stack)).gcp is not None


def test_prod_on_gcp_replicates_to_two_locations_with_a_customer_managed_key():
    with pytest.raises(SettingsError) as error:
        parse_settings(gcp_settings("prod", locations=["europe-west1"], customerManagedKey=False))
    assert "gcp.locations: prod replicates every secret to at least two locations" in str(
        error.value
    )
    assert "gcp.customerManagedKey: prod encrypts with a customer-managed key" in str(error.value)


def test_gcp_settings_are_required_when_gcp_is_selected():
    with pytest.raises(SettingsError, match="gcp: required when cloud is gcp"):
        parse_settings({"environment": "dev", "cloud": "gcp"})


def test_a_wildcard_tooling_member_is_refused_by_the_settings():
    with pytest.raises(SettingsError, match="toolingMembers"):
        parse_settings(gcp_settings("dev", toolingMembers={"linear-integration": ["allUsers"]}))


def test_prod_on_gcp_needs_a_dated_rotation_epoch():
    settings = gcp_settings("prod")
    settings["rotationEpoch"] = "initial"
    with pytest.raises(SettingsError, match="rotationEpoch: a date"):
        parse_settings(settings)


def test_tooling_members_for_a_workload_are_refused_before_anything_is_registered():
    gcp = gcp_settings("dev", toolingMembers={"backend": [CI_MEMBER]})["gcp"]
    result = offline.run("dev", overrides={"cloud": "gcp", "gcp": gcp})
    assert "gcp.toolingMembers.backend: not a non-workload service" in str(result.error)
    assert result.resources == []


# --- store ---


def test_each_secret_has_one_entry_replicated_to_the_stacks_locations(gcp_run):
    stack = gcp_run.stack
    entries = secrets_by_id(gcp_run)
    assert set(entries) == {secret_id(stack, s, k) for s, keys in OWN_KEYS.items() for k in keys}
    for entry in entries.values():
        assert entry.inputs["project"] == PROJECT[stack]
        replicas = entry.inputs["replication"]["userManaged"]["replicas"]
        assert [r["location"] for r in replicas] == LOCATIONS[stack]
        assert "auto" not in entry.inputs["replication"]
        assert naming.SECRET_ID.fullmatch(entry.inputs["secretId"])


def test_each_replica_is_encrypted_by_the_key_of_its_own_location(gcp_run):
    keys = {
        r.inputs["keyRing"].split("/")[3]: r.id
        for r in gcp_run.of_type("gcp:kms/cryptoKey:CryptoKey")
    }
    assert sorted(keys) == LOCATIONS[gcp_run.stack]
    for entry in gcp_run.of_type(SECRET):
        for replica in entry.inputs["replication"]["userManaged"]["replicas"]:
            assert replica["customerManagedEncryption"] == {"kmsKeyName": keys[replica["location"]]}
    for key in gcp_run.of_type("gcp:kms/cryptoKey:CryptoKey"):
        assert key.inputs["rotationPeriod"] == "7776000s"


def test_dev_may_go_without_a_customer_managed_key():
    gcp = gcp_settings("dev", customerManagedKey=False)["gcp"]
    result = offline.run("dev", overrides={"cloud": "gcp", "gcp": gcp})
    assert result.error is None, result.error
    assert not [
        r.name for r in result.resources if r.type.startswith(("gcp:kms/", "gcp:projects/"))
    ]
    for entry in result.of_type(SECRET):
        assert entry.inputs["replication"]["userManaged"]["replicas"] == [
            {"location": "europe-west1"}
        ]


def test_only_the_secret_manager_agent_may_use_the_keys_and_secrets_wait_for_it(gcp_run):
    (agent,) = gcp_run.of_type("gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.inputs["service"] == "secretmanager.googleapis.com"
    grants = gcp_run.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert len(grants) == len(LOCATIONS[gcp_run.stack])
    for grant in grants:
        assert grant.inputs["member"] == agent.outputs["member"]
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    for entry in gcp_run.of_type(SECRET):
        assert {g.urn for g in grants} <= set(entry.dependencies), entry.name


def test_prod_secrets_rotate_every_90_days_with_notices_on_the_topic(gcp_prod_run):
    (topic,) = gcp_prod_run.of_type("gcp:pubsub/topic:Topic")
    (publisher,) = gcp_prod_run.of_type("gcp:pubsub/topicIAMMember:TopicIAMMember")
    (agent,) = gcp_prod_run.of_type("gcp:projects/serviceIdentity:ServiceIdentity")
    assert publisher.inputs == {
        "topic": topic.id,
        "role": "roles/pubsub.publisher",
        "member": agent.outputs["member"],
    }
    for entry in gcp_prod_run.of_type(SECRET):
        # 90 days after the stack's rotation epoch (2026-11-29).
        assert entry.inputs["rotation"] == {
            "rotationPeriod": "7776000s",
            "nextRotationTime": "2027-02-27T00:00:00Z",
        }
        assert entry.inputs["topics"] == [{"name": topic.id}]
        assert entry.inputs["annotations"]["platform-secrets-rotation-days"] == "90"


def test_dev_has_no_rotation_and_no_topic(gcp_dev_run):
    assert not gcp_dev_run.of_type("gcp:pubsub/topic:Topic")
    for entry in gcp_dev_run.of_type(SECRET):
        assert "rotation" not in entry.inputs and "topics" not in entry.inputs


@pytest.mark.parametrize("mode", ["update", "preview"])
def test_entry_values_are_secret_in_preview_and_update(mode, gcp_prod_run, gcp_prod_preview):
    run = gcp_prod_run if mode == "update" else gcp_prod_preview
    versions = run.of_type(VERSION)
    # generated and config values; never an external entry
    assert written(run) == entries_of("prod", Source.GENERATED, Source.CONFIG)
    for version in versions:
        assert rpc.is_rpc_secret(version.inputs["secretData"]), version.name


def test_external_and_missing_entries_are_never_written(gcp_dev_run):
    assert written(gcp_dev_run) == entries_of("dev", Source.GENERATED)


def test_prod_entries_keys_and_rings_are_protected_retained_and_deletion_protected(gcp_prod_run):
    durable = [
        r
        for r in gcp_prod_run.resources
        if r.type in (SECRET, "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing")
    ]
    assert {r.inputs["secretId"] for r in durable if r.type == SECRET} == entries_of("prod")
    for kind in ("gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing"):  # one per location
        assert len([r for r in durable if r.type == kind]) == len(LOCATIONS["prod"]), kind
    for r in durable:
        assert r.protect and r.retain_on_delete, r.name
    for entry in gcp_prod_run.of_type(SECRET):
        assert entry.inputs["deletionProtection"] is True
        assert entry.inputs["versionDestroyTtl"] == "2592000s"  # 30 days


def test_dev_protects_nothing(gcp_dev_run):
    # Namespaces are retained in every environment (deleting one deletes its workloads), never protected in dev.
    assert not [
        r.name
        for r in gcp_dev_run.resources
        if r.protect or (r.retain_on_delete and r.type != "kubernetes:core/v1:Namespace")
    ]
    for entry in gcp_dev_run.of_type(SECRET):
        assert entry.inputs["deletionProtection"] is False


# --- identities and grants ---


def test_no_google_service_account_and_no_act_as_grant_is_registered(gcp_run):
    kinds = {r.type for r in gcp_run.resources if r.type.startswith("gcp:serviceaccount/")}
    assert kinds == set()


@pytest.mark.parametrize("service", list(OWN_KEYS))
def test_each_services_principal_reads_exactly_its_own_secrets(gcp_run, service):
    granted = sorted(
        m.inputs["secretId"]
        for m in gcp_run.of_type(SECRET_MEMBER)
        if m.inputs["member"] == reader_of(gcp_run.stack, service)
    )
    entries = secrets_by_id(gcp_run)
    assert granted == sorted(
        entries[secret_id(gcp_run.stack, service, key)].id for key in OWN_KEYS[service]
    )


def test_no_grant_is_broader_than_one_secret(gcp_run):
    secret_ids = {r.id for r in gcp_run.of_type(SECRET)}
    broad = [
        r.name
        for r in gcp_run.resources
        if (
            re.match(r"gcp:(projects|organizations|folders)/", r.type)
            and r.type != "gcp:projects/serviceIdentity:ServiceIdentity"
        )
        or r.type.startswith(
            ("gcp:secretmanager/secretIamBinding", "gcp:secretmanager/secretIamPolicy")
        )
    ]
    assert broad == []
    for grant in gcp_run.of_type(SECRET_MEMBER):
        assert grant.inputs["secretId"] in secret_ids, grant.name
        assert grant.inputs["role"] == "roles/secretmanager.secretAccessor", grant.name


def test_no_member_has_a_wildcard_or_stands_for_a_set(gcp_run):
    members = [r.inputs["member"] for r in gcp_run.resources if "member" in r.inputs]
    members += [m for r in gcp_run.resources for m in r.inputs.get("members", [])]
    assert len(members) >= len(OWN_KEYS)
    for member in members:
        assert naming.member_problem(member) is None, member


def test_the_linear_key_is_read_by_its_ci_principal_only(gcp_run):
    linear = secrets_by_id(gcp_run)[
        secret_id(gcp_run.stack, "linear-integration", "LINEAR_API_KEY")
    ]
    readers = {
        m.inputs["member"]
        for m in gcp_run.of_type(SECRET_MEMBER)
        if m.inputs["secretId"] == linear.id
    }
    assert readers == {CI_MEMBER}


# --- Kubernetes ---


@pytest.mark.parametrize("service", WORKLOADS)
def test_service_account_names_no_google_service_account(gcp_run, service):
    """Without ``iam.gke.io/gcp-service-account``, ESO uses the ServiceAccount's federated token itself."""
    sa = gcp_run.by_name(f"{service}-service-account", "kubernetes:core/v1:ServiceAccount")
    assert not sa.inputs["metadata"].get("annotations")


@pytest.mark.parametrize("service", WORKLOADS)
def test_eso_store_uses_gcpsm_with_workload_identity(gcp_run, service):
    stack = gcp_run.stack
    store = gcp_run.by_name(f"{service}-secret-store")
    assert store.inputs["spec"] == {
        "provider": {
            "gcpsm": {
                "projectID": PROJECT[stack],
                "auth": {
                    "workloadIdentity": {
                        "clusterLocation": "europe-west1",
                        "clusterName": f"apps-{stack}",
                        "clusterProjectID": POOL[stack][0],
                        "serviceAccountRef": {"name": service},
                    }
                },
            }
        }
    }
    es = gcp_run.by_name(f"{service}-external-secret")
    got = {d["secretKey"]: d["remoteRef"]["key"] for d in es.inputs["spec"]["data"]}
    assert got == {key: secret_id(stack, service, key) for key in OWN_KEYS[service]}


# --- the access matrix reads the grants ---


def test_access_is_derived_so_a_project_level_grant_shows_up(gcp_dev_run):
    widened = copy.deepcopy(gcp_dev_run)
    assert access.derive(widened.resources)["media"]["keys"] == OWN_KEYS["media"]
    grant = copy.deepcopy(widened.of_type(SECRET_MEMBER)[0])
    grant.type = "gcp:projects/iAMMember:IAMMember"
    grant.parent = ""  # registered by hand, not by a service's component
    grant.inputs = {
        "project": PROJECT["dev"],
        "role": "roles/secretmanager.secretAccessor",
        "member": principal("dev", "media"),
    }
    widened.resources.append(grant)
    keys = access.derive(widened.resources)["media"]["keys"]
    assert sorted(keys) == sorted({k for ks in OWN_KEYS.values() for k in ks})


# --- adoption after a lost state ---


def test_adoption_imports_secrets_and_keys_by_their_deterministic_ids(gcp_prod_run):
    adopted = offline.run(
        "prod", secrets=PROD_SECRETS, overrides={"cloud": "gcp", "adoptExisting": True}
    )
    assert adopted.error is None, adopted.error
    assert {r.urn for r in adopted.resources} <= {r.urn for r in gcp_prod_run.resources}
    ids = {r.urn: r.id for r in gcp_prod_run.resources}
    kinds = (
        SECRET,
        "gcp:kms/cryptoKey:CryptoKey",
        "gcp:kms/keyRing:KeyRing",
        "gcp:pubsub/topic:Topic",
    )
    imported = [r for r in adopted.resources if r.type in kinds]
    expected = {r.urn for r in gcp_prod_run.resources if r.type in kinds}
    assert {r.urn for r in imported} == expected  # every one of these kinds is adopted
    for r in imported:
        assert r.import_id == ids[r.urn], r.name  # the id the resource of that name has
    # The store's generated values are the live ones: adoption writes only the config values.
    assert written(adopted) == entries_of("prod", Source.CONFIG)
