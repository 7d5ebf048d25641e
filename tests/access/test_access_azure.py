"""Tier 1: the Azure access derivation (``platform_secrets/access/matrix.py``) over the plan's registrations, pure."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from platform_secrets.access.matrix import derive

SUB = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-prod"
USER_ROLE = (
    "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
)
READER_ROLE = (
    "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
)
ISSUER = "https://oidc.aks.example/abc/"


def _r(
    type_: str, id_: str = "", outputs: dict[str, Any] | None = None, **inputs: Any
) -> SimpleNamespace:
    return SimpleNamespace(type=type_, id=id_, inputs=inputs, outputs=outputs or {})


def _secret(name: str, key: str) -> SimpleNamespace:
    return _r(
        "azure-native:keyvault:Secret",
        f"{SUB}/secrets/{name}",
        secretName=name,
        tags={"platform-secrets-key": key},
    )


def _identity(name: str, service: str | None = None) -> SimpleNamespace:
    tags = {"platform-secrets-service": service} if service else {}
    outputs = {"principalId": f"pid-{name}", "clientId": f"cid-{name}", "name": name}
    return _r("azure-native:managedidentity:UserAssignedIdentity", name, outputs, tags=tags)


def _assign(principal: str, scope: str, role: str = USER_ROLE) -> SimpleNamespace:
    return _r(
        "azure-native:authorization:RoleAssignment",
        principalId=principal,
        scope=scope,
        roleDefinitionId=role,
    )


def _federate(identity: str, subject: str, issuer: str = ISSUER) -> SimpleNamespace:
    return _r(
        "azure-native:managedidentity:FederatedIdentityCredential",
        resourceName=identity,
        subject=subject,
        issuer=issuer,
    )


def _stack() -> list[SimpleNamespace]:
    return [
        _secret("backend-DB", "DATABASE_URL"),
        _secret("shared-JWT", "JWT_SECRET"),
        _secret("media-KEY", "S3_KEY"),
        _identity("id-backend", "backend"),
        _identity("id-tool"),
        _identity("id-twin"),
        _assign("pid-id-backend", f"{SUB}/secrets/backend-DB"),
        _assign("pid-id-backend", f"{SUB.upper()}/SECRETS/SHARED-JWT/"),
        _assign("pid-id-tool", f"{SUB}/secrets/media-KEY"),
        _assign("pid-id-backend", f"{SUB}/secrets/media-KEY", READER_ROLE),
        _assign("pid-eve", f"{SUB}/secrets/shared-JWT"),
        _assign("pid-nothing", f"{SUB}/secrets/absent"),
        _federate("id-backend", "system:serviceaccount:backend:backend"),
        _federate("id-tool", "repo:org/app:environment:prod"),
        _federate("id-twin", "repo:org/app:environment:prod", ISSUER.rstrip("/")),
        _r(
            "kubernetes:external-secrets.io/v1:ExternalSecret",
            metadata={"namespace": "backend"},
            spec={"data": [{"secretKey": "DB_URL", "remoteRef": {"key": "backend-DB"}}]},
        ),
    ]


def test_a_workload_identity_reads_its_secrets_under_its_env_names() -> None:
    assert derive(_stack())["backend"] == {
        "identity": "cid-id-backend",
        "entries": ["backend-DB", "shared-JWT"],
        "kind": "workload",
        "service_account": "backend/backend",
        "keys": ["DB_URL", "JWT_SECRET"],
    }


def test_identities_federated_with_the_same_token_read_what_each_other_reads() -> None:
    matrix = derive(_stack())
    assert matrix["id-tool"]["kind"] == "tooling"
    assert matrix["id-tool"]["assumed_by"] == [f"{ISSUER} repo:org/app:environment:prod"]
    assert matrix["id-twin"]["entries"] == ["media-KEY"] and matrix["id-twin"]["keys"] == ["S3_KEY"]
    assert matrix["id-twin"]["assumes"] == ["cid-id-tool"]


def test_a_principal_outside_the_stack_assigned_a_reader_role_is_a_reader_of_its_own() -> None:
    matrix = derive(_stack())
    assert matrix["pid-eve"] == {
        "identity": "pid-eve",
        "entries": ["shared-JWT"],
        "keys": ["JWT_SECRET"],
        "kind": "other",
        "note": "not an identity of this stack, yet assigned a role that reads secrets",
    }
    assert "pid-nothing" not in matrix


def test_an_assignment_on_the_vault_or_above_reads_every_secret_below_it() -> None:
    matrix = derive(
        [*_stack(), _assign("pid-ops", SUB + "/"), _assign("pid-wide", "/subscriptions/0000")]
    )
    everything = ["backend-DB", "media-KEY", "shared-JWT"]
    assert (
        matrix["pid-ops"]["entries"] == everything and matrix["pid-wide"]["entries"] == everything
    )
    sibling = derive([*_stack(), _assign("pid-sib", SUB[:-1])])
    assert "pid-sib" not in sibling
