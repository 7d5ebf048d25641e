"""AWS IAM documents as pure functions: exact actions, exact resources, no ``*`` resource.

Each function takes names and ARNs and returns a policy document (a dict). No Pulumi here; the adapter feeds
them resolved ARNs, and the tests lint every document with parliament.
"""

from __future__ import annotations

from typing import Any

VERSION = "2012-10-17"
READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
"""What a service does with its own entries; nothing that lists, writes or deletes."""
ADMIN_ACTIONS = "secretsmanager:*"
"""What an entry's resource policy denies to every principal but its readers and the admin roles: all of it
(``ReplicateSecretToRegions``, ``UpdateSecretVersionStage``, ``TagResource`` ... included)."""
AUDIT_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecretVersionIds",
)
"""What the read-only audit (``platform_secrets/live/readers/aws.py``) calls on one entry: metadata, never a value."""


def role_arn(account_id: str, role_name: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{role_name}"


def oidc_provider_arn(account_id: str, issuer: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/{issuer}"


def irsa_trust_policy(provider_arn: str, issuer: str, namespace: str, service_account: str) -> dict:
    """Only the ServiceAccount ``namespace/service_account`` of the cluster, through IRSA, may assume the role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ServiceAccountOnly",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def principal_trust_policy(principal_arns: list[str]) -> dict:
    """Named principals (CI or tooling roles) of the same account may assume the role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "NamedPrincipalsOnly",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(principal_arns)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def read_secrets_policy(secret_arns: list[str], key_arns: list[str], regions: list[str]) -> dict:
    """Read exactly these entries, and decrypt with the environment's key only through Secrets Manager.

    Each ARN once: a service may read one shared secret under two env var names, and an ARN listed twice
    grants nothing more but counts twice against the inline-policy size.
    """
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadOwnEntries",
                "Effect": "Allow",
                "Action": list(READ_ACTIONS),
                "Resource": sorted(set(secret_arns)),
            },
            {
                "Sid": "DecryptThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": sorted(key_arns),
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": sorted(
                            f"secretsmanager.{region}.amazonaws.com" for region in regions
                        )
                    }
                },
            },
        ],
    }


def entry_resource_policy(
    reader_arns: list[str],
    admin_arns: list[str],
    audit_arns: list[str] | None = None,
    workload_reader_arns: list[str] | None = None,
    cluster_provider_arn: str | None = None,
) -> dict:
    """Deny every Secrets Manager action to all but the entry's readers and the admin roles; readers only read.

    ``"Resource": "*"`` in a resource policy means "this secret": Secrets Manager copies the policy verbatim to
    every replica, whose ARN differs by region, so naming the primary ARN would leave each replica unguarded.
    The exemptions are conditions on ``aws:PrincipalArn`` rather than ``NotPrincipal``: they need no principal
    to exist first (no ordering between an entry and its readers' roles) and match assumed-role sessions.

    The audit roles (``aws.auditRoleArns``) are exempt too, but a third statement denies them every action
    except ``AUDIT_ACTIONS``: even with ``secretsmanager:*`` in their IAM policy they never read a value.
    Without audit roles the document is the two statements alone.

    ``workload_reader_arns`` (the readers that are workload roles, federated through IRSA) and
    ``cluster_provider_arn`` add a last statement that does not trust those roles' own trust policies: a
    session of such a role is denied everything unless it was federated through the stack's cluster OIDC
    provider. ``aws:FederatedProvider`` is a global condition key (IAM User Guide, "AWS global condition
    context keys", condition-keys-federatedprovider; global keys may be used in every service's policies,
    Secrets Manager's resource policies included): it is present in the session of a role assumed with
    ``AssumeRoleWithWebIdentity``/``AssumeRoleWithSAML`` and holds the IdP, for an IAM OIDC provider its ARN
    (``arn:aws:iam::<acct>:oidc-provider/<issuer>``). It is absent from a session made by ``sts:AssumeRole``
    (and not carried through role chaining), so ``StringNotEquals`` (true when the key is missing) denies
    an administrator who added a role, an account root, a service or a foreign OIDC/SAML provider to a
    workload role's trust. It cannot tell one ServiceAccount of the cluster from another (the token's
    ``sub`` is not in the session): a ``sub`` widened within the same cluster is caught by the access
    derivation, the audit's trust drift and the organisation guard (``organization_guard_scp``), not here.
    Tooling roles are left out on purpose: CI reaches them by ``sts:AssumeRole`` from its own (GitHub-
    federated) role, so their sessions carry no federated provider; their guard is the named-principal
    trust, the audit and the organisation guard.
    """
    audit = sorted(set(audit_arns or ()))
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OnlyReadersAndAdmins",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ADMIN_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:PrincipalArn": sorted({*reader_arns, *admin_arns, *audit})}
            },
        },
        {
            "Sid": "ReadersOnlyRead",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "NotAction": list(READ_ACTIONS),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalArn": sorted({*admin_arns, *audit})}},
        },
    ]
    if audit:
        statements.append(
            {
                "Sid": "AuditRolesOnlyMetadata",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "NotAction": list(AUDIT_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalArn": audit}},
            }
        )
    workloads = sorted(set(workload_reader_arns or ()))
    if workloads and cluster_provider_arn:
        statements.append(
            {
                "Sid": "WorkloadReadersOnlyThroughTheCluster",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ADMIN_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalArn": workloads},
                    "StringNotEquals": {"aws:FederatedProvider": cluster_provider_arn},
                },
            }
        )
    return {"Version": VERSION, "Statement": statements}


KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReplicateKey",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
)
"""Administration of the key: what the deployer (Pulumi) and the admin roles need, and nothing that decrypts."""
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
"""What Secrets Manager does with the key on a caller's behalf (encrypt a new value, decrypt a read)."""


def key_policy(account_id: str, admin_arns: list[str], regions: list[str]) -> dict[str, Any]:
    """The environment key (primary and replica): administered by the admin roles, used only via Secrets Manager.

    - the admin roles (the deployer among them: AWS refuses a key policy that locks its caller out) administer
      the key; they do not decrypt with it directly;
    - principals of the stack's account use it only through Secrets Manager in the stack's regions
      (``kms:ViaService``, ``kms:CallerAccount``), and only if their own IAM policy allows too (the readers'
      roles do). A principal with ``kms:*`` can neither decrypt directly nor disable, re-policy or delete it.

    ``"Resource": "*"`` is the one star allowed: in a key policy it means "this key" and nothing else (a key
    policy cannot name its own ARN before the key exists).
    """
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AdminRolesAdminister",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(set(admin_arns))},
                "Action": list(KEY_ADMIN_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "UseOnlyThroughSecretsManager",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": list(KEY_USE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": sorted(
                            f"secretsmanager.{region}.amazonaws.com" for region in regions
                        ),
                        "kms:CallerAccount": account_id,
                    }
                },
            },
        ],
    }


GUARDED_ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)
"""What changes who may become one of the stack's roles, or what it may do (or re-creates it by name)."""
GUARDED_PROVIDER_ACTIONS = (
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
)
"""What registers, or re-points, an OIDC issuer a role's trust could then name."""
GUARDED_POLICY_ACTIONS = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion")
"""What rewrites a managed policy under the stack's prefix (none today; a future one is covered)."""


def organization_guard_scp(
    account_id: str, name_prefix: str, environment: str, admin_arns: list[str]
) -> dict[str, Any]:
    """The service control policy the operator attaches to the stack's account (or its OU).

    The entries let their readers in by ``aws:PrincipalArn``, so whoever may rewrite a reader role's trust,
    delete and re-create it under the same name, or register an OIDC provider its trust could name, reads
    the role's secrets; nothing inside the account can stop its own IAM administrators. This SCP denies
    those writes on ``role/<prefix>-<env>-*`` (and ``policy/<prefix>-<env>-*``), and OIDC-provider writes in
    the account, to every principal but the stack's admin roles (``aws.adminRoleArns``: the deploy role
    that runs ``pulumi up`` and the break-glass roles). SCPs name no principal: the exemption is an
    ``ArnNotLike`` on ``aws:PrincipalArn``. An SCP does not bind the organisation's management account nor
    service-linked roles: keep the stack out of the management account.
    """
    condition = {"ArnNotLike": {"aws:PrincipalArn": sorted(set(admin_arns))}}
    prefix = f"{name_prefix}-{environment}-"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "OnlyAdminRolesChangeTheStacksRoles",
                "Effect": "Deny",
                "Action": list(GUARDED_ROLE_ACTIONS),
                "Resource": [f"arn:aws:iam::{account_id}:role/{prefix}*"],
                "Condition": condition,
            },
            {
                "Sid": "OnlyAdminRolesRegisterIdentityProviders",
                "Effect": "Deny",
                "Action": list(GUARDED_PROVIDER_ACTIONS),
                "Resource": [f"arn:aws:iam::{account_id}:oidc-provider/*"],
                "Condition": condition,
            },
            {
                "Sid": "OnlyAdminRolesChangeTheStacksPolicies",
                "Effect": "Deny",
                "Action": list(GUARDED_POLICY_ACTIONS),
                "Resource": [f"arn:aws:iam::{account_id}:policy/{prefix}*"],
                "Condition": condition,
            },
        ],
    }
