"""Azure rules: Key Vault role assignments and vaults, federated credentials, rotation tags.

- ``no-wildcard-secret-access``: no secret-reading role assigned above a single secret, no vault access
  policies (the vault uses Azure RBAC).
- ``trust-bound-to-one-service-account``: a federated credential names one exact subject and the token exchange
  audience only.
- ``rotation-in-prod``: in prod every secret is tagged ``platform-secrets-rotation-days`` with at most 90.
- ``no-plaintext-secret-values``: a secret's ``properties.value`` is a Pulumi secret.
- ``key-vault-network-restricted-in-prod``: in prod a vault that accepts public traffic has a firewall
  (``networkAcls``) whose default action is ``Deny``, unless the vault is tagged
  ``platform-secrets-public-network-reason`` (the stack's explicit opt-in, with its reason).
- ``ci-bound-to-a-protected-environment-in-prod``: in prod a federated subject that is not a ServiceAccount's
  names a deployment environment, never a ref or a pull request (``platform_secrets.model.ci_bindings``).
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

from platform_secrets.model import ci_bindings

from .common import (
    MAX_ROTATION_DAYS,
    PROD,
    SERVICE_ACCOUNT_SUBJECT,
    Validate,
    as_list,
    is_secret,
    plain,
    report_plaintext,
    resource_environment,
    to_int,
)

AZURE_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
AZURE_VAULT = "azure-native:keyvault:Vault"
AZURE_SECRET = "azure-native:keyvault:Secret"
AZURE_FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
AZURE_SECRET_READER_ROLES = frozenset(
    {
        "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",  # Key Vault Secrets Officer
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",  # Key Vault Administrator
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
        "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor (can grant itself vault access)
    }
)
AZURE_SINGLE_SECRET_SCOPE = re.compile(
    r"/providers/Microsoft\.KeyVault/vaults/[^/]+/secrets/[^/]+$", re.IGNORECASE
)
AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
AZURE_PUBLIC_NETWORK_REASON = "platform-secrets-public-network-reason"


# --- no-wildcard-secret-access ---


def validate_no_wildcard_secret_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    t, props = args.resource_type, args.props
    if t == AZURE_ROLE_ASSIGNMENT:
        role = str(plain(props.get("roleDefinitionId")) or "").rstrip("/").rsplit("/", 1)[-1]
        scope = str(plain(props.get("scope")) or "")
        if role.lower() in AZURE_SECRET_READER_ROLES and not AZURE_SINGLE_SECRET_SCOPE.search(
            scope
        ):
            report(
                f"{args.name}: role {role} reads secrets at scope {scope or '(none)'}; assign it on one "
                "secret (…/vaults/<vault>/secrets/<name>)",
                None,
            )
    elif t == AZURE_VAULT:
        properties = plain(props.get("properties")) or {}
        if properties.get("enableRbacAuthorization") is False:
            report(
                f"{args.name}: access policies grant the whole vault; use Azure RBAC per secret",
                None,
            )
        if properties.get("accessPolicies"):
            report(f"{args.name}: vault access policies grant every secret of the vault", None)


# --- trust-bound-to-one-service-account ---


def validate_trust_bound_to_one_service_account(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type != AZURE_FEDERATION:
        return
    subject = str(plain(args.props.get("subject")) or "")
    audiences = as_list(plain(args.props.get("audiences")))
    if "*" in subject or (
        subject.startswith("system:serviceaccount:") and not SERVICE_ACCOUNT_SUBJECT.match(subject)
    ):
        report(f"{args.name}: federated subject {subject!r} is not one exact subject", None)
    if audiences != [AZURE_TOKEN_AUDIENCE]:
        report(f"{args.name}: federated audiences must be exactly [{AZURE_TOKEN_AUDIENCE}]", None)


# --- rotation-in-prod ---


def validate_rotation_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != AZURE_SECRET or resource_environment(args) != PROD:
        return
    key = "platform-secrets-rotation-days"
    tags = plain(args.props.get("tags"))
    days = to_int(tags.get(key)) if isinstance(tags, dict) else None
    if days is None or days > MAX_ROTATION_DAYS:
        report(
            f"{args.name}: prod entry needs tags {key} <= {MAX_ROTATION_DAYS}, got "
            f"{(tags or {}).get(key)!r}",
            None,
        )


# --- no-plaintext-secret-values ---


def validate_no_plaintext_secret_values(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type != AZURE_SECRET:
        return
    properties = args.props.get("properties")
    if properties is not None and not is_secret(properties):
        value = properties.get("value")
        if value is not None and not is_secret(value):
            report_plaintext(args, report, ["properties.value"])


# --- key-vault-network-restricted-in-prod ---


def validate_key_vault_network(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != AZURE_VAULT or resource_environment(args) != PROD:
        return
    properties = plain(args.props.get("properties")) or {}
    if str(properties.get("publicNetworkAccess") or "Enabled").lower() == "disabled":
        return  # private endpoints only
    default = (properties.get("networkAcls") or {}).get("defaultAction") or "Allow"
    tags = plain(args.props.get("tags")) or {}
    if default != "Deny" and not str(tags.get(AZURE_PUBLIC_NETWORK_REASON) or "").strip():
        report(
            f"{args.name}: prod vault answers every network (networkAcls.defaultAction {default}); deny by "
            f"default and allow the cluster's subnets, or tag {AZURE_PUBLIC_NETWORK_REASON} with why",
            None,
        )


# --- ci-bound-to-a-protected-environment-in-prod ---


def validate_ci_bound_to_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A federation that is not a ServiceAccount's (a CI token's) in prod: the settings' own grammar."""
    if args.resource_type != AZURE_FEDERATION or resource_environment(args) != PROD:
        return
    subject = str(plain(args.props.get("subject")) or "")
    problem = ci_bindings.subject_problem(subject, str(plain(args.props.get("issuer")) or ""))
    if problem:
        report(f"{args.name}: federated subject {subject!r} {problem}", None)


RULES: dict[str, Validate] = {
    "no-wildcard-secret-access": validate_no_wildcard_secret_access,
    "trust-bound-to-one-service-account": validate_trust_bound_to_one_service_account,
    "rotation-in-prod": validate_rotation_in_prod,
    "no-plaintext-secret-values": validate_no_plaintext_secret_values,
    "key-vault-network-restricted-in-prod": validate_key_vault_network,
    "ci-bound-to-a-protected-environment-in-prod": validate_ci_bound_to_environment,
}
