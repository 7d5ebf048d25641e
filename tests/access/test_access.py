"""Tier 1: the AWS access derivation (``platform_secrets/access/matrix.py``) over plain documents, as IAM evaluates them."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from platform_secrets.access.matrix import (
    AwsEntry,
    AwsRole,
    aws_documents,
    aws_verdict,
    derive,
    derive_aws,
    in_region,
)
from platform_secrets.program.clouds import aws_policies as p

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
    assert matrix["*"]["entries"] == ["p/prod/backend/DB"]
    assert (matrix["*"]["kind"], matrix["*"]["assumes"]) == ("anyone", [tool.arn])


def _deny_all_but(operator: str, values: Any) -> dict[str, Any]:
    return {
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


def test_a_star_in_an_equals_condition_is_a_plain_character() -> None:
    """StringNotEquals compares literally: a pattern there exempts nobody (the deny reaches everyone)."""
    doc = _deny_all_but("StringNotEquals", ["arn:aws:iam::*:role/p-prod-backend"])
    assert aws_verdict(doc, READ, ARN, BACKEND) == "Deny"


def test_a_like_condition_on_an_arn_is_case_sensitive() -> None:
    doc = _deny_all_but("StringNotLike", ["arn:aws:iam::*:role/P-PROD-BACKEND"])
    assert aws_verdict(doc, READ, ARN, BACKEND) == "Deny"


def test_a_for_all_values_condition_reads_as_its_operator() -> None:
    doc = _deny_all_but("ForAllValues:StringNotEquals", [BACKEND])
    assert aws_verdict(doc, READ, ARN, BACKEND) is None
    assert aws_verdict(doc, READ, ARN, WORKER) == "Deny"


def test_not_action_is_case_insensitive_and_not_resource_case_sensitive() -> None:
    not_action = {
        "Statement": [{"Effect": "Allow", "NotAction": "SECRETSMANAGER:GET*", "Resource": "*"}]
    }
    assert aws_verdict(not_action, READ, ARN, None) is None
    not_resource = {"Statement": [{"Effect": "Allow", "Action": READ, "NotResource": ARN.upper()}]}
    assert aws_verdict(not_resource, READ, ARN, None) == "Allow"


def test_a_statement_that_does_not_apply_does_not_stop_the_next_from_applying() -> None:
    for skipped in (
        {"Effect": "Deny", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": READ, "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "NotResource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Principal": {"AWS": WORKER}},
        {"Effect": "Deny", "Action": "*", "Resource": OTHER_ARN},
    ):
        doc = {"Statement": [skipped, {"Effect": "Allow", "Action": READ, "Resource": ARN}]}
        assert aws_verdict(doc, READ, ARN, BACKEND) == "Allow", skipped


def test_an_iam_user_or_account_id_principal_is_matched_by_its_account() -> None:
    doc = _allow(ARN, Principal={"AWS": [ACCOUNT]})
    assert aws_verdict(doc, READ, ARN, f"arn:aws:iam::{ACCOUNT}:user/alice") == "Allow"
    assert aws_verdict(_allow(ARN, Principal={"Federated": "x"}), READ, ARN, "x") is None


def test_every_trusting_statement_counts_not_only_the_first() -> None:
    trust = {
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": WORKER}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:TagSession"},
            {"Effect": "Allow", "Principal": {"AWS": WORKER}, "Action": "STS:AssumeRole"},
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
        ]
    }
    worker = AwsRole("worker", WORKER, p.principal_trust_policy([ADMIN]), ())
    tool = AwsRole("tool", p.role_arn(ACCOUNT, "tool"), trust, (_allow(ARN),))
    matrix = derive_aws([_entry(policy={"Statement": []})], [tool, worker])
    assert matrix["worker"]["entries"] == ["p/prod/backend/DB"] and matrix["worker"]["assumes"] == [
        tool.arn
    ]


def test_a_role_keeps_its_own_entries_when_it_gains_another_roles() -> None:
    tool = AwsRole(
        "tool", p.role_arn(ACCOUNT, "tool"), p.principal_trust_policy([WORKER]), (_allow(ARN),)
    )
    worker = AwsRole("worker", WORKER, p.principal_trust_policy([ADMIN]), (_allow(OTHER_ARN),))
    empty = {"Statement": []}
    matrix = derive_aws([_entry(policy=empty), _entry(OTHER_ARN, policy=empty)], [worker, tool])
    assert matrix["worker"]["entries"] == ["p/prod/backend/DB", "p/prod/worker/DB"]


def test_a_role_trusted_by_a_subject_that_is_not_a_service_account_is_tooling() -> None:
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:sub": "repo:o/r:ref:main"}
                },
            },
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"},
        ]
    }
    audience_only = {"StringEquals": {f"{ISSUER}:aud": "system:serviceaccount:x:y"}}
    trust["Statement"].append({"Effect": "Allow", "Action": "sts:X", "Condition": audience_only})
    matrix = derive_aws([], [AwsRole("ci", p.role_arn(ACCOUNT, "ci"), trust, ())])
    assert matrix["ci"]["kind"] == "tooling" and "service_account" not in matrix["ci"]
    assert ADMIN in matrix["ci"]["assumed_by"]


def test_an_account_that_may_assume_a_role_is_a_row_of_kind_account() -> None:
    other_account = "arn:aws:iam::444455556666:root"
    tool = AwsRole(
        "tool",
        p.role_arn(ACCOUNT, "tool"),
        p.principal_trust_policy(["444455556666"]),
        (_allow(ARN),),
    )
    matrix = derive_aws([_entry(policy={"Statement": []})], [tool])
    row = matrix[other_account]
    assert {k: row[k] for k in ("identity", "entries", "keys", "kind", "assumes", "via")} == {
        "identity": other_account,
        "entries": ["p/prod/backend/DB"],
        "keys": ["DB"],
        "kind": "account",
        "assumes": [tool.arn],
        "via": {"p/prod/backend/DB": [tool.arn]},
    }


def test_an_outsiders_row_lists_the_regions_it_reads_in() -> None:
    only_primary = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": in_region(ARN, "eu-central-1"),
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": []}},
            }
        ]
    }
    matrix = derive_aws([_entry(ARN, "eu-central-1", policy=only_primary)], [])
    root = matrix[f"arn:aws:iam::{ACCOUNT}:root"]
    assert root["regions"] == {"p/prod/backend/DB": ["eu-west-1"]}
    assert root["note"] == (
        "any principal of the account whose own IAM policy allows (e.g. secretsmanager:* and kms:*): "
        "no resource policy denies it these entries"
    )


def _registered(
    type_: str, outputs: dict[str, Any] | None = None, **inputs: Any
) -> SimpleNamespace:
    return SimpleNamespace(type=type_, inputs=inputs, outputs=outputs or {})


def test_the_plans_aws_registrations_read_as_the_documents_iam_would_hold() -> None:
    """The plan's side of the one derivation: entries with replicas and policies, roles with every policy."""
    entry_policy = p.entry_resource_policy([BACKEND], [ADMIN])
    read = p.read_secrets_policy([ARN], [], ["eu-west-1"])
    managed_arn = f"arn:aws:iam::{ACCOUNT}:policy/extra"
    trust = p.principal_trust_policy([ADMIN])
    irsa = p.irsa_trust_policy(p.oidc_provider_arn(ACCOUNT, ISSUER), ISSUER, "backend", "backend")
    resources = [
        _registered(
            "aws:secretsmanager/secret:Secret",
            {"arn": ARN},
            name="p/prod/backend/DB",
            replicas=[{"region": "eu-central-1"}],
            tags={"platform-secrets/key": "DATABASE_URL"},
        ),
        _registered(
            "aws:secretsmanager/secret:Secret",
            {"arn": OTHER_ARN},
            name="p/prod/worker/DB",
            tags={"platform-secrets/key": "WORKER_DB"},
        ),
        _registered(
            "aws:secretsmanager/secretPolicy:SecretPolicy",
            secretArn=ARN,
            policy=json.dumps(entry_policy),
        ),
        _registered("aws:iam/policy:Policy", {"arn": managed_arn}, policy=_allow(OTHER_ARN)),
        _registered(
            "aws:iam/role:Role",
            {"arn": BACKEND},
            name="p-prod-backend",
            assumeRolePolicy=json.dumps(irsa),
            tags={"platform-secrets/service": "backend"},
        ),
        _registered(
            "aws:iam/role:Role", {"arn": WORKER}, name="p-prod-worker", assumeRolePolicy=trust
        ),
        _registered(
            "aws:iam/rolePolicy:RolePolicy", role="p-prod-backend", policy=json.dumps(read)
        ),
        _registered(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment", role=WORKER, policyArn=managed_arn
        ),
        _registered(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            role=WORKER,
            policyArn="arn:aws:iam::aws:policy/Other",
        ),
        _registered(
            "kubernetes:external-secrets.io/v1:ExternalSecret",
            metadata={"namespace": "backend"},
            spec={"data": [{"secretKey": "DB_URL", "remoteRef": {"key": "p/prod/backend/DB"}}]},
        ),
        _registered(
            "kubernetes:external-secrets.io/v1:ExternalSecret",
            metadata={"namespace": "worker"},
            spec={},
        ),
    ]
    entries, roles, env_keys = aws_documents(resources)
    assert entries == [
        AwsEntry(
            "p/prod/backend/DB", (ARN, in_region(ARN, "eu-central-1")), "DATABASE_URL", entry_policy
        ),
        AwsEntry("p/prod/worker/DB", (OTHER_ARN,), "WORKER_DB", None),
    ]
    assert roles == [
        AwsRole("p-prod-backend", BACKEND, irsa, (read,), {"platform-secrets/service": "backend"}),
        AwsRole("p-prod-worker", WORKER, trust, (_allow(OTHER_ARN),), {}),
    ]
    assert env_keys == {("backend", "p/prod/backend/DB"): "DB_URL"}
    assert derive(resources)["backend"]["keys"] == ["DB_URL"]
