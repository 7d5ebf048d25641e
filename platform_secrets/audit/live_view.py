"""A live view of each store for the audit: what its read-only reader returns, judged for protection, and who
can read what according to ``platform_secrets.access.matrix`` (the same derivation as the plan's ``access.json``).

One function per store; each takes the declared stack (for the prefix, region, account and the protection the
stack declares) and a reader (made from the caller's credentials when not given).

Over 400 lines because it holds one view per store (AWS, GCP, Azure, Vault); the next split is one module per store, as the readers already are.
"""

from __future__ import annotations

import json
from typing import Any

from platform_secrets.access import doors_aws, doors_azure, doors_gcp
from platform_secrets.access import matrix as access
from platform_secrets.audit import aws as audit_aws
from platform_secrets.audit.checks import LiveEntry, LiveView
from platform_secrets.audit.declared import AuditInputError, Declared, readers_of
from platform_secrets.live.endpoints import endpoint_for_settings
from platform_secrets.live.readers.aws import AwsReader, LiveRole, LiveSecret
from platform_secrets.live.readers.azure import AzureReader
from platform_secrets.live.readers.gcp import GcpReader
from platform_secrets.live.readers.vault import VaultReader
from platform_secrets.offline.registered import Registered

AWS_ENTRY = "aws:secretsmanager/secret:Secret"
AWS_ENTRY_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
AWS_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
AWS_ROLE = "aws:iam/role:Role"


def aws_view(
    declared: Declared, reader: AwsReader | None = None, endpoint: str | None = None
) -> LiveView:
    settings = declared.settings
    assert settings.aws is not None
    reader = reader or AwsReader(settings.aws.region, endpoint_url=_explicit(declared, endpoint))
    account = reader.account()
    if account != settings.aws.account_id:
        raise AuditInputError(
            f"the credentials are for AWS account {account}, the stack {declared.stack} is in "
            f"{settings.aws.account_id} (Pulumi.{declared.stack}.yaml aws.accountId): nothing audited"
        )
    env = settings.environment.value
    scope = f"{settings.name_prefix}/{env}/"
    role_prefix = f"{settings.name_prefix}-{env}-"
    planned_roles = {str(r.inputs["name"]) for r in declared.of_type(AWS_ROLE)}
    secrets = reader.secrets(scope)
    # The plan's roles outside the prefix too (a declared tooling role), so that their trust is judged.
    roles = reader.roles(
        role_prefix, frozenset(n for n in planned_roles if not n.startswith(role_prefix))
    )

    planned_policies = {
        r.inputs.get("secretArn"): _json(r.inputs.get("policy"))
        for r in declared.of_type(AWS_ENTRY_POLICY)
    }
    rotated = {r.inputs.get("secretId") for r in declared.of_type(AWS_ROTATION)}
    keys = audit_aws.KeyCheck(declared.resources, settings.aws.region, reader.key_aliases)
    entries: dict[str, LiveEntry] = {}
    for secret in secrets:
        planned = declared.entries.get(secret.name)
        problems = (
            _aws_protection(
                planned.resource.inputs, planned.resource.outputs, secret, planned_policies, rotated
            )
            + keys.problems(
                planned.resource.inputs,
                secret.kms_key_id,
                set(secret.replicas),
                secret.replica_keys,
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
            current_version=secret.current_version,
            previous_versions=frozenset(
                [secret.previous_version] if secret.previous_version else []
            ),
        )
    matrix = access.derive(_aws_documents(secrets, roles))
    latent = audit_aws.latent_readers(
        [
            (s.name, (s.arn, *(access.in_region(s.arn, region) for region in sorted(s.replicas))))
            for s in secrets
            if s.deleted_on is None
        ],
        [(r.name, r.arn, r.policies) for r in roles],
        declared.readers(),
        readers_of(matrix),
        planned_roles,
    )
    return LiveView(
        scope=scope,
        entries=entries,
        matrix=matrix,
        notes=(
            "AWS: roles are read under the prefix "
            f"{role_prefix} (and the plan's roles by name); a principal outside it reads an entry "
            "only if the entry's resource policy lets it (shown), or if an entry has none (shown as "
            "the account); its own grants are not read.",
            "AWS: the recovery window of an entry is not visible until it is deleted.",
            "AWS: an entry's key is judged against the key the stack's alias targets; the alias "
            "itself is trusted.",
        ),
        doors=doors_aws.doors_of((r.arn, r.trust) for r in roles if r.name in planned_roles),
        planned_doors=doors_aws.planned_doors(declared.resources),
        latent_readers=tuple(latent),
    )


def _json(document: Any) -> dict[str, Any] | None:
    if document is None:
        return None
    return dict(json.loads(document) if isinstance(document, str) else document)


def _aws_documents(secrets: list[LiveSecret], roles: list[LiveRole]) -> list[Registered]:
    """The live entries and roles in the shape of the plan's registrations, for ``platform_secrets.access.matrix.derive``.

    An attached managed policy is an identity policy the role holds, like an inline one: it is given as one.
    """
    resources = []
    for s in secrets:
        if s.deleted_on is not None:
            continue
        key = s.tags.get("platform-secrets/key", s.name.rsplit("/", 1)[-1])
        inputs = {
            "name": s.name,
            "tags": {**s.tags, "platform-secrets/key": key},
            "replicas": [{"region": region} for region in sorted(s.replicas)],
        }
        resources.append(_registered(AWS_ENTRY, s.arn, inputs, {"arn": s.arn}))
        if s.policy is not None:
            policy = {"secretArn": s.arn, "policy": json.dumps(s.policy)}
            resources.append(_registered(AWS_ENTRY_POLICY, f"{s.arn}/policy", policy, {}))
    for r in roles:
        inputs = {"name": r.name, "assumeRolePolicy": json.dumps(r.trust), "tags": r.tags}
        resources.append(_registered("aws:iam/role:Role", r.name, inputs, {"arn": r.arn}))
        for n, document in enumerate(r.policies):
            policy = {"role": r.name, "name": f"live-{n}", "policy": json.dumps(document)}
            resources.append(
                _registered("aws:iam/rolePolicy:RolePolicy", f"{r.name}:live-{n}", policy, {})
            )
    return resources


def _aws_protection(
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    secret: Any,
    planned_policies: dict[Any, dict[str, Any] | None],
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
    if outputs.get("arn") in planned_policies and secret.policy is None:
        problems.append("no resource policy: the deny-all-but-readers policy is gone")
    policy_problem = audit_aws.policy_problem(
        planned_policies.get(outputs.get("arn")), secret.policy
    )
    if policy_problem:
        problems.append(policy_problem)
    if outputs.get("arn") in rotated and not secret.rotation_enabled:
        problems.append("rotation by the owner's Lambda is off")
    return problems


# --- GCP and Azure: the live responses in the shapes platform_secrets.access.matrix derives the plan's matrix from ---


def _registered(
    type_: str, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]
) -> Registered:
    """A live object in the shape of a registration, so that ``platform_secrets.access.matrix`` judges it as it judges the plan."""
    return Registered(
        urn=f"live::{type_}::{id_}",
        type=type_,
        name=id_,
        inputs=inputs,
        outputs=outputs,
        id=id_,
    )


def _policy(bindings: Any) -> str:
    return json.dumps({"bindings": [{"role": r, "members": list(m)} for r, m in bindings]})


def gcp_view(
    declared: Declared, reader: GcpReader | None = None, endpoint: str | None = None
) -> LiveView:
    settings = declared.settings
    assert settings.gcp is not None
    project = settings.gcp.project
    _explicit(declared, endpoint)
    reader = reader or GcpReader(project)
    scope = f"{settings.name_prefix}-{settings.environment.value}-"
    secrets = reader.secrets(scope)
    resources = [
        _registered(
            "gcp:projects/iAMPolicy:IAMPolicy",
            project,
            {"project": project, "policyData": _policy(reader.project_bindings())},
            {},
        )
    ]
    entries: dict[str, LiveEntry] = {}
    for s in secrets:
        secret_id = f"projects/{project}/secrets/{s.secret_id}"
        annotations = {"platform-secrets-key": s.secret_id, **s.annotations}
        resources += [
            _registered(
                "gcp:secretmanager/secret:Secret",
                secret_id,
                {"project": project, "secretId": s.secret_id, "annotations": annotations},
                {"name": s.name},
            ),
            _registered(
                "gcp:secretmanager/secretIamPolicy:SecretIamPolicy",
                f"{secret_id}/iam",
                {"secretId": secret_id, "policyData": _policy(s.bindings)},
                {},
            ),
        ]
        newest = s.versions[0] if s.versions else None
        planned = declared.entries.get(s.secret_id)
        entries[s.secret_id] = LiveEntry(
            name=s.secret_id,
            has_value=newest is not None and newest[0] == "ENABLED",
            value_set=newest[1] if newest else None,
            problems=tuple(_gcp_protection(planned.resource.inputs, s) if planned else ()),
            current_version=s.newest_version,
            previous_versions=frozenset(s.enabled_versions),
        )
    return LiveView(
        scope=scope,
        entries=entries,
        matrix=access.derive(resources),
        doors=doors_gcp.doors(resources),
        planned_doors=doors_gcp.doors(declared.resources),
        notes=(
            "GCP: project bindings are read for Secret Manager and act-as roles only; the project's "
            "owners can read every secret by design and are not listed.",
            "GCP: act-as grants on a single service account are not read (the stack makes none; a "
            "service account that reads is an extra reader already).",
            "GCP: deletionProtection is a Pulumi/Terraform-side flag, not visible in the API.",
        ),
    )


def _gcp_protection(inputs: dict[str, Any], secret: Any) -> list[str]:
    problems = []
    for replica in (inputs.get("replication") or {}).get("userManaged", {}).get("replicas", []):
        location = replica["location"]
        if location not in secret.replicas:
            problems.append(f"no replica in {location} (the stack replicates there)")
        elif replica.get("customerManagedEncryption") and not secret.replicas[location]:
            problems.append(f"replica in {location} is not encrypted with the stack's key")
    ttl = inputs.get("versionDestroyTtl")
    if ttl and _seconds(secret.version_destroy_ttl) < _seconds(ttl):
        problems.append(
            f"destroyed versions are kept {secret.version_destroy_ttl or 'not at all'}, "
            f"the stack declares {ttl}"
        )
    period = (inputs.get("rotation") or {}).get("rotationPeriod")
    if period and not secret.rotation_period:
        problems.append(f"no rotation period (the stack declares {period}): no rotation notices")
    return problems


def _seconds(duration: str | None) -> int:
    return int(str(duration).removesuffix("s")) if duration else 0


AZURE_VAULT = "azure-native:keyvault:Vault"
AZURE_PROTECTION = {
    # the vault's declared property -> its name in the management API's answer
    "enablePurgeProtection": "enable_purge_protection",
    "enableSoftDelete": "enable_soft_delete",
    "softDeleteRetentionInDays": "soft_delete_retention_in_days",
    "enableRbacAuthorization": "enable_rbac_authorization",
}


def azure_view(
    declared: Declared, reader: AzureReader | None = None, endpoint: str | None = None
) -> LiveView:
    settings = declared.settings
    assert settings.azure is not None
    vaults = declared.of_type(AZURE_VAULT)
    assert len(vaults) == 1, "the plan declares one vault"
    vault_inputs = vaults[0].inputs
    _explicit(declared, endpoint)
    reader = reader or AzureReader(
        settings.azure.subscription_id,
        settings.azure.resource_group_name,
        str(vault_inputs["vaultName"]),
        identity_group=settings.azure.identity_group,
    )
    secrets = reader.secrets()
    resources = [
        _registered(
            "azure-native:keyvault:Secret",
            f"{reader.vault_id}/secrets/{s.name}",
            {"secretName": s.name, "tags": {"platform-secrets-key": s.name, **s.tags}},
            {},
        )
        for s in secrets
        if s.deleted is None
    ]
    identities = reader.identities()
    resources += [
        _registered(
            "azure-native:managedidentity:UserAssignedIdentity",
            i.name,
            {"tags": i.tags, "resourceGroupName": reader.identity_group},
            {"principalId": i.principal_id, "clientId": i.client_id, "name": i.name},
        )
        for i in identities
    ]
    resources += [
        _registered("azure-native:authorization:RoleAssignment", f"identity-group-{n}", a, {})
        for n, a in enumerate(reader.identity_group_assignments())
    ]
    resources += [
        _registered(
            "azure-native:managedidentity:FederatedIdentityCredential",
            f"{i.name}/credential-{n}",
            {"resourceName": i.name, **c},
            {},
        )
        for i in identities
        for n, c in enumerate(reader.federated_credentials(i.name))
    ]
    resources += [
        _registered("azure-native:authorization:RoleAssignment", f"assignment-{n}", a, {})
        for n, a in enumerate(reader.role_assignments())
    ]
    entries = {
        s.name: LiveEntry(
            name=s.name,
            has_value=s.enabled,
            value_set=s.updated or s.created,
            deleted_on=s.deleted,
            current_version=s.current_version,
            previous_versions=frozenset(s.enabled_versions),
        )
        for s in secrets
    }
    live_vault = reader.vault_properties()
    problems = []
    for declared_key, live_key in AZURE_PROTECTION.items():
        want = (vault_inputs.get("properties") or {}).get(declared_key)
        have = live_vault.get(live_key)
        if want is None or have == want:
            continue
        numeric = isinstance(want, (int, float)) and not isinstance(want, bool)
        if numeric and have is not None and int(have) >= int(want):
            continue
        problems.append(
            (
                f"vault {vault_inputs['vaultName']}",
                f"{declared_key} is {have}, the stack declares {want}",
            )
        )
    return LiveView(
        scope=f"vault {vault_inputs['vaultName']}",
        entries=entries,
        matrix=access.derive(resources),
        store_problems=tuple(problems),
        doors=doors_azure.doors(resources),
        planned_doors=doors_azure.doors(declared.resources),
        notes=(
            "Azure: a secret's value cannot be seen to be blank from its properties; an enabled "
            "current version counts as a value.",
        ),
    )


# --- Vault / OpenBao: policies and JWT roles, derived by platform_secrets.access.vault as the plan's are ---


def vault_view(
    declared: Declared, reader: VaultReader | None = None, endpoint: str | None = None
) -> LiveView:
    from platform_secrets.access import doors_vault
    from platform_secrets.access import vault as access_vault
    from platform_secrets.program.clouds import vault_naming

    settings = declared.settings
    assert settings.vault is not None
    paths = vault_naming.paths(settings)
    mount = paths.mount
    address = endpoint_for_settings(declared.settings, endpoint)
    assert address is not None  # a Vault stack always has vault.address
    reader = reader or VaultReader(address)
    secrets = reader.secrets(mount)
    accessors = reader.auth_accessors()
    groups, aliases = reader.identity_groups(), reader.entity_aliases()
    roles = [
        access_vault.with_groups(
            access_vault.role_from_api(path, name, role), accessors.get(path, ""), groups, aliases
        )
        for path, name, role in reader.jwt_roles()
    ]
    planned_roles = access_vault.registered_roles(declared.resources)
    documents = [
        access_vault.VaultEntry(mount, s.path, s.custom_metadata.get(access_vault.KEY_METADATA))
        for s in secrets
    ]
    matrix = access_vault.derive(documents, reader.policies(), roles)
    reading = {row["identity"] for row in matrix.values() if row.get("entries")}
    want = settings.vault.max_versions
    entries = {}
    for s in secrets:
        problems = []
        if s.max_versions and s.max_versions < want:
            problems.append(f"keeps {s.max_versions} versions, the stack declares {want}")
        if s.delete_version_after not in ("0s", "0"):
            problems.append(f"deletes versions after {s.delete_version_after}")
        name = vault_naming.entry_name(mount, s.path)
        entries[name] = LiveEntry(
            name=name,
            has_value=s.current_version > 0 and not s.current_deleted,
            value_set=s.current_created,
            problems=tuple(problems),
            current_version=str(s.current_version) if s.current_version > 0 else None,
            previous_versions=frozenset(s.readable_versions),
        )
    config = reader.mount_config(mount)
    store_problems = []
    if int(config.get("max_versions") or 0) < want:
        store_problems.append(
            (
                f"mount {mount}",
                f"max_versions is {config.get('max_versions')}, the stack declares {want}",
            )
        )
    if str(config.get("delete_version_after") or "0s") not in ("0s", "0"):
        store_problems.append(
            (f"mount {mount}", f"deletes versions after {config.get('delete_version_after')}")
        )
    return LiveView(
        scope=f"mount {mount}",
        entries=entries,
        matrix=matrix,
        store_problems=tuple(store_problems),
        # Doors into our readers: every role on the stack's own mounts, and any other role whose token reads
        # one of our entries (a shared server's other mounts are not ours to judge otherwise).
        doors=doors_vault.role_doors(
            r for r in roles if r.auth_path in (paths.auth, paths.ci_auth) or r.identity in reading
        ),
        planned_doors=doors_vault.role_doors(planned_roles),
        notes=(
            "Vault: roles are read on every JWT/OIDC auth mount; tokens made by other auth methods "
            "show only through a policy that no role carries (listed as policy:<name>).",
            "Vault: a role's token is counted with the policies of the identity groups its entity may be "
            "in; a policy templated from claims (token_policies_template_claims) cannot be resolved and "
            "shows only as a changed role.",
        ),
    )


def _explicit(declared: Declared, endpoint: str | None) -> str | None:
    """The address given explicitly (checked), else None (the library's public endpoint); a variable of the
    caller's shell that would redirect the audit is refused (``platform_secrets.live.endpoints``)."""
    endpoint_for_settings(declared.settings, endpoint)
    return endpoint
