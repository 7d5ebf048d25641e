"""The trust-drift comparison: a door live but not planned is high; one planned but gone is medium."""

import json

from platform_secrets.access.doors import Door, canonical
from platform_secrets.audit.checks import LiveView, trust_findings


def _view(planned: set[Door], live: set[Door]) -> LiveView:
    return LiveView("scope", {}, {}, doors=frozenset(live), planned_doors=frozenset(planned))


def test_a_one_element_list_and_its_scalar_are_the_same_door() -> None:
    assert canonical({"sub": ["a"], "aud": "x"}) == canonical({"aud": ["x"], "sub": "a"})


def test_list_order_does_not_make_a_new_door() -> None:
    assert canonical({"aud": ["b", "a"]}) == canonical({"aud": ["a", "b"]})


def test_a_wider_subject_is_a_high_finding_naming_the_identity_and_the_door() -> None:
    role = "arn:aws:iam::111122223333:role/p-prod-backend"
    planned = Door(role, "aws-trust", canonical({"sub": "system:serviceaccount:backend:backend"}))
    live = Door(role, "aws-trust", canonical({"sub": "system:serviceaccount:*"}))
    found = trust_findings(_view({planned}, {live}))
    assert [(f.kind, f.severity, f.principal) for f in found] == [
        ("trust-widened", "high", role),
        ("trust-narrowed", "medium", role),
    ]
    assert "system:serviceaccount:*" in found[0].detail


def test_the_same_doors_planned_and_live_give_no_finding() -> None:
    door = Door("r", "vault-role", canonical({"bound_subject": "system:serviceaccount:a:a"}))
    assert trust_findings(_view({door}, {door})) == []


def test_a_store_whose_reader_fetches_no_doors_is_not_judged() -> None:
    assert trust_findings(LiveView("scope", {}, {})) == []


def test_a_list_mixing_numbers_and_strings_is_one_door_whatever_its_order() -> None:
    assert canonical({"v": [2, "a", True]}) == canonical({"v": ["a", True, 2]})


def test_a_list_of_statements_is_one_door_whatever_its_order_or_key_order() -> None:
    one = [{"b": 1, "a": 2}, {"a": 3}]
    two = [{"a": 3}, {"a": 2, "b": 1}]
    assert canonical({"Statement": one}) == canonical({"Statement": two})
    assert canonical({"Statement": [{"a": 2, "b": 1}, {"a": 3}]}) == canonical({"Statement": one})


def test_a_doors_detail_is_compact_json_of_the_normalised_value() -> None:
    detail = canonical({"sub": ["b", "a"], "aud": ["x"], "n": 1})
    assert " " not in detail
    assert json.loads(detail) == {"aud": "x", "n": 1, "sub": ["a", "b"]}
