"""The Vault access derivation over plain documents (what the plan registers, or what a live server returns)."""

from __future__ import annotations

import json

import pytest

from tools.access_vault import (
    VaultEntry,
    VaultRole,
    capabilities,
    derive,
    parse_policy,
    readable,
)

ENTRIES = [
    VaultEntry("kv", "backend/OTP_PEPPER", "OTP_PEPPER"),
    VaultEntry("kv", "media/S3_BUCKET_KEY", "S3_BUCKET_KEY"),
    VaultEntry("kv", "shared/JWT_SECRET", "JWT_SECRET"),
]


def role(name: str, *policies: str) -> VaultRole:
    return VaultRole(
        "k8s",
        name,
        policies,
        bound_subject=f"system:serviceaccount:{name}:{name}",
        bound_audiences=("vault",),
    )


def test_exact_paths_read_exactly_those_entries():
    matrix = derive(
        ENTRIES,
        {"p-backend": 'path "kv/data/backend/OTP_PEPPER" { capabilities = ["read"] }'},
        [role("backend", "p-backend")],
    )
    assert matrix["backend"]["entries"] == ["kv/backend/OTP_PEPPER"]
    assert matrix["backend"]["keys"] == ["OTP_PEPPER"]
    assert matrix["backend"]["service_account"] == "backend/backend"


def test_globs_plus_and_star_match_as_vault_does():
    grants = {
        "star": parse_policy('path "kv/data/*" { capabilities = ["read"] }'),
        "plus": parse_policy('path "kv/data/+/JWT_SECRET" { capabilities = ["read"] }'),
        "prefix": parse_policy('path "kv/data/med*" { capabilities = ["read"] }'),
    }
    assert all(readable(grants, ["star"], e.data_path) for e in ENTRIES)
    assert [e.path for e in ENTRIES if readable(grants, ["plus"], e.data_path)] == [
        "shared/JWT_SECRET"
    ]
    assert [e.path for e in ENTRIES if readable(grants, ["prefix"], e.data_path)] == [
        "media/S3_BUCKET_KEY"
    ]


def test_deny_wins_and_the_most_specific_path_decides():
    text = (
        'path "kv/data/*" { capabilities = ["read"] }\n'
        'path "kv/data/backend/OTP_PEPPER" { capabilities = ["deny"] }\n'
    )
    grants = {
        "p": parse_policy(text),
        "other": parse_policy('path "kv/data/*" { capabilities = ["read"] }'),
    }
    assert not readable(grants, ["p"], "kv/data/backend/OTP_PEPPER")
    assert readable(grants, ["p"], "kv/data/shared/JWT_SECRET")
    assert not readable(grants, ["p", "other"], "kv/data/backend/OTP_PEPPER")  # deny in any policy
    assert not readable(
        {"l": parse_policy('path "kv/data/*" { capabilities = ["list"] }')},
        ["l"],
        "kv/data/shared/JWT_SECRET",
    )


def test_a_policy_no_role_carries_that_reads_is_an_extra_reader_and_json_is_read_too():
    policy = json.dumps({"path": {"kv/data/+/JWT_SECRET": {"capabilities": ["read"]}}})
    matrix = derive(ENTRIES, {"console-grant": policy}, [])
    assert matrix["policy:console-grant"]["entries"] == ["kv/shared/JWT_SECRET"]
    assert matrix["policy:console-grant"]["kind"] == "other"


def test_a_tooling_role_is_named_by_its_claims():
    ci = VaultRole(
        "ci",
        "linear-integration",
        ("p",),
        bound_claims={"repository": "acme/platform"},
        bound_audiences=("vault",),
    )
    matrix = derive(ENTRIES, {"p": ""}, [ci])
    assert matrix["linear-integration"]["kind"] == "tooling"
    assert matrix["linear-integration"]["assumed_by"] == ["repository=acme/platform"]
    assert matrix["linear-integration"]["identity"] == "auth/ci/role/linear-integration"


# Two globs of one policy match the same path: Vault (OpenBao 2, checked with `sys/capabilities`) lets the
# higher-priority one decide: the later first wildcard, then not ending in `*`, then fewer `+` segments, then
# the longer path, then the lexicographically greater one.
PRIORITY = [
    ({"kv/data/*": "deny", "kv/data/+/X": "read"}, "kv/data/ab/X", "read"),
    ({"kv/data/*": "read", "kv/data/+/X": "deny"}, "kv/data/ab/X", "deny"),
    ({"kv/data/a*": "read", "kv/data/+/X": "deny"}, "kv/data/ab/X", "read"),
    ({"kv/data/ab/+": "read", "kv/data/+/X": "deny"}, "kv/data/ab/X", "read"),
    ({"kv/data/+/X*": "read", "kv/data/+/X": "deny"}, "kv/data/ab/X", "deny"),
    ({"kv/data/+/+": "read", "kv/data/+/X": "deny"}, "kv/data/ab/X", "deny"),
    ({"kv/data/+/ab*": "read", "kv/data/+/a*": "deny"}, "kv/data/x/abc", "read"),
    ({"kv/data/+/a*": "read", "kv/data/+/ab*": "deny"}, "kv/data/x/abc", "deny"),
    ({"kv/data/+/b/+": "read", "kv/data/+/+/c": "deny"}, "kv/data/a/b/c", "read"),
    ({"kv/data/+/+/c": "read", "kv/data/+/b/+": "deny"}, "kv/data/a/b/c", "deny"),
]


@pytest.mark.parametrize(("grants", "path", "decides"), PRIORITY)
def test_of_two_matching_globs_the_one_vault_ranks_higher_decides(
    grants: dict[str, str], path: str, decides: str
) -> None:
    assert capabilities({p: [c] for p, c in grants.items()}, path) == {decides}


def test_a_leading_plus_is_the_earliest_wildcard() -> None:
    assert capabilities({"+/data/X": ["read"], "kv/+/X": ["deny"]}, "kv/data/X") == {"deny"}


def test_a_path_written_twice_in_one_policy_holds_both_blocks_capabilities() -> None:
    """Vault (OpenBao 2, checked with ``sys/capabilities``) unions the blocks; an HCL reader keeps the last."""
    text = (
        'path "kv/data/shared/JWT_SECRET" { capabilities = ["read"] }\n'
        'path "kv/data/media/S3_BUCKET_KEY" { capabilities = ["read"] }\n'
        'path "kv/data/shared/JWT_SECRET" { capabilities = ["list"] }\n'
    )
    assert parse_policy(text) == {
        "kv/data/shared/JWT_SECRET": ["read", "list"],
        "kv/data/media/S3_BUCKET_KEY": ["read"],
    }
    matrix = derive(ENTRIES, {"p-tool": text}, [VaultRole("ci", "tool", ("p-tool",), "repo:x")])
    assert matrix["tool"]["entries"] == ["kv/media/S3_BUCKET_KEY", "kv/shared/JWT_SECRET"]
