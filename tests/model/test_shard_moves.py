"""Tier 1: the ``moved:`` records of an environment file (a service moving between shards), pure."""

from __future__ import annotations

from platform_secrets.model import shards
from platform_secrets.model.catalog import parse_catalog
from platform_secrets.model.shards import parse_layout

ORIGIN = "environments/test.yaml"


def catalog(*names: str):
    return parse_catalog({"services": {name: {} for name in names}})


def layout(stacks, moved):
    return parse_layout({"foundation": "env-f", "stacks": stacks, "moved": moved}, ORIGIN)


def problems(lay, cat):
    return shards.layout_problems(lay, cat, origin=ORIGIN)


def test_a_move_that_agrees_with_the_assignment_is_accepted():
    lay = layout(
        {"env-a": ["s1"], "env-b": ["s2"]}, [{"service": "s2", "from": "env-a", "to": "env-b"}]
    )
    assert problems(lay, catalog("s1", "s2")) == []
    assert lay.moved[0].source == "env-a" and lay.moved[0].dest == "env-b"


def test_a_move_whose_to_disagrees_with_the_assignment_is_refused():
    lay = layout(
        {"env-a": ["s1", "s2"], "env-b": []}, [{"service": "s2", "from": "env-a", "to": "env-b"}]
    )
    assert problems(lay, catalog("s1", "s2")) == [
        f"{ORIGIN}: moved[0]: s2 moves to env-b, but stacks lists it in env-a; "
        "the record and the assignment must agree"
    ]


def test_every_bad_move_record_is_named_at_once():
    lay = layout(
        {"env-a": ["s1"], "env-b": ["s2"]},
        [
            {"service": "ghost", "from": "env-a", "to": "env-b"},
            {"service": "s2", "from": "env-x", "to": "env-b"},
            {"service": "s1", "from": "env-a", "to": "env-a"},
            {"service": "s2", "from": "env-f", "to": "env-b"},
        ],
    )
    found = problems(lay, catalog("s1", "s2"))
    assert found == [
        f"{ORIGIN}: moved[0]: ghost is not in the catalog",
        f"{ORIGIN}: moved[1]: from env-x is not a shard of this environment (shards: env-a, env-b)",
        f"{ORIGIN}: moved[2]: s1 moves from env-a to env-a; a move is between two shards",
        f"{ORIGIN}: moved[3]: from env-f is not a shard of this environment (shards: env-a, env-b)",
        f"{ORIGIN}: moved[3]: s2 has 2 move records; one move per service at a time",
    ]


def test_a_record_with_a_missing_or_extra_field_is_refused():
    import pytest

    from platform_secrets.model.shards import LayoutError

    with pytest.raises(LayoutError) as error:
        layout({"env-a": ["s1"]}, [{"service": "s1", "to": "env-a", "when": "now"}])
    assert "moved.0.from" in str(error.value) and "moved.0.when" in str(error.value)


def test_proposing_a_service_keeps_the_move_records():
    lay = layout(
        {"env-a": ["s1"], "env-b": ["s2"]}, [{"service": "s2", "from": "env-a", "to": "env-b"}]
    )
    text = shards.dump_layout(shards.with_service(lay, "s3", "env-a"))
    again = parse_layout(__import__("yaml").safe_load(text), ORIGIN)
    assert again.moved == lay.moved
    assert "moved:\n- service: s2\n  from: env-a\n  to: env-b\n" in text
