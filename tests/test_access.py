"""Tier 1: the AWS access derivation (``tools/access.py``) over plain documents, as IAM evaluates them."""

from __future__ import annotations

from typing import Any

import pytest

from components.clouds import aws_policies as p
from tools.access import AwsEntry, AwsRole, aws_verdict, derive_aws, in_region

ACCOUNT = "111122223333"
ARN = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:p/prod/backend/DB-abc123"
OTHER_ARN = ARN.replace("backend/DB", "worker/DB")
READ = "secretsmanager:GetSecretValue"
BACKEND = p.role_arn(ACCOUNT, "p-prod-backend")
WORKER = p.role_arn(ACCOUNT, "p-prod-worker")
ADMIN = p.role_arn(ACCOUNT, "platform-admin")
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"


def _allow(resource: Any, action: Any = READ, **more: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **more}]}


# --- one document's verdict ---


def test_an_identity_policy_allows_exactly_its_resources() -> None:
    doc = _allow([ARN])
    assert aws_verdict(doc, READ, ARN, None) == "Allow"
    assert aws_verdict(doc, READ, OTHER_ARN, None) is None
    assert aws_verdict(doc, "secretsmanager:PutSecretValue", ARN, None) is None
    assert aws_verdict(None, READ, ARN, None) is None


def test_actions_match_without_case_and_arns_with_case() -> None:
    assert aws_verdict(_allow(ARN, "SecretsManager:getSecretValue"), READ, ARN, None) == "Allow"
    assert aws_verdict(_allow(ARN.upper()), READ, ARN, None) is None


def test_wildcards_match_as_iam_does_and_a_bracket_is_a_plain_character() -> None:
    assert (
        aws_verdict(_allow("arn:aws:secretsmanager:*:*:secret:p/prod/*"), READ, ARN, None)
        == "Allow"
    )
    assert aws_verdict(_allow(ARN[:-1] + "?"), READ, ARN, None) == "Allow"
    assert aws_verdict(_allow(ARN, "secretsmanager:*"), READ, ARN, None) == "Allow"
    assert (
        aws_verdict(_allow(ARN, "secretsmanager:Get*"), "secretsmanager:PutSecretValue", ARN, None)
        is None
    )
    bracketed = ARN.replace("abc123", "[ab]c123")
    assert aws_verdict(_allow(bracketed), READ, ARN, None) is None
    assert aws_verdict(_allow(bracketed), READ, bracketed, None) == "Allow"


def test_not_action_and_not_resource_cover_everything_else() -> None:
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "kms:*", "Resource": "*"}]}
    assert aws_verdict(not_action, READ, ARN, None) == "Allow"
    assert aws_verdict(not_action, "kms:Decrypt", ARN, None) is None
    not_resource = {"Statement": [{"Effect": "Allow", "Action": READ, "NotResource": OTHER_ARN}]}
    assert aws_verdict(not_resource, READ, ARN, None) == "Allow"
    assert aws_verdict(not_resource, READ, OTHER_ARN, None) is None


def test_an_explicit_deny_wins_wherever_it_stands() -> None:
    deny = {"Effect": "Deny", "Action": "secretsmanager:*", "Resource": ARN}
    allow = {"Effect": "Allow", "Action": READ, "Resource": "*"}
    assert aws_verdict({"Statement": [allow, deny]}, READ, ARN, None) == "Deny"
    assert aws_verdict({"Statement": [deny, allow]}, READ, ARN, None) == "Deny"
    assert aws_verdict({"Statement": [deny, allow]}, READ, OTHER_ARN, None) == "Allow"
    assert (
        aws_verdict({"Statement": allow}, READ, ARN, None) == "Allow"
    )  # one statement, not a list


@pytest.mark.parametrize(
    ("principal_block", "principal", "applies"),
    [
        ("*", BACKEND, True),
        ({"AWS": "*"}, None, True),
        ({"AWS": [BACKEND]}, BACKEND, True),
        ({"AWS": BACKEND}, WORKER, False),
        ({"AWS": ACCOUNT}, BACKEND, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, BACKEND, True),
        ({"AWS": "arn:aws:iam::444455556666:root"}, BACKEND, False),
        ({"AWS": [BACKEND]}, None, False),
        ({"Service": "ec2.amazonaws.com"}, BACKEND, False),
        (["*"], BACKEND, False),
    ],
)
def test_a_statement_applies_to_the_principals_it_names(
    principal_block: Any, principal: str | None, applies: bool
) -> None:
    doc = _allow(ARN, Principal=principal_block)
    assert aws_verdict(doc, READ, ARN, principal) == ("Allow" if applies else None)


def test_the_entry_policy_denies_all_but_its_readers_and_admins() -> None:
    doc = p.entry_resource_policy([BACKEND], [ADMIN])
    assert aws_verdict(doc, READ, ARN, WORKER) == "Deny"
    assert aws_verdict(doc, READ, ARN, None) == "Deny"  # a principal no list names
    assert aws_verdict(doc, READ, ARN, BACKEND) is None
    assert aws_verdict(doc, "secretsmanager:PutSecretValue", ARN, BACKEND) == "Deny"
    assert aws_verdict(doc, "secretsmanager:PutSecretValue", ARN, ADMIN) is None


@pytest.mark.parametrize(
    ("operator", "values", "denied"),
    [
        ("StringNotEquals", [BACKEND], {WORKER}),
        ("StringNotEqualsIfExists", [BACKEND], {WORKER}),
        ("ForAnyValue:StringNotEquals", [BACKEND], {WORKER}),
        ("StringNotLike", ["arn:aws:iam::*:role/p-prod-back*"], {WORKER}),
        ("ArnNotLike", ["arn:aws:iam::*:role/p-prod-back*"], {WORKER}),
        ("StringEquals", [WORKER], {WORKER}),
        ("ArnEquals", WORKER, {WORKER}),
        ("StringLike", "*worker", {WORKER}),
    ],
)
def test_a_principal_arn_condition_decides_whom_a_deny_reaches(
    operator: str, values: Any, denied: set[str]
) -> None:
    doc = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {operator: {"aws:PrincipalArn": values}},
            }
        ]
    }
    assert {
        who for who in (BACKEND, WORKER) if aws_verdict(doc, READ, ARN, who) == "Deny"
    } == denied


def test_a_condition_it_cannot_judge_never_hides_a_reader() -> None:
    """Unknown here: an allow may apply (reported), a deny may not (not trusted to protect)."""
    unknown = {"StringEquals": {"aws:SourceVpc": "vpc-1"}}
    assert aws_verdict(_allow(ARN, Condition=unknown), READ, ARN, None) == "Allow"
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown}]}
    assert aws_verdict(deny, READ, ARN, None) is None
    numeric = {"NumericLessThan": {"aws:PrincipalArn": "1"}}
    assert aws_verdict(_allow(ARN, Condition=numeric), READ, ARN, BACKEND) == "Allow"


def test_an_allow_whose_principal_condition_fails_does_not_allow() -> None:
    doc = _allow(ARN, Principal="*", Condition={"StringEquals": {"aws:PrincipalArn": BACKEND}})
    assert aws_verdict(doc, READ, ARN, BACKEND) == "Allow"
    assert aws_verdict(doc, READ, ARN, WORKER) is None


def test_a_replica_arn_differs_by_its_region_only() -> None:
    assert in_region(ARN, "eu-central-1") == ARN.replace("eu-west-1", "eu-central-1")


# --- the matrix ---


def _entry(arn: str = ARN, *replicas: str, policy: dict[str, Any] | None = None) -> AwsEntry:
    name = arn.split(":secret:")[1].rsplit("-", 1)[0]
    arns = (arn, *(in_region(arn, region) for region in replicas))
    return AwsEntry(name, arns, name.rsplit("/", 1)[-1], policy)


def _workload(arn: str, namespace: str, service: str, readable: list[str]) -> AwsRole:
    provider = p.oidc_provider_arn(ACCOUNT, ISSUER)
    return AwsRole(
        arn.rsplit("/", 1)[-1],
        arn,
        p.irsa_trust_policy(provider, ISSUER, namespace, service),
        (p.read_secrets_policy(readable, [], ["eu-west-1"]),),
        {"platform-secrets/service": service},
    )


def test_a_workload_reads_exactly_the_entries_its_policy_and_theirs_allow() -> None:
    policy = p.entry_resource_policy([BACKEND], [ADMIN])
    entries = [
        _entry(policy=policy),
        _entry(OTHER_ARN, policy=p.entry_resource_policy([WORKER], [ADMIN])),
    ]
    roles = [
        _workload(BACKEND, "backend", "backend", [ARN, OTHER_ARN]),
        _workload(WORKER, "worker", "worker", []),
    ]
    matrix = derive_aws(entries, roles, {("backend", "p/prod/backend/DB"): "DATABASE_URL"})
    assert matrix["backend"] == {
        "identity": BACKEND,
        "kind": "workload",
        "service_account": "backend/backend",
        "entries": ["p/prod/backend/DB"],
        "keys": ["DATABASE_URL"],
    }
    assert matrix["worker"]["entries"] == []
    assert matrix[ADMIN] == {
        "identity": ADMIN,
        "entries": ["p/prod/backend/DB", "p/prod/worker/DB"],
        "keys": ["DB", "DB"],
        "kind": "admin",
        "note": "not denied by the entries' resource policies; reads if its own IAM policy allows",
    }
    assert f"arn:aws:iam::{ACCOUNT}:root" not in matrix  # every entry's policy denies the account


def test_an_entry_without_a_resource_policy_is_readable_by_the_whole_account() -> None:
    matrix = derive_aws([_entry()], [])
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert matrix[root]["kind"] == "account" and matrix[root]["entries"] == ["p/prod/backend/DB"]
    assert matrix[root]["note"].startswith(
        "any principal of the account whose own IAM policy allows"
    )


def test_an_entry_read_in_some_of_its_regions_lists_them() -> None:
    role = _workload(BACKEND, "backend", "backend", [ARN])  # the primary's ARN only
    matrix = derive_aws(
        [_entry(ARN, "eu-central-1", policy=p.entry_resource_policy([BACKEND], [ADMIN]))], [role]
    )
    assert matrix["backend"]["regions"] == {"p/prod/backend/DB": ["eu-west-1"]}
    assert "regions" not in matrix[ADMIN]


def test_whoever_may_assume_a_reader_role_reads_what_it_reads() -> None:
    tool = AwsRole(
        "tool", p.role_arn(ACCOUNT, "tool"), p.principal_trust_policy([ADMIN]), (_allow(ARN),)
    )
    hop = AwsRole("hop", p.role_arn(ACCOUNT, "hop"), p.principal_trust_policy([ACCOUNT]), ())
    chained = AwsRole(
        "chained", p.role_arn(ACCOUNT, "chained"), p.principal_trust_policy([hop.arn]), ()
    )
    tool_via_hop = AwsRole(
        "tool2",
        p.role_arn(ACCOUNT, "tool2"),
        p.principal_trust_policy([chained.arn]),
        (_allow(ARN),),
    )
    matrix = derive_aws([_entry(policy={"Statement": []})], [tool, hop, chained, tool_via_hop])
    assert matrix["tool"]["kind"] == "tooling" and matrix["tool"]["assumed_by"] == [ADMIN]
    assert matrix["tool"]["entries"] == ["p/prod/backend/DB"]
    assert matrix["chained"]["assumes"] == [tool_via_hop.arn]
    assert matrix["hop"]["assumes"] == [chained.arn] and matrix["hop"]["entries"] == [
        "p/prod/backend/DB"
    ]
    root = matrix[f"arn:aws:iam::{ACCOUNT}:root"]
    assert root["assumes"] == [hop.arn] and root["entries"] == ["p/prod/backend/DB"]


def test_a_trust_that_denies_or_allows_another_action_lets_nobody_in() -> None:
    trust = {
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": WORKER}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:TagSession"},
        ]
    }
    worker = AwsRole("worker", WORKER, p.principal_trust_policy([ADMIN]), ())
    tool = AwsRole("tool", p.role_arn(ACCOUNT, "tool"), trust, (_allow(ARN),))
    matrix = derive_aws([_entry(policy={"Statement": []})], [tool, worker])
    assert matrix["worker"]["entries"] == [] and "assumes" not in matrix["worker"]


def test_a_role_anyone_may_assume_is_read_by_everyone() -> None:
    open_trust = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}
    tool = AwsRole("tool", p.role_arn(ACCOUNT, "tool"), open_trust, (_allow(ARN),))
    matrix = derive_aws([_entry(policy={"Statement": []})], [tool])
    assert matrix["arn:aws:iam::*:root"]["entries"] == ["p/prod/backend/DB"]
    assert matrix["arn:aws:iam::*:root"]["note"] == "may assume a role"
