"""The GitHub Actions workflows parse and keep their promises: pinned actions, OIDC only, forks kept out.

GitHub Actions cannot run here; these read the YAML as GitHub would and check what docs/ci.md says of it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def all_uses() -> list[str]:
    found = []
    for path in [*WORKFLOWS, GITHUB / "actions" / "setup" / "action.yml"]:
        found += re.findall(r"uses:\s*(\S+)", path.read_text())
    return found


def test_workflows_exist_and_parse() -> None:
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pull-request.yml", "pulumi-stack.yml"]
    for path in WORKFLOWS:
        assert load(path.name)["jobs"]


def test_every_action_is_pinned_to_a_major_version() -> None:
    remote = [u for u in all_uses() if not u.startswith("./")]
    assert remote
    loose = [u for u in remote if not re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", u)]
    assert loose == []


def test_no_long_lived_credentials_anywhere() -> None:
    text = "\n".join(p.read_text() for p in GITHUB.rglob("*.yml"))
    assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text
    assert not re.search(r"\$\{\{\s*secrets\.", text), "no job needs a stored secret"
    assert "PULUMI_ACCESS_TOKEN" not in text


def test_pull_request_runs_tests_plans_and_scan_without_credentials() -> None:
    jobs = load("pull-request.yml")["jobs"]
    assert load("pull-request.yml")["permissions"] == {"contents": "read"}
    runs = {name: " ".join(s.get("run", "") for s in steps(job)) for name, job in jobs.items()}
    assert "make test" in runs["test"]
    assert "tools.plan --stack dev --out plan-dev" in runs["offline-plan"]
    assert "tools.plan --stack prod --stub-secrets --out plan-prod" in runs["offline-plan"]
    assert "GITHUB_STEP_SUMMARY" in runs["offline-plan"]
    assert any("upload-artifact" in s.get("uses", "") for s in steps(jobs["offline-plan"]))
    assert "make scan" in runs["secret-scan"]
    checkout = next(s for s in steps(jobs["secret-scan"]) if "checkout" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0, "gitleaks reads the whole history"
    for name in ("test", "offline-plan", "secret-scan"):
        assert "permissions" not in jobs[name], f"{name} keeps the read-only default"


def test_preview_of_dev_is_skipped_for_forks_and_comments_the_diff() -> None:
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    assert preview["permissions"]["id-token"] == "write"
    assert preview["permissions"]["pull-requests"] == "write"
    assert preview["with"] == {"stack": "dev", "command": "preview", "environment": "preview-dev"}
    assert "strategy" not in preview, "one stack, dev: prod is previewed from main only"
    job = load("pulumi-stack.yml")["jobs"]["pulumi"]
    pulumi = next(s for s in steps(job) if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["policyPacks"] == "policy"
    assert "pull_request" in pulumi["with"]["comment-on-pr"]


def test_every_checkout_drops_its_token() -> None:
    checkouts = [
        step
        for path in WORKFLOWS
        for job in load(path.name)["jobs"].values()
        for step in steps(job)
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_cloud_access_is_oidc_role_assumption_only() -> None:
    job = load("pulumi-stack.yml")["jobs"]["pulumi"]
    aws = next(s for s in steps(job) if "configure-aws-credentials" in s.get("uses", ""))
    assert set(aws["with"]) == {"role-to-assume", "role-session-name", "aws-region"}
    assert job["environment"] == "${{ inputs.environment }}"
    assert "permissions" not in load("pulumi-stack.yml"), (
        "a called workflow can only narrow its caller's"
    )


def test_main_deploys_dev_then_previews_and_deploys_prod_behind_its_environment() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["up-dev"]["with"] == {"stack": "dev", "command": "up", "environment": "dev"}
    assert jobs["preview-prod"]["with"] == {
        "stack": "prod",
        "command": "preview",
        "environment": "preview-prod",
    }
    assert jobs["up-prod"]["with"] == {"stack": "prod", "command": "up", "environment": "prod"}
    assert jobs["up-prod"]["needs"] == ["up-dev", "preview-prod"]
    for name, job in jobs.items():
        assert job["if"] == "github.ref == 'refs/heads/main'", name
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_the_reusable_job_refuses_prod_off_main_and_takes_inputs_through_env() -> None:
    job = load("pulumi-stack.yml")["jobs"]["pulumi"]
    assert job["env"]["STACK"] == "${{ inputs.stack }}"
    guard = steps(job)[0]["run"]
    assert "refs/heads/main" in guard and "exit 1" in guard
    script = "\n".join(s.get("run", "") for s in steps(job))
    assert "${{" not in script


def test_plan_summary_lists_every_principal_of_the_access_matrix(aws_dev_plan_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(GITHUB / "scripts" / "plan_summary.py"), str(aws_dev_plan_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    access = json.loads((aws_dev_plan_dir / "access.json").read_text())
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == len(access)
    for name in access:
        assert f"| `{name}` |" in out


@pytest.mark.parametrize(
    "path", ["policy/PulumiPolicy.yaml", ".github/dependabot.yml", ".github/zizmor.yml"]
)
def test_supporting_yaml_parses(path: str) -> None:
    assert yaml.safe_load((ROOT / path).read_text())
