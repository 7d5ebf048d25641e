"""A live view of each store for the audit: what its read-only reader returns, judged for protection, and who
can read what according to ``tools.access`` (the same derivation as the plan's ``access.json``).

One function per store; each takes the declared stack (for the prefix, region, account and the protection the
stack declares) and a reader (made from the caller's credentials when not given).
"""

from __future__ import annotations

from typing import Any

from tools import access
from tools.audit_checks import LiveEntry, LiveView
from tools.audit_plan import AuditInputError, Declared
from tools.audit_stores.aws import AwsReader

AWS_ENTRY = "aws:secretsmanager/secret:Secret"
AWS_ENTRY_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
AWS_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"


def aws_view(declared: Declared, reader: AwsReader | None = None) -> LiveView:
    settings = declared.settings
    assert settings.aws is not None
    reader = reader or AwsReader(settings.aws.region)
    account = reader.account()
    if account != settings.aws.account_id:
        raise AuditInputError(
            f"the credentials are for AWS account {account}, the stack {declared.stack} is in "
            f"{settings.aws.account_id} (Pulumi.{declared.stack}.yaml aws.accountId): nothing audited"
        )
    env = settings.environment.value
    scope = f"{settings.name_prefix}/{env}/"
    secrets = reader.secrets(scope)
    roles = reader.roles(f"{settings.name_prefix}-{env}-")

    with_policy = {r.inputs.get("secretArn") for r in declared.of_type(AWS_ENTRY_POLICY)}
    rotated = {r.inputs.get("secretId") for r in declared.of_type(AWS_ROTATION)}
    entries: dict[str, LiveEntry] = {}
    for secret in secrets:
        planned = declared.entries.get(secret.name)
        problems = (
            _aws_protection(
                planned.resource.inputs, planned.resource.outputs, secret, with_policy, rotated
            )
            if planned
            else []
        )
        entries[secret.name] = LiveEntry(
            name=secret.name,
            has_value=secret.has_current,
            value_set=secret.current_created
            or secret.last_rotated
            or secret.last_changed
            or secret.created,
            deleted_on=secret.deleted_on,
            problems=tuple(problems),
        )
    matrix = access.derive_aws(
        [
            access.AwsEntry(
                name=s.name,
                arns=(s.arn, *(access.in_region(s.arn, region) for region in sorted(s.replicas))),
                key=s.tags.get("platform-secrets/key", s.name.rsplit("/", 1)[-1]),
                policy=s.policy,
            )
            for s in secrets
            if s.deleted_on is None
        ],
        [
            access.AwsRole(name=r.name, arn=r.arn, trust=r.trust, policies=r.policies, tags=r.tags)
            for r in roles
        ],
    )
    return LiveView(
        scope=scope,
        entries=entries,
        matrix=matrix,
        notes=(
            "AWS: roles are read under the prefix "
            f"{settings.name_prefix}-{env}-; a principal outside it reads an entry only if the "
            "entry's resource policy lets it (shown), or if an entry has none (shown as the account).",
            "AWS: the recovery window of an entry is not visible until it is deleted.",
        ),
    )


def _aws_protection(
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    secret: Any,
    with_policy: set[Any],
    rotated: set[Any],
) -> list[str]:
    problems = []
    for replica in inputs.get("replicas") or []:
        region = replica["region"]
        status = secret.replicas.get(region)
        if status is None:
            problems.append(f"no replica in {region} (the stack replicates every entry there)")
        elif status != "InSync":
            problems.append(f"replica in {region} is {status}, not InSync")
    if inputs.get("kmsKeyId") and not secret.kms_key_id:
        problems.append("encrypted with the AWS managed key, not the stack's KMS key")
    if outputs.get("arn") in with_policy and secret.policy is None:
        problems.append("no resource policy: the deny-all-but-readers policy is gone")
    if outputs.get("arn") in rotated and not secret.rotation_enabled:
        problems.append("rotation by the owner's Lambda is off")
    return problems
