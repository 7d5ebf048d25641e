"""Stack settings: what differs per environment, read from ``Pulumi.<stack>.yaml``.

Plain Python and pydantic, no Pulumi. ``environment: prod`` (a typed setting, never the stack's name) turns on
protection, retention and the strict rules.

Over 400 lines because it is the one typed description of every stack setting of four stores (each field with its description and bounds); the next split is one settings module per store.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from platform_secrets.model import ci_bindings
from platform_secrets.model.catalog import Environment, format_validation_error

ROLE_ARN = r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$"
AWS_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
GCP_PROJECT = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
GCP_LOCATION = r"^[a-z]+-[a-z]+\d+$"
GCP_MEMBER = (
    r"^((serviceAccount|user|group):[^\s*@]+@[^\s*@]+"
    r"|principal://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/[^\s*]+)$"
)
"""One principal, never a set: no ``allUsers``, ``domain:``, ``principalSet://`` or ``*``."""
POOL_PRINCIPAL = re.compile(
    r"principal://iam\.googleapis\.com/projects/\d+/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/subject/(?P<subject>.+)"
)
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
AZURE_SUBNET_ID = (
    r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w.()]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[-\w.]+/subnets/[-\w.]+$"
)
KUBECONFIG_NAME = r"^[^\s]{1,253}$"


class Cloud(str, Enum):
    """The cloud whose secret store and identities a stack uses."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"
    VAULT = "vault"


class Binding(str, Enum):
    """How secrets reach the pods."""

    EXTERNAL_SECRETS = "external-secrets"
    NATIVE = "native"


class _Camel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        defer_build=True,  # validators built on first use: Settings, not each nested cloud block
    )


class AwsSettings(_Camel):
    """AWS: Secrets Manager, KMS and IRSA."""

    region: str = Field(pattern=AWS_REGION, description="Region of the entries and the KMS key.")
    account_id: str = Field(
        pattern=r"^\d{12}$",
        description="Account the stack deploys to; the provider refuses any other (allowed_account_ids).",
    )
    oidc_issuer: str = Field(
        pattern=r"^[a-z0-9.-]+(/[A-Za-z0-9._-]+)*$",
        description="The EKS cluster's OIDC issuer without https://, e.g. oidc.eks.<region>.amazonaws.com/id/<ID>.",
    )
    create_oidc_provider: bool = Field(
        default=False,
        description="Create the IAM OIDC provider of the issuer (false: it exists, e.g. made by eksctl).",
    )
    admin_role_arns: tuple[Annotated[str, Field(pattern=ROLE_ARN)], ...] = Field(
        default=(),
        description="Roles exempt from the entries' deny-all resource policy (break-glass, rotation).",
    )
    audit_role_arns: tuple[Annotated[str, Field(pattern=ROLE_ARN)], ...] = Field(
        default=(),
        description="Read-only audit roles (`platform_secrets.audit.command`) of `accountId`: exempt from the entries' deny "
        "for DescribeSecret, GetResourcePolicy and ListSecretVersionIds only, never a value read.",
    )
    replica_region: str | None = Field(
        default=None,
        pattern=AWS_REGION,
        description="Second region that holds replicas of every entry and of the KMS key (prod: required).",
    )
    tooling_account_ids: tuple[Annotated[str, Field(pattern=r"^\d{12}$")], ...] = Field(
        default=(),
        description="Accounts other than `accountId` whose roles may be `toolingPrincipals` (e.g. a CI "
        "account); a role of any other account is refused.",
    )
    rotation_lambda_arns: dict[str, str] = Field(
        default_factory=dict,
        description="`<owner>.<KEY>: lambda ARN` of third-party secrets whose rotation AWS runs on the "
        "secret's rotation period (Secrets Manager rotation rules).",
    )


class GcpSettings(_Camel):
    """GCP: Secret Manager (user-managed replication, optional CMEK) and GKE Workload Identity."""

    project: str = Field(
        pattern=GCP_PROJECT, description="Project that holds the secrets and the service accounts."
    )
    locations: tuple[Annotated[str, Field(pattern=GCP_LOCATION)], ...] = Field(
        min_length=1,
        description="Replica locations of every secret (user-managed replication); prod: at least two.",
    )
    project_number: str = Field(
        pattern=r"^\d{6,20}$",
        description="The number of `project` (`gcloud projects describe`): Workload Identity principals "
        "name their pool's project by number.",
    )
    cluster_project: str | None = Field(
        default=None,
        pattern=GCP_PROJECT,
        description="Project of the GKE cluster (its workload pool is `<clusterProject>.svc.id.goog`); "
        "`project` when unset.",
    )
    cluster_project_number: str | None = Field(
        default=None,
        pattern=r"^\d{6,20}$",
        description="The number of `clusterProject`; required when it is not `project`.",
    )
    cluster_name: str = Field(
        pattern=r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$",
        description="GKE cluster whose ServiceAccounts read the secrets (ESO's workloadIdentity auth).",
    )
    cluster_location: str = Field(
        pattern=r"^[a-z]+-[a-z]+\d+(-[a-z])?$", description="Region or zone of the GKE cluster."
    )
    customer_managed_key: bool = Field(
        default=True,
        description="Encrypt every replica with a Cloud KMS key of this stack, one per location (prod: "
        "required).",
    )
    tooling_members: dict[str, tuple[Annotated[str, Field(pattern=GCP_MEMBER)], ...]] = Field(
        default_factory=dict,
        description="Non-workload service -> principals that may act as its service account "
        "(`serviceAccount:`/`user:`/`group:` get Token Creator, `principal://` Workload Identity User).",
    )

    tooling_projects: tuple[
        Annotated[str, Field(pattern=r"^([a-z][a-z0-9-]{4,28}[a-z0-9]|\d{6,20})$")], ...
    ] = Field(
        default=(),
        description="Projects (ids, or numbers for `principal://` members) other than `project` whose "
        "service accounts or workload identity pools may be `toolingMembers`; any other is refused.",
    )

    @model_validator(mode="after")
    def _pool_number(self) -> GcpSettings:
        if self.cluster_project not in (None, self.project) and not self.cluster_project_number:
            raise ValueError(
                "gcp.clusterProjectNumber: required when clusterProject is not project (the "
                "workloads' principals name the cluster project's pool by its number)"
            )
        return self

    @property
    def workload_pool(self) -> str:
        return f"{self.cluster_project or self.project}.svc.id.goog"

    @property
    def workload_pool_number(self) -> str:
        """The number of the project that owns the cluster's Workload Identity pool."""
        if self.cluster_project in (None, self.project):
            return self.project_number
        assert self.cluster_project_number is not None  # the validator checks it
        return self.cluster_project_number


class FederatedSubject(_Camel):
    """One external token that may act as a managed identity: exactly this issuer and subject."""

    issuer: str = Field(
        pattern=r"^https://[^\s*]+$", description="OIDC issuer URL, exactly as in the token."
    )
    subject: str = Field(
        pattern=r"^[^\s*]{1,600}$", description="The token's `sub`, exactly (no wildcard)."
    )


class AzureSettings(_Camel):
    """Azure: one Key Vault per environment (RBAC), user-assigned identities, AKS workload identity."""

    subscription_id: str = Field(pattern=UUID, description="Subscription the stack deploys to.")
    tenant_id: str = Field(
        pattern=UUID, description="Entra ID tenant of the vault and the identities."
    )
    resource_group_name: str = Field(
        pattern=r"^[-\w.()]{1,89}[-\w()]$",
        description="Existing resource group that holds the vault and the identities.",
    )
    identity_resource_group_name: str | None = Field(
        default=None,
        pattern=r"^[-\w.()]{1,89}[-\w()]$",
        description="Resource group of the services' managed identities, created by the program and holding "
        "nothing else: whoever may write in the vault's group must not reach them (a Contributor there could "
        "add a federated credential). `<resourceGroupName>-identities` when unset; never the vault's group.",
    )
    location: str = Field(pattern=r"^[a-z0-9]+$", description="Azure region, e.g. westeurope.")
    oidc_issuer: str = Field(
        pattern=r"^https://[^\s*]+$",
        description="The AKS cluster's OIDC issuer URL, exactly as in its tokens (trailing slash included).",
    )
    vault_name: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$",
        description="Key Vault name (globally unique, 3-24 chars); derived from prefix, environment and "
        "a hash of subscription and resource group when unset.",
    )
    public_network_access: bool = Field(
        default=True,
        description="Whether the vault accepts traffic from public networks (false: private endpoints and "
        "trusted Azure services only; ESO must then reach it through a private endpoint).",
    )
    tooling_tenant_ids: tuple[Annotated[str, Field(pattern=UUID)], ...] = Field(
        default=(),
        description="Entra ID tenants other than `tenantId` whose issuers may appear in "
        "`toolingFederations`; a federation with another tenant's issuer is refused.",
    )
    allowed_subnet_ids: tuple[Annotated[str, Field(pattern=AZURE_SUBNET_ID)], ...] = Field(
        default=(),
        description="Subnet resource ids (the cluster's nodes) allowed through the vault's firewall; with "
        "any, the firewall denies every other network. Each subnet needs the Microsoft.KeyVault service "
        "endpoint.",
    )
    allow_public_network_access_in_prod: bool = Field(
        default=False,
        description="Prod only: keep the vault open to every network (no subnet, firewall Allow). Refused "
        "unless set, with `publicNetworkAccessReason`.",
    )
    public_network_access_reason: str | None = Field(
        default=None,
        pattern=r"^\S.{9,255}$",
        description="Why prod's vault is open to every network (at least 10 characters); written to the "
        "vault's tags, where the policy pack and an auditor read it.",
    )

    @model_validator(mode="after")
    def _network(self) -> AzureSettings:
        problems = []
        if self.allowed_subnet_ids and not self.public_network_access:
            problems.append(
                "azure.allowedSubnetIds: has no effect with publicNetworkAccess false (private "
                "endpoints only); set one or the other"
            )
        if self.allow_public_network_access_in_prod and not self.public_network_access_reason:
            problems.append(
                "azure.allowPublicNetworkAccessInProd: needs azure.publicNetworkAccessReason"
            )
        if self.identity_group.lower() == self.resource_group_name.lower():
            problems.append(
                "azure.identityResourceGroupName: is the vault's resource group; the identities need "
                "a group of their own (a Contributor of the vault's group could federate them)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def identity_group(self) -> str:
        """The managed identities' resource group (created by the program, apart from the vault's)."""
        return self.identity_resource_group_name or f"{self.resource_group_name[:79]}-identities"

    @property
    def open_to_every_network(self) -> bool:
        """Public access with no subnet to restrict it to: the firewall's default action is Allow."""
        return self.public_network_access and not self.allowed_subnet_ids

    tooling_federations: dict[str, tuple[FederatedSubject, ...]] = Field(
        default_factory=dict,
        description="Non-workload service -> external tokens (e.g. CI's OIDC) federated with its identity.",
    )


class VaultSettings(_Camel):
    """HashiCorp Vault / OpenBao: a KV v2 mount per environment, a policy and a JWT role per service."""

    address: str = Field(
        pattern=r"^https?://[^\s/*]+(:\d+)?/?$",
        description="The server's address as ESO reaches it, e.g. https://vault.example.com:8200 (prod: https).",
    )
    kv_mount: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        description="Path of the environment's KV v2 mount; `<namePrefix>-<env>` when unset.",
    )
    auth_path: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        description="Path of the JWT auth mount for the cluster's ServiceAccount tokens; "
        "`<namePrefix>-<env>-k8s` when unset.",
    )
    issuer: str = Field(
        pattern=r"^https://[^\s*]+$",
        description="The cluster's ServiceAccount token issuer, exactly as in its tokens (bound_issuer).",
    )
    discovery_url: str | None = Field(
        default=None,
        pattern=r"^https://[^\s*]+$",
        description="OIDC discovery URL the auth mount fetches the cluster's signing keys from (Vault must "
        "reach it); set this or jwtValidationPubkeys, not both.",
    )
    jwt_validation_pubkeys: tuple[str, ...] = Field(
        default=(),
        description="PEM public keys of the cluster's ServiceAccount token signer (for clusters whose "
        "discovery URL Vault cannot reach); set this or discoveryUrl, not both.",
    )
    audiences: tuple[Annotated[str, Field(pattern=r"^[^\s*]+$")], ...] = Field(
        default=("vault",),
        min_length=1,
        description="Audiences a ServiceAccount token must carry (bound_audiences; ESO requests them).",
    )
    token_ttl: int = Field(
        default=900,
        ge=60,
        le=3600,
        description="Seconds a login token lives (token_ttl and token_max_ttl): short, ESO logs in again.",
    )
    max_versions: int = Field(
        default=10,
        ge=1,
        le=100,
        description="KV v2 versions kept per secret (prod: at least 10, so a rotation can be rolled back).",
    )
    ci_auth_path: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        description="Path of the JWT auth mount for CI's OIDC tokens; `<namePrefix>-<env>-ci` when unset.",
    )
    ci_issuer: str = Field(
        default="https://token.actions.githubusercontent.com",
        pattern=r"^https://[^\s*]+$",
        description="CI's OIDC issuer (bound_issuer and discovery URL of the CI mount).",
    )
    ci_audiences: tuple[Annotated[str, Field(pattern=r"^[^\s*]+$")], ...] = Field(
        default=("vault",),
        min_length=1,
        description="Audiences a CI token must carry (e.g. `jwtGithubAudience` of hashicorp/vault-action).",
    )
    tooling_claims: dict[str, dict[str, Annotated[str, Field(pattern=r"^[^\s*]+$")]]] = Field(
        default_factory=dict,
        description="Non-workload service -> claims a CI token must carry exactly (bound_claims), e.g. "
        "{repository: acme/platform, environment: prod}; `repository` is required, and in prod "
        "`environment` (a protected deployment environment) and `repository_id` (the immutable id).",
    )

    @model_validator(mode="after")
    def _one_key_source(self) -> VaultSettings:
        if bool(self.discovery_url) == bool(self.jwt_validation_pubkeys):
            raise ValueError(
                "vault: set exactly one of discoveryUrl and jwtValidationPubkeys (how the auth mount "
                "checks the cluster's token signatures)"
            )
        return self


class KubernetesSettings(_Camel):
    """The cluster of the stack's Kubernetes objects: an explicit provider, never the current kubeconfig context."""

    context: str | None = Field(
        default=None,
        pattern=KUBECONFIG_NAME,
        description="kubeconfig context the provider uses (its credentials); unset: the kubeconfig's current "
        "context.",
    )
    cluster: str | None = Field(
        default=None,
        pattern=KUBECONFIG_NAME,
        description="kubeconfig cluster the provider talks to, whatever the context says (prod: required).",
    )


class Settings(_Camel):
    """Every stack setting of platform-secrets (keys under the `platform-secrets:` namespace)."""

    environment: Environment = Field(description="dev, staging or prod; prod is strict.")
    cloud: Cloud = Field(
        default=Cloud.AWS, description="Which cloud's store and identities to use."
    )
    name_prefix: str = Field(
        default="platform-secrets",
        pattern=r"^[a-z][a-z0-9-]{1,20}$",
        description="Prefix of every cloud name (entries, roles, keys).",
    )
    binding: Binding = Field(
        default=Binding.EXTERNAL_SECRETS,
        description="external-secrets (ESO syncs from the store) or native (Pulumi writes the Secret).",
    )
    refresh_interval: str = Field(
        default="1h",
        pattern=r"^\d+[smh]$",
        description="How often ESO re-reads the store (picks up rotated values).",
    )
    restart_on_rotation: bool = Field(
        default=False,
        description="Mark each service's synced Secret for stakater Reloader "
        '(`reloader.stakater.com/match: "true"`), so a Deployment annotated '
        '`reloader.stakater.com/search: "true"` restarts when a rotated value arrives.',
    )
    recovery_window_days: Annotated[int, Field(ge=7, le=30)] | None = Field(
        default=None,
        description="Days a deleted entry can be restored; dev default 7, prod always 30.",
    )
    rotation_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        default=None,
        description="Default rotation period of every secret; prod default 90 and at most 90.",
    )
    rotation_epoch: str = Field(
        default="initial",
        pattern=r"^[A-Za-z0-9._-]{1,40}$",
        description="Keeper of every generated value: change it (e.g. to today's date) to regenerate them "
        "all on the next `pulumi up`. A date (YYYY-MM-DD) lets the program warn when rotation is overdue.",
    )
    rotation_epochs: dict[str, Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")]] = Field(
        default_factory=dict,
        description="Per-secret epochs, `<owner>.<KEY>: epoch`, to regenerate one value (e.g. after a leak).",
    )
    rotation_overlaps: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[A-Z][A-Z0-9_]*$")],
        Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")],
    ] = Field(
        default_factory=dict,
        description="`<owner>.<KEY>: <store version>` of keep_previous secrets in their overlap: readers "
        "also get that version as `<KEY>_PREVIOUS`. Written and removed by `platform-secrets rotate`.",
    )
    settings: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Plain setting values per service: {service: {KEY: value}}; override catalog defaults.",
    )
    tooling_principals: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Non-workload service -> principals that may assume its identity (AWS: role ARNs).",
    )
    adopt_existing: bool = Field(
        default=False,
        description="Import store entries and keys that exist under their deterministic names instead of "
        "creating them (disaster recovery after the state is lost).",
    )
    environment_file: str | None = Field(
        default=None,
        pattern=r"^environments/[A-Za-z0-9][A-Za-z0-9._-]*\.yaml$",
        description="The environment file (environments/<env>.yaml, beside the catalog) this stack is the "
        "foundation or a shard of; its `config:` is merged in. Unset: the stack is the whole environment.",
    )
    aws: AwsSettings | None = Field(default=None, description="AWS settings (cloud: aws).")
    gcp: GcpSettings | None = Field(default=None, description="GCP settings (cloud: gcp).")
    azure: AzureSettings | None = Field(default=None, description="Azure settings (cloud: azure).")
    vault: VaultSettings | None = Field(
        default=None, description="HashiCorp Vault / OpenBao settings (cloud: vault)."
    )
    kubernetes: KubernetesSettings = Field(
        default_factory=KubernetesSettings,
        description="The cluster the Kubernetes objects go to (prod: `cluster` required).",
    )

    @property
    def strict(self) -> bool:
        """Prod rules on: required secrets, CORS, https, protection, rotation."""
        return self.environment is Environment.PROD

    @property
    def protect(self) -> bool:
        """Store entries and keys are protected and retained on delete in prod."""
        return self.strict

    @property
    def effective_recovery_window_days(self) -> int:
        return 30 if self.strict else (self.recovery_window_days or 7)

    @property
    def effective_rotation_days(self) -> int | None:
        return self.rotation_days or (90 if self.strict else None)

    @model_validator(mode="after")
    def _environment_rules(self) -> Settings:
        problems = []
        if self.cloud is Cloud.AWS and self.aws is None:
            problems.append("aws: required when cloud is aws")
        if self.strict:
            if self.recovery_window_days not in (None, 30):
                problems.append("recoveryWindowDays: prod keeps deleted entries 30 days")
            if self.rotation_days is not None and self.rotation_days > 90:
                problems.append("rotationDays: prod rotates at least every 90 days")
            if self.cloud is Cloud.AWS and self.aws is not None and not self.aws.replica_region:
                problems.append("aws.replicaRegion: prod replicates to a second region")
            if not self.kubernetes.cluster:
                problems.append(
                    "kubernetes.cluster: prod names the cluster it deploys to (the kubeconfig's current "
                    "context never decides)"
                )
            if (
                self.cloud is Cloud.AZURE
                and self.azure is not None
                and self.azure.open_to_every_network
                and not self.azure.allow_public_network_access_in_prod
            ):
                problems.append(
                    "azure.publicNetworkAccess: prod's vault would be open to every network; name the "
                    "cluster's subnets in azure.allowedSubnetIds, or set publicNetworkAccess false (private "
                    "endpoint), or opt in with azure.allowPublicNetworkAccessInProd and "
                    "azure.publicNetworkAccessReason"
                )
        if self.aws and self.aws.replica_region == self.aws.region:
            problems.append("aws.replicaRegion: must differ from aws.region")
        if self.cloud is Cloud.GCP and self.gcp is None:
            problems.append("gcp: required when cloud is gcp")
        if self.cloud is Cloud.AZURE and self.azure is None:
            problems.append("azure: required when cloud is azure")
        if self.cloud is Cloud.VAULT and self.vault is None:
            problems.append("vault: required when cloud is vault")
        if self.strict and self.cloud is Cloud.VAULT and self.vault is not None:
            if not self.vault.address.startswith("https://"):
                problems.append("vault.address: prod talks to Vault over https")
            if self.vault.max_versions < 10:
                problems.append("vault.maxVersions: prod keeps at least 10 versions per secret")
        if self.gcp and len(set(self.gcp.locations)) != len(self.gcp.locations):
            problems.append("gcp.locations: each location once")
        if self.strict and self.cloud is Cloud.GCP and self.gcp is not None:
            if len(self.gcp.locations) < 2:
                problems.append(
                    "gcp.locations: prod replicates every secret to at least two locations"
                )
            if not self.gcp.customer_managed_key:
                problems.append("gcp.customerManagedKey: prod encrypts with a customer-managed key")
        if (
            self.cloud in (Cloud.GCP, Cloud.AZURE)
            and self.effective_rotation_days
            and not is_date(self.rotation_epoch)
        ):
            problems.append(
                f"rotationEpoch: a date (YYYY-MM-DD) on {self.cloud.value}, where secrets rotate: the "
                "first rotation notice (gcp) or the expiry (azure) is counted from it"
            )
        if self.strict:
            problems += self._ci_binding_problems()  # the active cloud's, as every prod rule here
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _ci_binding_problems(self) -> list[str]:
        """Prod CI bindings a workflow of any branch or pull request satisfies, on each store
        (``platform_secrets.model.ci_bindings``; the policy pack says the same of what is registered)."""
        problems = []
        if self.cloud is Cloud.VAULT and self.vault is not None:
            for name, claims in sorted(self.vault.tooling_claims.items()):
                problems += [
                    f"vault.toolingClaims.{name}: {why}"
                    for why in ci_bindings.claims_problems(claims)
                ]
        if self.cloud is Cloud.AZURE and self.azure is not None:
            for name, subjects in sorted(self.azure.tooling_federations.items()):
                problems += [
                    f"azure.toolingFederations.{name}: {item.subject!r} {why}"
                    for item in subjects
                    if item.issuer
                    != self.azure.oidc_issuer  # the cluster's: refused by the adapter
                    and (why := ci_bindings.subject_problem(item.subject, item.issuer))
                ]
        if self.cloud is Cloud.GCP and self.gcp is not None:
            for name, members in sorted(self.gcp.tooling_members.items()):
                for member in members:
                    found = POOL_PRINCIPAL.fullmatch(member)
                    if found is None or found["pool"] == self.gcp.workload_pool:
                        continue  # not federated, or a workload (the adapter names it)
                    why = ci_bindings.subject_problem(found["subject"])
                    if why:
                        problems.append(
                            f"gcp.toolingMembers.{name}: subject {found['subject']!r} {why}"
                        )
        return problems


class SettingsError(ValueError):
    """The stack settings are invalid; the message names every problem."""


SETTINGS_KEYS = tuple(field.alias or name for name, field in Settings.model_fields.items())
"""Top-level config keys (camelCase) under the project namespace."""


def parse_settings(raw: dict[str, Any], where: str = "stack settings") -> Settings:
    """Validate the stack's raw config (top-level keys as in the stack file, namespace removed)."""
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise SettingsError(format_validation_error(error, where)) from None


def config_key(owner: str, key: str) -> str:
    """Stack config key of a config-sourced secret: `pulumi config set --secret <owner>.<KEY>`."""
    return f"{owner}.{key}"


def epoch_date(value: str) -> date | None:
    """The date of a rotation epoch written YYYY-MM-DD (rotation and expiry are counted from it), or None."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def is_date(value: str) -> bool:
    """Whether a rotation epoch is a date (YYYY-MM-DD)."""
    return epoch_date(value) is not None


def is_config_secret_key(name: str) -> bool:
    """Whether a config key names a secret value (`<owner>.<KEY>`) rather than a setting."""
    return re.fullmatch(r"[a-z][a-z0-9-]*\.[A-Z][A-Z0-9_]*", name) is not None
