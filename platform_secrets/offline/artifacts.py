"""The offline plan's artifacts, as DESIGN.md specifies them, written from one run's registrations.

- ``resources.json``: every registered resource (inputs with secrets as ``[secret]``);
- ``access.json``: who reads which entries, derived from the registrations (``platform_secrets.access.matrix``);
- ``k8s/*.yaml``: one Kubernetes object per file, as it would be applied, Secret data redacted;
- ``iam/*.json``: every IAM document, ``<owner>.<kind>.json``; on AWS also ``organization.scp.json``, the
  organisation guard (an SCP) the operator attaches to the account;
- ``arns.json``: the plan's ARNs by name (for replaying the documents on another API).

Deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from platform_secrets.access import matrix as access
from platform_secrets.offline.runner import Registered, RunResult, redact

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's dumper when PyYAML has it: the same bytes as ``yaml.safe_dump``, several times faster."""

# (resource type, input holding a document, suffix of the logical name, kind of document)
IAM_DOCUMENTS = (
    ("aws:iam/role:Role", "assumeRolePolicy", "-role", "trust"),
    ("aws:iam/rolePolicy:RolePolicy", "policy", "-read-secrets", "identity"),
    ("aws:secretsmanager/secretPolicy:SecretPolicy", "policy", "-policy", "resource"),
    ("aws:kms/key:Key", "policy", "secrets-key", "key-policy"),
    ("aws:kms/replicaKey:ReplicaKey", "policy", "secrets-key-replica", "key-policy"),
)
KEY_OWNERS = {"secrets-key": "environment", "secrets-key-replica": "environment-replica"}

# GCP and Azure grant access with resources rather than documents: the grants of one kind that one component
# registers (its owner: the service, or `environment` for the shared pieces) are written as one document.
# (resource type, kind of document, inputs that make up one grant)
GRANT_DOCUMENTS = (
    ("gcp:secretmanager/secretIamMember:SecretIamMember", "secret-access", ("secretId",)),
    ("gcp:serviceaccount/iAMMember:IAMMember", "service-account-iam", ("serviceAccountId",)),
    ("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "key-iam", ("cryptoKeyId",)),
    ("gcp:pubsub/topicIAMMember:TopicIAMMember", "topic-iam", ("topic",)),
    (
        "azure-native:authorization:RoleAssignment",
        "role-assignments",
        ("scope", "roleDefinitionId", "principalId", "principalType", "roleAssignmentName"),
    ),
    (
        "azure-native:managedidentity:FederatedIdentityCredential",
        "federated-credentials",
        (
            "resourceName",
            "federatedIdentityCredentialResourceName",
            "issuer",
            "subject",
            "audiences",
        ),
    ),
    # Vault: the policies (HCL, as `vault policy read` prints it), the JWT roles that carry them, the auth mounts.
    ("vault:index/policy:Policy", "vault-policy", ("name", "policy")),
    (
        "vault:jwt/authBackendRole:AuthBackendRole",
        "vault-role",
        (
            "backend",
            "roleName",
            "roleType",
            "userClaim",
            "boundSubject",
            "boundAudiences",
            "boundClaims",
            "boundClaimsType",
            "tokenPolicies",
            "tokenNoDefaultPolicy",
            "tokenType",
            "tokenTtl",
            "tokenMaxTtl",
        ),
    ),
    (
        "vault:jwt/authBackend:AuthBackend",
        "vault-auth",
        ("path", "type", "boundIssuer", "oidcDiscoveryUrl", "jwtValidationPubkeys"),
    ),
)
GCP_GRANT_FIELDS = ("role", "member")
SHARED_COMPONENT = "shared"


def resource_record(r: Registered) -> dict[str, Any]:
    return {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent,
        "inputs": redact(r.inputs),
        "dependencies": sorted(r.dependencies),
        "protect": r.protect,
        "retain_on_delete": r.retain_on_delete,
        "import_id": r.import_id,
    }


def kubernetes_objects(result: RunResult) -> dict[str, dict[str, Any]]:
    """File name -> object, for every Kubernetes object registered."""
    objects = {}
    for r in result.resources:
        if not r.type.startswith("kubernetes:") or not r.custom:
            continue
        obj = redact(r.inputs)
        meta = obj.get("metadata", {})
        ns = meta.get("namespace", "_cluster")
        filename = f"{ns}.{obj['kind'].lower()}.{meta.get('name', r.name)}.yaml"
        ordered = {"apiVersion": obj.pop("apiVersion"), "kind": obj.pop("kind"), **obj}
        objects[filename] = ordered
    return dict(sorted(objects.items()))


def iam_documents(result: RunResult) -> dict[str, Any]:
    """File name -> parsed IAM document."""
    docs = {}
    for r in result.resources:
        for type_, field, suffix, kind in IAM_DOCUMENTS:
            if r.type != type_ or field not in r.inputs:
                continue
            owner = KEY_OWNERS.get(r.name) or r.name.removesuffix(suffix)
            docs[f"{owner}.{kind}.json"] = json.loads(r.inputs[field])
    docs.update(grant_documents(result))
    return dict(sorted(docs.items()))


def grant_documents(result: RunResult) -> dict[str, Any]:
    """File name -> ``{"grants": [...]}`` for the GCP IAM members and Azure assignments and credentials."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in result.resources:
        for type_, kind, fields in GRANT_DOCUMENTS:
            if r.type != type_:
                continue
            component = r.parent.rsplit("::", 1)[-1]
            owner = "environment" if component == SHARED_COMPONENT else component
            keys = fields + (GCP_GRANT_FIELDS if type_.startswith("gcp:") else ())
            grant = {key: redact(r.inputs[key]) for key in keys if key in r.inputs}
            grouped.setdefault(f"{owner}.{kind}.json", []).append(grant)
    return {
        name: {"grants": sorted(grants, key=lambda g: json.dumps(g, sort_keys=True))}
        for name, grants in grouped.items()
    }


def arns(result: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {"secrets": {}, "roles": {}}
    for r in result.resources:
        if r.type == "aws:secretsmanager/secret:Secret":
            out["secrets"][r.inputs["name"]] = r.outputs["arn"]
        elif r.type == "aws:iam/role:Role":
            out["roles"][r.inputs["name"]] = r.outputs["arn"]
        elif r.type == "aws:kms/key:Key":
            out["kms_key"] = r.outputs["arn"]
            out["account_id"] = r.outputs["arn"].split(":")[4]
            out["region"] = r.outputs["arn"].split(":")[3]
        elif r.type == "aws:kms/replicaKey:ReplicaKey":
            out["replica_kms_key"] = r.outputs["arn"]
    if "account_id" in out:
        roles = [
            json.loads(r.inputs["assumeRolePolicy"]) for r in result.of_type("aws:iam/role:Role")
        ]
        for doc in roles:
            for st in doc["Statement"]:
                federated = st.get("Principal", {}).get("Federated")
                if federated:
                    out["oidc_provider"] = federated
    return out


def _dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


class NotAPlanError(ValueError):
    """A folder that holds something other than a plan's artifacts: it is never emptied."""


def clear(out: Path) -> None:
    """Remove an earlier plan's artifacts from ``out``; refuse a folder that is not a plan's."""
    if not out.exists():
        return
    plan = any((out / name).is_file() for name in ("resources.json", PARTIAL))
    if not out.is_dir() or (any(out.iterdir()) and not plan):
        raise NotAPlanError(
            f"{out} exists and holds no plan (no resources.json): refusing to empty it; "
            "choose another --out"
        )
    shutil.rmtree(out)


PARTIAL = "partial.json"
"""What a part of an environment's plan (``plan --environment E --shard S``) writes at its top instead of the
union: the environment and the stacks planned. No union and no access matrix: they need every stack."""


def write_partial(out: Path, environment: str, stacks: list[str]) -> None:
    _dump_json(out / PARTIAL, {"environment": environment, "stacks": stacks})


def write(result: RunResult, out: Path) -> dict[str, Any]:
    """Write every artifact into ``out`` (emptied first); return the access matrix."""
    clear(out)
    (out / "k8s").mkdir(parents=True)
    (out / "iam").mkdir()
    records = sorted((resource_record(r) for r in result.resources), key=lambda rec: rec["urn"])
    _dump_json(out / "resources.json", records)
    matrix = access.derive(result.resources)
    _dump_json(out / "access.json", matrix)
    for filename, obj in kubernetes_objects(result).items():
        (out / "k8s" / filename).write_text(yaml.dump(obj, Dumper=_DUMPER, sort_keys=False))
    for filename, doc in iam_documents(result).items():
        _dump_json(out / "iam" / filename, doc)
    _dump_json(out / "arns.json", arns(result))
    guard = (result.outputs.get("store") or {}).get("organization_guard_scp")
    if guard:  # AWS: the SCP the operator attaches to the account (README, "AWS")
        _dump_json(out / "iam" / "organization.scp.json", guard)
    return matrix
