"""Vault: the real program with the real stack files under the mock engine (``cloud: vault``).

A KV v2 mount per environment, one secret per entry (external ones by metadata only), a read policy and a JWT
role per service, the ESO vault store; prod protected; import ids under ``adoptExisting``; bad input refused
before anything registers. The OpenBao tier (tests/program/test_least_privilege_vault.py) proves the same on a server.
"""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import rpc

from platform_secrets.access.vault import parse_policy
from platform_secrets.model.catalog import Source
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests import catalog_facts
from tests.checks import WORKLOADS
from tests.conftest import PROD_SECRETS

MOUNT = "vault:index/mount:Mount"
CONFIG = "vault:kv/secretBackendV2:SecretBackendV2"
KV = "vault:kv/secretV2:SecretV2"
METADATA = "vault:generic/endpoint:Endpoint"
POLICY = "vault:index/policy:Policy"
AUTH = "vault:jwt/authBackend:AuthBackend"
ROLE = "vault:jwt/authBackendRole:AuthBackendRole"


def test_every_written_value_is_a_secret_and_no_external_entry_is_written(
    vault_dev_run: RunResult, vault_prod_run: RunResult
):
    for result in (vault_dev_run, vault_prod_run):
        written = result.of_type(KV)
        assert written and all(rpc.is_rpc_secret(r.inputs["dataJson"]) for r in written)
        sources = {r.inputs["customMetadata"]["data"]["platform-secrets-source"] for r in written}
        assert Source.EXTERNAL.value not in sources
        (linear,) = [r for r in result.of_type(METADATA) if "LINEAR_API_KEY" in r.inputs["path"]]
        assert linear.inputs["path"].split("/")[1:3] == ["metadata", "linear-integration"]
        # Never read back (no drift on the value), never deleted (the out-of-band value stays).
        assert linear.inputs["disableRead"] and linear.inputs["disableDelete"]
        body = json.loads(rpc.unwrap_rpc_secret(linear.inputs["dataJson"]))
        assert set(body) == {"custom_metadata", "max_versions"}


def test_prod_protects_mounts_auth_and_entries_and_dev_does_not(
    vault_dev_run: RunResult, vault_prod_run: RunResult
):
    durable = (MOUNT, CONFIG, AUTH, KV, METADATA)
    prod = [r for r in vault_prod_run.resources if r.type in durable]
    entries = [r for r in prod if r.type in (KV, METADATA)]
    assert len(entries) == len(catalog_facts.entries())  # one per entry of the catalog
    assert len(prod) - len(entries) == 1 + 1 + 2  # the mount, its config, two auth backends
    assert [r.name for r in prod if not (r.protect and r.retain_on_delete)] == []
    assert [r.name for r in vault_dev_run.resources if r.type in durable and r.protect] == []
    (config,) = vault_prod_run.of_type(CONFIG)
    assert config.inputs["maxVersions"] >= 10 and not config.inputs.get("casRequired")
    assert not config.inputs.get("deleteVersionAfter")
    assert all(not r.inputs.get("deleteAllVersions") for r in vault_prod_run.of_type(KV))


def test_each_policy_reads_exactly_its_entries_data_paths(vault_dev_run: RunResult):
    grants = {
        r.inputs["name"]: parse_policy(r.inputs["policy"]) for r in vault_dev_run.of_type(POLICY)
    }
    media = "platform-secrets-dev/data/media"
    assert grants["platform-secrets-dev-media"] == {
        f"{media}/{key}": ["read"] for key in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
    }
    assert grants["platform-secrets-dev-agent7-messaging"] == {
        "platform-secrets-dev/data/shared/JWT_SECRET": ["read"]
    }


def test_workload_roles_bind_one_service_account_audience_and_short_ttl(vault_dev_run: RunResult):
    roles = {r.inputs["roleName"]: r.inputs for r in vault_dev_run.of_type(ROLE)}
    for service in WORKLOADS:
        role = roles[service]
        assert role["backend"] == "platform-secrets-dev-k8s"
        assert (role["roleType"], role["userClaim"]) == ("jwt", "sub")
        assert role["boundSubject"] == f"system:serviceaccount:{service}:{service}"
        assert role["boundAudiences"] == ["vault"]
        assert role["tokenPolicies"] == [f"platform-secrets-dev-{service}"]
        assert role["tokenTtl"] == role["tokenMaxTtl"] == 900
    tooling = roles["linear-integration"]
    assert tooling["backend"] == "platform-secrets-dev-ci" and "boundSubject" not in tooling
    assert tooling["boundClaims"] == {"repository": "acme/platform", "environment": "dev"}
    assert tooling["boundClaimsType"] == "string"


def test_auth_mounts_check_the_issuer(vault_prod_run: RunResult):
    auth = {r.inputs["path"]: r.inputs for r in vault_prod_run.of_type(AUTH)}
    workload = auth["platform-secrets-prod-k8s"]
    assert workload["boundIssuer"] == workload["oidcDiscoveryUrl"]
    assert workload["boundIssuer"].startswith("https://oidc.eks.")
    ci = auth["platform-secrets-prod-ci"]
    assert ci["boundIssuer"] == "https://token.actions.githubusercontent.com"


def test_service_accounts_carry_no_annotation(vault_dev_run: RunResult):
    accounts = vault_dev_run.of_type("kubernetes:core/v1:ServiceAccount")
    assert len(accounts) == len(WORKLOADS)
    assert [r.name for r in accounts if r.inputs["metadata"].get("annotations")] == []


def test_adoption_imports_every_kind_by_its_vault_id():
    adopted = offline.run(
        "prod", secrets=PROD_SECRETS, overrides={"cloud": "vault", "adoptExisting": True}
    )
    assert adopted.error is None, adopted.error
    ids = {r.type: set() for r in adopted.resources if r.type.startswith("vault:")}
    for r in adopted.resources:
        if r.type.startswith("vault:"):
            ids[r.type].add(r.import_id)
    assert ids[MOUNT] == {"platform-secrets-prod"}
    assert "platform-secrets-prod/data/backend/OTP_PEPPER" in ids[KV]
    assert "platform-secrets-prod-media" in ids[POLICY]
    assert ids[AUTH] == {"platform-secrets-prod-k8s", "platform-secrets-prod-ci"}
    assert "auth/platform-secrets-prod-k8s/role/media" in ids[ROLE]
    assert "auth/platform-secrets-prod-ci/role/linear-integration" in ids[ROLE]
    assert ids[METADATA] == {""}  # the provider cannot import it; the metadata write is idempotent
    # A generated value is imported and never written over.
    (pepper,) = [r for r in adopted.of_type(KV) if r.inputs["name"] == "backend/OTP_PEPPER"]
    assert "dataJson" not in pepper.inputs


def test_bad_tooling_claims_are_refused_before_anything_registers():
    vault = {
        "address": "https://vault.dev.internal:8200",
        "issuer": "https://issuer.example",
        "discoveryUrl": "https://issuer.example",
        "toolingClaims": {"backend": {"repository": "acme/x"}, "linear-integration": {"x": "y"}},
    }
    result = offline.run("dev", overrides={"cloud": "vault", "vault": vault})
    assert result.error is not None and result.resources == []
    message = str(result.error)
    assert "vault.toolingClaims.backend: not a non-workload service" in message
    assert "vault.toolingClaims.linear-integration: needs `repository`" in message


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_outputs_name_the_mounts(stack, vault_dev_run, vault_prod_run):
    result = vault_dev_run if stack == "dev" else vault_prod_run
    assert result.outputs["store"]["kv_mount"] == f"platform-secrets-{stack}"
    assert result.outputs["store"]["auth_path"] == f"platform-secrets-{stack}-k8s"


def test_every_role_issues_a_token_without_the_default_policy(vault_dev_run: RunResult):
    roles = vault_dev_run.of_type(ROLE)
    assert {r.inputs["roleName"] for r in roles} >= {*WORKLOADS, "linear-integration"}
    for role in roles:
        assert role.inputs.get("tokenNoDefaultPolicy") is True, role.inputs["roleName"]
        assert role.inputs.get("tokenType") == "batch", role.inputs["roleName"]
