"""Every way into an AWS role, read from its trust policy: one small function per kind of way in.

A role is only as private as the set of principals that may *become* it. ``ways_in`` reads a trust
(assume-role) policy and returns one ``WayIn`` per door, as nccgroup/PMapper keeps one edge module per kind:

- ``aws_ways``: ``Principal.AWS`` (a role or user ARN; an account root or bare account id, which stands for
  every principal of that account its own IAM policy allows; ``*``, anyone) with ``sts:AssumeRole``;
- ``federated_ways``: ``Principal.Federated`` (an OIDC or SAML provider) with
  ``sts:AssumeRoleWithWebIdentity`` / ``sts:AssumeRoleWithSAML``, named for the subjects its conditions admit
  (``StringEquals``/``StringLike`` on ``<issuer>:sub``; no ``sub`` condition admits every subject);
- ``service_ways``: ``Principal.Service`` (a service that may be handed the role, e.g. EC2, EKS Pod Identity);
- ``not_principal_ways``: an ``Allow`` with ``NotPrincipal`` (anyone but the listed).

Action variants count alike (``sts:*``, ``sts:Assume*``, a ``NotAction`` that spares an assume action);
``sts:TagSession`` or ``sts:SetSourceIdentity`` alone opens nothing. Conditions other than the federated
``sub``/``aud`` are not evaluated: a door behind them is still reported (readers over-reported, never hidden).
An unconditional ``Deny`` on the same principal (or on ``*``) closes a door.

Pure: no Pulumi, no cloud SDK; the plan's registrations and the audit's live documents go through it alike.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ASSUME = "sts:AssumeRole"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
SAML = "sts:AssumeRoleWithSAML"
SERVICE_ACCOUNT = re.compile(r"system:serviceaccount:([^:*?]+):([^:*?]+)")
IRSA_AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True, order=True)
class WayIn:
    """One door into one role."""

    kind: str
    """``aws`` (a named role or user), ``account`` (every principal of an account), ``anyone``, ``federated``
    or ``service``."""
    principal: str
    """Who: the ARN, ``arn:aws:iam::<acct>:root``, ``*``, the provider ARN or the service's name."""
    admits: str = ""
    """For ``federated``: the subjects its conditions admit (``sub=x``, ``sub~pattern``, ``sub!=x`` or
    ``sub=*``) and any audience but the IRSA one; for ``anyone``: who it spares."""
    service_account: str | None = None
    """``namespace/name`` when the door admits exactly one Kubernetes ServiceAccount (exact ``sub``, audience
    ``sts.amazonaws.com``): a workload's own door."""

    @property
    def name(self) -> str:
        """The reader this door makes, as the access matrix names it."""
        if self.kind == "federated":
            return f"{self.principal} {self.admits}"
        if self.kind == "anyone" and self.admits:
            return f"* {self.admits}"
        return self.principal


def ways_in(trust: dict[str, Any] | str) -> list[WayIn]:
    """Every door a trust policy opens, in a stable order (duplicates once)."""
    doc = json.loads(trust) if isinstance(trust, str) else trust
    statements = _as_list(doc.get("Statement", []))
    found: set[WayIn] = set()
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        for kind in EDGES:
            found.update(kind(st))
    closed = {p for st in statements if st.get("Effect") == "Deny" for p in _denied(st)}
    return sorted(w for w in found if w.principal not in closed and "*" not in closed)


def aws_ways(st: dict[str, Any]) -> list[WayIn]:
    """``Principal.AWS`` (or ``Principal: "*"``) with ``sts:AssumeRole``."""
    if not _allows(st, ASSUME) or "Principal" not in st:
        return []
    block = st["Principal"]
    named = (
        ["*"] if block == "*" else _as_list(block.get("AWS", [])) if isinstance(block, dict) else []
    )
    ways = []
    for value in map(str, named):
        if value == "*":
            ways.append(WayIn("anyone", "*"))
        elif re.fullmatch(r"\d{12}", value) or value.endswith(":root"):
            account = value if value.isdigit() else value.split(":")[4]
            ways.append(WayIn("account", f"arn:aws:iam::{account}:root"))
        else:
            ways.append(WayIn("aws", value))
    return ways


def federated_ways(st: dict[str, Any]) -> list[WayIn]:
    """``Principal.Federated`` with a web-identity or SAML assume: one door per admitted subject."""
    block = st.get("Principal")
    if not isinstance(block, dict) or "Federated" not in block:
        return []
    if not (_allows(st, WEB_IDENTITY) or _allows(st, SAML)):
        return []
    ways = []
    for provider in map(str, _as_list(block["Federated"])):
        subjects, audiences = (
            _claims(st.get("Condition") or {}, "sub"),
            _claims(st.get("Condition") or {}, "aud"),
        )
        audience = sorted(v for _, v in audiences)
        extra_aud = "" if audience in ([], [IRSA_AUDIENCE]) else f" aud={','.join(audience)}"
        for text, value in subjects or [("sub=", "*")]:
            account = SERVICE_ACCOUNT.fullmatch(value) if text == "sub=" else None
            ways.append(
                WayIn(
                    "federated",
                    provider,
                    f"{text}{value}{extra_aud}",
                    f"{account[1]}/{account[2]}"
                    if account and audience == [IRSA_AUDIENCE]
                    else None,
                )
            )
    return ways


def service_ways(st: dict[str, Any]) -> list[WayIn]:
    """``Principal.Service``: the service may be handed the role (whoever may pass it to the service)."""
    block = st.get("Principal")
    if not isinstance(block, dict) or "Service" not in block or not _allows(st, ASSUME):
        return []
    return [WayIn("service", str(service)) for service in _as_list(block["Service"])]


def not_principal_ways(st: dict[str, Any]) -> list[WayIn]:
    """An ``Allow`` with ``NotPrincipal``: everyone but the listed may assume the role."""
    if "NotPrincipal" not in st or not any(_allows(st, a) for a in (ASSUME, WEB_IDENTITY, SAML)):
        return []
    spared = st["NotPrincipal"]
    listed = sorted(
        str(p)
        for v in (spared.values() if isinstance(spared, dict) else [spared])
        for p in _as_list(v)
    )
    return [WayIn("anyone", "*", f"except {','.join(listed)}")]


EDGES: tuple[Callable[[dict[str, Any]], list[WayIn]], ...] = (
    aws_ways,
    federated_ways,
    service_ways,
    not_principal_ways,
)
"""One function per kind of way in; ``ways_in`` asks each of them about every Allow statement."""


def _claims(condition: dict[str, Any], claim: str) -> list[tuple[str, str]]:
    """(operator text, value) of every condition on ``<issuer>:<claim>``: ``sub=``, ``sub~`` or ``sub!=``."""
    found = []
    for operator, block in condition.items():
        op = operator.split(":", 1)[-1].removesuffix("IfExists")
        for key, values in (block or {}).items():
            if not str(key).lower().endswith(f":{claim}") or str(key).lower().startswith("aws:"):
                continue
            for value in map(str, _as_list(values)):
                if op in ("StringNotEquals", "StringNotLike"):
                    found.append((f"{claim}!=", value))
                elif op == "StringLike" and any(c in value for c in "*?"):
                    found.append((f"{claim}~", value))
                elif op in ("StringEquals", "StringLike", "StringEqualsIgnoreCase"):
                    found.append((f"{claim}=", value))
    return sorted(set(found))


def _denied(st: dict[str, Any]) -> list[str]:
    """Principals an unconditional Deny of every assume action shuts out (a conditional one may not)."""
    if st.get("Condition") or not all(_allows(st, a) for a in (ASSUME, WEB_IDENTITY, SAML)):
        return []
    block = st.get("Principal")
    if block == "*":
        return ["*"]
    if not isinstance(block, dict):
        return []
    return [str(p) for values in block.values() for p in _as_list(values)]


def _allows(st: dict[str, Any], action: str) -> bool:
    """Whether the statement's ``Action`` / ``NotAction`` covers ``action``."""
    if "Action" in st:
        return _matches(st["Action"], action)
    if "NotAction" in st:
        return not _matches(st["NotAction"], action)
    return False


def _matches(patterns: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
