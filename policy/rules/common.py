"""What every store's rules share: the pack's policies, values as the engine sends them, and the environment.

**The policies.** ``POLICY_SPECS`` names each policy of the pack once (name, description, whether it reads the
``environment`` policy config, whether it judges the whole stack). A store module (``aws``, ``gcp``, ``azure``,
``kubernetes``) gives its own checks in ``RULES``, a mapping from a policy name to a ``validate`` function that
ignores the resource types of other stores; ``__init__`` joins them into one pulumi-policy policy per name.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
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
SERVICE_ACCOUNT_SUBJECT = re.compile(
    r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9][-a-z0-9.]*$"
)

# --- the pack's policies ---

Validate = Callable[[ResourceValidationArgs, ReportViolation], None]
StackValidate = Callable[[StackValidationArgs, ReportViolation], None]


@dataclass(frozen=True)
class PolicySpec:
    """One policy of the pack; the stores' ``RULES`` give its checks."""

    name: str
    description: str
    configurable: bool = False
    """Takes the ``environment`` policy config (the policy treats prod differently)."""
    stack: bool = False
    """A stack policy (its rules get ``StackValidationArgs``), else a resource policy."""


POLICY_SPECS: tuple[PolicySpec, ...] = (
    PolicySpec(
        "no-wildcard-secret-access",
        "No identity reads secrets through a wildcard action or resource, a managed policy, a project-, "
        "folder- or vault-level grant, or a public entry policy.",
    ),
    PolicySpec(
        "trust-bound-to-one-service-account",
        "A workload identity trusts exactly one Kubernetes ServiceAccount (StringEquals on :sub and :aud).",
    ),
    PolicySpec(
        "customer-managed-keys",
        "Store entries are encrypted with a customer-managed key.",
        configurable=True,
    ),
    PolicySpec(
        "rotation-in-prod",
        "In prod every entry rotates at least every 90 days and every KMS key rotates.",
        configurable=True,
    ),
    PolicySpec(
        "prod-settings-https-and-cors",
        "In prod no ConfigMap allows a `*` CORS origin, an http URL or a non-https protocol.",
        configurable=True,
        stack=True,
    ),
    PolicySpec(
        "secret-reader-roles-by-name",
        "Every RBAC rule on Secrets names them (resourceNames) and allows only get.",
    ),
    PolicySpec(
        "prod-store-protected",
        "In prod the store's mounts and auth methods are protected and keep their versions (Vault).",
        configurable=True,
    ),
    PolicySpec(
        "no-plaintext-secret-values",
        "Kubernetes Secret data and store entry values are Pulumi secrets.",
    ),
    PolicySpec(
        "namespaces-protected-in-prod",
        "In prod every namespace platform-secrets manages is protected and goes through a provider pinned "
        "to a named cluster.",
        configurable=True,
        stack=True,
    ),
    PolicySpec(
        "ci-bound-to-a-protected-environment-in-prod",
        "In prod a CI token binding (a Vault JWT role's bound_claims, an Azure federated subject, a GCP "
        "federated principal) names a protected deployment environment, never a branch, a ref or a pull "
        "request (platform_secrets/model/ci_bindings.py).",
        configurable=True,
    ),
    PolicySpec(
        "key-vault-network-restricted-in-prod",
        "In prod a Key Vault's firewall denies every network but the allowed ones, unless the vault carries "
        "the reason it is open.",
        configurable=True,
    ),
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


def document(value: Any) -> dict[str, Any]:
    """An IAM document given as JSON text or as an object."""
    value = plain(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    return list(value)


def statements(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [st for st in as_list(doc.get("Statement")) if isinstance(st, dict)]


def to_int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def json_object(value: Any) -> dict[str, Any]:
    """A provider input object; providers' nested inputs may arrive JSON-encoded."""
    value = plain(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def plaintext_inputs(props: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """Which of ``fields`` (or their keys, for an object) carry a value without being marked secret."""
    found = []
    for field in fields:
        value = props.get(field)
        if value is None or is_secret(value):
            continue
        if isinstance(value, Mapping):
            found += [f"{field}.{key}" for key in value if not is_secret(value[key])]
        elif value != "":
            found.append(field)
    return found


def report_plaintext(
    args: ResourceValidationArgs, report: ReportViolation, fields: list[str]
) -> None:
    for field in fields:
        report(
            f"{args.name}: {field} is not a Pulumi secret (use pulumi.Output.secret / require_secret)",
            None,
        )


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
        default_tags = json_object(provider_props.get("defaultTags")).get("tags") or {}
        default_labels = json_object(provider_props.get("defaultLabels"))
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
