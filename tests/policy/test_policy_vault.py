"""The policy pack's Vault rules: the clean plans pass (tests/policy/test_policy_pack.py), each loosening is refused."""

from __future__ import annotations

import json

import pytest

from platform_secrets.offline.runner import RunResult
from policy import rules
from policy.rules import vault as vault_rules
from tests.policy.test_policy_pack import BY_NAME, POLICY_DIR, broken, resource_args

PROD = {"environment": "prod"}


def violations(name: str, resource, result: RunResult, config=None) -> list[str]:
    found: list[str] = []
    BY_NAME[name].validate(
        resource_args(resource, result, config), lambda message, urn=None: found.append(message)
    )
    return found


def test_vault_plans_are_clean_under_the_prod_config(vault_prod_run):
    found = [
        message
        for r in vault_prod_run.resources
        for message in violations("prod-store-protected", r, vault_prod_run, PROD)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ('path "platform-secrets-dev/data/*" { capabilities = ["read"] }', "has a glob"),
        ('path "platform-secrets-dev/data/+/JWT_SECRET" { capabilities = ["read"] }', "has a glob"),
        ('path "platform-secrets-dev/data/media/A" { capabilities = ["read", "list"] }', "list"),
        ('path "platform-secrets-dev/data/media/A" { capabilities = ["sudo", "read"] }', "sudo"),
        ('path "platform-secrets-dev/metadata/media/A" { capabilities = ["read"] }', "not one KV"),
        ('{"path": {"platform-secrets-dev/data/*": {"capabilities": ["read"]}}}', "has a glob"),
    ],
    ids=["star", "plus", "list", "sudo", "metadata", "json-glob"],
)
def test_a_service_policy_broader_than_exact_reads_is_refused(vault_dev_run, policy, expected):
    resource, run = broken(
        vault_dev_run, vault_rules.VAULT_POLICY, "media-policy", lambda i: i.update(policy=policy)
    )
    found = violations("no-wildcard-secret-access", resource, run)
    assert any(expected in message for message in found), found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"boundSubject": ""}, "binds no subject"),
        ({"boundSubject": "system:serviceaccount:media:*"}, "not one ServiceAccount"),
        ({"boundAudiences": []}, "binds no audience"),
        ({"boundAudiences": ["*"]}, "audiences by glob"),
    ],
    ids=["no-subject", "glob-subject", "no-audience", "glob-audience"],
)
def test_a_workload_role_that_binds_less_than_one_account_is_refused(
    vault_dev_run, change, expected
):
    resource, run = broken(
        vault_dev_run, vault_rules.VAULT_ROLE, "media-role", lambda i: i.update(change)
    )
    found = violations("trust-bound-to-one-service-account", resource, run)
    assert any(expected in message for message in found), found


def test_a_tooling_role_without_claims_or_with_glob_claims_is_refused(vault_dev_run):
    for change, expected in (
        ({"boundClaims": {}}, "binds no subject"),
        ({"boundClaimsType": "glob"}, "glob matches more"),
    ):
        resource, run = broken(
            vault_dev_run,
            vault_rules.VAULT_ROLE,
            "linear-integration-role",
            lambda i, change=change: i.update(change),
        )
        found = violations("trust-bound-to-one-service-account", resource, run)
        assert any(expected in message for message in found), (change, found)


def test_an_unprotected_prod_mount_and_short_history_are_refused(vault_prod_run):
    mount = next(r for r in vault_prod_run.resources if r.type == vault_rules.VAULT_MOUNT)
    mount_copy, run = broken(vault_prod_run, vault_rules.VAULT_MOUNT, mount.name, lambda i: None)
    mount_copy.protect = False
    assert any(
        "must be protected" in m for m in violations("prod-store-protected", mount_copy, run, PROD)
    )
    config, run = broken(
        vault_prod_run,
        vault_rules.VAULT_KV_CONFIG,
        None,
        lambda i: i.update(maxVersions=3, deleteVersionAfter=86400),
    )
    found = violations("prod-store-protected", config, run, PROD)
    assert any("at least 10 versions" in m for m in found), found
    assert any("never expire" in m for m in found), found
    # dev: the same loosening is allowed
    assert violations("prod-store-protected", mount_copy, run, {"environment": "dev"}) == []


def test_a_plaintext_kv_value_is_refused(vault_dev_run):
    resource, run = broken(
        vault_dev_run,
        vault_rules.VAULT_KV_V2,
        None,
        lambda i: i.update(dataJson='{"value": "fake-plaintext"}'),
    )
    assert violations("no-plaintext-secret-values", resource, run)


def test_the_vault_rules_run_in_the_pack():
    assert vault_rules in rules.STORES


def test_the_prod_config_of_the_pack_sets_prod_for_every_configurable_policy():
    """Vault resources carry no environment tag: without this config the prod rules could not apply to them."""
    config = json.loads((POLICY_DIR / "config.prod.json").read_text())
    configurable = {spec.name for spec in rules.POLICY_SPECS if spec.configurable}
    missing = {name for name in configurable if config.get(name, {}).get("environment") != "prod"}
    assert missing == set()
