"""The Vault access derivation over plain documents (what the plan registers, or what a live server returns)."""

from __future__ import annotations

import json

from tools.access_vault import VaultEntry, VaultRole, derive, parse_policy, readable

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
    from tools.access_vault import with_groups

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
