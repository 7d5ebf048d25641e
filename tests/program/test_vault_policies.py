"""Tier 1: a service's Vault policy (``platform_secrets/program/clouds/vault_policies.py``) reads exactly its data paths."""

from __future__ import annotations

import hcl
import pytest

from platform_secrets.program.clouds.vault_policies import policy_problems, read_policy

BACKEND = "kv/data/backend/DATABASE_URL"
SHARED = "kv/data/shared/JWT_SECRET"


def _grants(text: str) -> dict[str, list[str]]:
    """The policy as Vault reads it: ``path -> capabilities``, one block per path."""
    paths = hcl.loads(text)["path"]
    assert isinstance(paths, dict), "each path appears in one block only"
    return {path: body["capabilities"] for path, body in paths.items()}


def test_a_read_policy_grants_read_on_exactly_its_paths_and_nothing_else() -> None:
    assert _grants(read_policy([SHARED, BACKEND])) == {BACKEND: ["read"], SHARED: ["read"]}


def test_a_path_named_twice_is_one_block() -> None:
    text = read_policy([BACKEND, BACKEND])
    assert _grants(text) == {BACKEND: ["read"]} and text.count("path ") == 1


def test_the_policy_text_does_not_depend_on_the_order_of_its_paths() -> None:
    """A reordered catalog must not show up as a changed policy in the plan."""
    assert read_policy([SHARED, BACKEND]) == read_policy([BACKEND, SHARED])


def test_a_read_policy_lists_its_paths_in_sorted_order() -> None:
    text = read_policy([SHARED, BACKEND])
    assert text.index(BACKEND) < text.index(SHARED)


def test_a_policy_without_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^a read policy needs at least one path$"):
        read_policy([])


@pytest.mark.parametrize("path", ["kv/data/backend/*", "kv/data/+/DATABASE_URL", 'kv/data/a" {}'])
def test_a_glob_or_a_quote_in_a_path_is_refused_naming_the_path(path: str) -> None:
    with pytest.raises(ValueError, match="names exact paths") as refused:
        read_policy([BACKEND, path])
    assert repr(path) in str(refused.value)


def test_an_exact_read_on_a_data_path_has_no_problem() -> None:
    assert policy_problems({BACKEND: ["read"], SHARED: ["read"]}) == []


def test_a_glob_path_is_a_problem() -> None:
    assert policy_problems({"kv/data/backend/*": ["read"]}) == [
        "path 'kv/data/backend/*' has a glob"
    ]
    assert policy_problems({"kv/data/+/X": ["read"]}) == ["path 'kv/data/+/X' has a glob"]


def test_every_capability_beyond_read_is_named_in_one_problem() -> None:
    assert policy_problems({BACKEND: ["sudo", "read", "list"]}) == [
        f"path {BACKEND!r} grants list, sudo"
    ]


@pytest.mark.parametrize(
    "capability", ["list", "sudo", "create", "update", "patch", "delete", "deny"]
)
def test_each_broad_capability_is_a_problem(capability: str) -> None:
    assert policy_problems({BACKEND: ["read", capability]}) == [
        f"path {BACKEND!r} grants {capability}"
    ]


def test_a_metadata_path_is_a_problem_and_not_a_data_path() -> None:
    assert policy_problems({"kv/metadata/backend/X": ["read"]}) == [
        "path 'kv/metadata/backend/X' grants metadata",
        "path 'kv/metadata/backend/X' is not a KV v2 data path",
    ]


def test_a_path_outside_kv_v2_data_is_a_problem() -> None:
    assert policy_problems({"sys/policy/x": ["read"]}) == [
        "path 'sys/policy/x' is not a KV v2 data path"
    ]


def test_problems_come_in_path_order() -> None:
    found = policy_problems({"z/data/*": ["read"], "a/data/*": ["read"]})
    assert found == ["path 'a/data/*' has a glob", "path 'z/data/*' has a glob"]
