"""The ways into an AWS role (platform_secrets.access.aws_trust), one rule per test, each on the small trust it needs."""

from __future__ import annotations

from typing import Any

import pytest

from platform_secrets.access import matrix as access
from platform_secrets.access.aws_trust import WayIn, ways_in
from platform_secrets.program.clouds import aws_policies

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]}


def web(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }


def test_the_planned_irsa_trust_is_exactly_one_service_account_door() -> None:
    planned = aws_policies.irsa_trust_policy(PROVIDER, ISSUER, "backend", "backend")
    assert ways_in(planned) == [
        WayIn("federated", PROVIDER, "sub=system:serviceaccount:backend:backend", "backend/backend")
    ]


def test_a_literal_star_in_string_equals_is_no_service_account() -> None:
    (way,) = ways_in(trust(web({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:*"}})))
    assert way.service_account is None


def test_string_like_without_a_wildcard_is_an_exact_subject() -> None:
    condition = {
        "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:a:b"},
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
    }
    (way,) = ways_in(trust(web(condition)))
    assert way.service_account == "a/b"


def test_a_pattern_subject_is_named_for_what_it_admits() -> None:
    condition = {"ForAnyValue:StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*"}}
    (way,) = ways_in(trust(web(condition)))
    assert (way.admits, way.service_account) == ("sub~system:serviceaccount:*", None)
    assert way.name == f"{PROVIDER} sub~system:serviceaccount:*"


def test_an_exact_subject_for_another_audience_is_not_the_workloads_door() -> None:
    condition = {
        "StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:a:b", f"{ISSUER}:aud": "other"}
    }
    (way,) = ways_in(trust(web(condition)))
    assert way.service_account is None and "aud=other" in way.admits


def test_a_federated_statement_without_a_subject_condition_admits_every_subject() -> None:
    (way,) = ways_in(trust(web({})))
    assert way.admits == "sub=*"


def test_each_admitted_subject_is_a_door_of_its_own() -> None:
    subjects = ["system:serviceaccount:a:a", "system:serviceaccount:b:b"]
    ways = ways_in(trust(web({"StringEquals": {f"{ISSUER}:sub": subjects}})))
    assert [w.admits for w in ways] == [f"sub={s}" for s in subjects]


@pytest.mark.parametrize(
    ("principal", "kind", "who"),
    [
        ("111122223333", "account", "arn:aws:iam::111122223333:root"),
        ("arn:aws:iam::111122223333:root", "account", "arn:aws:iam::111122223333:root"),
        ("*", "anyone", "*"),
        ("arn:aws:iam::111122223333:role/ci", "aws", "arn:aws:iam::111122223333:role/ci"),
    ],
)
def test_aws_principals_are_roles_accounts_or_anyone(principal: str, kind: str, who: str) -> None:
    assert ways_in(trust({"Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})) == [
        WayIn(kind, who)
    ]


@pytest.mark.parametrize("action", ["sts:TagSession", "sts:SetSourceIdentity", "s3:GetObject"])
def test_an_action_that_assumes_nothing_opens_no_door(action: str) -> None:
    assert ways_in(trust({"Principal": {"AWS": "*"}, "Action": action})) == []


def test_an_unconditional_deny_closes_the_door() -> None:
    role = "arn:aws:iam::111122223333:role/ci"
    doc = trust({"Principal": {"AWS": role}, "Action": "sts:AssumeRole"})
    doc["Statement"].append({"Effect": "Deny", "Principal": {"AWS": role}, "Action": "sts:*"})
    assert ways_in(doc) == []


def test_a_conditional_deny_leaves_the_door_reported() -> None:
    doc = trust({"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    doc["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sts:*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}},
        }
    )
    assert ways_in(doc) == [WayIn("anyone", "*")]


# --- the two sides of a read (AWS policy evaluation within one account, and across accounts) ---

SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf"
READ = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}


def _role(arn: str, policies: tuple[dict[str, Any], ...] = ()) -> access.AwsRole:
    return access.AwsRole(
        name=arn.rsplit("/", 1)[1],
        arn=arn,
        trust=trust({"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
        policies=policies,
    )


def _entry(principal: str) -> access.AwsEntry:
    policy = {"Statement": [{**READ, "Principal": {"AWS": principal}, "Resource": "*"}]}
    return access.AwsEntry(name="s", arns=(SECRET,), key="K", policy=policy)


@pytest.mark.parametrize(
    ("account", "named", "identity_allows", "reads"),
    [
        ("111122223333", "root", False, False),  # the account principal only delegates
        ("111122223333", "root", True, True),
        ("111122223333", "role", False, True),  # naming the role suffices in its own account
        ("999999999999", "role", False, False),  # across accounts both sides must allow
        ("999999999999", "role", True, True),
    ],
)
def test_a_role_reads_only_when_aws_would_allow_both_sides(
    account: str, named: str, identity_allows: bool, reads: bool
) -> None:
    arn = f"arn:aws:iam::{account}:role/app"
    principal = arn if named == "role" else f"arn:aws:iam::{account}:root"
    policies = ({"Statement": [READ]},) if identity_allows else ()
    matrix = access.derive_aws([_entry(principal)], [_role(arn, policies)])
    assert (matrix["app"]["entries"] == ["s"]) is reads
