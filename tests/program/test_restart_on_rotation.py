"""restartOnRotation: the synced Secret carries stakater Reloader's match annotation, and only then.

A Deployment opts in with ``reloader.stakater.com/search: "true"``; Reloader then restarts it when a Secret
marked ``reloader.stakater.com/match: "true"`` that it references changes. With ESO the mark goes on the
ExternalSecret's ``target.template.metadata`` (ESO writes it on the Secret); natively on the Secret itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests.checks import eso_validator

MATCH = {"reloader.stakater.com/match": "true"}
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET = "kubernetes:core/v1:Secret"


def _run(**overrides: Any) -> RunResult:
    run = offline.run("dev", overrides=overrides, secrets=offline.stub_secrets("dev", overrides))
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module")
def restart_run() -> RunResult:
    return _run(restartOnRotation=True)


def test_restart_on_rotation_marks_the_eso_synced_secret_for_reloader(
    restart_run: RunResult,
) -> None:
    found = [r for r in restart_run.resources if r.type == EXTERNAL_SECRET]
    assert found
    for r in found:
        assert r.inputs["spec"]["target"]["template"] == {"metadata": {"annotations": MATCH}}
        obj = {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "x", "namespace": "y"},
            "spec": r.inputs["spec"],
        }
        eso_validator("ExternalSecret").validate(obj)


def test_restart_on_rotation_marks_the_native_secret_for_reloader() -> None:
    run = _run(restartOnRotation=True, binding="native")
    found = [r for r in run.resources if r.type == SECRET]
    assert found
    assert all(r.inputs["metadata"].get("annotations") == MATCH for r in found)


def test_no_reloader_annotation_when_restart_is_off(dev_run: RunResult) -> None:
    for r in dev_run.resources:
        if r.type == EXTERNAL_SECRET:
            assert "template" not in r.inputs["spec"]["target"]
        if r.type in (SECRET, EXTERNAL_SECRET):
            assert "reloader" not in str(r.inputs), r.name
