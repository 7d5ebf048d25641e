"""platform-secrets' invariants as Pulumi policies, for ``pulumi preview --policy-pack policy``.

Importable on its own (only pulumi-policy and the standard library): ``POLICIES`` holds every policy, each a
pulumi-policy ``ResourceValidationPolicy`` or ``StackValidationPolicy`` whose ``validate`` the tests call
directly. Building the ``PolicyPack`` starts a gRPC server and never returns, so only ``__main__.py`` does it.

The policies, all mandatory:

- ``no-wildcard-secret-access``: IAM documents never allow a ``*`` action or resource on Secrets Manager (or KMS);
  no managed policy that reads every secret; no public entry policy; on GCP no project, folder or organisation
  grant of a role that reads secrets and no secret grant to a set of principals; on Azure no secret-reading role
  assigned above a single secret, no vault access policies.
- ``trust-bound-to-one-service-account``: an IRSA trust allows exactly one ``system:serviceaccount:<ns>:<sa>``
  through ``StringEquals`` on ``<issuer>:sub`` and ``<issuer>:aud = sts.amazonaws.com``; no ``*`` principal;
  GCP Workload Identity and Azure federated credentials name one subject, no pattern.
- ``customer-managed-keys``: every Secrets Manager entry and replica names a customer-managed KMS key; in prod
  every GCP replica has a CMEK.
- ``rotation-in-prod``: in prod every entry is tagged ``platform-secrets/rotation-days`` (GCP annotation, Azure
  tag ``platform-secrets-rotation-days``) with at most 90, AWS rotation schedules run at least every 90 days, and
  KMS keys rotate.
- ``prod-settings-https-and-cors``: in prod every ConfigMap's ``*CORS_ORIGIN*`` lists no ``*``, each ``*_URL``
  and ``*_ENDPOINT`` value is an https:// URL, and each ``*_PROTOCOL`` is ``https`` (a stack policy).
- ``secret-reader-roles-by-name``: every RBAC rule that reaches Secrets lists ``resourceNames`` and only ``get``.
- ``no-plaintext-secret-values``: a Kubernetes Secret's ``data``/``stringData`` and every store entry's value
  input are Pulumi secrets.

**How a policy knows prod.** The program marks its environment on what it registers: the AWS provider's
``defaultTags.tags.environment``, the GCP provider's ``defaultLabels.environment``, the Azure resources' own
``tags.environment``. A resource policy reads its own tags/labels, then its provider's; the stack policy reads
every resource and provider of the stack (Kubernetes objects carry no environment of their own, so a ConfigMap's
environment is its stack's). A ``platform-secrets/environment`` label on the object wins, and the policy config
``environment`` (``--policy-pack-config``) overrides all of them.

**Secrets.** The engine sends secret inputs marked, but pulumi-policy 1.21 strips the mark before calling a
resource policy. ``__main__.py`` swaps its deserializer for ``engine_properties``, which keeps each secret as a
``pulumi_policy.secret.Secret``, so that ``no-plaintext-secret-values`` can see it; the other policies read values
through ``plain``, which unwraps secrets and raises ``UnknownValueError`` on values unknown during preview (the
SDK then reports that the policy could not run, as for any unknown input).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import deserialize as _sdk_deserialize
from pulumi_policy import proxy as _proxy
from pulumi_policy.secret import Secret

PROD = "prod"
MAX_ROTATION_DAYS = 90
ENVIRONMENT_LABEL = "platform-secrets/environment"
ENVIRONMENT_CONFIG = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "enum": ["dev", "staging", "prod"],
            "description": "Overrides the environment read from the stack's tags and labels.",
        }
    }
)
UNKNOWNS = frozenset(
    {
        _proxy.UNKNOWN_BOOLEAN_VALUE,
        _proxy.UNKNOWN_NUMBER_VALUE,
        _proxy.UNKNOWN_STRING_VALUE,
        _proxy.UNKNOWN_ARRAY_VALUE,
        _proxy.UNKNOWN_ASSET_VALUE,
        _proxy.UNKNOWN_ARCHIVE_VALUE,
        _proxy.UNKNOWN_OBJECT_VALUE,
    }
)

# --- resource types ---

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
GCP_SET_MEMBERS = ("allUsers", "allAuthenticatedUsers", "domain:", "principalSet:", "project")
GCP_KMS_KEY = "gcp:kms/cryptoKey:CryptoKey"

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

K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_CONFIGMAP = "kubernetes:core/v1:ConfigMap"
K8S_ROLES = (
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
)

SERVICE_ACCOUNT_SUBJECT = re.compile(
    r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9][-a-z0-9.]*$"
)
GCP_WORKLOAD_MEMBER = re.compile(
    r"^serviceAccount:[a-z][-a-z0-9]*\.svc\.id\.goog\[[a-z0-9][-a-z0-9]*/[a-z0-9][-a-z0-9.]*\]$"
)


# --- values as the engine sends them ---


def engine_properties(wire: Mapping[str, Any]) -> dict[str, Any]:
    """Properties in the engine's wire form (``MessageToDict`` of the request) with secrets kept.

    Like pulumi-policy's own deserializer, except that a secret becomes a ``Secret`` marker instead of its bare
    value. The offline plan's recorded inputs are in this same form, so the tests go through this function too.
    """
    return {key: _keep_secrets(value) for key, value in wire.items()}


def _keep_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        if value.get(_sdk_deserialize.SPECIAL_SIG_KEY) == _sdk_deserialize.SPECIAL_SECRET_SIG:
            return Secret(_keep_secrets(value.get("value")))
        if _sdk_deserialize.SPECIAL_SIG_KEY in value:  # assets and archives: the SDK's own handling
            return _sdk_deserialize._deserialize_property(dict(value))
        return {key: _keep_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_keep_secrets(item) for item in value]
    return value


def keep_secret_marks(sdk: Any) -> Callable[..., Any]:
    """Make pulumi-policy's analyzer (module ``pulumi_policy.policy``) keep secret marks; return the original.

    The analyzer calls ``deserialize_properties(props)`` for the resource and its provider; analysis then gets
    ``engine_properties``. Remediation (``proxy_secrets=True``) keeps the SDK's own behaviour.
    """
    original = sdk.deserialize_properties
    if not callable(original):
        raise RuntimeError("pulumi-policy changed: policy.deserialize_properties is gone")

    def deserialize(props: dict[str, Any], proxy_secrets: bool = False) -> Any:
        return original(props, proxy_secrets) if proxy_secrets else engine_properties(props)

    sdk.deserialize_properties = deserialize
    return original


def is_secret(value: Any) -> bool:
    """Whether a property value is a Pulumi secret (a marker, or the wire form's signature)."""
    if isinstance(value, Secret):
        return True
    return (
        isinstance(value, Mapping)
        and value.get(_sdk_deserialize.SPECIAL_SIG_KEY) == _sdk_deserialize.SPECIAL_SECRET_SIG
    )


def plain(value: Any, path: str = "") -> Any:
    """The value with secrets unwrapped, as plain dicts, lists and scalars.

    Raises ``UnknownValueError`` for a value unknown during preview (also inside a secret, which the SDK's proxy
    does not look into).
    """
    if isinstance(value, Secret):
        return plain(value.value, path)
    if isinstance(value, str):
        if value in UNKNOWNS:
            raise _proxy.UnknownValueError(value, [p for p in path.split(".") if p])
        return value
    if isinstance(value, Mapping):
        if is_secret(value):
            return plain(value.get("value"), path)
        return {key: plain(value[key], f"{path}.{key}") for key in value}
    if isinstance(value, Sequence):
        return [plain(item, f"{path}.{index}") for index, item in enumerate(value)]
    return value


def _document(value: Any) -> dict[str, Any]:
    """An IAM document given as JSON text or as an object."""
    value = plain(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    return list(value)


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [st for st in _as_list(document.get("Statement")) if isinstance(st, dict)]


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _json_object(value: Any) -> dict[str, Any]:
    """A provider input object; providers' nested inputs may arrive JSON-encoded."""
    value = plain(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


# --- which environment ---


def environment_of(
    props: Mapping[str, Any],
    provider_props: Mapping[str, Any] | None,
    kubernetes_labels: bool = True,
) -> str | None:
    """The environment a resource declares: its own label or tag, else its provider's default tags/labels."""
    props = plain(props)
    metadata = props.get("metadata") or {}
    labels = [metadata.get("labels")] if kubernetes_labels else []
    for holder in (*labels, props.get("tags"), props.get("labels")):
        if isinstance(holder, dict):
            value = holder.get(ENVIRONMENT_LABEL) or holder.get("environment")
            if value:
                return str(value)
    if provider_props:
        default_tags = _json_object(provider_props.get("defaultTags")).get("tags") or {}
        default_labels = _json_object(provider_props.get("defaultLabels"))
        for holder in (default_tags, default_labels):
            if isinstance(holder, dict) and holder.get("environment"):
                return str(holder["environment"])
    return None


def resource_environment(args: ResourceValidationArgs) -> str | None:
    configured = args.get_config().get("environment")
    if configured:
        return str(configured)
    return environment_of(args.props, args.provider.props if args.provider else None)


def stack_environment(args: StackValidationArgs) -> str | None:
    """The stack's environment: the config, else what its cloud resources and providers declare (prod wins).

    A Kubernetes object's own environment label speaks for that object only, not for its stack.
    """
    configured = args.get_config().get("environment")
    if configured:
        return str(configured)
    found = {
        env
        for resource in args.resources
        if (
            env := environment_of(
                resource.props,
                resource.provider.props if resource.provider else None,
                kubernetes_labels=False,
            )
        )
    }
    return PROD if PROD in found else (found.pop() if len(found) == 1 else None)


# --- no-wildcard-secret-access ---


def _touches_secrets(actions: list[str]) -> bool:
    return any(a == "*" or a.lower().startswith(("secretsmanager:", "kms:")) for a in actions)


def wildcard_problems(document: Mapping[str, Any]) -> list[str]:
    """Why an identity document reads secrets too widely (empty: it does not)."""
    problems = []
    for index, st in enumerate(_statements(document)):
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid") or f"#{index}"
        if "NotAction" in st or "NotResource" in st:
            problems.append(
                f"statement {sid}: Allow with NotAction/NotResource reaches every secret"
            )
            continue
        actions = [str(a) for a in _as_list(st.get("Action"))]
        if not _touches_secrets(actions):
            continue
        wild_actions = [a for a in actions if "*" in a]
        wild_resources = [str(r) for r in _as_list(st.get("Resource")) if "*" in str(r)]
        if wild_actions:
            problems.append(f"statement {sid}: wildcard action {', '.join(wild_actions)}")
        if wild_resources:
            problems.append(f"statement {sid}: wildcard resource {', '.join(wild_resources)}")
    return problems


def _public_statements(document: Mapping[str, Any]) -> list[str]:
    problems = []
    for index, st in enumerate(_statements(document)):
        principal = st.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if st.get("Effect") == "Allow" and "*" in [str(p) for p in _as_list(aws)]:
            problems.append(f"statement {st.get('Sid') or f'#{index}'}: allows every principal")
    return problems


def validate_no_wildcard_secret_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    t, props = args.resource_type, args.props
    if t in AWS_IDENTITY_DOCUMENTS:
        for problem in wildcard_problems(_document(props.get(AWS_IDENTITY_DOCUMENTS[t]))):
            report(f"{args.name}: {problem}; name each entry's ARN and the exact actions", None)
    elif t == AWS_ROLE:
        for inline in _as_list(plain(props.get("inlinePolicies"))):
            for problem in wildcard_problems(_document(inline.get("policy"))):
                report(f"{args.name}: inline policy {inline.get('name')}: {problem}", None)
    elif t in AWS_ATTACHMENTS:
        arn = plain(props.get("policyArn"))
        if arn in AWS_BROAD_MANAGED_POLICIES:
            report(f"{args.name}: {arn} reads every secret of the account", None)
    elif t == AWS_SECRET_POLICY:
        for problem in _public_statements(_document(props.get("policy"))):
            report(f"{args.name}: entry policy {problem}", None)
    elif t in GCP_BROAD_GRANTS:
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
    elif t == AZURE_ROLE_ASSIGNMENT:
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


def _gcp_grants(type_: str, props: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(role, members) of a GCP IAM member, binding or policy resource."""
    if type_.endswith("IAMPolicy"):
        policy = _document(props.get("policyData"))
        return [
            (str(b.get("role")), [str(m) for m in _as_list(b.get("members"))])
            for b in _as_list(policy.get("bindings"))
            if isinstance(b, dict)
        ]
    members = _as_list(plain(props.get("members"))) or _as_list(plain(props.get("member")))
    return [(str(plain(props.get("role"))), [str(m) for m in members])]


# --- trust-bound-to-one-service-account ---


def trust_problems(document: Mapping[str, Any]) -> list[str]:
    """Why a role's trust policy admits more than one ServiceAccount or principal (empty: it does not)."""
    problems = []
    subjects: list[str] = []
    federated = False
    for index, st in enumerate(_statements(document)):
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid") or f"#{index}"
        principal = st.get("Principal")
        if principal == "*" or (
            isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))
        ):
            problems.append(f"statement {sid}: any principal may assume the role")
            continue
        actions = [str(a) for a in _as_list(st.get("Action"))]
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
            values = [str(v) for v in _as_list(equals[key])]
            if len(values) != 1 or not SERVICE_ACCOUNT_SUBJECT.match(values[0]):
                problems.append(
                    f"statement {sid}: `:sub` must be one system:serviceaccount:<ns>:<sa>, got {values}"
                )
            subjects += values
        if len(auds) != 1 or _as_list(equals[auds[0]]) != ["sts.amazonaws.com"]:
            problems.append(
                f"statement {sid}: needs StringEquals `<issuer>:aud` = sts.amazonaws.com"
            )
    if federated and len(set(subjects)) > 1:
        problems.append(f"trusts {len(set(subjects))} ServiceAccounts: {sorted(set(subjects))}")
    return problems


def validate_trust_bound_to_one_service_account(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    t, props = args.resource_type, args.props
    if t == AWS_ROLE:
        for problem in trust_problems(_document(props.get("assumeRolePolicy"))):
            report(f"{args.name}: trust policy {problem}", None)
    elif t in GCP_SA_GRANTS:
        for role, members in _gcp_grants(t, props):
            if role != GCP_WORKLOAD_IDENTITY_USER:
                continue
            if len(members) != 1 or not GCP_WORKLOAD_MEMBER.match(members[0]):
                report(
                    f"{args.name}: Workload Identity must name one ServiceAccount "
                    f"(serviceAccount:<pool>[<ns>/<sa>]), got {members}",
                    None,
                )
    elif t == AZURE_FEDERATION:
        subject = str(plain(props.get("subject")) or "")
        audiences = _as_list(plain(props.get("audiences")))
        if "*" in subject or (
            subject.startswith("system:serviceaccount:")
            and not SERVICE_ACCOUNT_SUBJECT.match(subject)
        ):
            report(f"{args.name}: federated subject {subject!r} is not one exact subject", None)
        if audiences != [AZURE_TOKEN_AUDIENCE]:
            report(
                f"{args.name}: federated audiences must be exactly [{AZURE_TOKEN_AUDIENCE}]", None
            )


# --- customer-managed-keys ---


def validate_customer_managed_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t == AWS_SECRET:
        key = str(plain(props.get("kmsKeyId")) or "")
        if not key or key.endswith("alias/aws/secretsmanager"):
            report(f"{args.name}: no customer-managed kmsKeyId (the AWS managed key is used)", None)
        for replica in _as_list(plain(props.get("replicas"))):
            if not replica.get("kmsKeyId"):
                report(f"{args.name}: replica in {replica.get('region')} has no kmsKeyId", None)
    elif t == GCP_SECRET and resource_environment(args) == PROD:
        replication = plain(props.get("replication")) or {}
        replicas = (replication.get("userManaged") or {}).get("replicas") or []
        if not replicas:
            report(
                f"{args.name}: automatic replication has no customer-managed key per location", None
            )
        for replica in replicas:
            if not (replica.get("customerManagedEncryption") or {}).get("kmsKeyName"):
                report(f"{args.name}: replica in {replica.get('location')} has no CMEK", None)


# --- rotation-in-prod ---


def _rotation_days(holder: Any, key: str) -> int | None:
    return _int(holder.get(key)) if isinstance(holder, dict) else None


def validate_rotation_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t not in (
        AWS_SECRET,
        AZURE_SECRET,
        GCP_SECRET,
        AWS_SECRET_ROTATION,
        AWS_KMS_KEY,
        GCP_KMS_KEY,
    ):
        return
    if resource_environment(args) != PROD:
        return
    if t in (AWS_SECRET, AZURE_SECRET, GCP_SECRET):
        holder, key = {
            AWS_SECRET: ("tags", "platform-secrets/rotation-days"),
            AZURE_SECRET: ("tags", "platform-secrets-rotation-days"),
            GCP_SECRET: ("annotations", "platform-secrets-rotation-days"),
        }[t]
        days = _rotation_days(plain(props.get(holder)), key)
        if days is None or days > MAX_ROTATION_DAYS:
            report(
                f"{args.name}: prod entry needs {holder} {key} <= {MAX_ROTATION_DAYS}, got "
                f"{(plain(props.get(holder)) or {}).get(key)!r}",
                None,
            )
        if t == GCP_SECRET:
            period = str((plain(props.get("rotation")) or {}).get("rotationPeriod") or "")
            seconds = _int(period.removesuffix("s"))
            if seconds is None or seconds > MAX_ROTATION_DAYS * 86400:
                report(
                    f"{args.name}: prod secret rotation period {period or '(none)'} > 90 days", None
                )
    elif t == AWS_SECRET_ROTATION:
        rules = plain(props.get("rotationRules")) or {}
        days = _int(rules.get("automaticallyAfterDays"))
        if rules.get("scheduleExpression") is None and (days is None or days > MAX_ROTATION_DAYS):
            report(
                f"{args.name}: prod rotation every {days} days, more than {MAX_ROTATION_DAYS}", None
            )
    elif t == AWS_KMS_KEY and plain(props.get("enableKeyRotation")) is not True:
        report(f"{args.name}: prod KMS key without enableKeyRotation", None)
    elif t == GCP_KMS_KEY and not plain(props.get("rotationPeriod")):
        report(f"{args.name}: prod KMS key without rotationPeriod", None)


# --- prod-settings-https-and-cors ---


HTTPS_URL = re.compile(r"^https://[^/\s*]+")


def setting_problems(key: str, value: str) -> str | None:
    """Why a plain setting breaks the prod rule its name implies, or None.

    ``*CORS_ORIGIN*``: no ``*``, and each origin https; ``*_URL`` and ``*_ENDPOINT``: each comma-separated value
    an https:// URL; ``*_PROTOCOL``: exactly ``https``.
    """
    upper = key.upper()
    items = [part.strip() for part in value.split(",")]
    if "CORS_ORIGIN" in upper and any("*" in item for item in items):
        return f"{key}={value!r} allows any origin"
    if "CORS_ORIGIN" in upper or upper.endswith(("_URL", "_ENDPOINT")):
        for item in items:
            if not HTTPS_URL.match(item):
                return f"{key}: {item!r} is not an https:// URL"
    if upper.endswith("_PROTOCOL") and value != "https":
        return f"{key}={value!r}, must be https"
    return None


def validate_prod_settings(args: StackValidationArgs, report: ReportViolation) -> None:
    configured = args.get_config().get("environment")
    stack_env = stack_environment(args)
    for resource in args.resources:
        if resource.resource_type != K8S_CONFIGMAP:
            continue
        labels = (plain(resource.props.get("metadata")) or {}).get("labels") or {}
        if (configured or labels.get(ENVIRONMENT_LABEL) or stack_env) != PROD:
            continue
        data = plain(resource.props.get("data")) or {}
        for key, value in sorted(data.items()):
            problem = setting_problems(key, str(value))
            if problem:
                report(f"{resource.name}: {problem} (prod)", resource.urn)


# --- secret-reader-roles-by-name ---


def rbac_problems(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    """Why RBAC rules reach Secrets by more than name and ``get`` (empty: they do not)."""
    problems = []
    for index, rule in enumerate(rules):
        groups = _as_list(rule.get("apiGroups"))
        resources = _as_list(rule.get("resources"))
        if not ({"", "*"} & set(groups) and {"secrets", "*"} & set(resources)):
            continue
        names = _as_list(rule.get("resourceNames"))
        verbs = _as_list(rule.get("verbs"))
        if not names or "*" in names:
            problems.append(f"rule {index}: reaches Secrets without resourceNames")
        if verbs != ["get"]:
            problems.append(f"rule {index}: verbs {verbs} on Secrets, only ['get'] is allowed")
    return problems


def validate_secret_reader_roles(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in K8S_ROLES:
        return
    rules = [r for r in _as_list(plain(args.props.get("rules"))) if isinstance(r, dict)]
    for problem in rbac_problems(rules):
        report(f"{args.name}: {problem}", None)


# --- no-plaintext-secret-values ---

SECRET_VALUE_INPUTS = {
    K8S_SECRET: ("data", "stringData"),
    AWS_SECRET_VERSION: ("secretString", "secretBinary"),
    GCP_SECRET_VERSION: ("secretData",),
}


def plaintext_fields(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Inputs that carry a secret value without being marked secret."""
    found = []
    for field in SECRET_VALUE_INPUTS.get(type_, ()):
        value = props.get(field)
        if value is None or is_secret(value):
            continue
        if isinstance(value, Mapping):
            found += [f"{field}.{key}" for key in value if not is_secret(value[key])]
        elif value != "":
            found.append(field)
    if type_ == AZURE_SECRET:
        properties = props.get("properties")
        if properties is not None and not is_secret(properties):
            value = properties.get("value")
            if value is not None and not is_secret(value):
                found.append("properties.value")
    return found


def validate_no_plaintext_secret_values(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for field in plaintext_fields(args.resource_type, args.props):
        report(
            f"{args.name}: {field} is not a Pulumi secret (use pulumi.Output.secret / require_secret)",
            None,
        )


# --- the pack's policies ---

Validate = Callable[[ResourceValidationArgs, ReportViolation], None]


def _resource_policy(
    name: str, description: str, validate: Validate, configurable: bool = False
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=ENVIRONMENT_CONFIG if configurable else None,
    )


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    _resource_policy(
        "no-wildcard-secret-access",
        "No identity reads secrets through a wildcard action or resource, a managed policy, a project-, "
        "folder- or vault-level grant, or a public entry policy.",
        validate_no_wildcard_secret_access,
    ),
    _resource_policy(
        "trust-bound-to-one-service-account",
        "A workload identity trusts exactly one Kubernetes ServiceAccount (StringEquals on :sub and :aud).",
        validate_trust_bound_to_one_service_account,
    ),
    _resource_policy(
        "customer-managed-keys",
        "Store entries are encrypted with a customer-managed key.",
        validate_customer_managed_keys,
        configurable=True,
    ),
    _resource_policy(
        "rotation-in-prod",
        "In prod every entry rotates at least every 90 days and every KMS key rotates.",
        validate_rotation_in_prod,
        configurable=True,
    ),
    StackValidationPolicy(
        name="prod-settings-https-and-cors",
        description="In prod no ConfigMap allows a `*` CORS origin, an http URL or a non-https protocol.",
        validate=validate_prod_settings,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=ENVIRONMENT_CONFIG,
    ),
    _resource_policy(
        "secret-reader-roles-by-name",
        "Every RBAC rule on Secrets names them (resourceNames) and allows only get.",
        validate_secret_reader_roles,
    ),
    _resource_policy(
        "no-plaintext-secret-values",
        "Kubernetes Secret data and store entry values are Pulumi secrets.",
        validate_no_plaintext_secret_values,
    ),
]
"""Every policy of the pack, by name in ``POLICY_NAMES``."""

POLICY_NAMES = tuple(policy.name for policy in POLICIES)
