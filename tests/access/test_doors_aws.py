"""AWS doors and the audit's exact comparisons: equal documents as IAM reads them compare equal, and any
widening is a difference that is named."""

from __future__ import annotations

from typing import Any

from platform_secrets.access.doors_aws import trust_doors
from platform_secrets.audit import aws as audit_aws

ROLE = "arn:aws:iam::111122223333:role/p-dev-backend"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"


def _trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _irsa(sub: str, operator: str = "StringEquals", sid: str = "ServiceAccountOnly") -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": "sts.amazonaws.com"}},
    }


def test_the_same_trust_written_differently_is_the_same_doors() -> None:
    planned = _trust(_irsa("system:serviceaccount:backend:backend"))
    written = _trust(_irsa(["system:serviceaccount:backend:backend"], sid="Renamed"))
    written["Statement"][0]["Action"] = ["STS:AssumeRoleWithWebIdentity"]
    assert trust_doors(ROLE, planned) == trust_doors(ROLE, written)
    account = _trust(
        {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}
    )
    root = _trust(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole",
        }
    )
    assert trust_doors(ROLE, account) == trust_doors(ROLE, root)


def test_a_wider_subject_or_operator_is_another_door() -> None:
    planned = trust_doors(ROLE, _trust(_irsa("system:serviceaccount:backend:backend")))
    assert trust_doors(ROLE, _trust(_irsa("system:serviceaccount:*", "StringLike"))) != planned
    assert trust_doors(
        ROLE, _trust(_irsa("system:serviceaccount:backend:backend", "StringLike"))
    ) != (planned)


def test_each_principal_of_a_statement_is_its_own_door() -> None:
    one = _trust({"Effect": "Allow", "Principal": {"AWS": ["arn:a"]}, "Action": "sts:AssumeRole"})
    two = _trust(
        {"Effect": "Allow", "Principal": {"AWS": ["arn:a", "arn:b"]}, "Action": "sts:AssumeRole"}
    )
    assert trust_doors(ROLE, one) < trust_doors(ROLE, two)
    assert len(trust_doors(ROLE, two)) == 2


def test_a_star_principal_is_every_aws_principal_and_a_deny_is_no_door() -> None:
    star = _trust({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})
    aws_star = _trust({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert trust_doors(ROLE, star) == trust_doors(ROLE, aws_star)
    deny = _trust({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"})
    assert trust_doors(ROLE, deny) == set()


def test_a_resource_policy_written_as_iam_reads_it_has_no_difference() -> None:
    planned = _trust({"Sid": "A", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["x"]})
    live = _trust({"Sid": "A", "Effect": "Deny", "Principal": "*", "Action": "x"})
    assert audit_aws.policy_differences(planned, live) == []


def test_a_resource_policy_difference_names_the_statement_and_the_field() -> None:
    planned = _trust(
        {"Sid": "A", "Effect": "Deny", "Principal": "*", "Action": "x"},
        {"Sid": "B", "Effect": "Deny", "Principal": "*", "NotAction": ["r", "s"]},
    )
    live = _trust({"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": ["x", "y"]})
    assert audit_aws.policy_differences(planned, live) == [
        "statement B is gone",
        "A.Action: live adds y",
        "A.Effect: planned Deny, live Allow",
    ]


def test_a_key_shown_as_an_arn_an_id_or_an_alias_is_the_same_key() -> None:
    aliases = {"alias/p-dev-secrets": "k-1"}
    for shown in (
        "arn:aws:kms:eu-west-1:111122223333:key/k-1",
        "k-1",
        "alias/p-dev-secrets",
        "arn:aws:kms:eu-west-1:111122223333:alias/p-dev-secrets",
    ):
        assert audit_aws.live_key_id(shown, aliases) == "k-1", shown
    assert (
        audit_aws.key_problem("the entry", "plan-key", "k-1", "alias/p-dev-secrets", aliases)
        is None
    )
    problem = audit_aws.key_problem("the entry", "plan-key", "k-2", "alias/p-dev-secrets", aliases)
    assert problem is not None and "k-2" in problem and "alias/p-dev-secrets" in problem
    gone = audit_aws.key_problem("the entry", "plan-key", "k-1", "alias/p-dev-secrets", {})
    assert gone is not None and "is gone" in gone
