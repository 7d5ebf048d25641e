"""The AWS derivation judges a role on the entries its documents can reach, and that reach is exactly
``aws_verdict``'s answer for every ARN (``platform_secrets/access/aws_iam.py``): pure documents, no engine."""

from __future__ import annotations

from typing import Any

import pytest

from platform_secrets.access import aws_iam
from platform_secrets.access import matrix as access

ACCOUNT = "111122223333"
REGION = "eu-west-1"
READ = aws_iam.READ_VALUE
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"


def arn(name: str, region: str = REGION, suffix: str = "AbCdEf") -> str:
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:p/dev/{name}-{suffix}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


ARNS = [
    arn("a/DB"),
    arn("a/DB", "us-east-1"),
    arn("a/DB2"),
    arn("b/DB"),
    arn("b/[x]"),
    arn("ab/DB"),
    f"arn:aws:secretsmanager:{REGION}:444455556666:secret:p/dev/a/DB-AbCdEf",
]

IDENTITY_DOCS: list[dict[str, Any]] = [
    {"Statement": {"Effect": "Allow", "Action": READ, "Resource": arn("a/DB")}},
    {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]},
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "SecretsManager:Get*",
                "Resource": [arn("a/DB")[:-6] + "??????"],
            }
        ]
    },
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": READ,
                "Resource": f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:p/dev/a/*",
            }
        ]
    },
    {"Statement": [{"Effect": "Allow", "Action": READ}]},
    {"Statement": [{"Effect": "Allow", "NotAction": "kms:*", "NotResource": arn("b/*")}]},
    {"Statement": [{"Effect": "Allow", "NotAction": "secretsmanager:*", "Resource": "*"}]},
    {"Statement": [{"Effect": "Allow", "Action": READ, "Resource": arn("b/[x]")}]},
    {
        "Statement": [
            {"Effect": "Allow", "Action": READ, "Resource": "arn:aws:secretsmanager:*"},
            {"Effect": "Deny", "Action": "*", "Resource": arn("a/*")},
        ]
    },
    {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": READ,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}},
            },
            {"Effect": "Allow", "Action": READ, "Resource": "*"},
        ]
    },
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": READ,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalArn": ADMIN}},
            }
        ]
    },
    {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": READ,
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": ADMIN}},
            }
        ]
    },
    {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": READ, "Resource": arn("b/DB")},
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": READ, "Resource": "*"},
        ]
    },
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": READ,
                "Resource": [
                    arn("ab/DB"),
                    "arn:aws:secretsmanager:eu-west-1:111122223333:secret:p/dev/a?DB-*",
                    "not-an-arn",
                ],
            }
        ]
    },
    {
        "Statement": [
            {"Effect": "allow", "Action": READ, "Resource": "*"},
            {"Effect": "Deny", "Action": READ, "Resource": "*", "NotResource": arn("a/DB")},
        ]
    },
    {"Statement": []},
    {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]},
    {
        "Statement": [
            {"Effect": "Allow", "NotAction": "secretsmanager:*", "Resource": "*"},
            {"Effect": "Allow", "Action": READ, "Resource": arn("a/DB")},
        ]
    },
    {
        "Statement": [
            {"Effect": "Allow", "NotAction": "SecretsManager:GetSecretValue", "Resource": "*"}
        ]
    },
    {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": READ, "Resource": "*"},
            {"Effect": "Allow", "Action": READ, "Resource": arn("b/DB")},
        ]
    },
    {
        "Statement": [
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Action": READ, "Resource": arn("b/DB")},
        ]
    },
]


@pytest.mark.parametrize("doc", IDENTITY_DOCS, ids=range(len(IDENTITY_DOCS)))
def test_the_reach_of_an_identity_policy_is_its_verdict_on_every_arn(doc: dict[str, Any]) -> None:
    deny, allow = aws_iam.identity_reach(doc, READ, aws_iam.ArnIndex(ARNS))
    verdicts = {a: aws_iam.aws_verdict(doc, READ, a, None) for a in ARNS}
    assert deny == {a for a, v in verdicts.items() if v == "Deny"}
    assert allow == {a for a, v in verdicts.items() if v == "Allow"}


def test_the_reach_of_the_documents_above_is_not_empty_everywhere() -> None:
    """A control: the table above exercises denies, allows and nothing (a reach that found no ARN at all
    would agree with a broken verdict too)."""
    index = aws_iam.ArnIndex(ARNS)
    reaches = [aws_iam.identity_reach(doc, READ, index) for doc in IDENTITY_DOCS]
    assert any(deny for deny, _ in reaches)
    assert any(allow and allow != set(ARNS) for _, allow in reaches)
    assert any(allow == set(ARNS) for _, allow in reaches)
    assert aws_iam.identity_reach(IDENTITY_DOCS[3], READ, index)[1] == {
        arn("a/DB"),
        arn("a/DB", "us-east-1"),
        arn("a/DB2"),
    }


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (arn("a/DB"), {arn("a/DB")}),
        ([arn("a/DB"), arn("b/DB"), "arn:nothing"], {arn("a/DB"), arn("b/DB")}),
        (arn("a/*"), {arn("a/DB"), arn("a/DB2")}),
        (arn("a/DB")[:-6] + "??????", {arn("a/DB")}),
        (arn("?/DB"), {arn("a/DB"), arn("b/DB")}),
        (arn("b/[x]"), {arn("b/[x]")}),
        ("*", set(ARNS)),
        (
            f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:p/dev/a/DB-AbCdEf",
            {arn("a/DB"), arn("a/DB", "us-east-1")},
        ),
        ("ARN:aws:*", set()),
        (f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:P/DEV/a/DB-*", set()),
        (None, set()),
    ],
)
def test_an_arn_index_finds_what_each_pattern_matches(patterns: Any, expected: set[str]) -> None:
    assert aws_iam.ArnIndex(ARNS).matching(patterns) == expected
    assert expected == {a for a in ARNS if aws_iam._matches(patterns, a, case=True)}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (None, frozenset()),
        ({}, frozenset()),
        ({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]}, frozenset()),
        (
            {
                "Statement": {
                    "Effect": "Allow",
                    "Principal": {"AWS": [ADMIN, role_arn("x")]},
                    "Action": READ,
                }
            },
            frozenset({ADMIN, role_arn("x")}),
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": ADMIN}},
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}},
                    {"Effect": "Allow", "Principal": "arn:odd"},
                ]
            },
            frozenset({ADMIN}),
        ),
        ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": None}}]}, frozenset()),
        (
            {
                "Statement": [
                    {"Effect": "Deny", "Principal": "*"},
                    {"Effect": "Allow", "Principal": {"AWS": ADMIN}},
                ]
            },
            frozenset({ADMIN}),
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": ADMIN}},
                    {"Effect": "Allow", "Principal": "*"},
                ]
            },
            None,
        ),
        ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": [ADMIN, "*"]}}]}, None),
        (
            {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": ADMIN}, "Action": READ}]},
            None,
        ),
    ],
)
def test_a_resource_policy_allows_by_name_only_the_principals_it_lists(
    doc: dict[str, Any] | None, expected: frozenset[str] | None
) -> None:
    assert aws_iam.allow_names(doc) == expected
    if expected is not None:  # the verdict agrees: nobody outside the set is allowed by name
        for principal in (ADMIN, role_arn("x"), role_arn("other"), f"arn:aws:iam::{ACCOUNT}:root"):
            verdict = aws_iam.aws_verdict(doc, READ, arn("a/DB"), principal, by_account=False)
            assert verdict != "Allow" or principal in expected


@pytest.mark.parametrize(
    ("pattern", "at"), [("abc", -1), ("", -1), ("a*b?", 1), ("ab?c*", 2), ("*", 0), ("a?", 1)]
)
def test_a_patterns_literal_part_ends_at_its_first_wildcard(pattern: str, at: int) -> None:
    assert aws_iam._wildcard_at(pattern) == at


def _catalog(size: int) -> tuple[list[access.AwsEntry], list[access.AwsRole]]:
    """``size`` services, each a workload role reading its own entry, each entry denying everyone else."""
    entries, roles = [], []
    for i in range(size):
        name, reader = f"svc-{i:03d}", role_arn(f"svc-{i:03d}")
        deny_others = {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "secretsmanager:*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalArn": [ADMIN, reader]}},
                }
            ]
        }
        entries.append(access.AwsEntry(f"p/dev/{name}/DB", (arn(f"{name}/DB"),), "DB", deny_others))
        trust = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {
                        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example"
                    },
                    "Condition": {
                        "StringEquals": {
                            "oidc.example:sub": f"system:serviceaccount:{name}:{name}",
                            "oidc.example:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ]
        }
        own = {"Statement": [{"Effect": "Allow", "Action": READ, "Resource": [arn(f"{name}/DB")]}]}
        roles.append(
            access.AwsRole(name, reader, trust, (own,), {"platform-secrets/service": name})
        )
    return entries, roles


def test_a_role_is_judged_on_the_entries_it_may_reach_not_on_every_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 5,000 services (100,000 resources) a derivation that judged every role on every entry ran for 16
    minutes; the number of evaluations must grow with the catalog, not with its square."""
    calls = 0
    verdict = access.aws_verdict

    def counted(*args: Any, **kwargs: Any) -> str | None:
        nonlocal calls
        calls += 1
        return verdict(*args, **kwargs)

    monkeypatch.setattr(access, "aws_verdict", counted)
    counts = {}
    for size in (40, 80):
        calls = 0
        entries, roles = _catalog(size)
        matrix = access.derive_aws(entries, roles)
        assert {row["entries"][0] for name, row in matrix.items() if name.startswith("svc-")} == {
            e.name for e in entries
        }
        assert all(len(row["entries"]) == 1 for name, row in matrix.items() if name != ADMIN)
        assert len(matrix[ADMIN]["entries"]) == size
        counts[size] = calls
    assert counts[80] <= 2.2 * counts[40], counts
