"""GCP, read-only: Secret Manager secrets' metadata, version list and IAM policy; the project's IAM policy.

Uses application default credentials unless given others, through the official clients' REST transport. Every
request goes through ``GuardedAdapter``: only the listings and ``getIamPolicy`` calls of ``ALLOWED`` are sent;
``AccessSecretVersion`` (``.../versions/<v>:access``) is refused before it leaves. The permissions a read-only
audit principal needs: ``secretmanager.secrets.list``, ``secretmanager.secrets.getIamPolicy``,
``secretmanager.versions.list``, ``resourcemanager.projects.getIamPolicy`` (never ``secretmanager.versions.access``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from platform_secrets.live.readers import GuardedAdapter

ALLOWED: tuple[tuple[str, str], ...] = (
    ("GET", r"/v1/projects/[^/]+/secrets"),
    ("GET", r"/v1/projects/[^/]+/secrets/[^/:]+/versions"),
    ("GET", r"/v1/projects/[^/]+/secrets/[^/:]+:getIamPolicy"),
    ("POST", r"/v3/projects/[^/:]+:getIamPolicy"),
)
"""(method, path) of every request the audit sends to GCP."""
VALUE_READS = (r"/v1/projects/[^/]+/secrets/[^/]+/versions/[^/]+:access",)
"""AccessSecretVersion: the one call that returns a value."""
READER_ROLE_PREFIX = "roles/secretmanager."
"""The project bindings the audit reads: Secret Manager's roles (owners and editors are the project's own)..."""
ACT_AS_ROLES = (
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.workloadIdentityUser",
)
"""...and the roles that act as every service account of the project (trust drift, ``platform_secrets.access.doors_gcp``)."""


@dataclass(frozen=True)
class LiveGcpSecret:
    secret_id: str
    name: str
    """``projects/<number>/secrets/<id>``."""
    annotations: dict[str, str]
    replicas: dict[str, str | None]
    """Location -> its customer-managed key (None: Google's), for user-managed replication."""
    automatic: bool
    version_destroy_ttl: str | None
    rotation_period: str | None
    versions: tuple[tuple[str, datetime | None], ...]
    """(state, create time) of each version, newest first."""
    bindings: tuple[tuple[str, tuple[str, ...]], ...]
    """(role, members) of the secret's IAM policy."""
    newest_version: str | None = None
    """The number of the newest version (the one ``versions`` lists first)."""
    enabled_versions: tuple[str, ...] = ()
    """The numbers of the enabled versions (an access of them returns a value)."""


class GcpReader:
    """One project's Secret Manager, read through guarded REST clients."""

    def __init__(self, project: str, credentials: Any = None, adapter: Any = None) -> None:
        from google.cloud import resourcemanager_v3, secretmanager_v1

        self.project = project
        self.secrets_client = secretmanager_v1.SecretManagerServiceClient(
            credentials=credentials, transport="rest"
        )
        self.projects_client = resourcemanager_v3.ProjectsClient(
            credentials=credentials, transport="rest"
        )
        clients: tuple[Any, ...] = (self.secrets_client, self.projects_client)
        for client in clients:
            # The REST transport's requests session (an AuthorizedSession): every request goes through the guard.
            session = client._transport._session
            inner = adapter or session.get_adapter("https://")
            session.mount("https://", GuardedAdapter(inner, ALLOWED, "GCP"))

    def secrets(self, id_prefix: str) -> list[LiveGcpSecret]:
        found = []
        for secret in self.secrets_client.list_secrets(
            request={"parent": f"projects/{self.project}"}
        ):
            secret_id = secret.name.rsplit("/", 1)[-1]
            if not secret_id.startswith(id_prefix):
                continue
            versions = sorted(
                self.secrets_client.list_secret_versions(request={"parent": secret.name}),
                key=lambda v: int(v.name.rsplit("/", 1)[-1]),
                reverse=True,
            )
            policy = self.secrets_client.get_iam_policy(request={"resource": secret.name})
            user = secret.replication.user_managed
            found.append(
                LiveGcpSecret(
                    secret_id=secret_id,
                    name=secret.name,
                    annotations=dict(secret.annotations),
                    replicas={
                        r.location: (r.customer_managed_encryption.kms_key_name or None)
                        for r in user.replicas
                    },
                    automatic="automatic" in secret.replication,
                    version_destroy_ttl=_seconds(secret.version_destroy_ttl)
                    if "version_destroy_ttl" in secret
                    else None,
                    rotation_period=_seconds(secret.rotation.rotation_period)
                    if "rotation" in secret and "rotation_period" in secret.rotation
                    else None,
                    versions=tuple((v.state.name, _time(v.create_time)) for v in versions),
                    bindings=tuple((b.role, tuple(b.members)) for b in policy.bindings),
                    newest_version=versions[0].name.rsplit("/", 1)[-1] if versions else None,
                    enabled_versions=tuple(
                        v.name.rsplit("/", 1)[-1] for v in versions if v.state.name == "ENABLED"
                    ),
                )
            )
        return sorted(found, key=lambda s: s.secret_id)

    def project_bindings(self) -> list[tuple[str, tuple[str, ...]]]:
        """The project's bindings of Secret Manager roles (they reach every secret of the project) and of
        the act-as roles (they reach every service account of the project)."""
        policy = self.projects_client.get_iam_policy(
            request={"resource": f"projects/{self.project}"}
        )
        return [
            (b.role, tuple(b.members))
            for b in policy.bindings
            if b.role.startswith(READER_ROLE_PREFIX) or b.role in ACT_AS_ROLES
        ]


def _seconds(duration: Any) -> str:
    """A protobuf duration as GCP writes it in JSON (``2592000s``)."""
    seconds = duration.total_seconds() if hasattr(duration, "total_seconds") else duration.seconds
    return f"{int(seconds)}s"


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else value.ToDatetime()
