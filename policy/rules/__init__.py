"""platform-secrets' invariants as Pulumi policies, for ``pulumi preview --policy-pack policy``.

Importable on its own (only pulumi-policy and the standard library): ``POLICIES`` holds every policy, each a
pulumi-policy ``ResourceValidationPolicy`` or ``StackValidationPolicy`` whose ``validate`` the tests call
directly. Building the ``PolicyPack`` starts a gRPC server and never returns, so only ``__main__.py`` does it.

One module per store, as ``platform_secrets/program/clouds/`` is split: ``aws``, ``gcp``, ``azure`` and ``kubernetes`` each
give their checks in ``RULES`` (policy name -> ``validate``); ``common`` names the policies (``POLICY_SPECS``),
reads the environment and keeps secret marks (see its docstring). This module joins, for each policy, the rules of
every store in ``STORES``: a new store is one module with its ``RULES`` and one entry in ``STORES``; a new policy
is one ``PolicySpec`` in ``common``. What each policy checks on a store: that store module's docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from . import aws, azure, gcp, kubernetes, vault
from .aws import (
    AWS_KMS_KEY,
    AWS_ROLE,
    AWS_SECRET,
    AWS_SECRET_POLICY,
    AWS_SECRET_ROTATION,
    AWS_SECRET_VERSION,
    trust_problems,
    wildcard_problems,
)
from .azure import AZURE_FEDERATION, AZURE_ROLE_ASSIGNMENT, AZURE_SECRET, AZURE_VAULT
from .common import (
    ENVIRONMENT_CONFIG,
    ENVIRONMENT_LABEL,
    MAX_ROTATION_DAYS,
    POLICY_SPECS,
    PROD,
    PolicySpec,
    engine_properties,
    environment_of,
    is_secret,
    keep_secret_marks,
    plain,
    resource_environment,
    stack_environment,
)
from .gcp import (
    GCP_KMS_KEY,
    GCP_SECRET,
    GCP_SECRET_GRANTS,
    GCP_SECRET_VERSION,
    GCP_WORKLOAD_IDENTITY_USER,
)
from .kubernetes import K8S_CONFIGMAP, K8S_ROLES, K8S_SECRET, rbac_problems, setting_problems

STORES: tuple[ModuleType, ...] = (aws, gcp, azure, vault, kubernetes)
"""The stores whose rules the pack runs; each module's ``RULES`` maps a policy name to its ``validate``."""


def _unknown_rules() -> list[str]:
    names = {spec.name for spec in POLICY_SPECS}
    return [
        f"{store.__name__}: {name}" for store in STORES for name in store.RULES if name not in names
    ]


if _unknown_rules():  # a misspelt policy name in a store's RULES would otherwise never run
    raise RuntimeError(f"rules for no policy of POLICY_SPECS: {', '.join(_unknown_rules())}")


def joined(name: str) -> Callable[[Any, ReportViolation], None]:
    """One ``validate`` running every store's rule for policy ``name`` (each ignores other stores' types)."""
    rules = [store.RULES[name] for store in STORES if name in store.RULES]

    def validate(args: Any, report: ReportViolation) -> None:
        for rule in rules:
            rule(args, report)

    validate.__name__ = f"validate_{name.replace('-', '_')}"
    return validate


def _policy(spec: PolicySpec) -> ResourceValidationPolicy | StackValidationPolicy:
    kind = StackValidationPolicy if spec.stack else ResourceValidationPolicy
    return kind(
        name=spec.name,
        description=spec.description,
        validate=joined(spec.name),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=ENVIRONMENT_CONFIG if spec.configurable else None,
    )


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    _policy(spec) for spec in POLICY_SPECS
]
"""Every policy of the pack, by name in ``POLICY_NAMES``."""

POLICY_NAMES = tuple(policy.name for policy in POLICIES)

__all__ = [
    "AWS_KMS_KEY",
    "AWS_ROLE",
    "AWS_SECRET",
    "AWS_SECRET_POLICY",
    "AWS_SECRET_ROTATION",
    "AWS_SECRET_VERSION",
    "AZURE_FEDERATION",
    "AZURE_ROLE_ASSIGNMENT",
    "AZURE_SECRET",
    "AZURE_VAULT",
    "ENVIRONMENT_CONFIG",
    "ENVIRONMENT_LABEL",
    "GCP_KMS_KEY",
    "GCP_SECRET",
    "GCP_SECRET_GRANTS",
    "GCP_SECRET_VERSION",
    "GCP_WORKLOAD_IDENTITY_USER",
    "K8S_CONFIGMAP",
    "K8S_ROLES",
    "K8S_SECRET",
    "MAX_ROTATION_DAYS",
    "POLICIES",
    "POLICY_NAMES",
    "POLICY_SPECS",
    "PROD",
    "STORES",
    "engine_properties",
    "environment_of",
    "is_secret",
    "joined",
    "keep_secret_marks",
    "plain",
    "rbac_problems",
    "resource_environment",
    "setting_problems",
    "stack_environment",
    "trust_problems",
    "wildcard_problems",
]
