"""Azure names, ARM ids and role assignment GUIDs as pure functions: deterministic, checked against Azure's rules.

No Pulumi here. ARM needs a GUID as a role assignment's name: it is a uuid5 of scope, role and identity, never
random, so that a fresh stack re-creates the same assignment and adoption can import it by id.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, date, datetime, timedelta

VAULT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
"""3-24 characters, a letter first, no trailing hyphen (and no ``--``, checked apart)."""
SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
IDENTITY_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
CREDENTIAL_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$")
CREDENTIALS_PER_IDENTITY = 20
"""Entra ID's limit of federated credentials on one user-assigned identity."""

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
"""Built-in role "Key Vault Secrets User": reads secret contents, nothing else."""
READER_ROLES = {
    SECRETS_USER: "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
"""Built-in roles that can read secret values (data actions), by role definition GUID."""
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
"""The audience Entra ID accepts in a federated token."""

_ASSIGNMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "platform-secrets/azure/role-assignment")


def vault_name(prefix: str, environment: str, subscription_id: str, resource_group: str) -> str:
    """``kv-<initials>-<env>-<hash>``: short, and distinct per subscription, group, prefix and environment."""
    initials = "".join(part[0] for part in prefix.split("-") if part)
    digest = hashlib.sha256(
        f"{subscription_id}/{resource_group}/{prefix}/{environment}".lower().encode()
    ).hexdigest()[:8]
    return f"kv-{initials}-{environment}-{digest}"


def secret_name(owner: str, key: str) -> str:
    """``<owner>--<key>`` with ``_`` as ``-``: Key Vault allows letters, digits and hyphens only."""
    return f"{owner}--{key.lower().replace('_', '-')}"


def identity_name(prefix: str, environment: str, service: str) -> str:
    return f"{prefix}-{environment}-{service}"


def workload_credential_name(namespace: str, service_account: str) -> str:
    return f"aks-{namespace}-{service_account}"[:120].rstrip("-_")


def tooling_credential_name(issuer: str, subject: str) -> str:
    return "tooling-" + hashlib.sha256(f"{issuer}#{subject}".encode()).hexdigest()[:12]


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def resource_group_id(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def vault_id(subscription_id: str, resource_group: str, vault: str) -> str:
    group = resource_group_id(subscription_id, resource_group)
    return f"{group}/providers/Microsoft.KeyVault/vaults/{vault}"


def secret_id(vault: str, secret: str) -> str:
    """The ARM id of a secret, from its vault's ARM id."""
    return f"{vault}/secrets/{secret}"


def identity_id(subscription_id: str, resource_group: str, identity: str) -> str:
    return (
        f"{resource_group_id(subscription_id, resource_group)}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}"
    )


def credential_id(identity: str, credential: str) -> str:
    return f"{identity}/federatedIdentityCredentials/{credential}"


def role_definition_id(subscription_id: str, role: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )


def role_assignment_name(scope: str, role: str, principal: str) -> str:
    """A GUID derived from scope, role and the identity's ARM id (ARM treats names case-insensitively)."""
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, f"{scope}|{role}|{principal}".lower()))


def role_assignment_id(scope: str, name: str) -> str:
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def expires(start: date, days: int) -> int:
    """A secret's expiry: ``days`` after the rotation epoch, midnight UTC, as the Unix time ARM takes."""
    moment = datetime.combine(start + timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    return int(moment.timestamp())
