"""Vault / OpenBao rules: service policies, JWT roles, prod mounts, secret values.

- ``no-wildcard-secret-access``: a policy names exact KV v2 ``data/`` paths only: no ``*`` or ``+`` glob, no
  capability but ``read`` (no ``list``, no ``sudo``), no ``metadata/`` path.
- ``trust-bound-to-one-service-account``: every JWT role binds a subject (``bound_subject``, exactly one
  ServiceAccount for a workload; or exact ``bound_claims`` for CI) and at least one audience, with no glob.
- ``prod-store-protected``: in prod the KV mount, its config and the JWT auth mounts are ``protect``ed; the KV
  config keeps at least 10 versions and never expires them (``delete_version_after``); no secret deletes all
  its versions on destroy.
- ``no-plaintext-secret-values``: a KV v2 secret's ``data_json`` is a Pulumi secret.
- ``ci-bound-to-a-protected-environment-in-prod``: in prod a CI role's ``bound_claims`` name a deployment
  environment and the repository by ``repository_id`` (``platform_secrets.model.ci_bindings``).

Policies are read from their HCL (or JSON) text with the standard library: the pack stays importable with
pulumi-policy alone.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from platform_secrets.model import ci_bindings

from .common import (
    PROD,
    SERVICE_ACCOUNT_SUBJECT,
    Validate,
    as_list,
    is_secret,
    plain,
    report_plaintext,
    resource_environment,
)

VAULT_MOUNT = "vault:index/mount:Mount"
VAULT_KV_CONFIG = "vault:kv/secretBackendV2:SecretBackendV2"
VAULT_KV_V2 = "vault:kv/secretV2:SecretV2"
VAULT_POLICY = "vault:index/policy:Policy"
VAULT_AUTH = "vault:jwt/authBackend:AuthBackend"
VAULT_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
MIN_PROD_VERSIONS = 10


def _number(value: Any) -> float | None:
    """An integer input as the engine sends it (a protobuf number: 20.0), or None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


GLOB = re.compile(r"[*+]")
_HCL_PATH = re.compile(r'path\s+"([^"]*)"\s*\{([^}]*)\}', re.S)
_HCL_CAPABILITIES = re.compile(r"capabilities\s*=\s*\[([^\]]*)\]", re.S)


def policy_grants(text: str) -> dict[str, list[str]]:
    """``path -> capabilities`` of a policy in HCL (``path "<p>" { capabilities = [...] }``) or JSON."""
    if text.lstrip().startswith("{"):
        paths = json.loads(text).get("path") or {}
        return {p: list((body or {}).get("capabilities", [])) for p, body in paths.items()}
    grants: dict[str, list[str]] = {}
    for path, body in _HCL_PATH.findall(text):
        found = _HCL_CAPABILITIES.search(body)
        grants.setdefault(path, []).extend(
            re.findall(r'"([^"]*)"', found.group(1)) if found else []
        )
    return grants


def policy_problems(text: str) -> list[str]:
    grants = policy_grants(text)
    if not grants and "path" in text:
        return ['a policy the pack cannot read (write it as path "<p>" { capabilities = [...] })']
    problems = []
    for path, capabilities in sorted(grants.items()):
        if GLOB.search(path):
            problems.append(f"path {path!r} has a glob")
        beyond = sorted(set(capabilities) - {"read"})
        if beyond:
            problems.append(f"path {path!r} grants {', '.join(beyond)}")
        if "/metadata/" in path or "/data/" not in path:
            problems.append(f"path {path!r} is not one KV v2 data path")
    return problems


# --- no-wildcard-secret-access ---


def validate_no_wildcard_secret_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type != VAULT_POLICY:
        return
    for problem in policy_problems(str(plain(args.props.get("policy")) or "")):
        report(f"{args.name}: {problem}", None)


# --- trust-bound-to-one-service-account ---


def role_problems(props: dict[str, Any]) -> list[str]:
    subject = str(props.get("boundSubject") or "")
    claims = props.get("boundClaims") or {}
    audiences = [str(a) for a in as_list(props.get("boundAudiences")) if a]
    problems = []
    if not subject and not claims:
        problems.append("binds no subject (bound_subject or bound_claims)")
    if subject.startswith("system:serviceaccount:") and not SERVICE_ACCOUNT_SUBJECT.match(subject):
        problems.append(f"bound_subject {subject!r} is not one ServiceAccount")
    if GLOB.search(subject) or any(GLOB.search(str(v)) for v in claims.values()):
        problems.append("binds a subject or claim by glob")
    if claims and props.get("boundClaimsType") == "glob":
        problems.append("bound_claims_type glob matches more than the named values")
    if not audiences:
        problems.append("binds no audience (bound_audiences)")
    if any("*" in a for a in audiences):
        problems.append("binds audiences by glob")
    return problems


def validate_trust_bound(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != VAULT_ROLE:
        return
    for problem in role_problems(plain(args.props)):
        report(f"{args.name}: role {problem}", None)


# --- prod-store-protected ---


def validate_prod_store_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t = args.resource_type
    if t not in (VAULT_MOUNT, VAULT_KV_CONFIG, VAULT_AUTH, VAULT_KV_V2):
        return
    if resource_environment(args) != PROD:
        return
    props = plain(args.props)
    if t != VAULT_KV_V2 and not args.opts.protect:
        report(f"{args.name}: a prod {t.rsplit(':', 1)[-1]} must be protected", None)
    if t == VAULT_KV_CONFIG:
        versions = _number(props.get("maxVersions"))
        if versions is None or versions < MIN_PROD_VERSIONS:
            report(f"{args.name}: prod keeps at least {MIN_PROD_VERSIONS} versions", None)
        if _number(props.get("deleteVersionAfter")):
            report(f"{args.name}: prod versions never expire (delete_version_after)", None)
    if t == VAULT_KV_V2 and props.get("deleteAllVersions"):
        report(f"{args.name}: a prod secret never deletes all its versions", None)


# --- no-plaintext-secret-values ---


def validate_no_plaintext_secret_values(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type != VAULT_KV_V2:
        return
    value = args.props.get("dataJson")
    if value is not None and not is_secret(value):
        report_plaintext(args, report, ["dataJson"])


# --- ci-bound-to-a-protected-environment-in-prod ---


def validate_ci_bound_to_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A CI role (one that binds claims, not a ServiceAccount subject) in prod: the settings' own grammar."""
    if args.resource_type != VAULT_ROLE or resource_environment(args) != PROD:
        return
    claims = plain(args.props.get("boundClaims")) or {}
    if not claims or str(plain(args.props.get("boundSubject")) or ""):
        return
    for problem in ci_bindings.claims_problems(claims):
        report(f"{args.name}: bound_claims {problem}", None)


RULES: dict[str, Validate] = {
    "no-wildcard-secret-access": validate_no_wildcard_secret_access,
    "trust-bound-to-one-service-account": validate_trust_bound,
    "prod-store-protected": validate_prod_store_protected,
    "no-plaintext-secret-values": validate_no_plaintext_secret_values,
    "ci-bound-to-a-protected-environment-in-prod": validate_ci_bound_to_environment,
}
