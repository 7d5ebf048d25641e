"""Azure, read-only: Key Vault secrets' properties (never a value), the vault's protection, role assignments
that reach the vault's secrets, and the managed identities of the resource group.

Each live secret's versions are listed (``GET /secrets/<name>/versions``: ids and attributes, no value) for the
current version id a ``keep_previous`` rotation records and the enabled ones an overlap can read.

Uses ``DefaultAzureCredential`` unless given another, through the official clients on a ``requests`` transport
whose every request goes through ``GuardedAdapter``: only the listings and gets of ``ALLOWED`` are sent. The data
plane's value read (``GET /secrets/<name>[/<version>]``, what ``SecretClient.get_secret`` sends) is refused before
it leaves. A read-only audit principal needs: ``Microsoft.KeyVault/vaults/read``, ``.../secrets/readMetadata``
(Key Vault Reader), ``Microsoft.Authorization/roleAssignments/read``,
``Microsoft.ManagedIdentity/userAssignedIdentities/read``, role assignments read and
``.../federatedIdentityCredentials/read`` on the identities' group; never Key Vault Secrets User.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from platform_secrets.live.readers import GuardedAdapter

ALLOWED: tuple[tuple[str, str], ...] = (
    ("GET", r"/secrets"),  # list properties of secrets (data plane)
    ("GET", r"/deletedsecrets"),  # list deleted secrets' properties (data plane)
    # list one secret's versions' properties (data plane): only a Key Vault name (letters, digits, dashes) before
    # /versions, so that no encoded "/", "?" or dot segment can make it route as a value read
    ("GET", r"/secrets/[0-9A-Za-z-]{1,127}/versions"),
    (
        "GET",
        r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+",
    ),
    (
        "GET",
        r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+"
        r"/providers/Microsoft\.Authorization/roleAssignments",
    ),
    (
        "GET",
        r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Authorization/roleAssignments",
    ),
    (
        "GET",
        r"/subscriptions/[^/]+/resourceGroups/[^/]+"
        r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities",
    ),
    (
        "GET",
        r"/subscriptions/[^/]+/resourceGroups/[^/]+"
        r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+"
        r"/federatedIdentityCredentials",
    ),
)
"""(method, path) of every request the audit sends to Azure."""
VALUE_READS = (r"/secrets/[^/]+(/(?!versions$)[^/]+)?",)
"""``SecretClient.get_secret``: the data-plane call that returns a value. ``/secrets/<name>/versions`` is the
versions listing, not a read of a version called ``versions``: Key Vault's version ids are 32 hex digits."""


@dataclass(frozen=True)
class LiveAzureSecret:
    name: str
    enabled: bool
    created: datetime | None
    updated: datetime | None
    expires: datetime | None
    tags: dict[str, str]
    deleted: datetime | None = None
    current_version: str | None = None
    """The id of the newest version (by its creation time) when it is enabled: what a read without a version
    returns; None when it is disabled (Key Vault then refuses that read) or the secret is deleted."""
    enabled_versions: tuple[str, ...] = ()
    """The ids of the enabled versions (a read of one of them returns a value; a disabled one is refused)."""


@dataclass(frozen=True)
class LiveAzureIdentity:
    name: str
    principal_id: str
    client_id: str
    tags: dict[str, str]


class AzureReader:
    """One vault and its resource group, read through guarded clients."""

    def __init__(
        self,
        subscription_id: str,
        resource_group: str,
        vault_name: str,
        credential: Any = None,
        adapter: Any = None,
        identity_group: str = "",
    ) -> None:
        import requests
        from azure.core.pipeline.transport import RequestsTransport
        from azure.keyvault.secrets import SecretClient
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.keyvault import KeyVaultManagementClient
        from azure.mgmt.msi import ManagedServiceIdentityClient

        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        session = requests.Session()
        session.mount(
            "https://", GuardedAdapter(adapter or session.get_adapter("https://"), ALLOWED, "Azure")
        )

        def transport() -> Any:
            return RequestsTransport(session=session, session_owner=False)

        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.identity_group = identity_group or resource_group
        """The identities' own group (``azure.identityResourceGroupName``)."""
        self.vault_name = vault_name
        self.vault_id = (
            f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{vault_name}"
        )
        self._secrets = SecretClient(
            f"https://{vault_name}.vault.azure.net", credential, transport=transport()
        )
        self._authorization = AuthorizationManagementClient(
            credential, subscription_id, transport=transport()
        )
        self._vaults = KeyVaultManagementClient(credential, subscription_id, transport=transport())
        self._identities = ManagedServiceIdentityClient(
            credential, subscription_id, transport=transport()
        )

    def secrets(self) -> list[LiveAzureSecret]:
        found = {
            str(p.name): LiveAzureSecret(
                name=str(p.name),
                enabled=bool(p.enabled),
                created=p.created_on,
                updated=p.updated_on,
                expires=p.expires_on,
                tags=dict(p.tags or {}),
            )
            for p in self._secrets.list_properties_of_secrets()
        }
        for name, secret in found.items():
            found[name] = replace(secret, **self._versions(name))
        for deleted in self._secrets.list_deleted_secrets():
            p = deleted.properties
            found[str(deleted.name)] = LiveAzureSecret(
                name=str(deleted.name),
                enabled=bool(p.enabled),
                created=p.created_on,
                updated=p.updated_on,
                expires=p.expires_on,
                tags=dict(p.tags or {}),
                deleted=deleted.deleted_date or datetime.max,
            )
        return [found[name] for name in sorted(found)]

    def _versions(self, name: str) -> dict[str, Any]:
        """The current and enabled version ids of one secret, from its versions' properties (never a value)."""
        versions = sorted(
            self._secrets.list_properties_of_secret_versions(name),
            key=lambda v: (v.created_on or datetime.min.replace(tzinfo=UTC), str(v.version)),
        )
        newest = versions[-1] if versions else None
        return {
            "current_version": str(newest.version) if newest and newest.enabled else None,
            "enabled_versions": tuple(sorted(str(v.version) for v in versions if v.enabled)),
        }

    def vault_properties(self) -> dict[str, Any]:
        vault = self._vaults.vaults.get(self.resource_group, self.vault_name)
        return dict(vault.properties.as_dict())

    def role_assignments(self) -> list[dict[str, str]]:
        """Every assignment that reaches the vault's secrets: at a secret, the vault, the group, the subscription."""
        return [
            {
                "scope": str(a.scope),
                "roleDefinitionId": str(a.role_definition_id),
                "principalId": str(a.principal_id),
            }
            for a in self._authorization.role_assignments.list_for_scope(self.vault_id)
        ]

    def identity_group_assignments(self) -> list[dict[str, str]]:
        """Assignments at the identities' group or below it (whoever may write there can federate a reader);
        those inherited from the subscription are the operator's to hold (``docs/threat-model.md``)."""
        group = f"/subscriptions/{self.subscription_id}/resourceGroups/{self.identity_group}"
        return [
            {
                "scope": str(a.scope),
                "roleDefinitionId": str(a.role_definition_id),
                "principalId": str(a.principal_id),
            }
            for a in self._authorization.role_assignments.list_for_scope(group)
            if str(a.scope).lower() == group.lower()
            or str(a.scope).lower().startswith(group.lower() + "/")
        ]

    def identities(self) -> list[LiveAzureIdentity]:
        return [
            LiveAzureIdentity(
                name=str(i.name),
                principal_id=str(i.principal_id),
                client_id=str(i.client_id),
                tags=dict(i.tags or {}),
            )
            for i in self._identities.user_assigned_identities.list_by_resource_group(
                self.identity_group
            )
        ]

    def federated_credentials(self, identity: str) -> list[dict[str, Any]]:
        """The federated identity credentials of one identity: issuer, subject, audiences."""
        return [
            {
                "issuer": str(c.issuer),
                "subject": str(c.subject),
                "audiences": list(c.audiences or []),
            }
            for c in self._identities.federated_identity_credentials.list(
                self.identity_group, identity
            )
        ]
