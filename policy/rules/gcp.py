"""GCP rules: Secret Manager grants, Workload Identity, CMEK, rotation.

- ``no-wildcard-secret-access``: no project, folder or organisation grant of a role that reads secrets and no
  secret grant to a set of principals.
- ``trust-bound-to-one-service-account``: a Workload Identity grant names one ServiceAccount, no pattern.
- ``customer-managed-keys``: in prod every replica has a CMEK.
- ``rotation-in-prod``: in prod every secret is annotated ``platform-secrets-rotation-days`` with at most 90 and
  rotates at least every 90 days, and KMS keys rotate.
- ``no-plaintext-secret-values``: a secret version's data is a Pulumi secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .common import (
    MAX_ROTATION_DAYS,
    PROD,
    Validate,
    as_list,
    document,
    plain,
    plaintext_inputs,
    report_plaintext,
    resource_environment,
    to_int,
)

GCP_SECRET = "gcp:secretmanager/secret:Secret"
GCP_SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
GCP_SECRET_GRANTS = (
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:secretmanager/secretIamBinding:SecretIamBinding",
)
GCP_BROAD_GRANTS = (
    "gcp:projects/iAMMember:IAMMember",
    "gcp:projects/iAMBinding:IAMBinding",
    "gcp:projects/iAMPolicy:IAMPolicy",
    "gcp:folder/iAMMember:IAMMember",
    "gcp:folder/iAMBinding:IAMBinding",
    "gcp:folder/iAMPolicy:IAMPolicy",
    "gcp:organizations/iAMMember:IAMMember",
    "gcp:organizations/iAMBinding:IAMBinding",
    "gcp:organizations/iAMPolicy:IAMPolicy",
)
GCP_SA_GRANTS = (
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:serviceaccount/iAMBinding:IAMBinding",
)
GCP_SECRET_READER_ROLES = frozenset(
    {
        "roles/secretmanager.secretAccessor",
        "roles/secretmanager.admin",
        "roles/secretmanager.secretVersionManager",
        "roles/owner",
    }
)
GCP_WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
GCP_ACT_AS_ROLES = frozenset(
    {
        GCP_WORKLOAD_IDENTITY_USER,
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
    }
)
GCP_SET_MEMBERS = ("allUsers", "allAuthenticatedUsers", "domain:", "principalSet:", "project")
GCP_KMS_KEY = "gcp:kms/cryptoKey:CryptoKey"
GCP_SECRET_VALUE_INPUTS = ("secretData",)


def _gcp_grants(type_: str, props: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(role, members) of a GCP IAM member, binding or policy resource."""
    if type_.endswith("IAMPolicy"):
        policy = document(props.get("policyData"))
        return [
            (str(b.get("role")), [str(m) for m in as_list(b.get("members"))])
            for b in as_list(policy.get("bindings"))
            if isinstance(b, dict)
        ]
    members = as_list(plain(props.get("members"))) or as_list(plain(props.get("member")))
    return [(str(plain(props.get("role"))), [str(m) for m in members])]


# --- no-wildcard-secret-access ---


def validate_no_wildcard_secret_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    t, props = args.resource_type, args.props
    if t in GCP_BROAD_GRANTS:
        for role, members in _gcp_grants(t, props):
            if role in GCP_SECRET_READER_ROLES:
                report(
                    f"{args.name}: {role} granted on the whole {t.split(':')[1].split('/')[0]} to "
                    f"{', '.join(members)}; grant it on each secret instead",
                    None,
                )
    elif t in GCP_SECRET_GRANTS:
        for role, members in _gcp_grants(t, props):
            wide = [m for m in members if m.startswith(GCP_SET_MEMBERS)]
            if wide:
                report(
                    f"{args.name}: {role} granted to a set of principals: {', '.join(wide)}", None
                )


# --- trust-bound-to-one-service-account ---


def validate_trust_bound_to_one_service_account(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    """No way to act as a service account: the program grants each reader on its secrets directly.

    An act-as role (Workload Identity User, Token Creator, Service Account User) on a service account, or on
    the project, folder or organisation above it, lets its member become that account (every account, at
    the project level) and read whatever it reads.
    """
    t = args.resource_type
    if t not in GCP_SA_GRANTS and t not in GCP_BROAD_GRANTS:
        return
    for role, members in _gcp_grants(t, args.props):
        if role in GCP_ACT_AS_ROLES:
            report(
                f"{args.name}: {role} lets {', '.join(members)} act as a service account; grant each "
                "reader on its secrets directly (Workload Identity principal or tooling member)",
                None,
            )


# --- customer-managed-keys ---


def validate_customer_managed_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != GCP_SECRET or resource_environment(args) != PROD:
        return
    replication = plain(args.props.get("replication")) or {}
    replicas = (replication.get("userManaged") or {}).get("replicas") or []
    if not replicas:
        report(f"{args.name}: automatic replication has no customer-managed key per location", None)
    for replica in replicas:
        if not (replica.get("customerManagedEncryption") or {}).get("kmsKeyName"):
            report(f"{args.name}: replica in {replica.get('location')} has no CMEK", None)


# --- rotation-in-prod ---


def validate_rotation_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t not in (GCP_SECRET, GCP_KMS_KEY):
        return
    if resource_environment(args) != PROD:
        return
    if t == GCP_SECRET:
        key = "platform-secrets-rotation-days"
        annotations = plain(props.get("annotations"))
        days = to_int(annotations.get(key)) if isinstance(annotations, dict) else None
        if days is None or days > MAX_ROTATION_DAYS:
            report(
                f"{args.name}: prod entry needs annotations {key} <= {MAX_ROTATION_DAYS}, got "
                f"{(annotations or {}).get(key)!r}",
                None,
            )
        period = str((plain(props.get("rotation")) or {}).get("rotationPeriod") or "")
        seconds = to_int(period.removesuffix("s"))
        if seconds is None or seconds > MAX_ROTATION_DAYS * 86400:
            report(f"{args.name}: prod secret rotation period {period or '(none)'} > 90 days", None)
    elif not plain(props.get("rotationPeriod")):
        report(f"{args.name}: prod KMS key without rotationPeriod", None)


# --- no-plaintext-secret-values ---


def validate_no_plaintext_secret_values(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type == GCP_SECRET_VERSION:
        report_plaintext(args, report, plaintext_inputs(args.props, GCP_SECRET_VALUE_INPUTS))


RULES: dict[str, Validate] = {
    "no-wildcard-secret-access": validate_no_wildcard_secret_access,
    "trust-bound-to-one-service-account": validate_trust_bound_to_one_service_account,
    "customer-managed-keys": validate_customer_managed_keys,
    "rotation-in-prod": validate_rotation_in_prod,
    "no-plaintext-secret-values": validate_no_plaintext_secret_values,
}
