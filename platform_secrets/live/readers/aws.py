"""AWS, read-only: Secrets Manager entries' metadata and resource policies, IAM roles' documents (trust
policies included), and the KMS aliases that name the stack's key.

Uses the caller's credentials (boto3's default chain: environment, profile, SSO, instance role) and
``AWS_ENDPOINT_URL`` when set. Every client refuses, at botocore's ``before-call`` hook, any operation outside
``ALLOWED``: the value reads (``GetSecretValue``, ``BatchGetSecretValue``) can never leave this module. The IAM
permissions a read-only audit role needs are exactly the actions of ``ALLOWED`` (``docs/ci.md``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import boto3

from platform_secrets.live.aws_session import new_session
from platform_secrets.live.readers import ValueReadRefused

ALLOWED: dict[str, frozenset[str]] = {
    "secretsmanager": frozenset(
        {"ListSecrets", "DescribeSecret", "ListSecretVersionIds", "GetResourcePolicy"}
    ),
    "iam": frozenset(
        {
            "ListRoles",
            "ListRoleTags",
            "ListRolePolicies",
            "GetRolePolicy",
            "ListAttachedRolePolicies",
            "GetPolicy",
            "GetPolicyVersion",
        }
    ),
    "kms": frozenset({"ListAliases"}),
    "sts": frozenset({"GetCallerIdentity"}),
}
"""Every operation the audit calls on AWS: list, describe, get-policy. Nothing else is sent."""
VALUE_READS = frozenset({"GetSecretValue", "BatchGetSecretValue"})
"""Secrets Manager's operations that return a value: never in ``ALLOWED``."""
CURRENT = "AWSCURRENT"


@dataclass(frozen=True)
class LiveSecret:
    """One Secrets Manager entry's metadata, as DescribeSecret and ListSecretVersionIds give it."""

    name: str
    arn: str
    tags: dict[str, str]
    created: datetime | None
    last_changed: datetime | None
    last_rotated: datetime | None
    current_created: datetime | None
    """When the ``AWSCURRENT`` version was created: the age of the value in use."""
    has_current: bool
    deleted_on: datetime | None
    """When a scheduled deletion takes effect (the entry is unreadable meanwhile)."""
    replicas: dict[str, str]
    """Replica region -> replication status."""
    kms_key_id: str | None
    policy: dict[str, Any] | None
    rotation_enabled: bool
    replica_keys: dict[str, str | None] = field(default_factory=dict)
    """Replica region -> the KMS key its copy is encrypted with (None: the AWS managed key)."""
    current_version: str | None = None
    """The VersionId of the ``AWSCURRENT`` version (DescribeSecret's VersionIdsToStages)."""
    previous_version: str | None = None
    """The VersionId staged ``AWSPREVIOUS`` (what an ExternalSecret's ``version: AWSPREVIOUS`` reads)."""


@dataclass(frozen=True)
class LiveRole:
    """One IAM role: its trust policy, every identity policy it holds (inline and attached), its tags."""

    name: str
    arn: str
    trust: dict[str, Any]
    policies: tuple[dict[str, Any], ...]
    tags: dict[str, str] = field(default_factory=dict)


def _guard(service: str) -> Any:
    allowed = ALLOWED[service]

    def before_call(model: Any, **_: Any) -> None:
        if model.name not in allowed:
            raise ValueReadRefused(
                f"the audit never calls {service}:{model.name} (read-only: {sorted(allowed)})"
            )

    return before_call


class AwsReader:
    """The stack's region of the caller's account, read through guarded boto3 clients."""

    def __init__(
        self, region: str, session: boto3.Session | None = None, endpoint_url: str | None = None
    ) -> None:
        self._session = session or new_session()
        self.region = region
        # An explicit address (an emulator): every service's client goes there, as boto3's own
        # AWS_ENDPOINT_URL would send them; otherwise each service's public regional endpoint.
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._regional: dict[tuple[str, str], Any] = {}
        for service in ALLOWED:
            self._clients[service] = self._client(service, region)

    def _client(self, service: str, region: str) -> Any:
        """A guarded client of ``service`` in ``region`` (made once)."""
        if (service, region) not in self._regional:
            client = self._session.client(
                service, region_name=region, endpoint_url=self._endpoint_url
            )
            client.meta.events.register(f"before-call.{service}", _guard(service))
            self._regional[(service, region)] = client
        return self._regional[(service, region)]

    def account(self) -> str:
        return str(self._clients["sts"].get_caller_identity()["Account"])

    def secrets(self, name_prefix: str) -> list[LiveSecret]:
        """Every entry whose name starts with ``name_prefix``, deleted-but-recoverable ones included."""
        sm = self._clients["secretsmanager"]
        found = []
        for listed in _pages(
            sm,
            "list_secrets",
            "SecretList",
            Filters=[{"Key": "name", "Values": [name_prefix]}],
            IncludePlannedDeletion=True,
        ):
            if not str(listed["Name"]).startswith(name_prefix):  # the API's filter ignores case
                continue
            arn = listed["ARN"]
            described = sm.describe_secret(SecretId=arn)
            stages = described.get("VersionIdsToStages") or {}
            current = [v for v, s in stages.items() if CURRENT in s]
            current_created = None
            if current:
                for version in _pages(
                    sm, "list_secret_version_ids", "Versions", SecretId=arn, IncludeDeprecated=False
                ):
                    if version["VersionId"] == current[0]:
                        current_created = version.get("CreatedDate")
            policy = sm.get_resource_policy(SecretId=arn).get("ResourcePolicy")
            found.append(
                LiveSecret(
                    name=str(described["Name"]),
                    arn=str(arn),
                    tags={t["Key"]: t["Value"] for t in described.get("Tags") or []},
                    created=described.get("CreatedDate"),
                    last_changed=described.get("LastChangedDate"),
                    last_rotated=described.get("LastRotatedDate"),
                    current_created=current_created,
                    has_current=bool(current),
                    deleted_on=described.get("DeletedDate"),
                    replicas={
                        r["Region"]: str(r.get("Status", ""))
                        for r in described.get("ReplicationStatus") or []
                    },
                    kms_key_id=described.get("KmsKeyId"),
                    policy=_parse(policy) if policy else None,
                    rotation_enabled=bool(described.get("RotationEnabled")),
                    replica_keys={
                        r["Region"]: r.get("KmsKeyId")
                        for r in described.get("ReplicationStatus") or []
                    },
                    current_version=str(current[0]) if current else None,
                    previous_version=next(
                        (str(v) for v, s in stages.items() if "AWSPREVIOUS" in s), None
                    ),
                )
            )
        return sorted(found, key=lambda s: s.name)

    def key_aliases(self, region: str | None = None) -> dict[str, str]:
        """Alias name -> the id of the key it targets, in ``region`` (the stack's by default)."""
        kms = self._client("kms", region or self.region)
        return {
            str(a["AliasName"]): str(a["TargetKeyId"])
            for a in _pages(kms, "list_aliases", "Aliases")
            if a.get("TargetKeyId")
        }

    def roles(self, name_prefix: str, names: frozenset[str] = frozenset()) -> list[LiveRole]:
        """Every role whose name starts with ``name_prefix`` or is one of ``names``, with all its
        identity policies and its trust policy (``ListRoles`` returns it, URL-encoded JSON that
        botocore decodes)."""
        iam = self._clients["iam"]
        found = []
        for role in _pages(iam, "list_roles", "Roles"):
            name = str(role["RoleName"])
            if not name.startswith(name_prefix) and name not in names:
                continue
            documents = [
                _parse(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
                for policy in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
            ]
            for attached in _pages(
                iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name
            ):
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )["PolicyVersion"]
                documents.append(_parse(version["Document"]))
            tags = {
                t["Key"]: t["Value"] for t in _pages(iam, "list_role_tags", "Tags", RoleName=name)
            }
            found.append(
                LiveRole(
                    name=name,
                    arn=str(role["Arn"]),
                    trust=_parse(role["AssumeRolePolicyDocument"]),
                    policies=tuple(documents),
                    tags=tags,
                )
            )
        return sorted(found, key=lambda r: r.name)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a listing, page after page (botocore's paginator where it has one)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key) or []
        return
    while True:
        page = getattr(client, operation)(**kwargs)
        yield from page.get(key) or []
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def _parse(document: Any) -> dict[str, Any]:
    """A policy document as a dict (boto3 gives IAM's URL-decoded JSON as a dict, Secrets Manager's as text)."""
    if isinstance(document, dict):
        return document
    text = str(document)
    parsed = json.loads(text if text.lstrip().startswith("{") else unquote(text))
    return dict(parsed)
