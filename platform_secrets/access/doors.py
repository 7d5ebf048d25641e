"""Ways into a reader identity ("doors"), as plain comparable facts, for the plan and the audit alike.

A reader identity (an IAM role, a GCP service account or Workload Identity principal, an Azure managed
identity, a Vault auth role) is only as private as the set of principals that may *become* it. Each store
module turns its documents (the plan's registrations, or what its audit reader fetched live) into ``Door``s:
one per way in (a trust statement, a service-account IAM member, a federated credential, a role's bound
claims), normalised so that the same door planned and read live compares equal. The audit then compares the
two sets exactly: a door that exists live but not in the plan widens who can become a reader, whatever the
access matrix says, and is a high finding.

Pure: no Pulumi, no cloud SDK. A door's ``detail`` never holds a secret value (trust documents hold none).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Door:
    """One way into one reader identity."""

    identity: str
    """The reader identity, as the access matrix names it (role ARN, SA email, identity id, role path)."""
    kind: str
    """The way in: e.g. ``aws-trust``, ``gcp-sa-iam``, ``gcp-workload-identity``, ``azure-federated``,
    ``vault-role``."""
    detail: str
    """The door itself, canonical (``canonical(...)``): equal doors have equal details."""


def canonical(value: Any) -> str:
    """A stable text for a JSON-like value: sorted keys, lists of scalars sorted, no whitespace."""
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"))


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_normalise(v) for v in value]
        if len(items) == 1:
            # IAM reads a one-element list and its scalar alike; so must the comparison.
            return items[0]
        if all(isinstance(v, str | int | float | bool) for v in items):
            return sorted(items, key=str)
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def widened(planned: set[Door] | frozenset[Door], live: set[Door] | frozenset[Door]) -> list[Door]:
    """The live doors the plan does not declare, in a stable order (each is a high finding)."""
    return sorted(set(live) - set(planned))


def narrowed(planned: set[Door] | frozenset[Door], live: set[Door] | frozenset[Door]) -> list[Door]:
    """The planned doors missing live (a reader may be locked out; never a new reader)."""
    return sorted(set(planned) - set(live))
