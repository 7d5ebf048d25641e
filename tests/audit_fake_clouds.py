"""GCP and Azure APIs faked at the HTTP transport of their official client libraries, for the audit's tests.

Each fake is a ``requests`` adapter: the real clients (``google-cloud-secret-manager``, ``-resource-manager``,
``azure-keyvault-secrets``, ``azure-mgmt-*``) build and parse every request and answer as they would against the
cloud; only the wire is ours. A fake starts as the plan of a stack would leave the cloud (its secrets, grants,
identities and vault), then a test changes it (a drift) and audits. Every request that reaches a fake is kept in
``sent``.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter

from platform_secrets.audit.declared import Declared

Handler = Callable[[str, str, dict[str, str], bytes | None], tuple[int, Any, dict[str, str]]]


class FakeHttp(BaseAdapter):
    """A ``requests`` adapter answering from ``handler(method, path, headers, body)``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.sent: list[tuple[str, str]] = []

    def send(self, request: Any, **_: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url)
        self.sent.append((request.method, f"{parts.netloc}{parts.path}"))
        body = request.body.encode() if isinstance(request.body, str) else request.body
        status, payload, headers = self.handler(
            request.method, parts.path, dict(request.headers), body
        )
        content = json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json", **headers}
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(content), headers=all_headers, status=status, preload_content=False
        )
        response.headers.update(all_headers)
        response.url = request.url
        response.request = request
        response.reason = "OK" if status < 400 else "Error"
        return response

    def close(self) -> None:
        pass


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- GCP ---


@dataclass
class FakeGcp:
    """One project's Secret Manager and IAM policy."""

    project: str
    number: str = "123456789012"
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    project_bindings: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_plan(cls, declared: Declared, set_at: datetime) -> FakeGcp:
        assert declared.settings.gcp is not None
        fake = cls(project=declared.settings.gcp.project)
        for name, entry in declared.entries.items():
            inputs = entry.resource.inputs
            body: dict[str, Any] = copy.deepcopy(
                {
                    key: inputs[key]
                    for key in ("replication", "annotations", "versionDestroyTtl", "rotation")
                    if key in inputs
                }
            )
            fake.secrets[name] = {
                "body": body,
                "versions": [("ENABLED", set_at)],
                "bindings": [],
            }
        for grant in declared.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
            secret = str(grant.inputs["secretId"]).rsplit("/", 1)[-1]
            fake.grant(secret, grant.inputs["role"], grant.inputs["member"])
        # Bindings of other roles: the audit reads Secret Manager's only.
        fake.project_bindings.append({"role": "roles/owner", "members": ["user:owner@example.com"]})
        return fake

    def grant(self, secret: str, role: str, member: str) -> None:
        for binding in self.secrets[secret]["bindings"]:
            if binding["role"] == role:
                binding["members"].append(member)
                return
        self.secrets[secret]["bindings"].append({"role": role, "members": [member]})

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, Any, dict[str, str]]:
        project = rf"projects/(?:{re.escape(self.project)}|{self.number})"
        if method == "GET" and re.fullmatch(rf"/v1/{project}/secrets", path):
            return 200, {"secrets": [self._secret(s) for s in sorted(self.secrets)]}, {}
        match = re.fullmatch(rf"/v1/{project}/secrets/([^/:]+)(/versions|:getIamPolicy)", path)
        if method == "GET" and match and match[1] in self.secrets:
            secret = self.secrets[match[1]]
            if match[2] == ":getIamPolicy":
                return 200, {"bindings": secret["bindings"], "etag": "BwYfake="}, {}
            versions = [
                {
                    "name": f"projects/{self.number}/secrets/{match[1]}/versions/{n}",
                    "state": state,
                    "createTime": rfc3339(created),
                }
                for n, (state, created) in enumerate(secret["versions"], start=1)
            ]
            return 200, {"versions": versions[::-1]}, {}
        if method == "POST" and re.fullmatch(rf"/v3/{project}:getIamPolicy", path):
            return 200, {"bindings": self.project_bindings, "etag": "BwYfake="}, {}
        if ":access" in path:
            return 200, {"name": path, "payload": {"data": "b2J2aW91c2x5LWZha2U="}}, {}
        return 404, {"error": {"code": 404, "message": f"no {method} {path}"}}, {}

    def _secret(self, secret_id: str) -> dict[str, Any]:
        return {
            "name": f"projects/{self.number}/secrets/{secret_id}",
            **self.secrets[secret_id]["body"],
        }


# --- Azure ---


class FakeAzureCredential:
    """A token credential for the fake (azure-core asks it for a bearer token)."""

    def get_token(self, *scopes: str, **_: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("fake-token-for-tests", int(time.time()) + 3600)


@dataclass
class FakeAzure:
    """One vault, its resource group's identities and the role assignments that reach it."""

    subscription: str
    group: str
    vault: str
    vault_properties: dict[str, Any]
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    identity_group: str = ""
    """The identities' own resource group (the vault's when empty)."""
    credentials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Identity name -> its federated identity credentials, as the management API lists them."""
    versions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Secret name -> version id (32 hex digits) -> its attributes (enabled, created, updated)."""

    @classmethod
    def from_plan(cls, declared: Declared, set_at: datetime) -> FakeAzure:
        azure = declared.settings.azure
        assert azure is not None
        vault = declared.of_type("azure-native:keyvault:Vault")[0]
        fake = cls(
            subscription=azure.subscription_id,
            group=azure.resource_group_name,
            vault=vault.inputs["vaultName"],
            vault_properties=copy.deepcopy(vault.inputs["properties"]),
            identity_group=azure.identity_group,
        )
        for name, entry in declared.entries.items():
            fake.secrets[name] = {
                "attributes": {
                    "enabled": True,
                    "created": int(set_at.timestamp()),
                    "updated": int(set_at.timestamp()),
                },
                "tags": dict(entry.resource.inputs.get("tags") or {}),
            }
            fake.add_version(name, set_at)
        for identity in declared.of_type("azure-native:managedidentity:UserAssignedIdentity"):
            out = identity.outputs
            fake.identities.append(
                {
                    "id": identity.id,
                    "name": out["name"],
                    "location": "westeurope",
                    "tags": out.get("tags") or {},
                    "properties": {
                        "tenantId": out["tenantId"],
                        "principalId": out["principalId"],
                        "clientId": out["clientId"],
                    },
                }
            )
        for credential in declared.of_type(
            "azure-native:managedidentity:FederatedIdentityCredential"
        ):
            inputs = credential.inputs
            fake.federate(
                inputs["resourceName"], inputs["issuer"], inputs["subject"], inputs["audiences"]
            )
        for assignment in declared.of_type("azure-native:authorization:RoleAssignment"):
            fake.assign(
                assignment.inputs["scope"],
                assignment.inputs["roleDefinitionId"],
                assignment.inputs["principalId"],
            )
        return fake

    @property
    def vault_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.vault}"
        )

    def add_version(self, name: str, created: datetime, enabled: bool = True) -> str:
        """A new version of a secret (its id derived from the name and the count); the secret's listed
        attributes are the newest version's, as Key Vault lists them."""
        found = self.versions.setdefault(name, {})
        version = hashlib.sha256(f"{name}/{len(found)}".encode()).hexdigest()[:32]
        at = int(created.timestamp())
        found[version] = {"enabled": enabled, "created": at, "updated": at}
        if name in self.secrets and at >= max(v["created"] for v in found.values()):
            self.secrets[name]["attributes"] = dict(found[version])
        return version

    def federate(
        self, identity: str, issuer: str, subject: str, audiences: list[str] | None = None
    ) -> None:
        found = self.credentials.setdefault(identity, [])
        group = self.identity_group or self.group
        name = f"credential-{len(found)}"
        found.append(
            {
                "id": f"/subscriptions/{self.subscription}/resourceGroups/{group}/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}/"
                f"federatedIdentityCredentials/{name}",
                "name": name,
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                "properties": {
                    "issuer": issuer,
                    "subject": subject,
                    "audiences": audiences or ["api://AzureADTokenExchange"],
                },
            }
        )

    def assign(self, scope: str, role: str, principal: str) -> None:
        name = f"{len(self.assignments):08x}-0000-4000-8000-000000000000"
        self.assignments.append(
            {
                "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
                "name": name,
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "roleDefinitionId": role,
                    "principalId": principal,
                    "principalType": "ServicePrincipal",
                    "scope": scope,
                },
            }
        )

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, Any, dict[str, str]]:
        host_vault = f"https://{self.vault}.vault.azure.net"
        if not path.startswith("/subscriptions/"):  # the vault's data plane
            if (
                "Authorization" not in headers
            ):  # Key Vault's challenge, as the real service sends it
                challenge = (
                    'Bearer authorization="https://login.microsoftonline.com/tenant", '
                    'resource="https://vault.azure.net"'
                )
                return 401, {}, {"WWW-Authenticate": challenge}
            if path == "/secrets":
                items = [
                    {"id": f"{host_vault}/secrets/{name}", **secret}
                    for name, secret in sorted(self.secrets.items())
                ]
                return 200, {"value": items, "nextLink": None}, {}
            if path == "/deletedsecrets":
                items = [
                    {
                        "id": f"{host_vault}/secrets/{name}",
                        "recoveryId": f"{host_vault}/deletedsecrets/{name}",
                        "deletedDate": int(time.time()),
                        "scheduledPurgeDate": int(time.time()) + 30 * 86400,
                        **secret,
                    }
                    for name, secret in sorted(self.deleted.items())
                ]
                return 200, {"value": items, "nextLink": None}, {}
            listing = re.fullmatch(r"/secrets/([^/]+)/versions", path)
            if method == "GET" and listing and listing[1] in self.secrets:
                items = [
                    {"id": f"{host_vault}/secrets/{listing[1]}/{version}", "attributes": attributes}
                    for version, attributes in self.versions.get(listing[1], {}).items()
                ]
                return 200, {"value": items, "nextLink": None}, {}
            if path.startswith("/secrets/"):
                return 200, {"value": "obviously-fake", "id": f"{host_vault}{path}"}, {}
        if path == self.vault_id:
            return (
                200,
                {
                    "id": self.vault_id,
                    "name": self.vault,
                    "type": "Microsoft.KeyVault/vaults",
                    "location": "westeurope",
                    "properties": self.vault_properties,
                },
                {},
            )
        listing = re.fullmatch(r"(.+)/providers/Microsoft\.Authorization/roleAssignments", path)
        if method == "GET" and listing:
            # What list_for_scope answers: assignments at the scope, above it, or below it.
            scope = listing[1].lower()
            reaching = [
                a
                for a in self.assignments
                if scope.startswith(a["properties"]["scope"].lower().rstrip("/"))
                or a["properties"]["scope"].lower().startswith(scope + "/")
            ]
            return 200, {"value": reaching}, {}
        identities = (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.identity_group or self.group}"
            "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
        )
        if path == identities:
            return 200, {"value": self.identities}, {}
        found = re.fullmatch(re.escape(identities) + r"/([^/]+)/federatedIdentityCredentials", path)
        if method == "GET" and found:
            return 200, {"value": self.credentials.get(found[1], [])}, {}
        return 404, {"error": {"code": "NotFound", "message": f"no {method} {path}"}}, {}
