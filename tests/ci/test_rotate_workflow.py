"""The scheduled rotation workflow: metadata only beside cloud credentials, write access only without them."""

from __future__ import annotations

from typing import Any

import yaml

from platform_secrets.paths import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "rotate.yml"


def _jobs() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text())["jobs"])


def _scripts(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_rotate_workflow_runs_on_main_only() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["permissions"] == {}
    assert all(job["if"] == "github.ref == 'refs/heads/main'" for job in _jobs().values())


def test_the_job_with_cloud_credentials_cannot_write_the_repo() -> None:
    for name, job in _jobs().items():
        if job["permissions"].get("id-token") == "write":
            assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
            assert str(job["environment"]).startswith("audit-"), name


def test_the_job_that_writes_has_no_id_token_and_no_cloud_step() -> None:
    for name, job in _jobs().items():
        if "write" in {job["permissions"].get("contents"), job["permissions"].get("pull-requests")}:
            assert "id-token" not in job["permissions"], name
            assert "environment" not in job, name
            assert not any("credentials" in str(s.get("uses", "")) for s in job["steps"]), name


def test_rotate_workflow_never_reads_a_value() -> None:
    text = WORKFLOW.read_text()
    assert "AWS_AUDIT_ROLE_ARN" in text and "AWS_ROLE_ARN: ${{ vars.AWS_AUDIT_ROLE_ARN }}" in text
    for forbidden in ("get-secret-value", "GetSecretValue", "DEPLOY_ROLE", "${{ secrets"):
        assert forbidden not in "\n".join(_scripts(j) for j in _jobs().values()), forbidden
    assert "DEPLOY" not in text


def test_matrix_values_never_expand_in_run_scripts() -> None:
    for name, job in _jobs().items():
        assert "${{" not in _scripts(job), name
