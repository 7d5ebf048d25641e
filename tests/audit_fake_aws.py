"""An AWS account as a stack's plan would leave it, behind the audit reader's interface, for fast audit tests.

``FakeAws.from_plan(declared)`` holds what ``platform_secrets.live.readers.aws.AwsReader`` would return after a ``pulumi
up`` of the plan: every entry (with its resource policy, replicas in sync, encrypted with the stack's key), every
role (its trust policy and inline policies, tags), and the stack's key aliases. As in a real account, the live key
ids are not the plan's (the offline plan's are the mock's): an alias names the key, and the entries are encrypted
with the key the alias targets. A test then drifts one thing and audits. The live tier on ministack
(``tests/audit/test_audit_aws.py``) exercises the real reader; this one exercises the judgement.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from platform_secrets.audit.declared import Declared
from platform_secrets.live.readers.aws import LiveRole, LiveSecret

SET_AT = datetime(2026, 11, 29, 12, tzinfo=UTC)
"""When the fake's values were written."""


def _document(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)


@dataclass
class FakeAws:
    account_id: str
    region: str
    secrets_by_name: dict[str, LiveSecret] = field(default_factory=dict)
    roles_by_name: dict[str, LiveRole] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    """Region -> {alias name: target key id}."""
    calls: list[str] = field(default_factory=list)

    @classmethod
    def from_plan(cls, declared: Declared) -> FakeAws:
        settings = declared.settings
        assert settings.aws is not None
        fake = cls(settings.aws.account_id, settings.aws.region)
        live_key = f"mrk-{uuid.uuid4().hex}"  # the real key's id: not the mock's
        for alias in declared.of_type("aws:kms/alias:Alias"):
            region = str(alias.inputs.get("region") or fake.region)
            fake.aliases.setdefault(region, {})[str(alias.inputs["name"])] = live_key
        policies = {
            r.inputs["secretArn"]: _document(r.inputs["policy"])
            for r in declared.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")
        }
        rotated = {
            r.inputs["secretId"]
            for r in declared.of_type("aws:secretsmanager/secretRotation:SecretRotation")
        }
        for r in declared.of_type("aws:secretsmanager/secret:Secret"):
            arn = str(r.outputs["arn"])
            replicas = [str(x["region"]) for x in r.inputs.get("replicas") or []]
            fake.secrets_by_name[r.inputs["name"]] = LiveSecret(
                name=str(r.inputs["name"]),
                arn=arn,
                tags=dict(r.inputs.get("tags") or {}),
                created=SET_AT,
                last_changed=SET_AT,
                last_rotated=None,
                current_created=SET_AT,
                has_current=True,
                deleted_on=None,
                replicas={region: "InSync" for region in replicas},
                replica_keys={
                    str(x["region"]): fake.key_arn(str(x["region"]), live_key)
                    for x in r.inputs.get("replicas") or []
                    if x.get("kmsKeyId")
                },
                kms_key_id=fake.key_arn(fake.region, live_key)
                if r.inputs.get("kmsKeyId")
                else None,
                policy=policies.get(arn),
                rotation_enabled=arn in rotated,
            )
        inline: dict[str, list[dict[str, Any]]] = {}
        for r in declared.of_type("aws:iam/rolePolicy:RolePolicy"):
            inline.setdefault(str(r.inputs["role"]).rsplit("/", 1)[-1], []).append(
                _document(r.inputs["policy"])
            )
        for r in declared.of_type("aws:iam/role:Role"):
            name = str(r.inputs["name"])
            fake.roles_by_name[name] = LiveRole(
                name=name,
                arn=str(r.outputs["arn"]),
                trust=_document(r.inputs["assumeRolePolicy"]),
                policies=tuple(inline.get(name, [])),
                tags=dict(r.inputs.get("tags") or {}),
            )
        return fake

    def key_arn(self, region: str, key_id: str) -> str:
        return f"arn:aws:kms:{region}:{self.account_id}:key/{key_id}"

    # --- drifts ---

    def set_trust(self, role: str, trust: dict[str, Any]) -> None:
        self.roles_by_name[role] = replace(self.roles_by_name[role], trust=trust)

    def set_policy(self, entry: str, policy: dict[str, Any] | None) -> None:
        self.secrets_by_name[entry] = replace(self.secrets_by_name[entry], policy=policy)

    def set_key(self, entry: str, key: str | None) -> None:
        self.secrets_by_name[entry] = replace(self.secrets_by_name[entry], kms_key_id=key)

    def add_role(self, name: str, trust: dict[str, Any], *policies: dict[str, Any]) -> str:
        arn = f"arn:aws:iam::{self.account_id}:role/{name}"
        self.roles_by_name[name] = LiveRole(name=name, arn=arn, trust=trust, policies=policies)
        return arn

    # --- the reader's interface ---

    def account(self) -> str:
        self.calls.append("account")
        return self.account_id

    def secrets(self, name_prefix: str) -> list[LiveSecret]:
        self.calls.append("secrets")
        return [s for n, s in sorted(self.secrets_by_name.items()) if n.startswith(name_prefix)]

    def roles(self, name_prefix: str, names: frozenset[str] = frozenset()) -> list[LiveRole]:
        self.calls.append("roles")
        return [
            r
            for n, r in sorted(self.roles_by_name.items())
            if n.startswith(name_prefix) or n in names
        ]

    def key_aliases(self, region: str | None = None) -> dict[str, str]:
        self.calls.append("key_aliases")
        return dict(self.aliases.get(region or self.region, {}))
