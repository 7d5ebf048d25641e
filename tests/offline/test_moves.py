"""Tier 1: a service changing shard between the base and the head plans (``platform_secrets.offline.moves``).

Hand-built plan folders in the shape ``platform-secrets plan --environment ENV --out DIR`` writes:
``DIR/<stack>/resources.json``, URNs ``urn:pulumi:<stack>::...``.
"""

from __future__ import annotations

import json

import pytest

from platform_secrets.cli.app import main as cli_main
from platform_secrets.model.shard_moves import Move
from platform_secrets.offline.moves import Step, compare

P = "platform-secrets"
COMPONENT = "platform-secrets:index:ServiceSecrets"
SECRET = "aws:secretsmanager/secret:Secret"
ROOT = "pulumi:pulumi:Stack"
ORIGIN = "environments/t.yaml"


def service(stack, name, protect=False):
    """A service's component, a protected-or-not entry under it, and the stack's provider and root."""
    top = f"urn:pulumi:{stack}::{P}::{ROOT}${COMPONENT}::{name}"  # as the program registers it
    return [
        {"urn": top, "type": COMPONENT, "name": name, "parent": "", "protect": False},
        {
            "urn": f"urn:pulumi:{stack}::{P}::{COMPONENT}${SECRET}::{name}-TOKEN",
            "type": SECRET,
            "name": f"{name}-TOKEN",
            "parent": top,
            "protect": protect,
        },
    ]


def stack_common(stack):
    return [
        {"urn": f"urn:pulumi:{stack}::{P}::pulumi:pulumi:Stack::{P}-{stack}",
         "type": "pulumi:pulumi:Stack", "name": f"{P}-{stack}", "parent": "", "protect": False},
        {"urn": f"urn:pulumi:{stack}::{P}::pulumi:pulumi:Stack$pulumi:providers:aws::aws",
         "type": "pulumi:providers:aws", "name": "aws", "parent": "", "protect": False},
    ]  # fmt: skip


def plans(**stacks):
    return {
        stack: stack_common(stack) + [r for name in names for r in service(stack, *name)]
        for stack, names in stacks.items()
    }


def test_a_protected_resource_changing_stack_without_a_move_record_is_refused():
    base = plans(a=[("s1", True), ("s2", True)], b=[])
    head = plans(a=[("s1", True)], b=[("s2", True)])
    report = compare(base, head, [], ORIGIN)
    assert report.steps == []
    assert len(report.problems) == 2  # the protected entry; then its unprotected component
    assert report.problems[0].startswith(
        f"1 protected resource(s) change stack without a `moved:` record in {ORIGIN}"
    )
    assert f"  - {P}::{COMPONENT}${SECRET}::s2-TOKEN: a -> b (service s2)" in report.problems[0]


def test_an_unprotected_resource_deleted_in_one_stack_and_created_in_another_is_named():
    report = compare(plans(a=[("s1",)], b=[]), plans(a=[], b=[("s1",)]), [], ORIGIN)
    assert [p.splitlines()[0] for p in report.problems] == [
        f"2 resource(s) would be deleted in one stack and created in another without a `moved:` "
        f"record in {ORIGIN}: their state and generated values would not follow:"
    ]
    assert f"  - {P}::{ROOT}${COMPONENT}::s1: a -> b (service s1)" in report.problems[0]


def test_a_recorded_move_is_one_state_move_of_the_services_component():
    move = Move.model_validate({"service": "s2", "from": "a", "to": "b"})
    base = plans(a=[("s1", True), ("s2", True)], b=[("s3", True)])
    head = plans(a=[("s1", True)], b=[("s3", True), ("s2", True)])
    report = compare(base, head, [move], ORIGIN)
    assert report.problems == [] and report.notes == []
    assert report.steps == [Step("s2", "a", "b", (f"urn:pulumi:a::{P}::{ROOT}${COMPONENT}::s2",))]
    assert report.steps[0].argv(yes=True) == [
        "pulumi", "state", "move", "--source", "a", "--dest", "b", "--yes",
        f"urn:pulumi:a::{P}::{ROOT}${COMPONENT}::s2",
    ]  # fmt: skip


def test_a_record_for_another_service_does_not_cover_a_move():
    move = Move.model_validate({"service": "s1", "from": "a", "to": "b"})
    base = plans(a=[("s1", True), ("s2", True)], b=[])
    head = plans(a=[("s1", True)], b=[("s2", True)])
    report = compare(base, head, [move], ORIGIN)
    assert report.steps == [] and "(service s2)" in report.problems[0]
    assert report.notes == [
        f"{ORIGIN}: moved[0]: no resource of s1 leaves a for b between these plans "
        "(moved already? then remove the record)"
    ]


def test_unmoved_services_and_every_stacks_providers_are_not_moves():
    base = plans(a=[("s1", True)], b=[("s2", True)])
    head = plans(a=[("s1", True)], b=[("s2", True)], c=[])
    assert compare(base, head, [], ORIGIN).problems == []


def write(folder, stacks):
    for stack, records in stacks.items():
        (folder / stack).mkdir(parents=True)
        (folder / stack / "resources.json").write_text(json.dumps(records))


@pytest.fixture
def project(tmp_path):
    (tmp_path / "catalog.yaml").write_text("services:\n  s1: {}\n  s2: {}\n")
    (tmp_path / "environments").mkdir()
    write(tmp_path / "base", plans(a=[("s1", True), ("s2", True)], b=[]))
    write(tmp_path / "head", plans(a=[("s1", True)], b=[("s2", True)]))
    return tmp_path


def run_moves(project, env_text):
    (project / "environments" / "t.yaml").write_text(env_text)
    return cli_main(
        ["shards", "moves", "-e", "t", "--base", str(project / "base"), "--head",
         str(project / "head"), "--project-dir", str(project)]
    )  # fmt: skip


def test_the_moves_command_refuses_an_unrecorded_protected_move(project, capsys):
    assert run_moves(project, "foundation: f\nstacks:\n  a: [s1]\n  b: [s2]\n") == 1
    err = capsys.readouterr().err
    assert "protected resource(s) change stack" in err and "a -> b (service s2)" in err


def test_the_moves_command_prints_the_state_move_of_a_recorded_move(project, capsys):
    text = "foundation: f\nstacks:\n  a: [s1]\n  b: [s2]\nmoved:\n- {service: s2, from: a, to: b}\n"
    assert run_moves(project, text) == 0
    out = capsys.readouterr().out
    urn = f"urn:pulumi:a::{P}::{ROOT}${COMPONENT}::s2"
    assert f"s2: pulumi state move --source a --dest b '{urn}'\n" in out


def test_the_moves_command_refuses_a_record_that_disagrees_with_the_assignment(project, capsys):
    text = (
        "foundation: f\nstacks:\n  a: [s1, s2]\n  b: []\nmoved:\n- {service: s2, from: a, to: b}\n"
    )
    assert run_moves(project, text) == 1
    assert "s2 moves to b, but stacks lists it in a" in capsys.readouterr().err
