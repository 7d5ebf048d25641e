"""HashiCorp Vault / OpenBao names, paths and import ids as pure functions: the contract others code against.

No Pulumi here. The adapter builds every path from these; the day-two tools (``platform_secrets.live.env``, ``platform_secrets.audit.command``) and
the OpenBao test tier use the same functions, so a name changes in one place.

- KV v2 mount per environment: ``<namePrefix>-<env>`` (stack setting ``vault.kvMount`` overrides it);
- one secret per entry at ``<owner>/<KEY>`` in that mount, holding one field, ``value``; its API paths are
  ``<mount>/data/<owner>/<KEY>`` (the value) and ``<mount>/metadata/<owner>/<KEY>`` (versions, custom metadata);
- a policy per service, ``<namePrefix>-<env>-<service>``, granting ``read`` on exactly its entries' ``data/``
  paths;
- a JWT role per service, named ``<service>``, on the workload JWT auth mount (``vault.authPath``, default
  ``<namePrefix>-<env>-k8s``); the tooling service's role, also named ``<service>``, on the CI JWT mount
  (``vault.ciAuthPath``, default ``<namePrefix>-<env>-ci``);
- import ids (``adoptExisting``): mount ``<path>``, secret ``<mount>/data/<owner>/<KEY>``, policy ``<name>``,
  auth backend ``<path>``, role ``auth/<path>/role/<name>``.

No deviation from the naming contract of issue 11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from platform_secrets.model.settings import Settings

VALUE_FIELD = "value"
"""The one field of every KV v2 secret the program writes; ESO's ``remoteRef.property``."""
DEFAULT_AUDIENCES = ("vault",)
DEFAULT_TOKEN_TTL = 900
"""Seconds a login token lives: 15 minutes (the guide: short TTL where possible). ESO logs in again."""
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
MIN_PROD_VERSIONS = 10
"""KV v2 versions kept per secret in prod: a rotated-out value stays restorable."""
METADATA_PREFIX = "platform-secrets-"
"""Custom-metadata keys the program writes on each secret (owner, key, source)."""

MOUNT_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
"""A mount path of one segment (no slash): what the program creates and ESO's ``path`` takes."""
POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
"""Vault lowercases policy names; ours are lowercase to begin with, so they read back unchanged."""
SECRET_PATH = re.compile(r"^[a-z][a-z0-9-]*/[A-Z][A-Z0-9_]*$")


def kv_mount(prefix: str, environment: str) -> str:
    """The environment's KV v2 mount: ``<prefix>-<env>``."""
    return f"{prefix}-{environment}"


def auth_path(prefix: str, environment: str) -> str:
    """The JWT auth mount for the cluster's ServiceAccount tokens: ``<prefix>-<env>-k8s``."""
    return f"{prefix}-{environment}-k8s"


def ci_auth_path(prefix: str, environment: str) -> str:
    """The JWT auth mount for CI's OIDC tokens (tooling services): ``<prefix>-<env>-ci``."""
    return f"{prefix}-{environment}-ci"


@dataclass(frozen=True)
class VaultPaths:
    """The stack's mounts, resolved: the settings' explicit paths or the defaults above."""

    mount: str
    auth: str
    ci_auth: str


def paths(settings: Settings) -> VaultPaths:
    """The mounts of a stack whose ``vault`` settings are set (``cloud: vault``)."""
    assert settings.vault is not None
    prefix, env = settings.name_prefix, settings.environment.value
    return VaultPaths(
        mount=settings.vault.kv_mount or kv_mount(prefix, env),
        auth=settings.vault.auth_path or auth_path(prefix, env),
        ci_auth=settings.vault.ci_auth_path or ci_auth_path(prefix, env),
    )


def secret_path(owner: str, key: str) -> str:
    """An entry's path inside the mount: ``<owner>/<KEY>`` (ESO's ``remoteRef.key``)."""
    return f"{owner}/{key}"


def data_path(mount: str, path: str) -> str:
    """The API path that reads (and writes) the value: ``<mount>/data/<path>``."""
    return f"{mount}/data/{path}"


def metadata_path(mount: str, path: str) -> str:
    """The API path of the versions and custom metadata: ``<mount>/metadata/<path>``."""
    return f"{mount}/metadata/{path}"


def entry_name(mount: str, path: str) -> str:
    """The entry's name in the access matrix and artifacts: ``<mount>/<path>`` (unambiguous across mounts)."""
    return f"{mount}/{path}"


def policy_name(prefix: str, environment: str, service: str) -> str:
    """A service's policy: ``<prefix>-<env>-<service>``."""
    return f"{prefix}-{environment}-{service}"


def role_name(service: str) -> str:
    """A service's JWT role on its auth mount: the service's name."""
    return service


def workload_subject(namespace: str, service_account: str) -> str:
    """The ``sub`` of a Kubernetes ServiceAccount token: ``system:serviceaccount:<ns>:<sa>``."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def login_path(auth: str) -> str:
    """Where a JWT is exchanged for a token: ``auth/<path>/login``."""
    return f"auth/{auth}/login"


# --- import ids (adoptExisting) ---


def mount_import_id(mount: str) -> str:
    return mount


def secret_import_id(mount: str, path: str) -> str:
    return data_path(mount, path)


def policy_import_id(name: str) -> str:
    return name


def auth_backend_import_id(auth: str) -> str:
    return auth


def role_import_id(auth: str, role: str) -> str:
    return f"auth/{auth}/role/{role}"


def custom_metadata(owner: str, key: str, source: str) -> dict[str, str]:
    """What each secret's KV v2 custom metadata says about it (no value, readable without ``data/``)."""
    return {
        f"{METADATA_PREFIX}owner": owner,
        f"{METADATA_PREFIX}key": key,
        f"{METADATA_PREFIX}source": source,
    }
