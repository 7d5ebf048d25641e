"""HashiCorp Vault / OpenBao: a KV v2 mount per environment, a read policy and a JWT role per service.

- per environment: a KV v2 mount (``vault_naming.kv_mount``; prod: protected and retained, at least 10 versions
  kept, no ``delete_version_after``; no ``cas_required``, which the provider cannot honour on KV v2 writes), a JWT
  auth mount that checks the cluster's ServiceAccount tokens (its OIDC discovery URL or static public keys, and
  ``bound_issuer``), and, when a tooling service has CI claims, a JWT auth mount for CI's OIDC issuer;
- one KV v2 secret per entry at ``<owner>/<KEY>`` with one field, ``value`` (generated and config values, written
  as secrets), its custom metadata naming owner, key and source;
- **external entries** (and config entries without a value yet) are declared by their **metadata only**: a write
  to ``<mount>/metadata/<owner>/<KEY>`` (custom metadata, max versions) through ``generic.Endpoint``, which
  creates no version, never reads the value back and never deletes (``disable_delete``: destroying it leaves the
  out-of-band value alone). Why not ``kv.SecretV2``: KV v2 has no empty secret, so it would write a version (an
  empty or placeholder value) and its delete removes versions; ``ignore_changes`` would not prevent the first
  write. The metadata write is idempotent, so under ``adoptExisting`` it is simply written again (the provider
  cannot import a ``generic.Endpoint``);
- per service: a policy granting ``read`` on exactly its entries' ``data/`` paths, and a role named after the
  service: on the workload mount ``role_type: jwt``, ``user_claim: sub``, ``bound_subject:
  system:serviceaccount:<ns>:<sa>``, ``bound_audiences``, the service's policy only, ``token_ttl`` = max TTL =
  ``vault.tokenTtl``, ``token_no_default_policy`` and a batch token (``vault_policies.TOKEN_TYPE``); a tooling service's role sits on the CI mount with ``bound_claims`` instead of a subject.

ESO authenticates with the ServiceAccount's own projected token (``auth.jwt.kubernetesServiceAccountToken``), so
the ServiceAccount carries no annotation. The provider's token (the provisioner's, from ``VAULT_TOKEN`` or
``vault:token``) is the operator's: the README says which policy it needs.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_vault as vault

from platform_secrets.model.catalog import Source
from platform_secrets.model.settings import VaultSettings
from platform_secrets.model.stack_model import Entry, Service, StackModel
from platform_secrets.program.clouds import vault_naming as naming
from platform_secrets.program.clouds.base import CloudAdapter, Foundation, Identity, StoredEntry
from platform_secrets.program.clouds.vault_policies import TOKEN_TYPE, guard_policy, read_policy


class VaultAdapter(CloudAdapter):
    """KV v2 + policies + JWT auth (the cluster's ServiceAccount tokens, CI's OIDC tokens)."""

    def __init__(self, model: StackModel) -> None:
        super().__init__(model)
        assert model.settings.vault is not None  # Settings checks it
        self.vault: VaultSettings = model.settings.vault
        self.paths = naming.paths(model.settings)
        self._provider: vault.Provider | None = None
        self.mount: vault.Mount | None = None
        self.workload_auth: vault.jwt.AuthBackend | None = None
        self.ci_auth: vault.jwt.AuthBackend | None = None
        self._mount_path: pulumi.Output[str] | None = None
        """The KV mount's path: this stack's mount, or in a shard the foundation's."""
        self._mount_deps: list[pulumi.Resource] = []
        self._auth_paths: dict[bool, pulumi.Output[str]] = {}
        """workload? -> the auth mount's path its roles are written under."""

    # --- names (pure, deterministic) ---

    def entry_name(self, entry: Entry) -> str:
        return naming.entry_name(self.paths.mount, naming.secret_path(entry.owner, entry.key))

    def policy_name(self, service: str) -> str:
        return naming.policy_name(
            self.settings.name_prefix, self.settings.environment.value, service
        )

    @staticmethod
    def problems(model: StackModel) -> list[str]:
        settings = model.settings
        if settings.vault is None:
            return []  # Settings names it
        paths = naming.paths(settings)
        problems: list[str] = []
        if len({paths.mount, paths.auth, paths.ci_auth}) < 3:
            problems.append("vault: kvMount, authPath and ciAuthPath must differ")
        for entry in model.entries:
            path = naming.secret_path(entry.owner, entry.key)
            if not naming.SECRET_PATH.fullmatch(path):
                problems.append(f"{entry.config_key}: secret path {path!r} breaks the naming rule")
        tooling = {service.name for service in model.services if not service.workload}
        for service in model.services:
            policy = naming.policy_name(
                settings.name_prefix, settings.environment.value, service.name
            )
            if not naming.POLICY_NAME.fullmatch(policy):
                problems.append(
                    f"services.{service.name}: policy name {policy!r} breaks Vault's rule"
                )
        for name, claims in settings.vault.tooling_claims.items():
            if name not in tooling:
                problems.append(
                    f"vault.toolingClaims.{name}: not a non-workload service of the catalog"
                )
            if "repository" not in claims:
                problems.append(
                    f"vault.toolingClaims.{name}: needs `repository` (a CI token of any repository "
                    "of the issuer would match otherwise)"
                )
        return problems

    # --- resources ---

    def provider_opts(self) -> pulumi.ResourceOptions:
        if self._provider is None:
            # An explicit provider pinned to the stack's server: an ambient VAULT_ADDR never applies. Its token
            # is the provisioner's (VAULT_TOKEN or `vault:token`), never in the stack file in plaintext.
            self._provider = vault.Provider(
                "vault",
                address=self.vault.address,
            )
        return pulumi.ResourceOptions(providers={"vault": self._provider})

    def create_foundation(self, parent: pulumi.Resource) -> None:
        mount_path = self.paths.mount
        self.mount = vault.Mount(
            "kv-mount",
            path=mount_path,
            type="kv",
            options={"version": "2"},
            description=f"platform-secrets {self.settings.environment.value}: one secret per entry",
            opts=self.durable(parent, adopt_id=naming.mount_import_id(mount_path)),
        )
        self._mount_path, self._mount_deps = self.mount.path, [self.mount]
        vault.kv.SecretBackendV2(
            "kv-config",
            mount=self.mount.path,
            max_versions=self.vault.max_versions,
            # Versions live until pushed out by newer ones: no delete_version_after, no cas_required (the
            # provider's `cas` cannot be honoured on KV v2 writes; ESO never writes).
            cas_required=False,
            delete_version_after=0,
            opts=self.durable(parent, adopt_id=f"{mount_path}/config"),
        )
        self.workload_auth = vault.jwt.AuthBackend(
            "workload-auth",
            path=self.paths.auth,
            type="jwt",
            description="The cluster's ServiceAccount tokens (one role per service)",
            bound_issuer=self.vault.issuer,
            oidc_discovery_url=self.vault.discovery_url,
            jwt_validation_pubkeys=list(self.vault.jwt_validation_pubkeys) or None,
            opts=self.durable(parent, adopt_id=naming.auth_backend_import_id(self.paths.auth)),
        )
        self._auth_paths[True] = self.workload_auth.path
        if self.vault.tooling_claims:
            self.ci_auth = vault.jwt.AuthBackend(
                "ci-auth",
                path=self.paths.ci_auth,
                type="jwt",
                description="CI's OIDC tokens (tooling services, bound by claims)",
                bound_issuer=self.vault.ci_issuer,
                oidc_discovery_url=self.vault.ci_issuer,
                opts=self.durable(
                    parent, adopt_id=naming.auth_backend_import_id(self.paths.ci_auth)
                ),
            )
            self._auth_paths[False] = self.ci_auth.path

    def foundation_outputs(self) -> frozenset[str]:
        return frozenset(
            {"kv_mount", "auth_path"} | ({"ci_auth_path"} if self.vault.tooling_claims else set())
        )

    def attach_foundation(self, foundation: Foundation) -> None:
        # The foundation's mounts; a shard's policies and roles name them by their paths.
        self._mount_path = foundation.store("kv_mount")
        self._auth_paths[True] = foundation.store("auth_path")
        if self.vault.tooling_claims:
            self._auth_paths[False] = foundation.store("ci_auth_path")

    def create_entry(
        self,
        name: str,
        entry: Entry,
        value: pulumi.Output[str] | None,
        parent: pulumi.Resource,
    ) -> StoredEntry:
        assert self._mount_path is not None  # create_foundation (or attach_foundation) first
        mount = self.paths.mount
        path = naming.secret_path(entry.owner, entry.key)
        metadata = naming.custom_metadata(entry.owner, entry.key, entry.source.value)
        if value is None and entry.source is not Source.GENERATED:
            # External (or not yet set): metadata only, no version is ever written (module docstring).
            resource: pulumi.Resource = vault.generic.Endpoint(
                f"{name}-metadata",
                path=naming.metadata_path(mount, path),
                data_json=json.dumps(
                    {"custom_metadata": metadata, "max_versions": self.vault.max_versions},
                    sort_keys=True,
                ),
                disable_read=True,
                disable_delete=True,
                ignore_absent_fields=True,
                opts=pulumi.ResourceOptions(
                    parent=parent,
                    depends_on=self._mount_deps,
                    protect=self.settings.protect,
                    retain_on_delete=self.settings.protect,
                ),
            )
            ref: pulumi.Output[str] = pulumi.Output.from_input(naming.data_path(mount, path))
        else:
            opts = self.durable(parent, adopt_id=naming.secret_import_id(mount, path))
            if value is None:
                # Adopting a generated entry: the live value stays, nothing is written over it.
                opts = pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(ignore_changes=["dataJson"])
                )
            secret = vault.kv.SecretV2(
                f"{name}-entry",
                mount=self._mount_path,
                name=path,
                # ``value`` is a secret Output and ``apply`` keeps the mark (the policy pack checks it).
                data_json=None if value is None else value.apply(_kv_data),
                custom_metadata=vault.kv.SecretV2CustomMetadataArgs(
                    data=metadata, max_versions=self.vault.max_versions
                ),
                # A destroy soft-deletes the current version only (undeletable); never every version.
                delete_all_versions=False,
                opts=opts,
            )
            resource = secret
            ref = secret.path
        return StoredEntry(entry=entry, name=self.entry_name(entry), ref=ref, resource=resource)

    def create_identity(
        self,
        name: str,
        service: Service,
        entries: list[StoredEntry],
        parent: pulumi.Resource,
    ) -> Identity | None:
        claims = self.vault.tooling_claims.get(service.name)
        if not service.workload and not claims:
            pulumi.log.warn(
                f"{service.name}: no vault.toolingClaims in this stack, so no role reads its entries"
            )
            return None
        auth_backend = self._auth_paths.get(service.workload)
        assert auth_backend is not None
        auth_path = self.paths.auth if service.workload else self.paths.ci_auth
        mount = self.paths.mount
        policy_name = self.policy_name(service.name)
        policy = vault.Policy(
            f"{name}-policy",
            name=policy_name,
            policy=read_policy(
                [
                    naming.data_path(mount, naming.secret_path(s.entry.owner, s.entry.key))
                    for s in entries
                ]
            ),
            opts=pulumi.ResourceOptions(
                parent=parent,
                import_=naming.policy_import_id(policy_name)
                if self.settings.adopt_existing
                else None,
            ),
        )
        role_name = naming.role_name(service.name)
        binding: dict[str, Any]
        if service.workload:
            binding = {
                "bound_subject": naming.workload_subject(
                    service.namespace, service.service_account
                ),
                "bound_audiences": list(self.vault.audiences),
            }
        else:
            binding = {
                "bound_claims": dict(sorted((claims or {}).items())),
                "bound_claims_type": "string",  # exact values, no globs
                "bound_audiences": list(self.vault.ci_audiences),
            }
        role = vault.jwt.AuthBackendRole(
            f"{name}-role",
            backend=auth_backend,
            role_name=role_name,
            role_type="jwt",
            user_claim="sub",
            token_policies=[policy.name],
            # The service's policy only: no `default` (lookup/renew/revoke-self, cubbyhole, ...).
            token_no_default_policy=True,
            token_type=TOKEN_TYPE,
            token_ttl=self.vault.token_ttl,
            token_max_ttl=self.vault.token_ttl,
            **binding,
            opts=pulumi.ResourceOptions(
                parent=parent,
                import_=(
                    naming.role_import_id(auth_path, role_name)
                    if self.settings.adopt_existing
                    else None
                ),
            ),
        )
        provider = {
            "vault": {
                "server": self.vault.address,
                "path": mount,
                "version": "v2",
                "auth": {
                    "jwt": {
                        "path": auth_path,
                        "role": role_name,
                        "kubernetesServiceAccountToken": {
                            "serviceAccountRef": {
                                "name": service.service_account,
                                "audiences": list(self.vault.audiences),
                            }
                        },
                    }
                },
            }
        }
        identity_id = pulumi.Output.all(role.backend, role.role_name).apply(
            lambda parts: naming.role_import_id(str(parts[0]), str(parts[1]))
        )
        return Identity(service=service.name, id=identity_id, eso_provider=provider)

    def remote_ref(self, stored: StoredEntry) -> dict[str, str]:
        return {
            "key": naming.secret_path(stored.entry.owner, stored.entry.key),
            "property": naming.VALUE_FIELD,
        }

    def exports(self) -> dict[str, Any]:
        return {
            "vault_address": self.vault.address,
            "kv_mount": self.paths.mount,
            "auth_path": self.paths.auth,
            **({"ci_auth_path": self.paths.ci_auth} if self.ci_auth is not None else {}),
            # For the operator to attach to every token but the provisioner's and the audit's (README).
            "operator_guard_policy": guard_policy(
                [self.paths.auth, self.paths.ci_auth],
                naming.policy_name(self.settings.name_prefix, self.settings.environment.value, ""),
            ),
        }


def _kv_data(value: str) -> str:
    """The KV v2 data of an entry: one field, ``value``."""
    return json.dumps({naming.VALUE_FIELD: value})
