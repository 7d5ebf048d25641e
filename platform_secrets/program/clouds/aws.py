"""AWS: Secrets Manager entries under a customer-managed KMS key, one IRSA role per service.

- one multi-region KMS key per environment (rotation on; a replica in the DR region when configured);
- one Secrets Manager entry per secret, with a resource policy that denies every principal but its readers and
  the admin roles (``block_public_policy`` on), replicated to the DR region when configured;
- one IAM role per service, assumable only by its ServiceAccount through the cluster's OIDC provider, with an
  inline policy that reads exactly its entries and decrypts only through Secrets Manager.

Over 400 lines because one adapter is one room (STYLE rule 2): key, entries, replicas, roles and tooling share the adapter's naming and adoption; the documents themselves are pure builders in ``aws_policies``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws

from platform_secrets.model.settings import AwsSettings
from platform_secrets.model.stack_model import Entry, Service, StackModel
from platform_secrets.program.clouds import aws_policies as policies
from platform_secrets.program.clouds.aws_roles import own_role_problems
from platform_secrets.program.clouds.base import CloudAdapter, Foundation, Identity, StoredEntry

TOOLING_ROLE = re.compile(
    r"arn:aws:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)"
)
ROLE_NAME_MAX = 64
SECRET_NAME_MAX = 512
INLINE_POLICIES_MAX = 10_240
"""Characters of all a role's inline policies together, whitespace excluded (IAM's quota)."""
TAG_VALUE_MAX = 256
"""An entry's ``platform-secrets/key`` tag holds the env var key: a longer key cannot be tagged."""

PREVIOUS_STAGE = "AWSPREVIOUS"
"""The stage Secrets Manager gives the value a new current one replaced."""


class AwsAdapter(CloudAdapter):
    """Secrets Manager + KMS + IRSA."""

    def __init__(self, model: StackModel) -> None:
        super().__init__(model)
        assert model.settings.aws is not None  # Settings checks it
        self.aws: AwsSettings = model.settings.aws
        self.key: aws.kms.Key | None = None
        self.replica_key: aws.kms.ReplicaKey | None = None
        self._key_arn: pulumi.Output[str] | None = None
        """The secrets key's ARN: this stack's key, or in a shard the foundation's (``attach_foundation``)."""
        self._replica_key_arn: pulumi.Output[str] | None = None
        self._provider: aws.Provider | None = None

    # --- names (pure, deterministic: a fresh stack re-creates the same ones) ---

    @staticmethod
    def role_name(settings: Any, service: str) -> str:
        return f"{settings.name_prefix}-{settings.environment.value}-{service}"

    def entry_name(self, entry: Entry) -> str:
        return _entry_name(self.settings, entry)

    def role_arn(self, service: str) -> str:
        return policies.role_arn(self.aws.account_id, self.role_name(self.settings, service))

    @property
    def regions(self) -> list[str]:
        return [self.aws.region] + ([self.aws.replica_region] if self.aws.replica_region else [])

    @staticmethod
    def problems(model: StackModel) -> list[str]:
        problems = []
        for service in model.services:
            name = AwsAdapter.role_name(model.settings, service.name)
            if len(name) > ROLE_NAME_MAX:
                problems.append(
                    f"services.{service.name}: IAM role name {name!r} exceeds 64 characters"
                )
        problems += AwsAdapter.limit_problems(model)
        if model.settings.aws is not None and not model.settings.aws.admin_role_arns:
            problems.append(
                "aws.adminRoleArns: empty; name at least the role that runs `pulumi up` (it administers the "
                "KMS key and the entries, and AWS refuses a key policy that locks its caller out)"
            )
        problems += AwsAdapter.tooling_problems(model)
        problems += AwsAdapter.audit_problems(model)
        if model.settings.aws is not None:
            problems += [
                problem
                for principal in model.settings.aws.admin_role_arns
                for problem in own_role_problems(
                    f"aws.adminRoleArns: {principal!r}", principal, model.settings
                )
            ]
        return problems

    @staticmethod
    def audit_problems(model: StackModel) -> list[str]:
        """Audit roles that would read more than metadata: a workload role of this stack (its pods would
        gain the exemption), a role of another account, an admin role (the audit's deny would bind it)."""
        settings, aws_settings = model.settings, model.settings.aws
        if aws_settings is None:
            return []
        problems = []
        for principal in aws_settings.audit_role_arns:
            where = f"aws.auditRoleArns: {principal!r}"
            problems += own_role_problems(where, principal, settings)
            if principal in aws_settings.admin_role_arns:
                problems.append(
                    f"{where} is also in aws.adminRoleArns: an admin role is exempt from every deny, "
                    "an audit role only for metadata; use two roles"
                )
        return problems

    @staticmethod
    def limit_problems(model: StackModel) -> list[str]:
        """AWS quotas a stack would hit only at apply time, checked before anything registers.

        An entry's name (512 characters), its env var key as a tag value (256), and the size of each
        service's inline read policy (10,240 characters without whitespace, the quota on all of a role's
        inline policies together: splitting into several inline policies would not help). The policy is
        measured as the adapter would write it, with ARNs of their real length (a secret's 6-character
        suffix, the key's id).
        """
        settings, aws_settings = model.settings, model.settings.aws
        if aws_settings is None:
            return []
        problems = []
        for entry in model.entries:
            name = _entry_name(settings, entry)
            if len(name) > SECRET_NAME_MAX:
                problems.append(
                    f"{entry.config_key}: Secrets Manager name {name[:60]}... has {len(name)} characters "
                    f"(at most {SECRET_NAME_MAX})"
                )
            if len(entry.key) > TAG_VALUE_MAX:
                problems.append(
                    f"{entry.config_key}: the key {entry.key[:40]}... has {len(entry.key)} characters; "
                    f"AWS tags (platform-secrets/key) hold at most {TAG_VALUE_MAX}"
                )
        for service in model.services:
            size = read_policy_size(model, service.name)
            if size > INLINE_POLICIES_MAX:
                problems.append(
                    f"services.{service.name}: its role's read policy would have {size} characters "
                    f"(whitespace excluded), over IAM's {INLINE_POLICIES_MAX} for a role's inline "
                    "policies: give the service fewer entries (or shorter keys), or drop the replica "
                    "region; name patterns or managed policies need a security review"
                )
        return problems

    @staticmethod
    def tooling_problems(model: StackModel) -> list[str]:
        """Tooling principals that would hand a tooling service's entries to someone else.

        Refused: anything but a role (an account root or bare account id stands for every principal of
        the account, a user has long-lived keys, ``*`` is anyone); a role of this stack (a workload's
        role, or any role under the stack's name prefix: its pods could then assume the tooling role);
        a role of another account unless ``aws.toolingAccountIds`` lists that account.
        """
        settings, aws_settings = model.settings, model.settings.aws
        if aws_settings is None:
            return []
        own_prefix = f"{settings.name_prefix}-{settings.environment.value}-"
        trusted = {aws_settings.account_id, *aws_settings.tooling_account_ids}
        problems = []
        for name, principals in sorted(settings.tooling_principals.items()):
            where = f"toolingPrincipals.{name}"
            for principal in principals:
                match = TOOLING_ROLE.fullmatch(principal)
                if match is None:
                    problems.append(f"{where}: {principal!r} {_not_a_role(principal)}")
                elif match["name"].startswith(own_prefix):
                    problems.append(
                        f"{where}: {principal!r} is a workload role of this stack (named like "
                        f"{own_prefix}<service>): its pods could assume the tooling role"
                    )
                elif match["account"] not in trusted:
                    problems.append(
                        f"{where}: {principal!r} is a role of account {match['account']}, which is "
                        "neither this stack's accountId nor listed in aws.toolingAccountIds"
                    )
        return problems

    # --- resources ---

    def provider_opts(self) -> pulumi.ResourceOptions:
        if self._provider is None:
            # An explicit provider refuses to touch any account but the stack's (a wrong profile fails fast).
            self._provider = aws.Provider(
                "aws",
                region=self.aws.region,
                allowed_account_ids=[self.aws.account_id],
                default_tags={"tags": self._tags()},
            )
        return pulumi.ResourceOptions(providers={"aws": self._provider})

    def _tags(self) -> dict[str, str]:
        return {
            "managed-by": "pulumi",
            "project": self.settings.name_prefix,
            "environment": self.settings.environment.value,
        }

    # --- adoption (state lost, resources still there): look up ids by deterministic names ---

    def _adopt(self, lookup: Any) -> str | None:
        """The id to import when ``adoptExisting`` is on; the lookup runs only then (a provider read)."""
        return lookup() if self.settings.adopt_existing else None

    def _adopting(self, parent: pulumi.Resource, lookup: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, import_=self._adopt(lookup))

    @property
    def _invoke_opts(self) -> pulumi.InvokeOptions:
        # The stack's provider (its account and region), never an ambient default one.
        return pulumi.InvokeOptions(provider=self._provider)

    @property
    def _alias(self) -> str:
        return f"alias/{self.settings.name_prefix}-{self.settings.environment.value}-secrets"

    def create_foundation(self, parent: pulumi.Resource) -> None:
        prefix = f"{self.settings.name_prefix}-{self.settings.environment.value}"
        window = self.settings.effective_recovery_window_days
        key_id = self._adopt(
            lambda: aws.kms.get_alias(name=self._alias, opts=self._invoke_opts).target_key_id
        )
        self.key = aws.kms.Key(
            "secrets-key",
            description=f"{prefix}: encrypts the Secrets Manager entries of platform-secrets",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=window,
            # Multi-region so that the DR region's replica decrypts with the same key material.
            multi_region=bool(self.aws.replica_region),
            policy=json.dumps(self._key_policy()),
            opts=self.durable(parent, adopt_id=key_id),
        )
        self._key_arn = self.key.arn
        aws.kms.Alias(
            "secrets-key-alias",
            name=self._alias,
            target_key_id=self.key.key_id,
            opts=self._adopting(parent, lambda: self._alias),
        )
        if self.aws.replica_region:
            self.replica_key = aws.kms.ReplicaKey(
                "secrets-key-replica",
                primary_key_arn=self.key.arn,
                region=self.aws.replica_region,
                description=f"{prefix}: replica of the secrets key for disaster recovery",
                deletion_window_in_days=window,
                policy=json.dumps(self._key_policy()),
                # A multi-region replica keeps its primary's key id.
                opts=self.durable(parent, adopt_id=key_id),
            )
            self._replica_key_arn = self.replica_key.arn
            # Aliases are regional: the same alias in the DR region lets a DR stack adopt the key by name.
            aws.kms.Alias(
                "secrets-key-replica-alias",
                name=self._alias,
                target_key_id=self.replica_key.key_id,
                region=self.aws.replica_region,
                opts=self._adopting(parent, lambda: self._alias),
            )
        if self.aws.create_oidc_provider:
            provider_arn = policies.oidc_provider_arn(self.aws.account_id, self.aws.oidc_issuer)
            aws.iam.OpenIdConnectProvider(
                "cluster-oidc-provider",
                url=f"https://{self.aws.oidc_issuer}",
                client_id_lists=["sts.amazonaws.com"],
                opts=self._adopting(parent, lambda: provider_arn),
            )

    def _key_policy(self) -> dict[str, Any]:
        return policies.key_policy(
            self.aws.account_id, list(self.aws.admin_role_arns), self.regions
        )

    def foundation_outputs(self) -> frozenset[str]:
        return frozenset(
            {"kms_key_arn"} | ({"replica_kms_key_arn"} if self.aws.replica_region else set())
        )

    def attach_foundation(self, foundation: Foundation) -> None:
        # The key is the foundation's: a shard's entries are encrypted by it and its roles decrypt with it.
        self._key_arn = foundation.store("kms_key_arn")
        if self.aws.replica_region:
            self._replica_key_arn = foundation.store("replica_kms_key_arn")

    def _key_arns(self) -> list[pulumi.Output[str]]:
        assert self._key_arn is not None, "create_foundation (or attach_foundation) first"
        keys = [self._key_arn]
        if self._replica_key_arn is not None:
            keys.append(self._replica_key_arn)
        return keys

    def create_entry(
        self,
        name: str,
        entry: Entry,
        value: pulumi.Output[str] | None,
        parent: pulumi.Resource,
    ) -> StoredEntry:
        assert self._key_arn is not None, "create_foundation (or attach_foundation) first"
        store_name = self.entry_name(entry)
        replicas = (
            [
                aws.secretsmanager.SecretReplicaArgs(
                    region=self.aws.replica_region, kms_key_id=self._replica_key_arn
                )
            ]
            if self._replica_key_arn is not None and self.aws.replica_region
            else None
        )
        secret_arn = self._adopt(
            lambda: aws.secretsmanager.get_secret(name=store_name, opts=self._invoke_opts).arn
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-entry",
            name=store_name,
            description=entry.spec.description or f"{entry.key} of {entry.owner}",
            kms_key_id=self._key_arn,
            recovery_window_in_days=self.settings.effective_recovery_window_days,
            replicas=replicas,
            tags={
                "platform-secrets/owner": entry.owner,
                "platform-secrets/key": entry.key,
                "platform-secrets/source": entry.source.value,
                "platform-secrets/rotation-days": str(entry.rotation_days or "none"),
            },
            opts=self.durable(parent, adopt_id=secret_arn),
        )
        if value is not None:
            aws.secretsmanager.SecretVersion(
                f"{name}-value",
                secret_id=secret.arn,
                secret_string=value,
                opts=pulumi.ResourceOptions(parent=parent),
            )
        readers = [self.role_arn(reader) for reader in entry.readers]
        workloads = {service.name for service in self.model.services if service.workload}
        aws.secretsmanager.SecretPolicy(
            f"{name}-policy",
            secret_arn=secret.arn,
            policy=json.dumps(
                policies.entry_resource_policy(
                    readers,
                    list(self.aws.admin_role_arns),
                    list(self.aws.audit_role_arns),
                    # Workload readers count only through the cluster's OIDC provider (IRSA).
                    workload_reader_arns=[
                        self.role_arn(reader) for reader in entry.readers if reader in workloads
                    ],
                    cluster_provider_arn=policies.oidc_provider_arn(
                        self.aws.account_id, self.aws.oidc_issuer
                    ),
                )
            ),
            block_public_policy=True,
            opts=pulumi.ResourceOptions(parent=parent, import_=secret_arn),
        )
        lambda_arn = self.aws.rotation_lambda_arns.get(entry.config_key)
        if lambda_arn:
            # AWS rotates this third-party secret itself, through the owner's rotation function.
            aws.secretsmanager.SecretRotation(
                f"{name}-rotation",
                secret_id=secret.arn,
                rotation_lambda_arn=lambda_arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=entry.rotation_days or 90
                ),
                opts=pulumi.ResourceOptions(parent=parent, import_=secret_arn),
            )
        return StoredEntry(entry=entry, name=store_name, ref=secret.arn, resource=secret)

    def create_identity(
        self,
        name: str,
        service: Service,
        entries: list[StoredEntry],
        parent: pulumi.Resource,
    ) -> Identity | None:
        if service.workload:
            provider_arn = policies.oidc_provider_arn(self.aws.account_id, self.aws.oidc_issuer)
            trust = policies.irsa_trust_policy(
                provider_arn, self.aws.oidc_issuer, service.namespace, service.service_account
            )
        elif service.tooling_principals:
            trust = policies.principal_trust_policy(list(service.tooling_principals))
        else:
            pulumi.log.warn(
                f"{service.name}: no toolingPrincipals in this stack, so no identity reads its entries"
            )
            return None
        role_name = self.role_name(self.settings, service.name)
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=f"Reads the secrets of {service.name} and nothing else",
            assume_role_policy=json.dumps(trust),
            max_session_duration=3600,
            tags={"platform-secrets/service": service.name},
            opts=self._adopting(parent, lambda: role_name),
        )
        regions = self.regions
        if entries:
            aws.iam.RolePolicy(
                f"{name}-read-secrets",
                name="read-own-secrets",
                role=role.name,
                # One Output for the document: the keys' and the entries' ARNs, resolved together.
                policy=pulumi.Output.all(self._key_arns(), *(s.ref for s in entries)).apply(
                    lambda args: json.dumps(
                        policies.read_secrets_policy(
                            [arn for ref in args[1:] for arn in _in_regions(ref, regions)],
                            args[0],
                            regions,
                        )
                    )
                ),
                opts=self._adopting(parent, lambda: f"{role_name}:read-own-secrets"),
            )
        provider = {
            "aws": {
                "service": "SecretsManager",
                "region": self.aws.region,
                "auth": {"jwt": {"serviceAccountRef": {"name": service.service_account}}},
            }
        }
        return Identity(
            service=service.name,
            id=role.arn,
            service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
            eso_provider=provider,
        )

    def previous_version(self, stored: StoredEntry) -> str:
        # PutSecretValue moves AWSCURRENT to the new version and AWSPREVIOUS to the one it replaces: ESO
        # selects the stage (a version not starting with ``uuid/`` is a VersionStage). The recorded
        # VersionId stays the record of which value that is.
        return PREVIOUS_STAGE

    def exports(self) -> dict[str, Any]:
        assert self.key is not None
        out: dict[str, Any] = {
            "kms_key_arn": self.key.arn,
            "region": self.aws.region,
            # For the operator to attach to the account (README, "AWS"): the program cannot apply it.
            "organization_guard_scp": policies.organization_guard_scp(
                self.aws.account_id,
                self.settings.name_prefix,
                self.settings.environment.value,
                list(self.aws.admin_role_arns),
            ),
        }
        if self.replica_key is not None:
            out["replica_kms_key_arn"] = self.replica_key.arn
            out["replica_region"] = self.aws.replica_region
        return out


def _entry_name(settings: Any, entry: Entry) -> str:
    return f"{settings.name_prefix}/{settings.environment.value}/{entry.owner}/{entry.key}"


def read_policy_size(model: StackModel, service: str) -> int:
    """Characters (whitespace excluded, as IAM counts) of ``service``'s inline read policy; 0 if none."""
    aws_settings = model.settings.aws
    assert aws_settings is not None
    names = [_entry_name(model.settings, e) for e in model.entries_read_by(service)]
    if not names:
        return 0
    regions = [aws_settings.region] + (
        [aws_settings.replica_region] if aws_settings.replica_region else []
    )
    account = aws_settings.account_id
    # A multi-region key's id is "mrk-" and 32 hex digits; a single-region key's a 36-character UUID.
    key_id = "mrk-" + "0" * 32 if aws_settings.replica_region else "0" * 36
    key_arns = [f"arn:aws:kms:{region}:{account}:key/{key_id}" for region in regions]
    secret_arns = [
        f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-XXXXXX"
        for name in names
        for region in regions
    ]
    document = policies.read_secrets_policy(secret_arns, key_arns, regions)
    return len(json.dumps(document, separators=(",", ":")))


def _not_a_role(principal: str) -> str:
    """Why a tooling principal that is not a role ARN is refused."""
    if principal == "*" or principal.endswith(":root") or re.fullmatch(r"\d{12}", principal):
        return "is an account root (every principal of that account, or anyone): name a role"
    if ":user/" in principal:
        return "is an IAM user (long-lived access keys): name a role"
    return "is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"


def _in_regions(arn: str, regions: list[str]) -> list[str]:
    """The entry's ARN in its region and in each replica region (same name and suffix)."""
    parts = arn.split(":")
    return [":".join([*parts[:3], region, *parts[4:]]) for region in regions]
