"""Attacks on the Azure Key Vault's network exposure (issue 9, item 10): one test per attack, named after it.

The program runs under the mock engine with the real stack files (``platform_secrets.offline.runner``); the vault's registered
inputs are what Azure would receive.
"""

from __future__ import annotations

import json

from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests.conftest import PROD_SECRETS

VAULT = "azure-native:keyvault:Vault"


def _prod_azure_as_dev_has_it() -> dict:
    """Prod's azure settings with dev's network exposure: public access on, no subnet, no opt-in."""
    config = offline.load_config("prod")[1]
    azure = json.loads(config["platform-secrets:azure"])
    network = {"allowedSubnetIds", "allowPublicNetworkAccessInProd", "publicNetworkAccessReason"}
    return {**{k: v for k, v in azure.items() if k not in network}, "publicNetworkAccess": True}


def test_prod_key_vault_answers_every_network(azure_prod_run: RunResult) -> None:
    """Attack: from any address on the internet (a leaked client secret or a stolen token used from the
    attacker's own machine), call the prod vault's data plane. With ``publicNetworkAccess: Enabled`` and the
    firewall's default action ``Allow`` the vault answers; only Entra ID stands between the attacker and every
    prod secret. The vault must deny every network but the cluster's subnets (or be private-endpoint only)."""
    (vault,) = azure_prod_run.of_type(VAULT)
    props = vault.inputs["properties"]
    acls = props.get("networkAcls") or {}
    subnets = [rule["id"] for rule in acls.get("virtualNetworkRules") or []]
    assert acls.get("defaultAction") == "Deny", acls
    assert props["publicNetworkAccess"] == "Disabled" or subnets, props


def test_prod_stack_opens_the_vault_to_every_network_without_saying_so() -> None:
    """Attack (or accident): a prod stack file keeps ``publicNetworkAccess: true`` and names no subnet, as
    dev's does; the vault goes live open to every network and nobody decided it. Prod must refuse to run,
    naming the setting, before anything registers, unless the stack opts in explicitly with a reason."""
    azure = _prod_azure_as_dev_has_it()
    result = offline.run("prod", overrides={"cloud": "azure", "azure": azure}, secrets=PROD_SECRETS)
    assert result.error is not None and "azure.publicNetworkAccess" in str(result.error)
    assert result.resources == []
