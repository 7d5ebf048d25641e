"""GCP doors: every way into a reader, from the plan's registrations or the live policies (one function).

- ``gcp-workload-identity``: a reader role on a secret (or the project) held by a Workload Identity principal
  (one ServiceAccount, a namespace, a cluster, a whole pool): the principal is the reader, its door the grant;
- ``gcp-secret-iam``: the same for any other member (a tooling service account, a CI principal);
- ``gcp-sa-iam``: an act-as role (Token Creator, Service Account User, Workload Identity User) on a service
  account, or on the project (then the identity is every service account of that project).

A door live but not planned is a high ``trust-widened`` finding (``platform_secrets.audit.checks.trust_findings``).
"""

from __future__ import annotations

from typing import Any

from platform_secrets.access import gcp as access_gcp
from platform_secrets.access.doors import Door, canonical

_POOL_MARKERS = ("principal://", "principalSet://", ".svc.id.goog[")


def _workload_identity(member: str) -> bool:
    return member.startswith(_POOL_MARKERS[:2]) or _POOL_MARKERS[2] in member


def doors(resources: list[Any]) -> frozenset[Door]:
    """The doors of the GCP resources (registrations, or live objects in their shape)."""
    secrets, _ = access_gcp.secrets_of(resources)
    found = set()
    for grant in access_gcp.grants(resources):
        if grant.role in access_gcp.READER_ROLES:
            where = (
                {"secret": secrets[grant.secret].inputs["secretId"]}
                if grant.secret
                else {"project": grant.project}
            )
            kind = "gcp-workload-identity" if _workload_identity(grant.member) else "gcp-secret-iam"
            identity = grant.member.removeprefix("serviceAccount:")
            found.add(Door(identity, kind, canonical({"role": grant.role, **where})))
        elif grant.role in access_gcp.ACT_AS_ROLES:
            identity = grant.account or f"every service account of project {grant.project}"
            found.add(
                Door(
                    identity, "gcp-sa-iam", canonical({"role": grant.role, "member": grant.member})
                )
            )
    return frozenset(found)
