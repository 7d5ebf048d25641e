"""Which roles a list of the AWS stack settings may name: a role of this stack's account, not a workload's.

The exempt roles (``aws.adminRoleArns``: exempt from every entry's deny and administrators of the KMS key;
``aws.auditRoleArns``: exempt for metadata) are checked by the same function: a role of another account would
carry the exemption out of the account, and a workload role of the stack (``<prefix>-<env>-<service>``) would
hand it to that workload's pods. Anything but a role (an account root, a user, ``*``) is refused by the settings'
pattern already and again here.
"""

from __future__ import annotations

import re

from platform_secrets.model.settings import Settings

ROLE = re.compile(r"arn:aws:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)")


def own_role_problems(where: str, principal: str, settings: Settings) -> list[str]:
    """Why ``principal`` (named at ``where``) is not a role of the stack's account outside its workloads."""
    assert settings.aws is not None
    account_id = settings.aws.account_id
    own_prefix = f"{settings.name_prefix}-{settings.environment.value}-"
    match = ROLE.fullmatch(principal)
    if match is None:
        return [f"{where} is not a role ARN (arn:aws:iam::{account_id}:role/<name>)"]
    problems = []
    if match["name"].startswith(own_prefix):
        problems.append(
            f"{where} is a workload role of this stack (named like {own_prefix}<service>): "
            "its pods would get the exemption"
        )
    if match["account"] != account_id:
        problems.append(
            f"{where} is a role of account {match['account']}, not this stack's accountId {account_id}"
        )
    return problems
