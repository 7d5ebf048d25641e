"""The engine-free run: ``__main__.py`` for one stack under Pulumi's mock engine, every registration recorded.

One harness, used by the plan command, the tests and the benchmark. It loads ``Pulumi.yaml`` and
``Pulumi.<stack>.yaml`` the way the CLI does (project-namespaced keys, project-level defaults, structured values
as JSON, ``secure:`` values present and secret without being decrypted), returns realistic ids and ARNs from the
mocks, and records each registration's inputs, dependencies and options.

It is not ``pulumi preview``: it diffs against no state and asks no provider.
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import json
import logging
import runpy
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from platform_secrets.model.documents import DocumentError, read_yaml
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
SECRET = "[secret]"
UNKNOWN = "[unknown]"
SECURE_PLACEHOLDER = "offline-placeholder-not-a-secret"
"""What a ``secure:`` value reads as offline: present, secret, never decrypted."""


@dataclass
class Registered:
    """One registered resource, as the engine would have received it."""

    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]
    """Inputs as the SDK serialised them; secret values keep the SDK's secret wrapper."""
    outputs: dict[str, Any]
    id: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    import_id: str
    provider: str
    aliases: list[str] = field(default_factory=list)
    custom: bool = True


@dataclass
class RunResult:
    """What one offline run registered and exported, or the error that stopped it."""

    stack: str
    preview: bool
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    error: Exception | None = None
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str, type_: str | None = None) -> Registered:
        matches = [r for r in self.resources if r.name == name and type_ in (None, r.type)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r} of type {type_!r}")
        return matches[0]


# --- config, the CLI's way ---


class StackConfigError(ValueError):
    """A stack file that cannot be read."""


def load_config(
    stack: str,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    *,
    origins: dict[str, str] | None = None,
    override_origins: Mapping[str, str] | None = None,
    secrets_origin: str = "the runner's secrets",
) -> tuple[str, dict[str, str], list[str]]:
    """Return (project, config map as the language host passes it, secret keys).

    ``overrides`` sets plain values and ``secrets`` secret values (short keys are project-namespaced), as
    ``pulumi config set [--secret]`` would, without touching the stack file. Both files are read strictly
    (``platform_secrets.model.documents``: duplicate keys, bad bytes and YAML errors named with file and line). When
    ``origins`` is given it is filled with where each key's value came from: ``Pulumi.yaml``, the stack file,
    ``override_origins[key]`` (default ``--config``) or ``secrets_origin``.
    """
    try:
        project_doc = read_yaml(root / "Pulumi.yaml") or {}
        project = project_doc["name"]
        stack_path = root / f"Pulumi.{stack}.yaml"
        if not stack_path.exists():
            raise StackConfigError(
                f"{stack_path.name} does not exist (stacks: {', '.join(stacks(root))})"
            )
        stack_doc = read_yaml(stack_path) or {}
    except DocumentError as error:
        raise StackConfigError(str(error)) from None
    except (KeyError, TypeError):
        raise StackConfigError(f"{root / 'Pulumi.yaml'}: has no project `name`") from None
    if not isinstance(stack_doc, dict) or not isinstance(stack_doc.get("config") or {}, dict):
        raise StackConfigError(f"{stack_path}: `config` is not a mapping of keys to values")

    def full(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    came_from: dict[str, str] = {}
    for key, spec in (project_doc.get("config") or {}).items():
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            value = spec.get("value", spec.get("default"))
        elif isinstance(spec, dict) and "type" in spec:
            continue
        else:
            value = spec
        config[full(key)] = _encode(value)
        came_from[full(key)] = "Pulumi.yaml"
    for key, value in (stack_doc.get("config") or {}).items():
        encoded, is_secret = _encode_stack_value(value)
        config[full(key)] = encoded
        came_from[full(key)] = stack_path.name
        if is_secret:
            secret_keys.append(full(key))
    for key, value in (overrides or {}).items():
        config[full(key)] = _encode(value)
        came_from[full(key)] = (override_origins or {}).get(key, "--config")
        if full(key) in secret_keys:
            secret_keys.remove(full(key))
    for key, value in (secrets or {}).items():
        config[full(key)] = _encode(value)
        came_from[full(key)] = secrets_origin
        secret_keys.append(full(key))
    if origins is not None:
        origins.update(came_from)
    return project, config, sorted(set(secret_keys))


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _encode_stack_value(value: Any) -> tuple[str, bool]:
    """A stack file value as the CLI passes it; ``secure:`` leaves read as a placeholder and mark it secret."""
    found = False

    def walk(node: Any) -> Any:
        nonlocal found
        if isinstance(node, dict):
            if set(node) == {"secure"}:
                found = True
                return SECURE_PLACEHOLDER
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    plain = walk(value)
    return _encode(plain), found


def stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


# --- mocks with realistic ids ---


def _digest(*parts: str, length: int = 32) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _suffix(name: str) -> str:
    """Secrets Manager's 6-character ARN suffix, deterministic here."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    raw = hashlib.sha256(name.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in raw[:6])


def _project_number(project: str) -> str:
    """A GCP project's number (12 digits), deterministic here."""
    return str(100000000000 + int(_digest("project-number", project), 16) % 900000000000)


class RealisticMocks(Mocks):
    """Echo inputs and add the ids and computed properties the real providers return."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}

    def _aws_context(self, args: MockResourceArgs) -> tuple[str, str]:
        provider_id = (args.provider or "").split("::")[-1]
        provider = self.providers.get(provider_id, {})
        region = args.inputs.get("region") or provider.get("region") or "us-east-1"
        accounts = provider.get("allowedAccountIds") or ["123456789012"]
        if isinstance(
            accounts, str
        ):  # provider inputs arrive JSON-encoded, as the engine passes them
            accounts = json.loads(accounts)
        return accounts[0], region

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        t = args.typ
        if t.startswith("pulumi:providers:"):
            provider_id = str(uuid.UUID(_digest(t, args.name)))
            self.providers[provider_id] = inputs
            return provider_id, inputs
        if t.startswith("aws:"):
            account, region = self._aws_context(args)
            return self._aws(t, args.name, inputs, account, region)
        if t.startswith("gcp:"):
            return self._gcp(t, args.name, inputs, self._provider_inputs(args))
        if t.startswith("azure-native:"):
            return self._azure(t, args.name, inputs, self._provider_inputs(args))
        if t.startswith("vault:"):
            return self._vault(t, args.name, inputs)
        if t.startswith("kubernetes:"):
            meta = dict(inputs.get("metadata") or {})
            meta.setdefault("uid", str(uuid.UUID(_digest(t, args.name))))
            ns = meta.get("namespace")
            name = meta.get("name", args.name)
            return (f"{ns}/{name}" if ns else name), {**inputs, "metadata": meta}
        if t == "random:index/randomPassword:RandomPassword":
            # A fixed, obviously fake value: never a real secret, and the program must keep it secret.
            fake = "mock-" + _digest(
                "random", args.name, json.dumps(inputs.get("keepers") or {}, sort_keys=True)
            )
            return args.name, {
                **inputs,
                "result": fake[: int(inputs.get("length", 32))],
                "bcryptHash": "$2a$10$mock",
            }
        return f"{args.name}-id", inputs

    def _aws(self, t: str, name: str, inputs: dict, account: str, region: str) -> tuple[str, dict]:
        if t == "aws:kms/key:Key":
            key_id = ("mrk-" if inputs.get("multiRegion") else "") + str(
                uuid.UUID(_digest(t, name))
            ).replace("-", "" if inputs.get("multiRegion") else "-")
            arn = f"arn:aws:kms:{region}:{account}:key/{key_id}"
            return key_id, {**inputs, "arn": arn, "keyId": key_id}
        if t == "aws:kms/replicaKey:ReplicaKey":
            primary = inputs["primaryKeyArn"]
            key_id = primary.split("/")[-1]
            arn = f"arn:aws:kms:{region}:{account}:key/{key_id}"
            return key_id, {**inputs, "arn": arn, "keyId": key_id}
        if t == "aws:kms/alias:Alias":
            return inputs["name"], {
                **inputs,
                "arn": f"arn:aws:kms:{region}:{account}:{inputs['name']}",
            }
        if t == "aws:secretsmanager/secret:Secret":
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{inputs['name']}-{_suffix(inputs['name'])}"
            return arn, {**inputs, "arn": arn}
        if t == "aws:secretsmanager/secretVersion:SecretVersion":
            version = str(uuid.UUID(_digest(t, name)))
            return f"{inputs['secretId']}|{version}", {
                **inputs,
                "arn": inputs["secretId"],
                "versionId": version,
            }
        if t == "aws:secretsmanager/secretPolicy:SecretPolicy":
            return inputs["secretArn"], inputs
        if t == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{account}:role/{inputs['name']}"
            unique = "AROA" + _digest(t, name, length=17).upper()
            return inputs["name"], {**inputs, "arn": arn, "uniqueId": unique, "path": "/"}
        if t == "aws:iam/rolePolicy:RolePolicy":
            return f"{inputs['role']}:{inputs.get('name', name)}", inputs
        if t == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = inputs["url"].removeprefix("https://")
            arn = f"arn:aws:iam::{account}:oidc-provider/{host}"
            return arn, {**inputs, "arn": arn}
        return f"{name}-{_digest(t, name, length=8)}", inputs

    def _provider_inputs(self, args: MockResourceArgs) -> dict[str, Any]:
        return self.providers.get((args.provider or "").split("::")[-1], {})

    def _gcp(self, t: str, name: str, inputs: dict, provider: dict) -> tuple[str, dict]:
        """GCP ids as the provider returns them: ``projects/<project>/...``; names with the project number."""
        project = inputs.get("project") or provider.get("project") or "mock-project"
        number = _project_number(project)
        if t == "gcp:secretmanager/secret:Secret":
            secret = inputs["secretId"]
            return f"projects/{project}/secrets/{secret}", {
                **inputs,
                "project": project,
                "name": f"projects/{number}/secrets/{secret}",
                "createTime": "2026-01-01T00:00:00Z",
            }
        if t == "gcp:secretmanager/secretVersion:SecretVersion":
            parent = str(inputs["secret"]).split("/")
            version = f"projects/{_project_number(parent[1])}/secrets/{parent[-1]}/versions/1"
            return version, {**inputs, "name": version, "version": "1"}
        if t == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            resource = f"projects/{project}/serviceAccounts/{email}"
            return resource, {
                **inputs,
                "project": project,
                "email": email,
                "name": resource,
                "member": f"serviceAccount:{email}",
                "uniqueId": str(int(_digest(t, email), 16))[:21],
            }
        if t == "gcp:projects/serviceIdentity:ServiceIdentity":
            agent = inputs["service"].split(".")[0]
            email = f"service-{number}@gcp-sa-{agent}.iam.gserviceaccount.com"
            return f"projects/{project}/services/{inputs['service']}", {
                **inputs,
                "project": project,
                "email": email,
                "member": f"serviceAccount:{email}",
            }
        if t == "gcp:kms/keyRing:KeyRing":
            ring = f"projects/{project}/locations/{inputs['location']}/keyRings/{inputs['name']}"
            return ring, {**inputs, "project": project}
        if t == "gcp:kms/cryptoKey:CryptoKey":
            return f"{inputs['keyRing']}/cryptoKeys/{inputs['name']}", inputs
        if t == "gcp:pubsub/topic:Topic":
            return f"projects/{project}/topics/{inputs['name']}", {**inputs, "project": project}
        if t.endswith(("IamMember", "IAMMember")):
            target = next(
                inputs[key]
                for key in ("secretId", "serviceAccountId", "cryptoKeyId", "topic", "project")
                if key in inputs
            )
            member_id = f"{target}/{inputs['role']}/{inputs['member']}"
            return member_id, {**inputs, "etag": "BwY" + _digest(t, member_id, length=9)}
        return f"{name}-{_digest(t, name, length=8)}", inputs

    def _azure(self, t: str, name: str, inputs: dict, provider: dict) -> tuple[str, dict]:
        """ARM ids as Azure returns them; principal and client ids are UUIDs derived from the ARM id."""
        subscription = provider.get("subscriptionId") or "00000000-0000-0000-0000-000000000000"
        group = f"/subscriptions/{subscription}/resourceGroups/{inputs.get('resourceGroupName')}"
        if t == "azure-native:keyvault:Vault":
            vault = inputs["vaultName"]
            properties = {**inputs["properties"], "vaultUri": f"https://{vault}.vault.azure.net/"}
            return f"{group}/providers/Microsoft.KeyVault/vaults/{vault}", {
                **inputs,
                "name": vault,
                "type": "Microsoft.KeyVault/vaults",
                "properties": properties,
            }
        if t == "azure-native:keyvault:Secret":
            vault, secret = inputs["vaultName"], inputs["secretName"]
            uri = f"https://{vault}.vault.azure.net/secrets/{secret}"
            # ARM never returns a secret's value (the input arrives wrapped as secret when it has one).
            given = rpc.unwrap_rpc_secret(inputs.get("properties") or {})
            properties = {k: v for k, v in given.items() if k != "value"}
            properties |= {"secretUri": uri, "secretUriWithVersion": f"{uri}/{_digest(t, name)}"}
            return f"{group}/providers/Microsoft.KeyVault/vaults/{vault}/secrets/{secret}", {
                **inputs,
                "name": secret,
                "type": "Microsoft.KeyVault/vaults/secrets",
                "properties": properties,
            }
        if t == "azure-native:managedidentity:UserAssignedIdentity":
            identity = inputs["resourceName"]
            resource = (
                f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}"
            )
            return resource, {
                **inputs,
                "name": identity,
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "principalId": str(uuid.UUID(_digest("principal", resource))),
                "clientId": str(uuid.UUID(_digest("client", resource))),
                "tenantId": provider.get("tenantId") or "00000000-0000-0000-0000-000000000000",
            }
        if t == "azure-native:managedidentity:FederatedIdentityCredential":
            credential = inputs["federatedIdentityCredentialResourceName"]
            identity = (
                f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                f"{inputs['resourceName']}"
            )
            return f"{identity}/federatedIdentityCredentials/{credential}", {
                **inputs,
                "name": credential,
            }
        if t == "azure-native:authorization:RoleAssignment":
            assignment = inputs.get("roleAssignmentName") or str(uuid.UUID(_digest(t, name)))
            return (
                f"{inputs['scope']}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
                {
                    **inputs,
                    "name": assignment,
                    "type": "Microsoft.Authorization/roleAssignments",
                },
            )
        return f"{name}-{_digest(t, name, length=8)}", inputs

    def _vault(self, t: str, name: str, inputs: dict) -> tuple[str, dict]:
        """Vault ids as the provider sets them: paths (``<mount>/data/<name>``, ``auth/<path>/role/<name>``)."""
        if t == "vault:index/mount:Mount":
            accessor = f"{inputs['type']}_{_digest(t, inputs['path'], length=8)}"
            return inputs["path"], {**inputs, "accessor": accessor}
        if t == "vault:kv/secretBackendV2:SecretBackendV2":
            return f"{inputs['mount']}/config", inputs
        if t == "vault:kv/secretV2:SecretV2":
            path = f"{inputs['mount']}/data/{inputs['name']}"
            # The provider never returns the value in outputs the plan records (``data`` is dropped here).
            return path, {
                **inputs,
                "path": path,
                "metadata": {"version": "1", "created_time": "2026-01-01T00:00:00Z"},
            }
        if t == "vault:generic/endpoint:Endpoint":
            return inputs["path"], inputs
        if t == "vault:index/policy:Policy":
            return inputs["name"], inputs
        if t == "vault:jwt/authBackend:AuthBackend":
            path = inputs.get("path") or "jwt"
            return path, {
                **inputs,
                "path": path,
                "accessor": f"auth_jwt_{_digest(t, path, length=8)}",
            }
        if t == "vault:jwt/authBackendRole:AuthBackendRole":
            backend = inputs.get("backend") or "jwt"
            return f"auth/{backend}/role/{inputs['roleName']}", {**inputs, "backend": backend}
        return f"{name}-{_digest(t, name, length=8)}", inputs

    def call(self, args: MockCallArgs) -> dict:  # type: ignore[override]
        provider = self.providers.get((args.provider or "").split("::")[-1], {})
        accounts = provider.get("allowedAccountIds") or '["123456789012"]'
        account = (json.loads(accounts) if isinstance(accounts, str) else accounts)[0]
        region = args.args.get("region") or provider.get("region") or "us-east-1"
        if args.token == "aws:secretsmanager/getSecret:getSecret":
            name = args.args["name"]
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-{_suffix(name)}"
            return {"arn": arn, "id": arn, "name": name}
        if args.token == "aws:kms/getAlias:getAlias":
            key_id = "mrk-" + _digest("alias", args.args["name"])
            return {
                "name": args.args["name"],
                "targetKeyId": key_id,
                "targetKeyArn": f"arn:aws:kms:{region}:{account}:key/{key_id}",
                "arn": f"arn:aws:kms:{region}:{account}:{args.args['name']}",
            }
        return {}


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also keeps what the real engine would see: dependencies and resource options."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        reg = self.resources[response.urn]
        self.registered.append(
            Registered(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                outputs=dict(reg.state),
                id=reg.id,
                dependencies=list(request.dependencies),
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                import_id=request.importId,
                provider=request.provider,
                aliases=[str(alias) for alias in request.aliasURNs],
                custom=bool(request.custom),
            )
        )
        return response


async def _resolve(value: Any) -> tuple[Any, bool, bool]:
    """(plain value, whether every part is known, whether any part is secret) of an export.

    What ``Output.from_input(value)`` would give, without wrapping every nested dict and list of a large
    export in new Outputs (which made collecting the exports a visible part of a run).
    """
    if isinstance(value, pulumi.Output):
        inner, known, secret = await _resolve(await value.future(with_unknowns=True))
        return inner, known and await value.is_known(), secret or await value.is_secret()
    if isinstance(value, dict):
        parts = {key: await _resolve(item) for key, item in value.items()}
        return (
            {key: part[0] for key, part in parts.items()},
            all(part[1] for part in parts.values()),
            any(part[2] for part in parts.values()),
        )
    if isinstance(value, (list, tuple)):
        items = [await _resolve(item) for item in value]
        return [i[0] for i in items], all(i[1] for i in items), any(i[2] for i in items)
    if inspect.isawaitable(value):
        return await _resolve(await value)
    return value, True, False


class _CaptureHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def run(
    stack: str,
    *,
    preview: bool = False,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    raise_errors: bool = False,
    override_origins: Mapping[str, str] | None = None,
    secrets_origin: str = "the runner's secrets",
    config_root: Path | None = None,
) -> RunResult:
    """Run ``__main__.py`` of ``root`` for ``stack`` under the mock engine and return what it registered.

    ``config_root``: read ``Pulumi.yaml`` and the stack file from there instead (data only: the code run is
    ``root``'s), e.g. a pull request's files planned by the base branch's code.

    The program is told where each config value came from (``override_origins``: a label per override key,
    ``--config`` by default; ``secrets_origin`` for ``secrets``), so that its messages blame the right input.
    """
    # The program's own loader, imported with the program rather than with this module.
    from platform_secrets.program.stack import config_origins

    origins: dict[str, str] = {}
    project, config, secret_keys = load_config(
        stack,
        config_root or root,
        overrides,
        secrets,
        origins=origins,
        override_origins=override_origins,
        secrets_origin=secrets_origin,
    )
    mocks = RealisticMocks()
    monitor = RecordingMonitor(mocks)
    logger = logging.getLogger(f"platform-secrets.offline.{stack}")
    captured = _CaptureHandler()
    logger.addHandler(captured)
    logger.propagate = False
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger
    )
    pulumi.runtime.set_all_config(config, secret_keys)
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()
    error: Exception | None = None

    @pulumi.runtime.test
    def program() -> Any:
        sys.path.insert(0, str(root))
        try:
            with config_origins(origins):
                runpy.run_path(str(root / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(root))
        stack_outputs = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]

        async def collect() -> None:
            # After every registration: each export's value, and whether Pulumi would store it secret.
            for name, value in stack_outputs.items():
                resolved, known, secret = await _resolve(value)
                outputs[name] = resolved if known else None
                if secret:
                    secret_outputs.add(name)

        return collect()

    # A run only allocates: every registration leaves objects that live until it ends. CPython's cyclic
    # collector would rescan that growing heap again and again, a cost that grows faster than the catalog
    # (measured: a third of a run's time, the SDK floor's included, and part of why time grew more than
    # tenfold from 100 to 1000 services). It is paused for the run and restored after; reference counting
    # still frees everything acyclic, and the cycles a run leaves are collected once it returns.
    collecting = gc.isenabled()
    gc.disable()
    try:
        program()
    except Exception as exc:  # the program's own error, e.g. a RunError naming every problem
        if raise_errors:
            raise
        error = exc
    finally:
        logger.removeHandler(captured)
        if collecting:
            gc.enable()
    return RunResult(
        stack=stack,
        preview=preview,
        resources=list(monitor.registered),
        outputs=outputs,
        secret_outputs=secret_outputs,
        error=error,
        warnings=captured.messages,
    )


# --- redaction for artifacts ---


def redact(value: Any) -> Any:
    """Inputs with secrets replaced by ``[secret]`` and unknowns by ``[unknown]``; nothing else changes."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def stub_secrets(
    stack: str, overrides: dict[str, Any] | None = None, root: Path = ROOT
) -> dict[str, str]:
    """A placeholder for each config-sourced secret of the catalog that the stack does not set.

    A catalog that does not validate gives none: the program then names its problems with every other one.
    """
    from platform_secrets.model.catalog import (
        SHARED_OWNER,
        CatalogError,
        SharedRef,
        Source,
        load_catalog,
    )

    project, config, _ = load_config(stack, root, overrides)
    try:
        catalog = load_catalog(root / config.get(f"{project}:catalog", "catalog.yaml"))
    except CatalogError:
        return {}
    declared = [(SHARED_OWNER, key, spec) for key, spec in catalog.shared.items()]
    for name, service in catalog.services.items():
        declared += [
            (name, key, spec)
            for key, spec in service.secrets.items()
            if not isinstance(spec, SharedRef)
        ]
    return {
        f"{owner}.{key}": SECURE_PLACEHOLDER
        for owner, key, spec in declared
        if spec.source is Source.CONFIG and f"{project}:{owner}.{key}" not in config
    }
