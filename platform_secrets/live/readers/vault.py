"""HashiCorp Vault / OpenBao, read-only: KV v2 metadata and engine config, ACL policies, JWT auth roles.

Talks to the address it is given (the stack's ``vault.address``, or the audit's ``--endpoint``), never
``VAULT_ADDR``; the token is ``VAULT_TOKEN`` unless given another. Every request goes through
``GuardedAdapter``: only the LIST and GET calls of ``ALLOWED`` are sent; nothing under ``<mount>/data/`` (the
values) can leave. A read-only audit token needs a policy with ``list`` on ``<mount>/metadata/*``, ``read`` on
``<mount>/metadata/*`` and ``<mount>/config``, ``list`` and ``read`` on ``sys/policies/acl/*``, ``read`` on
``sys/auth`` and ``list`` and ``read`` on ``auth/<path>/role/*`` of the stack's JWT mounts, ``list`` and ``read`` on
``identity/group/id/*`` and ``identity/entity/id/*`` (a group's policies reach the tokens of its member
entities); never on ``<mount>/data/*``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from platform_secrets.live.readers import GuardedAdapter

ALLOWED: tuple[tuple[str, str], ...] = (
    ("LIST", r"/v1/[^/]+/metadata(/.*)?"),
    ("GET", r"/v1/[^/]+/metadata/.+"),
    ("GET", r"/v1/[^/]+/config"),
    ("LIST", r"/v1/sys/policies/acl/?"),
    ("GET", r"/v1/sys/policies/acl/[^/]+"),
    ("GET", r"/v1/sys/auth"),
    ("LIST", r"/v1/auth/[^/]+/role/?"),
    ("GET", r"/v1/auth/[^/]+/role/[^/]+"),
    ("LIST", r"/v1/identity/group/id/?"),
    ("GET", r"/v1/identity/group/id/[^/]+"),
    ("LIST", r"/v1/identity/entity/id/?"),
    ("GET", r"/v1/identity/entity/id/[^/]+"),
)
"""(method, path) of every request the audit sends to Vault."""
VALUE_READS = (r"/v1/[^/]+/data/.*",)
"""A KV v2 read of ``<mount>/data/<path>``: the call that returns a value."""
JWT_TYPES = ("jwt", "oidc")


@dataclass(frozen=True)
class LiveKvSecret:
    path: str
    """The path inside the mount (``<owner>/<KEY>``)."""
    current_version: int
    current_created: datetime | None
    current_deleted: bool
    """The current version is deleted or destroyed (no value to read)."""
    max_versions: int
    delete_version_after: str
    custom_metadata: dict[str, str]
    readable_versions: tuple[str, ...] = ()
    """The versions neither deleted nor destroyed (a ``?version=N`` read of them returns a value)."""


class VaultReader:
    """One Vault server's KV v2 mount, policies and JWT roles, read through a guarded hvac client."""

    def __init__(self, url: str, token: str | None = None, adapter: Any = None) -> None:
        import hvac
        import requests

        session = requests.Session()
        for scheme in ("http://", "https://"):
            session.mount(
                scheme, GuardedAdapter(adapter or session.get_adapter(scheme), ALLOWED, "Vault")
            )
        self.client = hvac.Client(
            url=url,
            token=token or os.environ.get("VAULT_TOKEN"),
            session=session,
            timeout=10,
        )

    def secrets(self, mount: str) -> list[LiveKvSecret]:
        """Every secret of the KV v2 mount (listed recursively), with its metadata."""
        found = []
        for path in self._paths(mount, ""):
            meta = self.client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)[
                "data"
            ]
            current = int(meta.get("current_version") or 0)
            version = (meta.get("versions") or {}).get(str(current)) or {}
            found.append(
                LiveKvSecret(
                    path=path,
                    current_version=current,
                    current_created=_time(version.get("created_time")),
                    current_deleted=bool(version.get("destroyed"))
                    or bool(version.get("deletion_time")),
                    max_versions=int(meta.get("max_versions") or 0),
                    delete_version_after=str(meta.get("delete_version_after") or "0s"),
                    custom_metadata=dict(meta.get("custom_metadata") or {}),
                    readable_versions=tuple(
                        sorted(
                            n
                            for n, v in (meta.get("versions") or {}).items()
                            if not v.get("destroyed") and not v.get("deletion_time")
                        )
                    ),
                )
            )
        return sorted(found, key=lambda s: s.path)

    def _paths(self, mount: str, prefix: str) -> list[str]:
        import hvac

        try:
            keys = self.client.secrets.kv.v2.list_secrets(path=prefix, mount_point=mount)["data"][
                "keys"
            ]
        except hvac.exceptions.InvalidPath:  # an empty mount or folder
            return []
        paths = []
        for key in keys:
            if key.endswith("/"):
                paths += self._paths(mount, f"{prefix}{key}")
            else:
                paths.append(f"{prefix}{key}")
        return paths

    def mount_config(self, mount: str) -> dict[str, Any]:
        return dict(self.client.secrets.kv.v2.read_configuration(mount_point=mount)["data"])

    def policies(self) -> dict[str, str]:
        """Every ACL policy's text, by name."""
        names = self.client.sys.list_acl_policies()["data"]["keys"]
        return {
            name: str(self.client.sys.read_acl_policy(name)["data"]["policy"])
            for name in names
            if name != "root"
        }

    def jwt_roles(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(auth path, role name, role) of every role on every JWT/OIDC auth mount."""
        import hvac

        roles = []
        for mount, spec in self.client.sys.list_auth_methods()["data"].items():
            if spec.get("type") not in JWT_TYPES:
                continue
            path = mount.rstrip("/")
            try:
                names = self.client.auth.jwt.list_roles(path=path)["data"]["keys"]
            except hvac.exceptions.InvalidPath:
                continue
            for name in names:
                role = self.client.auth.jwt.read_role(name=name, path=path)["data"]
                roles.append((path, str(name), dict(role)))
        return roles

    def auth_accessors(self) -> dict[str, str]:
        """auth path -> its mount accessor (what entity aliases and external groups name)."""
        return {
            mount.rstrip("/"): str(spec.get("accessor") or "")
            for mount, spec in self.client.sys.list_auth_methods()["data"].items()
        }

    def identity_groups(self) -> list[dict[str, Any]]:
        """Every identity group (internal and external) with its policies, members and alias."""
        import hvac

        try:
            ids = self.client.secrets.identity.list_groups()["data"]["keys"]
        except hvac.exceptions.InvalidPath:  # no group at all
            return []
        return [dict(self.client.secrets.identity.read_group(group_id=i)["data"]) for i in ids]

    def entity_aliases(self) -> dict[str, list[tuple[str, str]]]:
        """entity id -> its aliases as (mount accessor, alias name)."""
        import hvac

        try:
            ids = self.client.secrets.identity.list_entities()["data"]["keys"]
        except hvac.exceptions.InvalidPath:
            return {}
        found = {}
        for entity_id in ids:
            data = self.client.secrets.identity.read_entity(entity_id=entity_id)["data"]
            found[str(entity_id)] = [
                (str(a.get("mount_accessor") or ""), str(a.get("name") or ""))
                for a in data.get("aliases") or []
            ]
        return found


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    # Vault writes RFC 3339 with nanoseconds: keep microseconds for fromisoformat.
    head, _, rest = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{rest[:6] or '0'}+00:00")
