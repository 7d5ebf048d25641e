"""AWS rules: IAM documents, IRSA trust, Secrets Manager entries, KMS keys.

- ``no-wildcard-secret-access``: IAM documents never allow a ``*`` action or resource on Secrets Manager (or KMS);
  no managed policy that reads every secret; no public entry policy.
- ``trust-bound-to-one-service-account``: an IRSA trust allows exactly one ``system:serviceaccount:<ns>:<sa>``
  through ``StringEquals`` on ``<issuer>:sub`` and ``<issuer>:aud = sts.amazonaws.com``; no ``*`` principal.
- ``customer-managed-keys``: every Secrets Manager entry and replica names a customer-managed KMS key.
- ``rotation-in-prod``: in prod every entry is tagged ``platform-secrets/rotation-days`` with at most 90, rotation
  schedules run at least every 90 days, and KMS keys rotate.
- ``no-plaintext-secret-values``: a secret version's value is a Pulumi secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .common import (
    MAX_ROTATION_DAYS,
    PROD,
    SERVICE_ACCOUNT_SUBJECT,
    Validate,
    as_list,
    document,
    plain,
    plaintext_inputs,
    report_plaintext,
    resource_environment,
    statements,
    to_int,
)

AWS_SECRET = "aws:secretsmanager/secret:Secret"
AWS_SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
AWS_SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
AWS_SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
AWS_ROLE = "aws:iam/role:Role"
AWS_KMS_KEY = "aws:kms/key:Key"
AWS_IDENTITY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
AWS_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
AWS_BROAD_MANAGED_POLICIES = frozenset(
    f"arn:aws:iam::aws:policy/{name}"
    for name in ("SecretsManagerReadWrite", "AdministratorAccess", "PowerUserAccess")
)
"""AWS managed policies that read every secret of the account."""
AWS_SECRET_VALUE_INPUTS = ("secretString", "secretBinary")


# --- no-wildcard-secret-access ---


def _touches_secrets(actions: list[str]) -> bool:
    return any(a == "*" or a.lower().startswith(("secretsmanager:", "kms:")) for a in actions)


def wildcard_problems(doc: Mapping[str, Any]) -> list[str]:
    """Why an identity document reads secrets too widely (empty: it does not)."""
    problems = []
    for index, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid") or f"#{index}"
        if "NotAction" in st or "NotResource" in st:
            problems.append(
                f"statement {sid}: Allow with NotAction/NotResource reaches every secret"
            )
            continue
        actions = [str(a) for a in as_list(st.get("Action"))]
        if not _touches_secrets(actions):
            continue
        wild_actions = [a for a in actions if "*" in a]
        wild_resources = [str(r) for r in as_list(st.get("Resource")) if "*" in str(r)]
        if wild_actions:
            problems.append(f"statement {sid}: wildcard action {', '.join(wild_actions)}")
        if wild_resources:
            problems.append(f"statement {sid}: wildcard resource {', '.join(wild_resources)}")
    return problems


def _public_statements(doc: Mapping[str, Any]) -> list[str]:
    problems = []
    for index, st in enumerate(statements(doc)):
        principal = st.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if st.get("Effect") == "Allow" and "*" in [str(p) for p in as_list(aws)]:
            problems.append(f"statement {st.get('Sid') or f'#{index}'}: allows every principal")
    return problems


def validate_no_wildcard_secret_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    t, props = args.resource_type, args.props
    if t in AWS_IDENTITY_DOCUMENTS:
        for problem in wildcard_problems(document(props.get(AWS_IDENTITY_DOCUMENTS[t]))):
            report(f"{args.name}: {problem}; name each entry's ARN and the exact actions", None)
    elif t == AWS_ROLE:
        for inline in as_list(plain(props.get("inlinePolicies"))):
            for problem in wildcard_problems(document(inline.get("policy"))):
                report(f"{args.name}: inline policy {inline.get('name')}: {problem}", None)
    elif t in AWS_ATTACHMENTS:
        arn = plain(props.get("policyArn"))
        if arn in AWS_BROAD_MANAGED_POLICIES:
            report(f"{args.name}: {arn} reads every secret of the account", None)
    elif t == AWS_SECRET_POLICY:
        for problem in _public_statements(document(props.get("policy"))):
            report(f"{args.name}: entry policy {problem}", None)


# --- trust-bound-to-one-service-account ---


def trust_problems(doc: Mapping[str, Any]) -> list[str]:
    """Why a role's trust policy admits more than one ServiceAccount or principal (empty: it does not)."""
    problems = []
    subjects: list[str] = []
    federated = False
    for index, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid") or f"#{index}"
        principal = st.get("Principal")
        if principal == "*" or (
            isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))
        ):
            problems.append(f"statement {sid}: any principal may assume the role")
            continue
        actions = [str(a) for a in as_list(st.get("Action"))]
        is_web = "sts:AssumeRoleWithWebIdentity" in actions or (
            isinstance(principal, dict) and "Federated" in principal
        )
        if not is_web:
            continue
        federated = True
        condition = st.get("Condition") or {}
        equals = condition.get("StringEquals") or {}
        loose = [
            op
            for op in condition
            if op != "StringEquals" and any(k.endswith(":sub") for k in condition[op])
        ]
        if loose:
            problems.append(
                f"statement {sid}: `:sub` matched with {', '.join(loose)}, not StringEquals"
            )
        subs = [key for key in equals if key.endswith(":sub")]
        auds = [key for key in equals if key.endswith(":aud")]
        if len(subs) != 1:
            problems.append(f"statement {sid}: needs exactly one StringEquals `<issuer>:sub`")
        for key in subs:
            values = [str(v) for v in as_list(equals[key])]
            if len(values) != 1 or not SERVICE_ACCOUNT_SUBJECT.match(values[0]):
                problems.append(
                    f"statement {sid}: `:sub` must be one system:serviceaccount:<ns>:<sa>, got {values}"
                )
            subjects += values
        if len(auds) != 1 or as_list(equals[auds[0]]) != ["sts.amazonaws.com"]:
            problems.append(
                f"statement {sid}: needs StringEquals `<issuer>:aud` = sts.amazonaws.com"
            )
    if federated and len(set(subjects)) > 1:
        problems.append(f"trusts {len(set(subjects))} ServiceAccounts: {sorted(set(subjects))}")
    return problems


def validate_trust_bound_to_one_service_account(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type == AWS_ROLE:
        for problem in trust_problems(document(args.props.get("assumeRolePolicy"))):
            report(f"{args.name}: trust policy {problem}", None)


# --- customer-managed-keys ---


def validate_customer_managed_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != AWS_SECRET:
        return
    props = args.props
    key = str(plain(props.get("kmsKeyId")) or "")
    if not key or key.endswith("alias/aws/secretsmanager"):
        report(f"{args.name}: no customer-managed kmsKeyId (the AWS managed key is used)", None)
    for replica in as_list(plain(props.get("replicas"))):
        if not replica.get("kmsKeyId"):
            report(f"{args.name}: replica in {replica.get('region')} has no kmsKeyId", None)


# --- rotation-in-prod ---


def validate_rotation_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t not in (AWS_SECRET, AWS_SECRET_ROTATION, AWS_KMS_KEY):
        return
    if resource_environment(args) != PROD:
        return
    if t == AWS_SECRET:
        key = "platform-secrets/rotation-days"
        tags = plain(props.get("tags"))
        days = to_int(tags.get(key)) if isinstance(tags, dict) else None
        if days is None or days > MAX_ROTATION_DAYS:
            report(
                f"{args.name}: prod entry needs tags {key} <= {MAX_ROTATION_DAYS}, got "
                f"{(tags or {}).get(key)!r}",
                None,
            )
    elif t == AWS_SECRET_ROTATION:
        rules = plain(props.get("rotationRules")) or {}
        days = to_int(rules.get("automaticallyAfterDays"))
        if rules.get("scheduleExpression") is None and (days is None or days > MAX_ROTATION_DAYS):
            report(
                f"{args.name}: prod rotation every {days} days, more than {MAX_ROTATION_DAYS}", None
            )
    elif plain(props.get("enableKeyRotation")) is not True:
        report(f"{args.name}: prod KMS key without enableKeyRotation", None)


# --- no-plaintext-secret-values ---


def validate_no_plaintext_secret_values(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type == AWS_SECRET_VERSION:
        report_plaintext(args, report, plaintext_inputs(args.props, AWS_SECRET_VALUE_INPUTS))


RULES: dict[str, Validate] = {
    "no-wildcard-secret-access": validate_no_wildcard_secret_access,
    "trust-bound-to-one-service-account": validate_trust_bound_to_one_service_account,
    "customer-managed-keys": validate_customer_managed_keys,
    "rotation-in-prod": validate_rotation_in_prod,
    "no-plaintext-secret-values": validate_no_plaintext_secret_values,
}
