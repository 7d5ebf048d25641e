"""Kubernetes rules: RBAC on Secrets, Secret values, prod settings in ConfigMaps.

- ``prod-settings-https-and-cors`` (a stack policy): in prod every ConfigMap's ``*CORS_ORIGIN*`` is a list of
  ``https://host[:port]`` origins, each ``*_URL`` and ``*_ENDPOINT`` value one https URL, each ``*_PROTOCOL``
  ``https``, and no value holds a control character: the program's own grammar, ``platform_secrets/model/values.py``
  (``__main__.py`` puts the project root on ``sys.path``), so the pack and the program cannot disagree.
- ``secret-reader-roles-by-name``: every RBAC rule that reaches Secrets lists ``resourceNames`` and only ``get``.
- ``no-plaintext-secret-values``: a Secret's ``data``/``stringData`` are Pulumi secrets.
- ``namespaces-protected-in-prod`` (a stack policy): in prod every namespace labelled
  ``app.kubernetes.io/managed-by: platform-secrets`` is ``protect``ed and registered through a Kubernetes
  provider that names its ``cluster``. That it is also retained on delete (in every environment) cannot be
  checked here: the engine does not send ``retainOnDelete`` to a policy pack (pulumi-policy 1.21's
  ``PolicyResourceOptions`` has no such field); the program's tests check it (``tests/attacks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from platform_secrets.model import values

from .common import (
    ENVIRONMENT_LABEL,
    PROD,
    StackValidate,
    Validate,
    as_list,
    plain,
    plaintext_inputs,
    report_plaintext,
    stack_environment,
)

K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_CONFIGMAP = "kubernetes:core/v1:ConfigMap"
K8S_ROLES = (
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
)
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SECRET_VALUE_INPUTS = ("data", "stringData")
MANAGED_BY = ("app.kubernetes.io/managed-by", "platform-secrets")


# --- prod-settings-https-and-cors ---


def setting_problems(key: str, value: str) -> str | None:
    """Why a plain setting breaks the prod rule its name implies, or None (grammar: ``platform_secrets.model.values``).

    ``*CORS_ORIGIN*``: an origin list; ``*_URL`` and ``*_ENDPOINT``: one https URL; ``*_PROTOCOL``: exactly
    ``https``; any key: no control character.
    """
    upper = key.upper()
    problem = values.control_problem(value)
    if problem is None and "CORS_ORIGIN" in upper:
        problem = values.origin_list_problem(value)
    elif problem is None and upper.endswith(("_URL", "_ENDPOINT")):
        problem = values.https_url_problem(value)
    elif problem is None and upper.endswith("_PROTOCOL"):
        problem = values.https_protocol_problem(value)
    return f"{key}: {problem}" if problem else None


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
        groups = as_list(rule.get("apiGroups"))
        resources = as_list(rule.get("resources"))
        if not ({"", "*"} & set(groups) and {"secrets", "*"} & set(resources)):
            continue
        names = as_list(rule.get("resourceNames"))
        verbs = as_list(rule.get("verbs"))
        if not names or "*" in names:
            problems.append(f"rule {index}: reaches Secrets without resourceNames")
        if verbs != ["get"]:
            problems.append(f"rule {index}: verbs {verbs} on Secrets, only ['get'] is allowed")
    return problems


def validate_secret_reader_roles(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in K8S_ROLES:
        return
    rules = [r for r in as_list(plain(args.props.get("rules"))) if isinstance(r, dict)]
    for problem in rbac_problems(rules):
        report(f"{args.name}: {problem}", None)


# --- no-plaintext-secret-values ---


def validate_no_plaintext_secret_values(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type == K8S_SECRET:
        report_plaintext(args, report, plaintext_inputs(args.props, K8S_SECRET_VALUE_INPUTS))


# --- namespaces-protected-in-prod ---


def validate_namespaces_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    configured = args.get_config().get("environment")
    stack_env = stack_environment(args)
    for resource in args.resources:
        if resource.resource_type != K8S_NAMESPACE:
            continue
        labels = (plain(resource.props.get("metadata")) or {}).get("labels") or {}
        if labels.get(MANAGED_BY[0]) != MANAGED_BY[1]:
            continue
        if (configured or labels.get(ENVIRONMENT_LABEL) or stack_env) != PROD:
            continue
        if not resource.opts.protect:
            report(
                f"{resource.name}: prod namespace is not protected; deleting it deletes every workload in it",
                resource.urn,
            )
        provider = resource.provider
        cluster = plain(provider.props.get("cluster")) if provider else None
        if not cluster:
            report(
                f"{resource.name}: its Kubernetes provider names no cluster; the current kubeconfig context "
                "would decide where prod goes",
                resource.urn,
            )


RULES: dict[str, Validate | StackValidate] = {
    "prod-settings-https-and-cors": validate_prod_settings,
    "secret-reader-roles-by-name": validate_secret_reader_roles,
    "no-plaintext-secret-values": validate_no_plaintext_secret_values,
    "namespaces-protected-in-prod": validate_namespaces_protected,
}
