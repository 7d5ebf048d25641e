"""The doors into Vault reader identities: one per JWT auth role, from the plan and from a live server alike.

A Vault reader identity is a JWT role (``auth/<mount>/role/<name>``). Who may become it is decided by the role
alone: the claims it binds (``bound_subject``, ``bound_audiences``, ``bound_claims`` and their
``bound_claims_type``, ``user_claim``), the claims that bring more policies in (``groups_claim``,
``claim_mappings``, OpenBao's ``token_policies_template_claims``), and what its token carries and how long
(``token_policies``, ``default`` unless ``token_no_default_policy``, the policies of identity groups its
entity may be in, the token type, TTLs, bound CIDRs). The
door's detail is all of that, canonical, so any change to a role (a subject emptied or changed, a policy added,
``default`` re-enabled) is a door live that the plan does not declare: a high finding.

Both sides go through ``platform_secrets.access.vault.VaultRole`` (``documents`` for the plan's registrations,
``role_from_api`` for what the audit reader fetched), then through ``role_doors``: one derivation.
"""

from __future__ import annotations

from collections.abc import Iterable

from platform_secrets.access.doors import Door, canonical
from platform_secrets.access.vault import VaultRole

KIND = "vault-role"


def role_door(role: VaultRole) -> Door:
    """The one door of a JWT role: its bindings and its token's settings, canonical."""
    return Door(
        identity=role.identity,
        kind=KIND,
        detail=canonical(
            {
                "bound_subject": role.bound_subject,
                "bound_audiences": sorted(role.bound_audiences),
                "bound_claims": role.bound_claims,
                "bound_claims_type": role.bound_claims_type,
                "user_claim": role.user_claim,
                "groups_claim": role.groups_claim,
                "claim_mappings": role.claim_mappings,
                "policies_from_claims": role.policies_from_claims,
                "policies": sorted(role.policies),
                "groups": sorted(role.groups),
                "token_type": role.token_type,
                "token_ttl": role.token_ttl,
                "token_max_ttl": role.token_max_ttl,
                "token_bound_cidrs": sorted(role.token_bound_cidrs),
            }
        ),
    )


def role_doors(roles: Iterable[VaultRole]) -> frozenset[Door]:
    return frozenset(role_door(role) for role in roles)
