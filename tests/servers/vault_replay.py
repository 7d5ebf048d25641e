"""Replay a plan's Vault resources onto a running OpenBao/Vault through its HTTP API (hvac), as the provider would.

``replay(client, resources, keys=...)`` takes the registered resources of an offline run (``RunResult.resources``,
or the records of ``resources.json``) and creates, in the provider's order: KV v2 mounts and their config, JWT
auth mounts and their config, secrets (with values), external entries' metadata, policies, roles.

What it substitutes, because the test has no cluster and no CI:
- each JWT auth mount's OIDC discovery URL (the cluster's, or CI's issuer) is replaced by static
  ``jwt_validation_pubkeys``: the public key of a key pair the test makes (``keys``: auth path -> PEM), so the
  server verifies the tests' tokens exactly as it would the cluster's; ``bound_issuer`` stays as planned;
- values: generated and config entries get ``values[name]`` or an obviously fake value made here; external
  entries get only their metadata unless ``values`` names them (the day-two tests fill them that way).

It is idempotent on a shared server: an existing mount or auth method of the same type is reused; policies,
roles, configs are overwritten; secrets get a new version.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime.rpc import unwrap_rpc_secret

from platform_secrets.access.vault import KEY_METADATA

REDACTED = "[secret]"


@dataclass
class Replayed:
    """What the replay created: mounts, auth paths, entries with the values written, policies and roles."""

    mounts: list[str] = field(default_factory=list)
    auth_paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    """auth path -> its planned config (bound_issuer, the discovery URL that was substituted)."""
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``<mount>/<path>`` -> {mount, path, key, source, value (None: metadata only)}."""
    policies: dict[str, str] = field(default_factory=dict)
    roles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(auth path, role name) -> the role's data as written."""


def _records(resources: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for r in resources:
        type_, inputs = (r["type"], r["inputs"]) if isinstance(r, dict) else (r.type, r.inputs)
        if type_.startswith("vault:"):
            out.append((type_, {k: unwrap_rpc_secret(v) for k, v in inputs.items()}))
    return out


def _fake(name: str) -> str:
    return f"fake-{name.replace('/', '-').lower()}-{secrets.token_hex(8)}"


def replay(
    client: Any,
    resources: list[Any],
    keys: dict[str, str],
    values: dict[str, str] | None = None,
) -> Replayed:
    """Create the plan's Vault resources on the server of ``client`` (a root or provisioner token)."""
    values = values or {}
    records = _records(resources)
    done = Replayed()
    of = lambda kind: [inputs for type_, inputs in records if type_ == kind]  # noqa: E731

    engines = client.sys.list_mounted_secrets_engines()["data"]
    for mount in of("vault:index/mount:Mount"):
        if f"{mount['path']}/" not in engines:
            client.sys.enable_secrets_engine(
                backend_type=mount["type"], path=mount["path"], options=mount.get("options")
            )
        done.mounts.append(mount["path"])
    for config in of("vault:kv/secretBackendV2:SecretBackendV2"):
        client.secrets.kv.v2.configure(
            max_versions=int(config.get("maxVersions") or 0),
            cas_required=bool(config.get("casRequired")),
            delete_version_after=f"{int(config.get('deleteVersionAfter') or 0)}s",
            mount_point=config["mount"],
        )

    methods = client.sys.list_auth_methods()["data"]
    for auth in of("vault:jwt/authBackend:AuthBackend"):
        path = auth["path"]
        if f"{path}/" not in methods:
            client.sys.enable_auth_method(method_type=auth.get("type") or "jwt", path=path)
        if path not in keys:
            raise KeyError(f"no test public key for the auth mount {path!r}")
        # Substitution: the planned discovery URL (unreachable here) becomes the test's public key.
        client.adapter.post(
            f"/v1/auth/{path}/config",
            json={
                "bound_issuer": auth.get("boundIssuer", ""),
                "jwt_validation_pubkeys": [keys[path]],
            },
        )
        done.auth_paths[path] = {
            "bound_issuer": auth.get("boundIssuer"),
            "substituted": auth.get("oidcDiscoveryUrl") or "jwt_validation_pubkeys",
        }

    for secret in of("vault:kv/secretV2:SecretV2"):
        mount, path = secret["mount"], secret["name"]
        name = f"{mount}/{path}"
        metadata = (secret.get("customMetadata") or {}).get("data") or {}
        value = values.get(name) or _fake(name)
        client.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"value": value}, mount_point=mount
        )
        client.secrets.kv.v2.update_metadata(
            path=path,
            max_versions=int((secret.get("customMetadata") or {}).get("maxVersions") or 0),
            custom_metadata=metadata,
            mount_point=mount,
        )
        done.entries[name] = {
            "mount": mount,
            "path": path,
            "key": metadata.get(KEY_METADATA),
            "source": metadata.get("platform-secrets-source"),
            "value": value,
        }
    for endpoint in of("vault:generic/endpoint:Endpoint"):
        if endpoint["dataJson"] == REDACTED:
            raise ValueError(
                "replay needs the run's resources, not resources.json (data_json redacted)"
            )
        client.adapter.post(f"/v1/{endpoint['path']}", json=json.loads(endpoint["dataJson"]))
        if "/metadata/" not in endpoint["path"]:
            continue
        mount, path = endpoint["path"].split("/metadata/", 1)
        name = f"{mount}/{path}"
        metadata = json.loads(endpoint["dataJson"]).get("custom_metadata") or {}
        value = values.get(name)
        if (
            value is not None
        ):  # filled out of band, as an operator or `platform_secrets.live.env push` would
            client.secrets.kv.v2.create_or_update_secret(
                path=path, secret={"value": value}, mount_point=mount
            )
        done.entries[name] = {
            "mount": mount,
            "path": path,
            "key": metadata.get(KEY_METADATA),
            "source": metadata.get("platform-secrets-source"),
            "value": value,
        }

    for policy in of("vault:index/policy:Policy"):
        client.sys.create_or_update_policy(name=policy["name"], policy=policy["policy"])
        done.policies[policy["name"]] = policy["policy"]
    for role in of("vault:jwt/authBackendRole:AuthBackendRole"):
        data = {
            "role_type": role.get("roleType", "jwt"),
            "user_claim": role["userClaim"],
            "bound_subject": role.get("boundSubject", ""),
            "bound_audiences": role.get("boundAudiences", []),
            "bound_claims": role.get("boundClaims") or None,
            "bound_claims_type": role.get("boundClaimsType", "string"),
            "token_policies": role.get("tokenPolicies", []),
            "token_no_default_policy": bool(role.get("tokenNoDefaultPolicy")),
            "token_type": role.get("tokenType") or "default",
            "token_ttl": int(role.get("tokenTtl") or 0),
            "token_max_ttl": int(role.get("tokenMaxTtl") or 0),
        }
        data = {k: v for k, v in data.items() if v is not None}
        write_role(client, role["backend"], role["roleName"], data)
        done.roles[(role["backend"], role["roleName"])] = data
    return done


def write_role(client: Any, auth_path: str, name: str, data: dict[str, Any]) -> None:
    """Create or replace a JWT role (a role's write replaces every field it names)."""
    client.adapter.post(f"/v1/auth/{auth_path}/role/{name}", json=data)


def public_key() -> str:
    """A fresh RSA public key (PEM) for the JWT auth mounts: the replay's tokens are signed by its pair."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def replay_rotation(client: Any, before: list[Any], after: list[Any]) -> dict[str, str]:
    """Write, as the provider's update of a SecretV2 would, a new version of each entry whose planned value
    changed between two runs' resources (an epoch bump); ``<mount>/<path>`` -> the value written (the new plan's:
    the mocks' fake value for the new keepers, never a real secret)."""

    def values(resources: list[Any]) -> dict[str, tuple[str, str, str]]:
        return {
            f"{inputs['mount']}/{inputs['name']}": (
                inputs["mount"],
                inputs["name"],
                str(json.loads(inputs["dataJson"])["value"]),
            )
            for type_, inputs in _records(resources)
            if type_ == "vault:kv/secretV2:SecretV2"
        }

    old, written = values(before), {}
    for name, (mount, path, value) in sorted(values(after).items()):
        if old.get(name, ("", "", ""))[2] != value:
            client.secrets.kv.v2.create_or_update_secret(
                path=path, secret={"value": value}, mount_point=mount
            )
            written[name] = value
    return written


def key_pair() -> tuple[Any, str]:
    """A fresh RSA private key and its public key (PEM): tokens signed by the one verify with the other."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@contextlib.contextmanager
def replayed_dev(run: Any, entries: Any, public: str | None = None) -> Iterator[Any]:
    """A real OpenBao holding the dev plan as planned, every entry with a value (the external one and dev's
    unset config ones filled as their owners would), ``VAULT_TOKEN`` set to its root token for the duration;
    yields the server (its ``address`` is for the command's explicit ``--endpoint``). ``public``: the PEM the
    auth mounts verify tokens with (``key_pair``), for a test that logs in as a service; a fresh one otherwise."""
    from tests.servers.openbao_server import running_openbao

    store = run.outputs["store"]
    with running_openbao() as bao:
        public = public or public_key()
        replay(
            bao.root_client(),
            run.resources,
            keys={store["auth_path"]: public, store["ci_auth_path"]: public},
            values={name: f"fake-value-{n}" for n, name in enumerate(entries)},
        )
        before = os.environ.get("VAULT_TOKEN")
        os.environ["VAULT_TOKEN"] = bao.root_token
        try:
            yield bao
        finally:
            if before is None:
                os.environ.pop("VAULT_TOKEN", None)
            else:
                os.environ["VAULT_TOKEN"] = before
