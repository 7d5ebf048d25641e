"""Attacks on the Kubernetes side (issue 9, item 6): one test per attack, named after it.

The program runs under the mock engine with the real stack files (``platform_secrets.offline.runner``); what the engine would do
with a resource is read from what it receives: ``retainOnDelete``, ``protect`` and the provider reference.
"""

from __future__ import annotations

import json

import pytest

from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests.conftest import PROD_SECRETS

NAMESPACE = "kubernetes:core/v1:Namespace"
STACK_FILE_CLUSTERS = {"dev", "prod", "prod-dr"}


@pytest.fixture(scope="module")
def dr_run() -> RunResult:
    result = offline.run("prod-dr", secrets=PROD_SECRETS)
    assert result.error is None, result.error
    return result


def _runs(dev_run: RunResult, prod_run: RunResult, dr_run: RunResult) -> dict[str, RunResult]:
    return {"dev": dev_run, "prod": prod_run, "prod-dr": dr_run}


def _kubernetes_settings(stack: str) -> dict:
    config = offline.load_config(stack)[1]
    return json.loads(config.get("platform-secrets:kubernetes", "{}"))


def test_removing_a_service_from_the_catalog_deletes_its_namespace(
    dev_run: RunResult, prod_run: RunResult, dr_run: RunResult
) -> None:
    """Attack (or accident): delete or rename a service in ``catalog.yaml`` and run ``pulumi up``. The program
    no longer declares the service's namespace, so Pulumi deletes it, and Kubernetes deletes every workload,
    Secret and volume claim in it, including what other teams deployed there."""
    deleted = {
        stack: sorted(r.name for r in run.of_type(NAMESPACE) if not r.retain_on_delete)
        for stack, run in _runs(dev_run, prod_run, dr_run).items()
    }
    assert all(run.of_type(NAMESPACE) for run in (dev_run, prod_run, dr_run))
    assert deleted == {"dev": [], "prod": [], "prod-dr": []}


def test_a_prod_namespace_is_deleted_by_a_catalog_edit_or_a_destroy(
    prod_run: RunResult, dr_run: RunResult
) -> None:
    """Attack: a reviewed-looking catalog change (or ``pulumi destroy``) removes a prod service; nothing asks
    for confirmation before its namespace goes. In prod the namespace is protected: Pulumi refuses to delete
    it until someone unprotects it on purpose."""
    unprotected = sorted(
        f"{run.stack}:{r.name}"
        for run in (prod_run, dr_run)
        for r in run.of_type(NAMESPACE)
        if not r.protect
    )
    assert unprotected == []


def test_kubernetes_objects_go_to_whatever_kubeconfig_context_is_current(
    dev_run: RunResult, prod_run: RunResult, dr_run: RunResult
) -> None:
    """Attack (or accident): an operator's kubeconfig points at the dev cluster (or another team's) while
    running ``pulumi up --stack prod``. With the default provider, every namespace, ServiceAccount and Role of
    prod lands in that cluster. Each stack's Kubernetes objects must go through one explicit provider pinned
    to the context and cluster its stack file names."""
    wrong = []
    for stack, run in _runs(dev_run, prod_run, dr_run).items():
        pinned = _kubernetes_settings(stack)
        providers = {
            f"{r.urn}::{r.id}": r for r in run.resources if r.type == "pulumi:providers:kubernetes"
        }
        for r in run.resources:
            if not r.type.startswith("kubernetes:"):
                continue
            provider = providers.get(r.provider)
            named = (
                {key: provider.inputs.get(key) for key in ("context", "cluster")}
                if provider
                else None
            )
            if not pinned.get("cluster") or named != {
                "context": pinned.get("context"),
                "cluster": pinned["cluster"],
            }:
                wrong.append(
                    f"{stack}:{r.type}:{r.name} via {r.provider or 'the default provider'}"
                )
    assert wrong == []


def test_prod_without_a_named_cluster_deploys_to_the_current_context() -> None:
    """Attack: a prod stack file without ``platform-secrets:kubernetes.cluster`` (a copy of dev's, or the key
    misspelt) would let the kubeconfig decide where prod goes. Prod must refuse to run, naming the setting,
    before anything registers."""
    result = offline.run(
        "prod", overrides={"kubernetes": {"context": "apps-prod"}}, secrets=PROD_SECRETS
    )
    assert result.error is not None and "kubernetes.cluster" in str(result.error)
    assert result.resources == []
