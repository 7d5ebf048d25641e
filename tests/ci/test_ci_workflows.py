"""The GitHub Actions workflows parse and keep their promises: pinned actions, OIDC only, forks kept out.

GitHub Actions cannot run here; these read the YAML as GitHub would and check what docs/ci.md says of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def all_uses() -> list[str]:
    """Every ``uses:`` value with its trailing comment (``owner/name@<sha> # vX.Y.Z``)."""
    found = []
    for path in [*WORKFLOWS, GITHUB / "actions" / "setup" / "action.yml"]:
        found += [
            m.strip() for m in re.findall(r"uses:\s*(\S+(?:\s+#.*)?)$", path.read_text(), re.M)
        ]
    return found


def test_workflows_exist_and_parse() -> None:
    # Other workflows may join (each follows docs/ci.md's pattern, which the tests here check for every one).
    assert {"audit.yml", "deploy.yml", "pull-request.yml", "pulumi-stack.yml"} <= {
        p.name for p in WORKFLOWS
    }
    for path in WORKFLOWS:
        assert load(path.name)["jobs"]


def test_every_action_is_pinned_by_commit_sha_with_its_version_in_a_comment() -> None:
    """A tag can be moved to other code at any time (and a cooldown does not apply to a moved tag): each action
    is pinned by the full commit SHA of its release, the release named in the comment, one SHA per action."""
    remote = [u for u in all_uses() if not u.startswith("./")]
    assert remote
    loose = [
        u for u in remote if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", u)
    ]
    assert loose == []
    pins: dict[str, set[str]] = {}
    for use in remote:
        action, ref = use.split("@")
        pins.setdefault(action, set()).add(ref)
    assert {a: r for a, r in pins.items() if len(r) > 1} == {}, "one pin per action"


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
    assert '--project-dir "$HEAD_DATA"' in runs["offline-plan"]
    assert '--out "plan-head-$stack"' in runs["offline-plan"]
    assert "GITHUB_STEP_SUMMARY" in runs["offline-plan"]
    assert any("upload-artifact" in s.get("uses", "") for s in steps(jobs["offline-plan"]))
    assert "make scan" in runs["secret-scan"]
    checkout = next(s for s in steps(jobs["secret-scan"]) if "checkout" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0, "gitleaks reads the whole history"
    for name in ("test", "offline-plan", "secret-scan"):
        assert "permissions" not in jobs[name], f"{name} keeps the read-only default"
        assert "environment" not in jobs[name], f"{name} needs no credentials"


def test_the_credentialed_job_is_called_from_main_only_and_pins_its_installs() -> None:
    """pulumi-stack.yml holds the cloud role and the Pulumi token: only deploy.yml (main) calls it; it installs
    the runtime lock and the policy pack's lock with hashes, and the Pulumi CLI that matches the locked SDK."""
    callers = sorted(
        path.name
        for path in WORKFLOWS
        if "./.github/workflows/pulumi-stack.yml" in path.read_text()
    )
    assert callers == ["deploy.yml"]
    job = load("pulumi-stack.yml")["jobs"]["pulumi"]
    setup = next(s for s in steps(job) if s.get("uses") == "./.github/actions/setup")
    assert setup["with"]["lock"] == "runtime"
    script = "\n".join(s.get("run", "") for s in steps(job))
    assert "--require-hashes policy/requirements.lock" in script
    guard = steps(job)[0]["run"]
    assert '"$GITHUB_REF" != refs/heads/main' in guard and "pull_request" in guard
    lock = (ROOT / "requirements.lock").read_text()
    sdk = re.search(r"^pulumi==(\S+)", lock, re.M)
    assert sdk
    pulumi = [s for s in steps(job) if s.get("uses", "").startswith("pulumi/actions@")]
    assert pulumi and all(str(s["with"]["pulumi-version"]) == sdk.group(1) for s in pulumi)
    assert all(s["with"]["policyPacks"] == "policy" for s in pulumi)
    every = "\n".join(p.read_text() for p in WORKFLOWS)
    assert every.count("pulumi/actions@") == len(pulumi), "the CLI is installed in this job only"


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
    assert load("pulumi-stack.yml")["permissions"] == {}, "nothing inherited but what the job names"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


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
    for name in ("up-dev", "preview-prod", "up-prod"):
        assert jobs[name]["if"] == "github.ref == 'refs/heads/main'", name
    for (
        name,
        job,
    ) in (
        jobs.items()
    ):  # the sharded environments' jobs too (tests/attacks/test_attacks_ci_deploy_shards.py)
        assert "github.ref == 'refs/heads/main'" in job["if"], name
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


def _summary_script() -> str:
    job = load("pull-request.yml")["jobs"]["offline-plan"]
    return next(s["run"] for s in steps(job) if "GITHUB_STEP_SUMMARY" in s.get("run", ""))


def test_pull_request_plans_the_base_and_the_head_without_credentials() -> None:
    job = load("pull-request.yml")["jobs"]["offline-plan"]
    runs = "\n".join(s.get("run", "") for s in steps(job))
    assert (
        '.venv/bin/platform-secrets plan --stack "$stack" "${extra[@]}" --out "plan-base-$stack"'
        in runs
    )
    assert '--project-dir "$HEAD_DATA"' in runs and '--diff-against "plan-base-$stack"' in runs
    assert job["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    head = next(s for s in steps(job) if (s.get("with") or {}).get("path"))
    assert head["with"]["path"] == job["env"]["HEAD_DATA"]
    assert "permissions" not in job and "environment" not in job


def test_the_access_diff_opens_the_job_summary(tmp_path: Path, aws_dev_plan_dir: Path) -> None:
    """The summary step, run as GitHub would: each stack's diff (or "no access change") before the matrix."""
    for stack in ("dev", "prod"):
        shutil.copytree(aws_dev_plan_dir, tmp_path / f"plan-head-{stack}")
    (tmp_path / "plan-head-dev" / "access-diff.md").write_text("+ reader `backend` on `X`\n")
    (tmp_path / ".github" / "scripts").mkdir(parents=True)
    shutil.copy(GITHUB / "scripts" / "plan_summary.py", tmp_path / ".github" / "scripts")
    summary = tmp_path / "summary.md"
    subprocess.run(
        ["bash", "-e", "-c", _summary_script()],
        cwd=tmp_path,
        env={
            "GITHUB_STEP_SUMMARY": str(summary),
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        },
        check=True,
    )
    text = summary.read_text()
    assert text.startswith("## Access change of this pull request\n")
    dev, prod, matrix = (
        text.index("+ reader `backend`"),
        text.index("### prod\nno access change"),
        text.index("### Offline plan"),
    )
    assert dev < prod < matrix


def test_audit_runs_weekly_per_environment_with_a_read_only_role() -> None:
    audit = load("audit.yml")
    assert set(audit["on"]) == {"schedule", "workflow_dispatch"}
    assert audit["on"]["schedule"][0]["cron"]
    assert audit["permissions"] == {"contents": "read"}
    job = audit["jobs"]["audit"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert job["environment"] == "audit-${{ matrix.stack }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    aws = next(s for s in steps(job) if "configure-aws-credentials" in s.get("uses", ""))
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_AUDIT_ROLE_ARN }}"
    run = next(s["run"] for s in steps(job) if "platform-secrets audit" in s.get("run", ""))
    assert 'platform-secrets audit --stack "$STACK" --out "audit-$STACK.json"' in run
    assert "pipefail" in run, (
        "the audit's exit code (1 on a high finding) fails the job through tee"
    )
    assert not any("pulumi/" in s.get("uses", "") for s in steps(job)), "no Pulumi token: no config"
    doc = (ROOT / "docs" / "ci.md").read_text()
    assert "AWS_AUDIT_ROLE_ARN" in doc and "GetSecretValue" in doc


def test_mutation_testing_runs_weekly_and_by_hand_with_read_only_access() -> None:
    mutation = load("mutation.yml")
    assert set(mutation["on"]) == {"schedule", "workflow_dispatch"}
    assert mutation["permissions"] == {"contents": "read"}
    (job,) = mutation["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert any("make mutation" in str(step.get("run", "")) for step in steps(job))
