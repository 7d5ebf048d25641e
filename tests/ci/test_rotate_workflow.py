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
    writes = {"contents", "pull-requests", "issues"}
    for name, job in _jobs().items():
        if "write" in {job["permissions"].get(scope) for scope in writes}:
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


def test_only_the_tickets_job_may_write_issues_and_it_cannot_write_the_code() -> None:
    jobs = _jobs()
    writing = {name for name, job in jobs.items() if job["permissions"].get("issues") == "write"}
    assert writing == {"tickets"}
    assert jobs["tickets"]["permissions"] == {"contents": "read", "issues": "write"}
    assert jobs["tickets"]["needs"] == "due"


def test_the_tickets_job_hands_the_reports_tickets_to_the_ticket_module() -> None:
    """The issues are made by platform_secrets.rotate.tickets (its bodies and dedupe are tested as pure
    functions), from the tickets the metadata-only job wrote: never from a value, never by hand in bash."""
    job = _jobs()["tickets"]
    script = _scripts(job)
    assert "platform_secrets.rotate.tickets --tickets tickets.json" in script
    assert "gh issue" not in script
    assert "tickets" in str(_jobs()["due"]["steps"][-1]["run"])


def test_the_propose_job_applies_the_overlaps_too() -> None:
    script = _scripts(_jobs()["propose"])
    assert "--overlaps-set" in script and "--overlaps-ended" in script
