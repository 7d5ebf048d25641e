"""Azure doors: every federated identity credential on a managed identity, from the plan or live (one function).

``azure-federated``: one door per credential, named by the identity's name, its detail the issuer (without a
trailing slash), the subject and the audiences. A credential live but not planned (another issuer, a wider or
another subject, another audience) is a high ``trust-widened`` finding.

``azure-identity-admin``: a role that may write federated credentials (Owner, Contributor, Managed Identity
Contributor) assigned at the identities' group or below it; the plan assigns none, so any is widened.
"""

from __future__ import annotations

from typing import Any

from platform_secrets.access.azure import ASSIGNMENT, CREDENTIAL, IDENTITY
from platform_secrets.access.doors import Door, canonical

IDENTITY_WRITERS = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59": "Managed Identity Contributor",
}
"""Built-in roles with ``Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write``."""


def _admin_doors(resources: list[Any]) -> set[Door]:
    groups = {
        str(r.inputs.get("resourceGroupName") or "").lower()
        for r in resources
        if r.type == IDENTITY and r.inputs.get("resourceGroupName")
    }
    found = set()
    for r in resources:
        if r.type != ASSIGNMENT:
            continue
        role = str(r.inputs["roleDefinitionId"]).rsplit("/", 1)[-1].lower()
        scope = str(r.inputs["scope"]).rstrip("/").lower()
        for group in groups:
            marker = f"/resourcegroups/{group}"
            if role in IDENTITY_WRITERS and (scope.endswith(marker) or marker + "/" in scope):
                detail = {"role": IDENTITY_WRITERS[role], "principal": r.inputs["principalId"]}
                found.add(
                    Door(f"the identities of {group}", "azure-identity-admin", canonical(detail))
                )
    return found


def doors(resources: list[Any]) -> frozenset[Door]:
    """The doors of the Azure resources (registrations, or live objects in their shape)."""
    return frozenset(_admin_doors(resources)) | frozenset(
        Door(
            str(r.inputs["resourceName"]),
            "azure-federated",
            canonical(
                {
                    "issuer": str(r.inputs["issuer"]).rstrip("/"),
                    "subject": r.inputs["subject"],
                    "audiences": list(r.inputs.get("audiences") or []),
                }
            ),
        )
        for r in resources
        if r.type == CREDENTIAL
    )
