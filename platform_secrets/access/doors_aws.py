"""AWS: a role's trust policy as doors (``platform_secrets.access.doors``), the same function for the plan and the live roles.

A door is one ``Allow`` statement for one principal: ``Door(role ARN, "aws-trust", canonical({effect,
principal, actions, conditions}))``. Whoever matches the principal and the conditions may become the role, so
an OIDC ``sub`` widened from ``system:serviceaccount:backend:backend`` to ``system:serviceaccount:*``, a
statement added for a foreign identity provider, or a role re-created with another trust each give a door that
the plan does not have. Normalised as IAM reads the document: ``"Principal": "*"`` is ``{"AWS": "*"}``, an
account id is its root ARN, actions are case-insensitive, a one-element list is its element, order does not
count; ``Sid`` and ``Version`` are not part of a door.

A ``Deny`` statement is not a door (it lets nobody in): the program plans none in a trust policy, so one added
live only narrows and is not judged here.

Pure: plain documents in, doors out (no Pulumi, no SDK).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from platform_secrets.access.doors import Door, canonical

if (
    TYPE_CHECKING
):  # the registrations' shape only: importing platform_secrets.offline.runner would load Pulumi
    from platform_secrets.offline.registered import Registered

KIND = "aws-trust"
ROLE = "aws:iam/role:Role"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principals(statement: dict[str, Any]) -> list[dict[str, Any] | None]:
    """One principal per door: ``{type: value}`` (``NotPrincipal`` kept whole, as it is rare and wide)."""
    if "NotPrincipal" in statement:
        return [{"NotPrincipal": statement["NotPrincipal"]}]
    block = statement.get("Principal")
    if block is None:
        return [None]
    if not isinstance(block, dict):
        block = {"AWS": block}  # "*" (or a bare value): every AWS principal
    found: list[dict[str, Any] | None] = []
    for kind, values in sorted(block.items()):
        for value in _as_list(values):
            value = str(value)
            if kind == "AWS" and re.fullmatch(r"\d{12}", value):
                value = f"arn:aws:iam::{value}:root"  # IAM stores an account id as its root ARN
            found.append({kind: value})
    return found


def trust_doors(role_arn: str, trust: dict[str, Any] | str) -> set[Door]:
    """Every way into ``role_arn`` that its trust policy opens."""
    document = json.loads(trust) if isinstance(trust, str) else trust
    doors = set()
    for statement in _as_list(document.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = {
            key: sorted(str(a).lower() for a in _as_list(statement[key]))
            for key in ("Action", "NotAction")
            if key in statement
        }
        for principal in _principals(statement):
            detail = {
                "effect": "Allow",
                "principal": principal,
                "actions": actions,
                "conditions": statement.get("Condition") or {},
            }
            doors.add(Door(role_arn, KIND, canonical(detail)))
    return doors


def doors_of(roles: Iterable[tuple[str, dict[str, Any] | str]]) -> frozenset[Door]:
    """The doors of several roles, each given as (role ARN, trust policy)."""
    return frozenset(door for arn, trust in roles for door in trust_doors(arn, trust))


def planned_doors(resources: list[Registered]) -> frozenset[Door]:
    """The doors of every role the plan registers (its ``assumeRolePolicy`` input)."""
    return doors_of(
        (str(r.outputs["arn"]), r.inputs["assumeRolePolicy"]) for r in resources if r.type == ROLE
    )
