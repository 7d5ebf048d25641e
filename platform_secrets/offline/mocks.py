"""The mock engine's side of the offline run: realistic ids, ARNs and outputs, and every registration recorded."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from platform_secrets.offline.registered import Registered

STACK_REFERENCE = "pulumi:pulumi:StackReference"


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

    def __init__(self, stack_references: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.providers: dict[str, dict[str, Any]] = {}
        self.stack_references = dict(stack_references or {})
        """Qualified stack name -> its planned outputs, served to a ``pulumi.StackReference``."""

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
        if t == STACK_REFERENCE:
            target = str(args.resource_id or inputs.get("name"))
            if target not in self.stack_references:
                # Never a silent None: a shard planned without its foundation's plan would read nothing.
                raise KeyError(
                    f"stack reference {target} has not been planned (planned: "
                    f"{', '.join(sorted(self.stack_references)) or 'none'}): a shard is planned with its "
                    "environment, `platform-secrets plan --environment ENV`"
                )
            outputs = dict(self.stack_references[target])
            return target, {"name": target, "outputs": outputs, "secretOutputNames": []}
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
