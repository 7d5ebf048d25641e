"""Tier 1: an environment's assignment of services to stacks (environments/<env>.yaml), pure."""

from __future__ import annotations

import pytest

from platform_secrets.model import shards
from platform_secrets.model.catalog import parse_catalog
from platform_secrets.model.shards import LayoutError, parse_layout

ORIGIN = "environments/test.yaml"


def catalog(*names: str, shared_readers: tuple[str, ...] = ()):
    services = {
        name: {"secrets": {"JWT": {"shared": "JWT"}} if name in shared_readers else {}}
        for name in names
    }
    shared = {"JWT": {"source": "generated", "length": 32}} if shared_readers else {}
    return parse_catalog({"shared": shared, "services": services})


def layout(stacks, **extra):
    return parse_layout({"foundation": "env-foundation", "stacks": stacks, **extra}, ORIGIN)


def problems(lay, cat, **kwargs):
    return shards.layout_problems(lay, cat, origin=ORIGIN, **kwargs)


def test_a_service_in_no_stack_is_named_with_the_proposed_stack():
    found = problems(
        layout({"env-a": ["a1", "a2"], "env-b": ["b1"]}), catalog("a1", "a2", "b1", "new")
    )
    assert found == [
        f"{ORIGIN}: new is in no stack (proposed: env-b; "
        "`platform-secrets shards propose new --write`)"
    ]


def test_a_service_in_two_stacks_names_both():
    found = problems(layout({"env-a": ["s"], "env-b": ["s"]}), catalog("s"))
    assert found == [f"{ORIGIN}: s is in 2 stacks (env-a, env-b); a service lives in exactly one"]


def test_an_unknown_service_in_the_layout_is_refused():
    found = problems(layout({"env-a": ["s", "ghost"]}), catalog("s"))
    assert found == [f"{ORIGIN}: stacks.env-a lists ghost, which is not in the catalog"]


def test_a_stack_not_in_the_environment_is_an_unknown_shard():
    found = problems(layout({"env-a": ["s"]}), catalog("s"), stacks=["env-c"])
    assert found == [f"stack env-c is not in {ORIGIN} (its stacks: env-foundation, env-a)"]


def test_the_foundation_cannot_also_be_a_shard():
    found = problems(
        parse_layout({"foundation": "env-a", "stacks": {"env-a": ["s"]}}, ORIGIN), catalog("s")
    )
    assert found == [f"{ORIGIN}: env-a is the foundation and cannot also be a shard"]


def test_a_shared_reader_in_no_stack_is_refused_by_the_foundation():
    found = problems(layout({"env-a": ["s1"]}), catalog("s1", "s2", shared_readers=("s1", "s2")))
    assert (
        f"{ORIGIN}: shared secret JWT is read by s2, which is in no stack the foundation "
        "env-foundation knows: it could not grant it"
    ) in found


def test_a_stack_over_the_limit_is_named_with_its_count():
    lay = layout({"env-a": ["s1"], "env-b": ["s2"]}, stackResourceLimit=50)
    found = problems(
        lay, catalog("s1", "s2"), counts={"env-foundation": 3, "env-a": 51, "env-b": 50}
    )
    assert found == [
        f"stack env-a holds 51 resources, over the limit of 50 (stackResourceLimit in {ORIGIN}): "
        "move services to another shard or add one"
    ]


def test_the_default_limit_is_1000_resources_per_stack():
    lay = layout({"env-a": ["s"]})
    assert lay.stack_resource_limit == 1000
    assert problems(lay, catalog("s"), counts={"env-a": 1000, "env-foundation": 10}) == []
    assert len(problems(lay, catalog("s"), counts={"env-a": 1001, "env-foundation": 10})) == 1


def test_every_layout_problem_is_reported_at_once():
    lay = layout({"env-a": ["s1", "ghost"], "env-b": ["s1"]}, stackResourceLimit=10)
    found = problems(
        lay,
        catalog("s1", "s2", shared_readers=("s2",)),
        counts={"env-foundation": 1, "env-a": 11, "env-b": 2},
        stacks=["env-x"],
    )
    assert [
        p.split(":")[1].split()[0] if p.startswith(ORIGIN) else p.split()[1] for p in found
    ] == [
        "stacks.env-a",  # ghost, not in the catalog
        "s1",  # in two stacks
        "s2",  # in no stack
        "shared",  # its shared reader unknown to the foundation
        "env-x",  # not a stack of the environment
        "env-a",  # over the limit
    ]


def test_a_malformed_layout_names_every_field():
    with pytest.raises(LayoutError) as raised:
        parse_layout({"stacks": {"a": "not-a-list"}, "stackResourceLimit": 1, "extra": 1}, ORIGIN)
    text = str(raised.value)
    assert text.startswith(f"{ORIGIN} has 4 problem(s):")
    for place in ("foundation", "stacks.a", "stackResourceLimit", "extra"):
        assert place in text


def test_the_least_filled_stack_is_proposed_ties_by_name():
    lay = layout({"env-c": ["c"], "env-b": ["b"], "env-a": ["a1", "a2"]})
    assert shards.propose(lay) == "env-b"  # by services: b and c tie at one, b sorts first
    assert shards.propose(lay, {"env-a": 40, "env-b": 31, "env-c": 30}) == "env-c"


def test_proposing_a_service_never_moves_another():
    lay = layout({"env-a": ["a1", "a2"], "env-b": ["b1"]})
    after = shards.with_service(lay, "new", shards.propose(lay))
    assert after.stacks == {"env-a": ("a1", "a2"), "env-b": ("b1", "new")}
    reread = parse_layout(__import__("yaml").safe_load(shards.dump_layout(after)), ORIGIN)
    assert reread == after


def test_a_service_already_placed_is_not_added_again():
    lay = layout({"env-a": ["a1"], "env-b": ["b1"]})
    with pytest.raises(LayoutError, match="a1 is already in env-a"):
        shards.with_service(lay, "a1", "env-b")


def test_counts_attribute_each_resource_to_its_service_component():
    records = [
        {"urn": "p", "type": "pulumi:providers:aws", "name": "aws", "parent": None},
        {"urn": "k", "type": "aws:kms/key:Key", "name": "key", "parent": None},
        {"urn": "c1", "type": shards.COMPONENT, "name": "s1", "parent": None},
        {"urn": "r1", "type": "aws:iam/role:Role", "name": "r", "parent": "c1"},
        {"urn": "r2", "type": "aws:iam/rolePolicy:RolePolicy", "name": "p", "parent": "r1"},
    ]
    assert shards.counts_from_records(records) == ({"s1": 3}, 2, 1)
