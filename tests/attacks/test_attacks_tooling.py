"""Attacks through the principals that may act as a tooling (non-workload) service's identity.

A tooling service (the Linear integration) has no pod: its identity is assumed by principals the stack
names (AWS ``toolingPrincipals``, GCP ``gcp.toolingMembers``, Azure ``azure.toolingFederations``). Each
test names one that would hand the tooling service's secrets to someone else, and expects the stack to be
refused before anything registers; the last tests bypass the validators and expect the access matrix to
show the leak (so the intent test would fail even if a validator missed it).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from platform_secrets.access import matrix as access
from platform_secrets.model.catalog import load_catalog
from platform_secrets.model.settings import parse_settings
from platform_secrets.model.stack_model import build_model
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.paths import PROJECT_ROOT
from platform_secrets.program.clouds import gcp_naming
from platform_secrets.program.clouds.aws import AwsAdapter
from platform_secrets.program.clouds.azure import AzureAdapter
from platform_secrets.program.clouds.gcp import GcpAdapter
from tests.conftest import PROD_SECRETS

ROOT = PROJECT_ROOT
TOOLING = "linear-integration"
ACCOUNT = "444455556666"  # prod's
PLAN = (sys.executable, "-m", "platform_secrets", "plan", "--stack", "prod", "--stub-secrets")


def _prod_settings(**changes: Any) -> dict[str, Any]:
    """The prod stack's settings (namespace removed), with top-level keys replaced."""
    config = offline.load_config("prod")[1]
    raw: dict[str, Any] = {}
    for key, value in config.items():
        name = key.split(":", 1)[-1]
        if not key.startswith("platform-secrets:") or "." in name or name == "catalog":
            continue
        try:
            raw[key.split(":", 1)[1]] = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            raw[key.split(":", 1)[1]] = value
    return {**raw, **changes}


def _problems(adapter: Any, **changes: Any) -> list[str]:
    settings = parse_settings(_prod_settings(**changes))
    catalog = load_catalog(ROOT / "catalog.yaml")
    model = build_model(catalog, settings, {key: True for key in PROD_SECRETS})
    return list(adapter.problems(model))


def _aws_problems(*principals: str, **aws: Any) -> list[str]:
    base = _prod_settings()["aws"]
    return _problems(AwsAdapter, toolingPrincipals={TOOLING: list(principals)}, aws={**base, **aws})


def _gcp_problems(*members: str, **gcp: Any) -> list[str]:
    base = _prod_settings()["gcp"]
    settings = {**base, "toolingMembers": {TOOLING: list(members)}, **gcp}
    return _problems(GcpAdapter, cloud="gcp", gcp=settings)


def _azure_problems(*federations: dict[str, str], **azure: Any) -> list[str]:
    base = _prod_settings()["azure"]
    settings = {**base, "toolingFederations": {TOOLING: list(federations)}, **azure}
    return _problems(AzureAdapter, cloud="azure", azure=settings)


def _named(problems: list[str], *words: str) -> list[str]:
    return [p for p in problems if all(w in p for w in words)]


# --- AWS ---


def test_aws_workload_role_as_tooling_principal() -> None:
    """``toolingPrincipals`` names backend's own role: backend pods could assume the Linear role."""
    principal = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-backend"
    assert _named(_aws_problems(principal), f"toolingPrincipals.{TOOLING}", principal, "workload")


def test_aws_foreign_account_root_as_tooling_principal() -> None:
    """``arn:aws:iam::999999999999:root``: every principal of a foreign account may assume the role."""
    principal = "arn:aws:iam::999999999999:root"
    assert _named(_aws_problems(principal), f"toolingPrincipals.{TOOLING}", principal, "root")


def test_aws_own_account_root_as_tooling_principal() -> None:
    """The stack's own account root: any role of the account with sts:AssumeRole gets the Linear key."""
    principal = f"arn:aws:iam::{ACCOUNT}:root"
    assert _named(_aws_problems(principal), f"toolingPrincipals.{TOOLING}", principal, "root")


def test_aws_iam_user_as_tooling_principal() -> None:
    """An IAM user (long-lived access keys) as the principal that reads the Linear key."""
    principal = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert _named(_aws_problems(principal), f"toolingPrincipals.{TOOLING}", principal, "user")


def test_aws_foreign_account_role_as_tooling_principal() -> None:
    """A role of another account, not listed in ``aws.toolingAccountIds``."""
    principal = "arn:aws:iam::999999999999:role/ci-linear"
    assert _named(_aws_problems(principal), principal, "aws.toolingAccountIds")
    # Listed explicitly, the same role is accepted (a CI account the stack names on purpose).
    assert _aws_problems(principal, toolingAccountIds=["999999999999"]) == []


def test_aws_prod_plan_with_a_workload_tooling_principal_writes_nothing(tmp_path: Path) -> None:
    """The plan command refuses, names the problem and writes no artifact."""
    principal = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-backend"
    config = f"toolingPrincipals={json.dumps({TOOLING: [principal]})}"
    out = tmp_path / "out"
    result = subprocess.run(
        [*PLAN, "--out", str(out), "--config", config],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert principal in result.stdout + result.stderr
    assert not out.exists() or not any(out.iterdir())


# --- GCP ---


def test_gcp_workload_service_account_as_tooling_member() -> None:
    """``toolingMembers`` names backend's own service account: backend could act as the Linear one."""
    account = gcp_naming.account_id("platform-secrets", "prod", "backend")
    member = f"serviceAccount:{gcp_naming.account_email(account, 'acme-secrets-prod')}"
    assert _named(_gcp_problems(member), f"gcp.toolingMembers.{TOOLING}", member, "workload")


def test_gcp_workload_identity_principal_as_tooling_member() -> None:
    """The backend Kubernetes ServiceAccount's Workload Identity principal."""
    pool = "acme-secrets-prod.svc.id.goog"
    principal = (
        "principal://iam.googleapis.com/projects/123456789012/locations/global/"
        f"workloadIdentityPools/{pool}/subject/ns/backend/sa/backend"
    )
    problems = _gcp_problems(principal, toolingProjects=["123456789012"])
    assert _named(problems, principal, "cluster")


def test_gcp_user_as_tooling_member() -> None:
    """A person's Google account as the principal that reads the Linear key."""
    member = "user:alice@example.com"
    assert _named(_gcp_problems(member), member, "user")


def test_gcp_foreign_project_service_account_as_tooling_member() -> None:
    """A service account of a project the stack does not list in ``gcp.toolingProjects``."""
    member = "serviceAccount:ci@someone-elses-project.iam.gserviceaccount.com"
    assert _named(_gcp_problems(member), member, "gcp.toolingProjects")
    assert _gcp_problems(member, toolingProjects=["someone-elses-project"]) == []


# --- Azure ---


def test_azure_cluster_service_account_federation_as_tooling() -> None:
    """A federation with the cluster's issuer and a workload's ServiceAccount subject."""
    issuer = _prod_settings()["azure"]["oidcIssuer"]
    federation = {"issuer": issuer, "subject": "system:serviceaccount:backend:backend"}
    assert _named(_azure_problems(federation), "azure.toolingFederations", "cluster")


def test_azure_foreign_tenant_federation_as_tooling() -> None:
    """An Entra ID issuer of another tenant, not listed in ``azure.toolingTenantIds``."""
    other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    federation = {"issuer": f"https://login.microsoftonline.com/{other}/v2.0", "subject": "x"}
    assert _named(_azure_problems(federation), other, "azure.toolingTenantIds")
    assert _azure_problems(federation, toolingTenantIds=[other]) == []


# --- the matrix shows what a validator missed ---


def _retrust(run: RunResult, role_name: str, principals: list[str]) -> RunResult:
    crafted = copy.deepcopy(run)
    role = next(r for r in crafted.resources if r.inputs.get("name") == role_name)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    trust["Statement"][0]["Principal"]["AWS"] = principals
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    return crafted


def test_matrix_shows_a_workload_that_may_assume_the_tooling_role(prod_run: RunResult) -> None:
    """Trust chain, validator bypassed: backend's role may assume the Linear role; the matrix says so."""
    backend = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-backend"
    crafted = _retrust(prod_run, f"platform-secrets-prod-{TOOLING}", [backend])
    matrix = access.derive(crafted.resources)
    assert "LINEAR_API_KEY" in matrix["backend"]["keys"]
    assert matrix["backend"]["assumes"] == [
        f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-{TOOLING}"
    ]
    assert "LINEAR_API_KEY" not in access.derive(prod_run.resources)["backend"]["keys"]


def test_matrix_shows_a_foreign_account_that_may_assume_the_tooling_role(
    prod_run: RunResult,
) -> None:
    """Trust chain, validator bypassed: a foreign account root may assume the Linear role."""
    crafted = _retrust(
        prod_run, f"platform-secrets-prod-{TOOLING}", ["arn:aws:iam::999999999999:root"]
    )
    matrix = access.derive(crafted.resources)
    assert matrix["arn:aws:iam::999999999999:root"]["keys"] == ["LINEAR_API_KEY"]


def test_matrix_shows_a_gcp_workload_granted_the_tooling_secret(
    gcp_prod_run: RunResult,
) -> None:
    """Validator bypassed: backend's Workload Identity principal is granted the Linear key."""
    crafted = copy.deepcopy(gcp_prod_run)
    grant = copy.deepcopy(
        next(
            r
            for r in crafted.resources
            if r.type == "gcp:secretmanager/secretIamMember:SecretIamMember"
            and TOOLING in json.dumps(r.inputs)
        )
    )
    grant.name = "crafted"
    grant.inputs["member"] = (
        "principal://iam.googleapis.com/projects/210987654321/locations/global/"
        "workloadIdentityPools/acme-secrets-prod.svc.id.goog/subject/ns/backend/sa/backend"
    )
    crafted.resources.append(grant)
    matrix = access.derive(crafted.resources)
    rows = [row for row in matrix.values() if row["identity"] == grant.inputs["member"]]
    assert rows and "LINEAR_API_KEY" in rows[0]["keys"], matrix
    assert "LINEAR_API_KEY" not in access.derive(gcp_prod_run.resources)["backend"]["keys"]


def test_matrix_shows_an_azure_workload_federated_with_the_tooling_identity(
    azure_prod_run: RunResult,
) -> None:
    """Validator bypassed: the Linear identity federates the backend pod's token; the matrix says so."""
    crafted = copy.deepcopy(azure_prod_run)
    federations = [
        r
        for r in crafted.resources
        if r.type == "azure-native:managedidentity:FederatedIdentityCredential"
    ]
    backend = next(r for r in federations if r.inputs["subject"].endswith(":backend:backend"))
    tooling = next(r for r in federations if not r.inputs["subject"].startswith("system:"))
    tooling.inputs["issuer"] = backend.inputs["issuer"]
    tooling.inputs["subject"] = backend.inputs["subject"]
    matrix = access.derive(crafted.resources)
    assert "LINEAR_API_KEY" in matrix["backend"]["keys"]
    assert "LINEAR_API_KEY" not in access.derive(azure_prod_run.resources)["backend"]["keys"]


# --- CI bindings that any branch or pull request satisfies (prod) ---

REPO = "acme/platform"
GITHUB = "https://token.actions.githubusercontent.com"
REPO_ID = "123456789"
"""The repository's immutable id (``repository_id`` in GitHub's OIDC token)."""
POOL = (
    "principal://iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/github/subject/"
)
BRANCH_SUBJECTS = [
    f"repo:{REPO}:pull_request",
    f"repo:{REPO}:ref:refs/heads/main",
    f"repo:{REPO}:ref:refs/heads/feature/x",
    f"repo:{REPO}:ref:refs/tags/v1",
]
BRANCH_IDS = ["pull-request", "ref-main", "ref-branch", "ref-tag"]


def _refusal(adapter: Any, **changes: Any) -> str:
    """Everything the program says about the prod stack with ``changes``: the settings' refusal or the
    adapter's problems (the settings layer refuses first)."""
    try:
        settings = parse_settings(_prod_settings(**changes))
    except ValueError as error:
        return str(error)
    catalog = load_catalog(ROOT / "catalog.yaml")
    model = build_model(catalog, settings, {key: True for key in PROD_SECRETS})
    return "\n".join(adapter.problems(model))


def _vault_refusal(claims: dict[str, str], environment: str = "prod") -> str:
    from platform_secrets.program.clouds.vault import VaultAdapter

    base = _prod_settings()["vault"]
    vault = {**base, "toolingClaims": {TOOLING: claims}}
    changes: dict[str, Any] = {"cloud": "vault", "vault": vault}
    if environment != "prod":
        changes["environment"] = environment
    return _refusal(VaultAdapter, **changes)


@pytest.mark.parametrize(
    "claims",
    [
        {"repository": REPO},
        {"repository": REPO, "repository_id": REPO_ID},
        {"repository": REPO, "repository_id": REPO_ID, "ref": "refs/heads/main"},
        {"repository": REPO, "repository_id": REPO_ID, "event_name": "pull_request"},
        {"repository": REPO, "repository_id": REPO_ID, "sub": f"repo:{REPO}:pull_request"},
    ],
    ids=["repository-only", "repository-id-only", "ref", "pull-request-event", "pr-subject"],
)
def test_a_prod_vault_ci_role_that_any_branch_satisfies_is_refused(claims: dict[str, str]) -> None:
    """Vault `toolingClaims` without an `environment`: a workflow on any branch reads the prod Linear key."""
    message = _vault_refusal(claims)
    assert f"vault.toolingClaims.{TOOLING}" in message, message
    assert "protected deployment environment" in message, message


def test_a_prod_vault_ci_role_without_the_repository_id_is_refused() -> None:
    """`repository` is a name: a repository deleted and re-created (or renamed) under it would match."""
    message = _vault_refusal({"repository": REPO, "environment": "prod"})
    assert f"vault.toolingClaims.{TOOLING}" in message and "repository_id" in message, message
    message = _vault_refusal({"repository": REPO, "repository_id": "acme", "environment": "prod"})
    assert "repository_id" in message, message


def test_a_prod_vault_ci_role_bound_to_a_protected_environment_is_accepted() -> None:
    claims = {"repository": REPO, "repository_id": REPO_ID, "environment": "prod"}
    assert "toolingClaims" not in _vault_refusal(claims)
    # dev is not held to it: a dev binding may follow a branch
    assert "toolingClaims" not in _vault_refusal({"repository": REPO}, environment="dev")


@pytest.mark.parametrize("subject", BRANCH_SUBJECTS, ids=BRANCH_IDS)
def test_a_prod_azure_federation_that_any_branch_satisfies_is_refused(subject: str) -> None:
    message = _refusal(
        AzureAdapter,
        cloud="azure",
        azure={
            **_prod_settings()["azure"],
            "toolingFederations": {TOOLING: [{"issuer": GITHUB, "subject": subject}]},
        },
    )
    assert f"azure.toolingFederations.{TOOLING}" in message and subject in message, message
    assert "protected deployment environment" in message, message


@pytest.mark.parametrize("subject", BRANCH_SUBJECTS, ids=BRANCH_IDS)
def test_a_prod_gcp_federated_member_that_any_branch_satisfies_is_refused(subject: str) -> None:
    member = POOL + subject
    message = _refusal(
        GcpAdapter,
        cloud="gcp",
        gcp={
            **_prod_settings()["gcp"],
            "toolingProjects": ["123456789012"],
            "toolingMembers": {TOOLING: [member]},
        },
    )
    assert f"gcp.toolingMembers.{TOOLING}" in message and subject in message, message
    assert "protected deployment environment" in message, message


def test_prod_federations_bound_to_a_protected_environment_are_accepted() -> None:
    subject = f"repo:{REPO}:environment:prod"
    azure = {
        **_prod_settings()["azure"],
        "toolingFederations": {TOOLING: [{"issuer": GITHUB, "subject": subject}]},
    }
    assert _refusal(AzureAdapter, cloud="azure", azure=azure) == ""
    gcp = {
        **_prod_settings()["gcp"],
        "toolingProjects": ["123456789012"],
        "toolingMembers": {TOOLING: [POOL + subject]},
    }
    assert _refusal(GcpAdapter, cloud="gcp", gcp=gcp) == ""


def _pack(run: RunResult, type_: str, name: str, change: Any) -> list[str]:
    from tests.policy.test_policy_pack import BY_NAME, broken, resource_args

    resource, changed = broken(run, type_, name, change)
    found: list[str] = []
    BY_NAME[CI_POLICY].validate(
        resource_args(resource, changed, {"environment": "prod"}),
        lambda message, urn=None: found.append(message),
    )
    return found


CI_POLICY = "ci-bound-to-a-protected-environment-in-prod"


def test_the_pack_refuses_a_prod_vault_ci_role_that_any_branch_satisfies(
    vault_prod_run: RunResult,
) -> None:
    from policy.rules import vault as vault_rules

    def repository_only(inputs: dict[str, Any]) -> None:
        inputs["boundClaims"] = {"repository": REPO}

    found = _pack(vault_prod_run, vault_rules.VAULT_ROLE, f"{TOOLING}-role", repository_only)
    assert any("protected deployment environment" in m for m in found), found
    assert _pack(vault_prod_run, vault_rules.VAULT_ROLE, f"{TOOLING}-role", lambda i: None) == []


def test_the_pack_refuses_a_prod_azure_federation_that_any_branch_satisfies(
    azure_prod_run: RunResult,
) -> None:
    from policy.rules import azure as azure_rules

    name = next(
        r.name
        for r in azure_prod_run.resources
        if r.type == azure_rules.AZURE_FEDERATION and TOOLING in r.name
    )

    def pull_request(inputs: dict[str, Any]) -> None:
        inputs["subject"] = f"repo:{REPO}:pull_request"

    found = _pack(azure_prod_run, azure_rules.AZURE_FEDERATION, name, pull_request)
    assert any("protected deployment environment" in m for m in found), found
    assert _pack(azure_prod_run, azure_rules.AZURE_FEDERATION, name, lambda i: None) == []


# --- admin roles (aws.adminRoleArns) ---


def _admin_refusal(*roles: str) -> str:
    return _refusal(AwsAdapter, aws={**_prod_settings()["aws"], "adminRoleArns": list(roles)})


def test_an_admin_role_of_another_account_is_refused() -> None:
    """It would administer the KMS key and be exempt from every entry's deny."""
    role = "arn:aws:iam::999999999999:role/platform-admin"
    message = _admin_refusal(f"arn:aws:iam::{ACCOUNT}:role/platform-admin", role)
    assert "aws.adminRoleArns" in message and role in message and ACCOUNT in message, message


def test_a_workload_role_of_the_stack_as_admin_role_is_refused() -> None:
    """backend's own role as admin: backend's pods would read every entry."""
    role = f"arn:aws:iam::{ACCOUNT}:role/platform-secrets-prod-backend"
    message = _admin_refusal(f"arn:aws:iam::{ACCOUNT}:role/platform-admin", role)
    assert "aws.adminRoleArns" in message and role in message and "workload" in message, message


@pytest.mark.parametrize(
    "principal",
    [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/alice", "*"],
    ids=["root", "user", "star"],
)
def test_an_admin_that_is_not_a_role_is_refused(principal: str) -> None:
    message = _admin_refusal(principal)
    assert "adminRoleArns" in message, message


def test_an_admin_role_of_the_stacks_account_is_accepted() -> None:
    assert _admin_refusal(f"arn:aws:iam::{ACCOUNT}:role/platform-admin") == ""


@pytest.mark.parametrize(
    ("issuer", "subject", "refused"),
    [
        ("https://gitlab.example.com", "project_path:acme/platform:ref_type:branch:ref:main", True),
        ("https://token.actions.githubusercontent.com/acme", f"repo:{REPO}:ref:refs/heads/x", True),
        (GITHUB, "opaque-subject", True),
        ("https://login.microsoftonline.com/t/v2.0", "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c", False),
        ("https://other-cluster.example.com", "system:serviceaccount:ci:runner", False),
    ],
    ids=["gitlab-ref", "github-enterprise-ref", "github-opaque", "entra-object-id", "k8s-sa"],
)
def test_which_prod_federated_subjects_are_held_to_an_environment(
    issuer: str, subject: str, refused: bool
) -> None:
    """Any issuer's `key:value` subject and every GitHub subject are judged; an opaque id no workflow file
    chooses (an Entra object id) and a ServiceAccount (the adapters' own rules) are not."""
    from platform_secrets.model import ci_bindings

    assert (ci_bindings.subject_problem(subject, issuer) is not None) is refused
