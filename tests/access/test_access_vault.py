"""The Vault access derivation over plain documents (what the plan registers, or what a live server returns)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from platform_secrets.access.vault import (
    VaultEntry,
    VaultRole,
    capabilities,
    derive,
    documents,
    from_registered,
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


# --- every way into a reader: the role's bindings and every policy its token carries ---

OWN = {"p-media": 'path "kv/data/media/S3_BUCKET_KEY" { capabilities = ["read"] }'}
PEPPER = 'path "kv/data/backend/OTP_PEPPER" { capabilities = ["read"] }'


def planned_media(**changes: object) -> VaultRole:
    import dataclasses

    base = dataclasses.replace(role("media", "p-media"), no_default_policy=True)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_role_whose_bound_subject_is_emptied_is_a_reader_for_any_token_of_its_mount():
    planned = derive(ENTRIES, OWN, [planned_media()])["media"]
    emptied = derive(ENTRIES, OWN, [planned_media(bound_subject="")])["media"]
    assert planned["kind"] == "workload" and planned["service_account"] == "media/media"
    assert emptied["kind"] == "other" and "service_account" not in emptied
    assert emptied["assumed_by"] == ["any token of auth/k8s"]


def test_a_role_bound_by_glob_claims_shows_the_glob():
    globbed = planned_media(
        bound_subject="",
        bound_claims={"sub": "system:serviceaccount:*"},
        bound_claims_type="glob",
    )
    row = derive(ENTRIES, OWN, [globbed])["media"]
    assert row["kind"] == "other"
    assert row["assumed_by"] == ["sub~system:serviceaccount:* (glob)"]


def test_a_role_without_an_audience_binding_says_so():
    row = derive(ENTRIES, OWN, [planned_media(bound_subject="", bound_audiences=())])["media"]
    assert row["assumed_by"] == ["any token of auth/k8s", "any aud"]


def test_a_role_keyed_on_another_claim_is_not_a_service_account_reader():
    other_claim = planned_media(user_claim="email")
    row = derive(ENTRIES, OWN, [other_claim])["media"]
    # bound_subject still pins `sub`, so who logs in is unchanged; the row says which claim names the user.
    assert row["service_account"] == "media/media"
    assert row["user_claim"] == "email"


def test_an_added_policy_makes_the_role_a_reader_and_names_that_policy():
    widened = planned_media(token_policies=("p-media", "console-grant"))
    row = derive(ENTRIES, {**OWN, "console-grant": PEPPER}, [widened])["media"]
    assert "kv/backend/OTP_PEPPER" in row["entries"]
    assert row["via"]["kv/backend/OTP_PEPPER"] == ["console-grant"]
    assert row["via"]["kv/media/S3_BUCKET_KEY"] == ["p-media"]


def test_the_default_policy_is_carried_unless_the_role_disables_it():
    policies = {**OWN, "default": PEPPER}
    with_default = derive(ENTRIES, policies, [planned_media(no_default_policy=False)])["media"]
    without = derive(ENTRIES, policies, [planned_media()])["media"]
    assert with_default["via"]["kv/backend/OTP_PEPPER"] == ["default"]
    assert "kv/backend/OTP_PEPPER" not in without["entries"]


def test_identity_groups_reach_a_roles_tokens_directly_nested_and_by_groups_claim():
    from platform_secrets.access.vault import with_groups

    aliases = {
        "e-media": [("acc-k8s", "system:serviceaccount:media:media")],
        "e-other-mount": [("acc-ci", "system:serviceaccount:media:media")],
    }
    groups = [
        {
            "id": "g1",
            "name": "direct",
            "type": "internal",
            "policies": ["p1"],
            "member_entity_ids": ["e-media"],
        },
        {
            "id": "g2",
            "name": "parent",
            "type": "internal",
            "policies": ["p2"],
            "member_group_ids": ["g1"],
        },
        {
            "id": "g3",
            "name": "elsewhere",
            "type": "internal",
            "policies": ["p3"],
            "member_entity_ids": ["e-other-mount"],
        },
        {
            "id": "g4",
            "name": "ext",
            "type": "external",
            "policies": ["p4"],
            "alias": {"mount_accessor": "acc-k8s", "name": "admins"},
        },
    ]
    plain = with_groups(planned_media(), "acc-k8s", groups, aliases)
    assert plain.groups == ("direct", "parent")
    assert plain.group_policies == ("p1", "p2")
    claimed = with_groups(planned_media(groups_claim="groups"), "acc-k8s", groups, aliases)
    assert claimed.groups == ("direct", "ext", "parent")
    row = derive(ENTRIES, {**OWN, "p1": PEPPER}, [plain])["media"]
    assert row["via"]["kv/backend/OTP_PEPPER"] == ["p1"]


def test_two_roles_of_one_name_on_two_mounts_are_two_readers():
    """A role named like ours on another mount must not hide (or be hidden by) ours."""
    import dataclasses

    theirs = dataclasses.replace(role("media", "broad"), auth_path="other-team")
    policies = {**OWN, "broad": PEPPER}
    for order in ([planned_media(), theirs], [theirs, planned_media()]):
        matrix = derive(ENTRIES, policies, order)
        rows = {row["identity"]: row["entries"] for row in matrix.values()}
        assert rows == {
            "auth/k8s/role/media": ["kv/media/S3_BUCKET_KEY"],
            "auth/other-team/role/media": ["kv/backend/OTP_PEPPER"],
        }


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


def test_a_plus_glob_matches_its_last_segment_exactly_not_as_a_prefix() -> None:
    grants = {"p": {"kv/data/+/JWT": ["read"]}}
    assert readable(grants, ["p"], "kv/data/shared/JWT")
    assert not readable(grants, ["p"], "kv/data/shared/JWT_OLD")
    assert not readable(grants, ["p"], "kv/data/shared/JW")


def test_a_trailing_star_matches_the_whole_literal_prefix_before_it() -> None:
    grants = {"p": {"kv/data/backend/OTP*": ["read"]}}
    assert readable(grants, ["p"], "kv/data/backend/OTP_PEPPER")
    assert not readable(grants, ["p"], "kv/data/backend/OT_X")


def test_a_star_inside_a_path_is_a_literal_character() -> None:
    grants = {"p": {"kv/data/ba*/X": ["read"]}}
    assert not readable(grants, ["p"], "kv/data/backend/X")


def test_a_role_carrying_a_policy_the_server_lacks_reads_nothing_through_it() -> None:
    grants = {"p": {"kv/data/*": ["read"]}}
    assert readable(grants, ["missing", "p"], "kv/data/a")
    assert not readable(grants, ["missing"], "kv/data/a")


def test_a_path_block_without_capabilities_grants_nothing() -> None:
    assert parse_policy('path "kv/data/a" {}') == {"kv/data/a": []}
    assert parse_policy('{"path": {"kv/data/a": null}}') == {"kv/data/a": []}
    assert parse_policy("") == {}


def test_a_roles_entries_and_keys_are_in_name_order_whatever_the_input_order() -> None:
    text = 'path "kv/data/*" { capabilities = ["read"] }'
    matrix = derive(list(reversed(ENTRIES)), {"p": text}, [role("backend", "p")])
    assert matrix["backend"]["entries"] == [e.name for e in ENTRIES]
    assert matrix["backend"]["keys"] == ["JWT_SECRET", "OTP_PEPPER", "S3_BUCKET_KEY"]


def test_a_workload_row_is_a_workload_with_its_namespaces_env_var_names() -> None:
    text = 'path "kv/data/shared/JWT_SECRET" { capabilities = ["read"] }'
    env_keys = {
        ("backend", "shared/JWT_SECRET"): "AUTH_JWT",
        ("media", "shared/JWT_SECRET"): "OTHER",
    }
    row = derive(ENTRIES, {"p": text}, [role("backend", "p")], env_keys)["backend"]
    assert row == {
        "identity": "auth/k8s/role/backend",
        "entries": ["kv/shared/JWT_SECRET"],
        "kind": "workload",
        "service_account": "backend/backend",
        "keys": ["AUTH_JWT"],
        "via": {"kv/shared/JWT_SECRET": ["p"]},
    }


def test_a_tooling_row_names_who_may_log_in_by_every_bound_claim_and_subject() -> None:
    text = 'path "kv/data/shared/JWT_SECRET" { capabilities = ["read"] }'
    tool = VaultRole(
        "ci", "deploy", ("p",), "repo:org/app:ref:refs/heads/main", (), {"b": "2", "a": "1"}
    )
    env_keys = {("backend", "shared/JWT_SECRET"): "AUTH_JWT"}
    row = derive(ENTRIES, {"p": text}, [tool], env_keys)["deploy"]
    assert row == {
        "identity": "auth/ci/role/deploy",
        "entries": ["kv/shared/JWT_SECRET"],
        "kind": "tooling",
        # A role bound to no audience admits a token for any: said, as every binding is.
        "assumed_by": ["sub=repo:org/app:ref:refs/heads/main", "a=1", "b=2", "any aud"],
        "keys": ["JWT_SECRET"],
        "via": {"kv/shared/JWT_SECRET": ["p"]},
    }


def test_every_policy_no_role_carries_is_a_reader_of_its_own() -> None:
    policies = {
        "a-carried": 'path "kv/data/*" { capabilities = ["read"] }',
        "b-stray": 'path "kv/data/media/*" { capabilities = ["read"] }',
        "c-reads-nothing": 'path "kv/data/none/*" { capabilities = ["read"] }',
    }
    matrix = derive(ENTRIES, policies, [role("backend", "a-carried")])
    assert sorted(matrix) == ["backend", "policy:b-stray"]
    assert matrix["policy:b-stray"] == {
        "identity": "policy:b-stray",
        "entries": ["kv/media/S3_BUCKET_KEY"],
        "keys": ["S3_BUCKET_KEY"],
        "kind": "other",
        "note": "a policy that reads entries but no role of this stack carries",
    }


def _registered(type_: str, **inputs: object) -> SimpleNamespace:
    return SimpleNamespace(type=type_, inputs=inputs)


def test_the_plans_registrations_read_as_the_documents_vault_would_hold() -> None:
    """The plan's side of the one derivation: entries (KV v2 or metadata-only), policies, JWT roles."""
    policy = 'path "kv/data/backend/OTP_PEPPER" { capabilities = ["read"] }'
    resources = [
        _registered(
            "vault:kv/secretV2:SecretV2",
            mount="kv",
            name="shared/JWT_SECRET",
            customMetadata={"data": {"platform-secrets-key": "JWT_SECRET"}},
        ),
        _registered("vault:kv/secretV2:SecretV2", mount="kv", name="media/S3_KEY"),
        _registered(
            "vault:generic/endpoint:Endpoint",
            path="kv/metadata/backend/OTP_PEPPER",
            dataJson=json.dumps({"custom_metadata": {"platform-secrets-key": "OTP_PEPPER"}}),
        ),
        _registered("vault:generic/endpoint:Endpoint", path="sys/auth/k8s", dataJson="{}"),
        _registered("vault:index/policy:Policy", name="p-backend", policy=policy),
        _registered(
            "vault:jwt/authBackendRole:AuthBackendRole",
            backend="k8s",
            roleName="backend",
            tokenPolicies=["p-backend"],
            boundSubject="system:serviceaccount:backend:backend",
            boundAudiences=["vault"],
            boundClaims={"team": "core"},
        ),
        _registered("vault:jwt/authBackendRole:AuthBackendRole", roleName="bare"),
        _registered("kubernetes:core/v1:Secret", name="x"),
    ]
    entries, policies, roles = documents(resources)
    assert entries == [
        VaultEntry("kv", "shared/JWT_SECRET", "JWT_SECRET"),
        VaultEntry("kv", "media/S3_KEY", None),
        VaultEntry("kv", "backend/OTP_PEPPER", "OTP_PEPPER"),
    ]
    assert policies == {"p-backend": policy}
    assert roles == [
        VaultRole(
            "k8s",
            "backend",
            ("p-backend",),
            "system:serviceaccount:backend:backend",
            ("vault",),
            {"team": "core"},
        ),
        VaultRole("jwt", "bare", ()),
    ]
    matrix = from_registered(resources, {("backend", "backend/OTP_PEPPER"): "PEPPER"})
    assert matrix["backend"]["entries"] == ["kv/backend/OTP_PEPPER"]
    assert matrix["backend"]["keys"] == ["PEPPER"]
    assert matrix["bare"]["entries"] == []


def test_two_blocks_written_without_a_space_between_them_are_both_read() -> None:
    text = 'path "kv/data/a" {capabilities=["read"]}path "kv/data/b" {capabilities=["list"]}'
    assert parse_policy(text) == {"kv/data/a": ["read"], "kv/data/b": ["list"]}


def test_an_entry_path_holding_the_word_metadata_keeps_it() -> None:
    """The mount is what precedes the first ``/metadata/``; the rest is the entry's path in the mount."""
    endpoint = _registered(
        "vault:generic/endpoint:Endpoint",
        path="kv/metadata/team/metadata/KEY",
        dataJson=json.dumps({"custom_metadata": {}}),
    )
    assert documents([endpoint])[0] == [VaultEntry("kv", "team/metadata/KEY", None)]


# --- rules the mutation run showed no test stated (make mutation) ---


def test_a_role_read_from_the_api_keeps_every_field_that_decides_its_tokens() -> None:
    from platform_secrets.access.vault import role_from_api

    data = {
        "token_policies": ["p"],
        "bound_subject": "s",
        "bound_audiences": ["vault"],
        "bound_claims": {"team": "core"},
        "bound_claims_type": "glob",
        "user_claim": "email",
        "token_no_default_policy": True,
        "token_type": "batch",
        "token_ttl": 60,
        "token_max_ttl": 120,
        "token_bound_cidrs": ["10.0.0.0/8"],
        "groups_claim": "groups",
        "claim_mappings": {"team": "team"},
        "token_policies_template_claims": True,
    }
    assert role_from_api("k8s", "app", data) == VaultRole(
        "k8s",
        "app",
        ("p",),
        bound_subject="s",
        bound_audiences=("vault",),
        bound_claims={"team": "core"},
        bound_claims_type="glob",
        user_claim="email",
        no_default_policy=True,
        token_type="batch",
        token_ttl=60,
        token_max_ttl=120,
        token_bound_cidrs=("10.0.0.0/8",),
        groups_claim="groups",
        claim_mappings={"team": "team"},
        policies_from_claims=True,
    )
    assert role_from_api("k8s", "app", {}) == VaultRole("k8s", "app", ())


ALIASES = {
    "e-mine": [("acc-k8s", "system:serviceaccount:media:media")],
    "e-other-sa": [("acc-k8s", "system:serviceaccount:x:y")],
}
GROUPS = [
    {"id": "g-mine", "name": "mine", "type": "internal", "member_entity_ids": ["e-mine"]},
    {"id": "g-other", "name": "other", "type": "internal", "member_entity_ids": ["e-other-sa"]},
]


def test_a_bound_subject_pins_the_entity_whose_groups_a_token_may_carry() -> None:
    from platform_secrets.access.vault import with_groups

    assert with_groups(planned_media(), "acc-k8s", GROUPS, ALIASES).groups == ("mine",)


def test_without_a_bound_subject_keyed_on_sub_any_alias_of_the_mount_may_be_the_tokens_entity() -> (
    None
):
    """Another user claim, or no bound subject: the login may land on any entity of the mount."""
    from platform_secrets.access.vault import with_groups

    for role in (planned_media(user_claim="email"), planned_media(bound_subject="")):
        assert with_groups(role, "acc-k8s", GROUPS, ALIASES).groups == ("mine", "other"), role
    assert with_groups(planned_media(bound_subject=""), "acc-ci", GROUPS, ALIASES).groups == ()


def test_a_group_applies_through_every_level_of_nesting_and_a_cycle_ends() -> None:
    from platform_secrets.access.vault import with_groups

    nested = [
        {"id": "g1", "name": "leaf", "member_entity_ids": ["e-mine"], "policies": ["p1"]},
        {"id": "g2", "name": "middle", "member_group_ids": ["g1"]},
        {"id": "g3", "name": "top", "member_group_ids": ["g2"], "policies": ["p3"]},
        {"id": "c1", "name": "loop-a", "member_group_ids": ["c2"]},
        {"id": "c2", "name": "loop-b", "member_group_ids": ["c1", "missing"]},
    ]
    role = with_groups(planned_media(), "acc-k8s", nested, ALIASES)
    assert role.groups == ("leaf", "middle", "top")
    assert role.group_policies == ("p1", "p3")
