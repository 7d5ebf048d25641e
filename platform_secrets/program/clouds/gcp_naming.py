"""GCP names, ids and IAM members as pure functions: deterministic, and checked against GCP's rules.

No Pulumi here. The adapter builds every name from these, ``GcpAdapter.problems`` checks them before anything is
registered, and the tests call them directly.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

SECRET_ID = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
"""Secret Manager: letters, digits, `_` and `-`, at most 255 characters."""
ACCOUNT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
"""IAM service account id: 6-30 characters, a lowercase letter first, no trailing hyphen."""
KMS_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
TOPIC_NAME = re.compile(r"^(?!goog)[a-zA-Z][a-zA-Z0-9._~+%-]{2,254}$")
ACCOUNT_ID_MAX = 30

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
"""Reads a secret's versions (``secretmanager.versions.access``), nothing else."""
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"
KEY_USER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
PUBLISHER_ROLE = "roles/pubsub.publisher"
SECRET_MANAGER_API = "secretmanager.googleapis.com"
KEY_ROTATION_DAYS = 90

SET_MEMBERS = ("allUsers", "allAuthenticatedUsers", "domain:", "principalSet:", "projectOwner:")
"""Members that stand for many principals; a grant to one of them is never what a service needs."""


def secret_id(prefix: str, environment: str, owner: str, key: str) -> str:
    """``<prefix>-<env>-<owner>-<KEY>``: unambiguous, since owners are lowercase and keys start uppercase."""
    return f"{prefix}-{environment}-{owner}-{key}"


def account_id(prefix: str, environment: str, service: str) -> str:
    """A service account id of at most 30 characters: ``<initials of prefix>-<env>-<service>``.

    Longer ones are cut and end in a hash of the full form, so that they stay distinct and deterministic.
    """
    initials = "".join(part[0] for part in prefix.split("-") if part)
    base = f"{initials}-{environment}-{service}"
    if len(base) <= ACCOUNT_ID_MAX:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    return f"{base[: ACCOUNT_ID_MAX - 7].rstrip('-')}-{digest}"


def account_email(account: str, project: str) -> str:
    return f"{account}@{project}.iam.gserviceaccount.com"


def account_resource_id(project: str, account: str) -> str:
    return f"projects/{project}/serviceAccounts/{account_email(account, project)}"


def secret_resource_id(project: str, secret: str) -> str:
    return f"projects/{project}/secrets/{secret}"


def key_ring_name(prefix: str, environment: str) -> str:
    return f"{prefix}-{environment}"


def key_ring_id(project: str, location: str, ring: str) -> str:
    return f"projects/{project}/locations/{location}/keyRings/{ring}"


def crypto_key_name(prefix: str, environment: str) -> str:
    return f"{prefix}-{environment}-secrets"


def topic_name(prefix: str, environment: str) -> str:
    return f"{prefix}-{environment}-secret-rotation"


def topic_id(project: str, topic: str) -> str:
    return f"projects/{project}/topics/{topic}"


def workload_member(pool: str, namespace: str, service_account: str) -> str:
    """The one Kubernetes ServiceAccount of a GKE workload pool, as a legacy IAM member."""
    return f"serviceAccount:{pool}[{namespace}/{service_account}]"


def workload_principal(pool_number: str, pool: str, namespace: str, service_account: str) -> str:
    """The Workload Identity principal of one Kubernetes ServiceAccount, granted on a resource directly."""
    return (
        f"principal://iam.googleapis.com/projects/{pool_number}/locations/global/"
        f"workloadIdentityPools/{pool}/subject/ns/{namespace}/sa/{service_account}"
    )


def tooling_role(member: str) -> str:
    """What lets a tooling principal act as a service account.

    A federated principal (``principal://``, e.g. CI through a workload identity pool) exchanges its token as
    Workload Identity User; a Google principal impersonates with Token Creator.
    """
    return WORKLOAD_IDENTITY_USER if member.startswith("principal://") else TOKEN_CREATOR


def member_problem(member: str) -> str | None:
    """Why ``member`` is broader than one principal, or None."""
    if "*" in member:
        return "has a wildcard"
    if member.startswith(SET_MEMBERS):
        return "stands for a set of principals"
    return None


def duration(days: int) -> str:
    """A protobuf duration in seconds, as GCP's APIs take it."""
    return f"{days * 86400}s"


def next_rotation_time(start: date, days: int) -> str:
    """The first rotation notice: ``days`` after the rotation epoch, at midnight UTC (RFC 3339)."""
    return f"{(start + timedelta(days=days)).isoformat()}T00:00:00Z"
