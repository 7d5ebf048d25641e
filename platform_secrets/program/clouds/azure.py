"""Azure: one Key Vault per environment (RBAC), one user-assigned managed identity per service.

- one Key Vault per environment: RBAC authorization (no access policies), soft delete, purge protection in prod;
  its firewall denies every network but the stack's ``allowedSubnetIds`` (or every public network, with
  ``publicNetworkAccess: false``); only dev, or prod with an explicit opt-in and reason, leaves it open;
- one secret per entry, with an expiry ``rotationDays`` after the rotation epoch when it rotates;
- one user-assigned identity per service, "Key Vault Secrets User" on each of its own secrets and nowhere else
  (no vault-, group- or subscription-level assignment), federated with exactly its Kubernetes ServiceAccount
  through the AKS OIDC issuer, or with the tooling tokens the stack names; the identities live in a resource
  group of their own (``azure.identityResourceGroupName``), created here, never the vault's: a Contributor of
  the vault's group cannot add a federated credential to them.

Azure offers no customer-managed key for Key Vault secrets (the vault is the key store); none is created.

Over 400 lines because one adapter is one room (STYLE rule 2): vault, network rules, identities in their own group, federation and grants are one store's resources and share its naming; the pure names live in ``azure_naming``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import authorization, keyvault, managedidentity, resources

from platform_secrets.model.catalog import Source
from platform_secrets.model.settings import AzureSettings, Settings, epoch_date
from platform_secrets.model.stack_model import Entry, Service, StackModel
from platform_secrets.program.clouds import azure_naming as naming
from platform_secrets.program.clouds.base import CloudAdapter, Foundation, Identity, StoredEntry


class AzureAdapter(CloudAdapter):
    """Key Vault (RBAC) + user-assigned identities + AKS workload identity federation."""

    def __init__(self, model: StackModel) -> None:
        super().__init__(model)
        assert model.settings.azure is not None  # Settings checks it
        self.azure: AzureSettings = model.settings.azure
        self.vault: keyvault.Vault | None = None
        self.identity_group: resources.ResourceGroup | None = None
        self._vault_name: pulumi.Input[str] | None = None
        """The vault's name: this stack's vault, or in a shard the foundation's (deterministic)."""
        self._vault_uri: pulumi.Output[str] | None = None
        self._identity_deps: list[pulumi.Resource] = []
        self._provider: azure_native.Provider | None = None

    # --- names (pure, deterministic: a fresh stack re-creates the same ones) ---

    @staticmethod
    def vault_name_of(settings: Settings) -> str:
        azure = settings.azure
        assert azure is not None
        return azure.vault_name or naming.vault_name(
            settings.name_prefix,
            settings.environment.value,
            azure.subscription_id,
            azure.resource_group_name,
        )

    @property
    def vault_name(self) -> str:
        return self.vault_name_of(self.settings)

    @property
    def vault_id(self) -> str:
        return naming.vault_id(
            self.azure.subscription_id, self.azure.resource_group_name, self.vault_name
        )

    def entry_name(self, entry: Entry) -> str:
        return naming.secret_name(entry.owner, entry.key)

    def identity_name(self, service: str) -> str:
        return naming.identity_name(
            self.settings.name_prefix, self.settings.environment.value, service
        )

    @staticmethod
    def problems(model: StackModel) -> list[str]:
        settings, azure = model.settings, model.settings.azure
        if azure is None:
            return []  # Settings names it
        problems: list[str] = []
        vault = AzureAdapter.vault_name_of(settings)
        if not naming.VAULT_NAME.fullmatch(vault) or "--" in vault:
            problems.append(
                f"azure.vaultName: {vault!r} breaks Key Vault's rule (3-24 letters, digits and single "
                "hyphens; a letter first)"
            )
        seen: dict[str, str] = {}
        for entry in model.entries:
            name = naming.secret_name(entry.owner, entry.key)
            if not naming.SECRET_NAME.fullmatch(name):
                problems.append(
                    f"{entry.config_key}: Key Vault secret name {name!r} breaks its rule"
                )
            # Key Vault names are case-insensitive.
            if name.lower() in seen:
                problems.append(
                    f"{entry.config_key}: Key Vault secret name {name!r} is also {seen[name.lower()]}'s"
                )
            seen[name.lower()] = entry.config_key
            if entry.rotation_days and _rotation_start(entry, settings.rotation_epoch) is None:
                problems.append(
                    f"{entry.config_key}: rotates every {entry.rotation_days} days, so rotationEpoch "
                    "must be a date (YYYY-MM-DD): the secret's expiry is counted from it"
                )
        for service in model.services:
            name = naming.identity_name(
                settings.name_prefix, settings.environment.value, service.name
            )
            if not naming.IDENTITY_NAME.fullmatch(name):
                problems.append(
                    f"services.{service.name}: managed identity name {name!r} breaks its rule"
                )
        tooling = {service.name for service in model.services if not service.workload}
        for name, subjects in azure.tooling_federations.items():
            if name not in tooling:
                problems.append(
                    f"azure.toolingFederations.{name}: not a non-workload service of the catalog"
                )
            if len(subjects) > naming.CREDENTIALS_PER_IDENTITY:
                problems.append(
                    f"azure.toolingFederations.{name}: at most {naming.CREDENTIALS_PER_IDENTITY} "
                    "federated credentials per identity"
                )
            problems += [
                f"azure.toolingFederations.{name}: subject {item.subject!r} has a wildcard"
                for item in subjects
                if "*" in item.subject or "*" in item.issuer
            ]
            problems += [
                f"azure.toolingFederations.{name}: {item.issuer} {item.subject!r} {why}"
                for item in subjects
                if (why := _tooling_federation_problem(item.issuer, item.subject, azure))
            ]
        return problems

    # --- resources ---

    def provider_opts(self) -> pulumi.ResourceOptions:
        if self._provider is None:
            # An explicit provider pinned to the stack's subscription and tenant, never an ambient `az` default.
            self._provider = azure_native.Provider(
                "azure-native",
                subscription_id=self.azure.subscription_id,
                tenant_id=self.azure.tenant_id,
                location=self.azure.location,
            )
        return pulumi.ResourceOptions(providers={"azure-native": self._provider})

    def _tags(self, **extra: str) -> dict[str, str]:
        return {
            "managed-by": "pulumi",
            "project": self.settings.name_prefix,
            "environment": self.settings.environment.value,
            **extra,
        }

    def _adopting(
        self, parent: pulumi.Resource, resource_id: str, **extra: Any
    ) -> pulumi.ResourceOptions:
        """Import by deterministic ARM id when ``adoptExisting`` is on."""
        return pulumi.ResourceOptions(
            parent=parent, import_=resource_id if self.settings.adopt_existing else None, **extra
        )

    def _network_acls(self) -> keyvault.NetworkRuleSetArgs:
        """The vault's firewall: deny every network but the stack's subnets, unless the stack leaves it open."""
        return keyvault.NetworkRuleSetArgs(
            # ARM writes the secrets' values through the vault: trusted services stay allowed.
            bypass="AzureServices",
            default_action="Allow" if self.azure.open_to_every_network else "Deny",
            virtual_network_rules=[
                keyvault.VirtualNetworkRuleArgs(
                    id=subnet, ignore_missing_vnet_service_endpoint=False
                )
                for subnet in self.azure.allowed_subnet_ids
            ]
            or None,
        )

    def _vault_tags(self) -> dict[str, str]:
        reason = self.azure.public_network_access_reason
        if self.settings.strict and self.azure.open_to_every_network and reason:
            # Prod open to every network only by an explicit opt-in: its reason stays on the vault, where the
            # policy pack and an auditor read it.
            return self._tags(**{"platform-secrets-public-network-reason": reason})
        return self._tags()

    def create_foundation(self, parent: pulumi.Resource) -> None:
        group = self.azure.identity_group
        # The identities' own group, apart from the vault's: whoever may write in the vault's group (a
        # Contributor there) cannot add a federated credential to a reader. Created here so that it holds
        # nothing but this stack's identities; protected in prod like the vault.
        self.identity_group = resources.ResourceGroup(
            "identity-group",
            resource_group_name=group,
            location=self.azure.location,
            tags=self._tags(**{"platform-secrets-role": "identities"}),
            opts=self.durable(
                parent, adopt_id=naming.resource_group_id(self.azure.subscription_id, group)
            ),
        )
        public = self.azure.public_network_access
        self.vault = keyvault.Vault(
            "vault",
            vault_name=self.vault_name,
            resource_group_name=self.azure.resource_group_name,
            location=self.azure.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self.azure.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                # Data access through Azure RBAC only: per-secret role assignments, no access policies.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=self.settings.effective_recovery_window_days,
                # Irreversible once on, and the API refuses `false`: omitted outside prod.
                enable_purge_protection=True if self.settings.protect else None,
                public_network_access="Enabled" if public else "Disabled",
                network_acls=self._network_acls(),
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            tags=self._vault_tags(),
            opts=self.durable(parent, adopt_id=self.vault_id),
        )
        self._vault_name = self.vault.name
        self._vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)
        self._identity_deps = [self.identity_group]

    def foundation_outputs(self) -> frozenset[str]:
        return frozenset({"vault_uri"})

    def attach_foundation(self, foundation: Foundation) -> None:
        # Azure cannot be granted from the foundation: a role assignment names the identity's principalId,
        # which Entra assigns when the identity is created (in its shard). The shard grants itself, on the
        # foundation's vault and shared secrets, by their deterministic ids.
        self._vault_name = self.vault_name
        self._vault_uri = foundation.store("vault_uri")

    def create_entry(
        self,
        name: str,
        entry: Entry,
        value: pulumi.Output[str] | None,
        parent: pulumi.Resource,
    ) -> StoredEntry:
        assert self._vault_name is not None, "create_foundation (or attach_foundation) first"
        store_name = self.entry_name(entry)
        start = _rotation_start(entry, self.settings.rotation_epoch)
        expiry = (
            naming.expires(start, entry.rotation_days) if entry.rotation_days and start else None
        )
        opts = self.durable(parent, adopt_id=naming.secret_id(self.vault_id, store_name))
        if entry.source is Source.EXTERNAL:
            # Every ARM write of a secret makes a new version: once created, an external entry is never
            # written again, so the value its owner set out of band stays the current one.
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(ignore_changes=["properties"])
            )
        secret = keyvault.Secret(
            f"{name}-entry",
            secret_name=store_name,
            vault_name=self._vault_name,
            resource_group_name=self.azure.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=value,
                content_type="text/plain",
                attributes=keyvault.SecretAttributesArgs(enabled=True, expires=expiry),
            ),
            tags=self._tags(
                **{
                    "platform-secrets-owner": entry.owner,
                    "platform-secrets-key": entry.key,
                    "platform-secrets-source": entry.source.value,
                    "platform-secrets-rotation-days": str(entry.rotation_days or "none"),
                }
            ),
            opts=opts,
        )
        return StoredEntry(entry=entry, name=store_name, ref=secret.id, resource=secret)

    def create_identity(
        self,
        name: str,
        service: Service,
        entries: list[StoredEntry],
        parent: pulumi.Resource,
    ) -> Identity | None:
        assert self._vault_uri is not None, "create_foundation (or attach_foundation) first"
        if service.workload:
            credentials = [
                (
                    f"{name}-federation",
                    naming.workload_credential_name(service.namespace, service.service_account),
                    self.azure.oidc_issuer,
                    naming.service_account_subject(service.namespace, service.service_account),
                )
            ]
        elif self.azure.tooling_federations.get(service.name):
            credentials = []
            for item in sorted(
                self.azure.tooling_federations[service.name], key=lambda i: (i.issuer, i.subject)
            ):
                credential = naming.tooling_credential_name(item.issuer, item.subject)
                credentials.append(
                    (f"{name}-federation-{credential}", credential, item.issuer, item.subject)
                )
        else:
            pulumi.log.warn(
                f"{service.name}: no azure.toolingFederations in this stack, so no identity reads its "
                "entries"
            )
            return None
        sub, group = self.azure.subscription_id, self.azure.identity_group
        identity_name = self.identity_name(service.name)
        identity_id = naming.identity_id(sub, group, identity_name)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=identity_name,
            resource_group_name=group,
            location=self.azure.location,
            tags=self._tags(**{"platform-secrets-service": service.name}),
            opts=self._adopting(parent, identity_id, depends_on=self._identity_deps),
        )
        previous: list[pulumi.Resource] = []
        for logical, credential, issuer, subject in credentials:
            federation = managedidentity.FederatedIdentityCredential(
                logical,
                federated_identity_credential_resource_name=credential,
                resource_name_=identity.name,
                resource_group_name=group,
                issuer=issuer,
                subject=subject,
                audiences=[naming.TOKEN_AUDIENCE],
                # Entra ID refuses concurrent credential writes on one identity: one after the other.
                opts=self._adopting(
                    parent, naming.credential_id(identity_id, credential), depends_on=previous
                ),
            )
            previous = [federation]
        role = naming.role_definition_id(sub, naming.SECRETS_USER)
        for stored in entries:
            scope = naming.secret_id(self.vault_id, stored.name)
            assignment = naming.role_assignment_name(scope, naming.SECRETS_USER, identity_id)
            authorization.RoleAssignment(
                f"{name}-reads-{_slug(stored.entry)}",
                role_assignment_name=assignment,
                scope=stored.ref,
                role_definition_id=role,
                principal_id=identity.principal_id,
                # Skips the directory lookup that fails while a new identity is still replicating.
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                description=f"{service.name} reads {stored.entry.key}",
                opts=self._adopting(parent, naming.role_assignment_id(scope, assignment)),
            )
        provider = {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": self._vault_uri,
                "tenantId": self.azure.tenant_id,
                "serviceAccountRef": {"name": service.service_account},
            }
        }
        return Identity(
            service=service.name,
            id=identity.client_id,
            service_account_annotations={
                "azure.workload.identity/client-id": identity.client_id,
                "azure.workload.identity/tenant-id": self.azure.tenant_id,
            },
            eso_provider=provider,
        )

    def exports(self) -> dict[str, Any]:
        assert self.vault is not None
        return {
            "vault_name": self.vault_name,
            "vault_id": self.vault.id,
            "vault_uri": self.vault.properties.apply(lambda p: p.vault_uri),
            "tenant_id": self.azure.tenant_id,
            "location": self.azure.location,
            "identity_resource_group": self.azure.identity_group,
        }


def _rotation_start(entry: Entry, stack_epoch: str) -> date | None:
    """The date expiry is counted from: the entry's own epoch if it is a date, else the stack's."""
    return epoch_date(entry.epoch) or epoch_date(stack_epoch)


def _slug(entry: Entry) -> str:
    return f"{entry.owner}-{entry.key.lower().replace('_', '-')}"


_TENANT_IN_ISSUER = re.compile(
    r"https://(?:login\.microsoftonline\.com|sts\.windows\.net|[a-z0-9-]+\.oic\.prod-aks\.azure\.com)/"
    r"(?P<tenant>[0-9a-f-]{36})(?:/|$)"
)


def _tooling_federation_problem(issuer: str, subject: str, azure: AzureSettings) -> str | None:
    """Why a tooling federation would hand a tooling identity to someone else, or None.

    Refused: the cluster's own issuer (every token it signs is a Kubernetes ServiceAccount, i.e. a workload;
    a ``system:serviceaccount:`` subject says so outright); an Entra ID or AKS issuer of a tenant that is
    neither ``azure.tenantId`` nor in ``azure.toolingTenantIds``.
    """
    if issuer.rstrip("/") == azure.oidc_issuer.rstrip("/"):
        return (
            "is the cluster's own issuer (a workload's ServiceAccount): its pods could act as the tooling "
            "identity"
        )
    tenant = _TENANT_IN_ISSUER.match(issuer)
    if tenant and tenant["tenant"] not in {azure.tenant_id, *azure.tooling_tenant_ids}:
        return (
            f"is an issuer of tenant {tenant['tenant']}, which is neither azure.tenantId nor listed in "
            "azure.toolingTenantIds"
        )
    return None
