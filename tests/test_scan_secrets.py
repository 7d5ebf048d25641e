"""The secret scan (``tools/scan_secrets.py``): the repository passes, and each kind of planted secret fails.

Planted values are built at run time from pieces (never written whole in this file), in a throwaway git
repository under ``tmp_path`` with this project's ``.gitignore``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import scan_secrets
from tools.scan_secrets import Finding, scan

ROOT = Path(__file__).resolve().parent.parent


def fake_linear_key() -> str:
    return "lin_" + "api_" + secrets.token_hex(16)


def fake_access_key_id() -> str:
    return "AK" + "IA" + secrets.token_hex(8).upper()


def fake_private_key() -> str:
    header = "-----BEGIN " + "RSA PRIVATE " + "KEY-----"
    return f"{header}\n{secrets.token_hex(32)}\n-----END RSA PRIVATE KEY-----\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clean repository with this project's .gitignore, a little code and a fresh baseline."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "ci@example.invalid")
    git(tmp_path, "config", "user.name", "ci")
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    (tmp_path / "app.py").write_text('TOKEN_ENV = "JWT_SECRET"\n')
    (tmp_path / ".env.example").write_text("JWT_SECRET=\nREDIS_URL=\n")
    assert scan_secrets.update_baseline(tmp_path) == 0
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "clean")
    return tmp_path


def kinds(findings: list[Finding]) -> set[str]:
    return {finding.kind for finding in findings}


def test_the_repository_passes_the_scan() -> None:
    findings = scan(ROOT)
    assert findings == [], "\n".join(map(str, findings))


def test_a_clean_repository_passes(repo: Path) -> None:
    assert scan(repo) == []
    assert scan_secrets.main(["--root", str(repo)]) == 0


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: f"LINEAR={fake_linear_key()}\n", "Linear API key"),
        (lambda: f'aws_key_id = "{fake_access_key_id()}"\n', "AWS access key id"),
        (fake_private_key, "private key"),
    ],
    ids=["linear", "aws-access-key-id", "private-key"],
)
def test_a_planted_guide_pattern_fails(repo: Path, make, kind: str) -> None:
    (repo / "notes.txt").write_text("context\n" + make())
    findings = scan(repo)
    assert kind in kinds(findings)
    assert any(f.path == "notes.txt" and f.line == 2 and f.kind == kind for f in findings)
    assert scan_secrets.main(["--root", str(repo)]) == 1


def test_a_guide_pattern_fails_even_when_the_baseline_lists_it(repo: Path) -> None:
    (repo / "notes.txt").write_text(f"key: {fake_access_key_id()}\n")
    scan_secrets.update_baseline(repo)
    assert "AWS access key id" in kinds(scan(repo))


def test_a_detect_secrets_finding_not_in_the_baseline_fails(repo: Path) -> None:
    (repo / "settings.py").write_text(f'api_key = "{secrets.token_hex(20)}"\n')
    findings = scan(repo)
    assert findings, "a keyword secret and a high-entropy string"
    assert {(f.path, f.detail) for f in findings} == {("settings.py", "not in .secrets.baseline")}


def test_a_baselined_false_positive_passes_until_audited_as_real(repo: Path) -> None:
    (repo / "settings.py").write_text(f'api_key = "{secrets.token_hex(20)}"\n')
    scan_secrets.update_baseline(repo)
    assert scan(repo) == []
    baseline = repo / ".secrets.baseline"
    baseline.write_text(
        baseline.read_text().replace(
            '"is_verified": false', '"is_secret": true, "is_verified": false'
        )
    )
    findings = scan(repo)
    assert findings
    assert {f.detail for f in findings} == {"audited as a real secret in the baseline"}


@pytest.mark.parametrize(
    "name", [".env", ".env.local", ".env.linear", "services/media/.env.production"]
)
def test_a_tracked_env_file_fails(repo: Path, name: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("PLACEHOLDER=1\n")
    assert scan(repo) == [], "git-ignored, so not part of what would be committed"
    git(repo, "add", "-f", name)
    assert [(f.path, f.kind) for f in scan(repo)] == [(name, "env file would be committed")]


def test_an_env_file_is_caught_when_gitignore_misses_it(repo: Path) -> None:
    (repo / ".gitignore").write_text(".venv/\n")
    (repo / ".env").write_text("PLACEHOLDER=1\n")
    assert (".env", "env file would be committed") in [(f.path, f.kind) for f in scan(repo)]


def test_a_key_removed_in_a_later_commit_fails_the_history_scan(repo: Path) -> None:
    start = git(repo, "rev-parse", "HEAD").strip()
    (repo / "notes.txt").write_text(f"LINEAR={fake_linear_key()}\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "oops")
    (repo / "notes.txt").write_text("LINEAR=\n")
    git(repo, "commit", "-q", "-am", "remove it")
    assert scan(repo) == []
    history = scan(repo, since=start)
    assert [(f.path, f.kind) for f in history] == [("notes.txt", "Linear API key")]
    assert scan_secrets.main(["--root", str(repo), "--since", start]) == 1


def test_an_env_file_added_and_removed_in_history_fails(repo: Path) -> None:
    start = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".env.linear").write_text("placeholder\n")
    git(repo, "add", "-f", ".env.linear")
    git(repo, "commit", "-q", "-m", "oops")
    git(repo, "rm", "-q", ".env.linear")
    git(repo, "commit", "-q", "-m", "remove it")
    assert kinds(scan(repo, since=start)) == {"env file added in history"}


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        (".env", True),
        (".env.local", True),
        (".env.linear", True),
        ("backend/.env", True),
        ("services/media/.env.production", True),
        (".env.example", False),
        ("env-examples/media/.env.example", False),
    ],
)
def test_gitignore_keeps_env_files_out(path: str, ignored: bool) -> None:
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, capture_output=True
    )
    assert (result.returncode == 0) is ignored


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        (".env", True),
        ("x/.env.staging", True),
        (".env.linear", True),
        (".env.example", False),
        ("backend.env", False),
        ("env-examples/backend/.env.example", False),
    ],
)
def test_env_file_rule(name: str, forbidden: bool) -> None:
    assert scan_secrets.is_forbidden_env_file(name) is forbidden


def test_the_baseline_records_paths_relative_to_the_repository() -> None:
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())
    for path, items in baseline["results"].items():
        assert not Path(path).is_absolute()
        assert {item["filename"] for item in items} == {path}
        assert all(item.get("is_secret") is False for item in items), f"{path}: not audited"
    assert len(baseline["plugins_used"]) >= 20, "a baseline without plugins would find nothing"
    regex = next(f for f in baseline["filters_used"] if f["path"] == scan_secrets.REGEX_FILTER)
    assert regex["pattern"] == list(scan_secrets.EXCLUDED_SECRETS)


def test_pulumi_type_tokens_are_not_taken_for_secrets(repo: Path) -> None:
    (repo / "types.py").write_text(
        'SECRET = "aws:secretsmanager/secret:Secret"\n'
        'CRD = {"ExternalSecret": "external-secrets.io_externalsecrets.yaml"}\n'
    )
    assert scan(repo) == []
    (repo / "types.py").write_text(f'SECRET = "{secrets.token_hex(12)}"\n')
    assert scan(repo), "the same keyword with a real-looking value is still caught"


def test_a_baseline_made_in_one_checkout_holds_in_another(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (repo / "settings.py").write_text(f'api_key = "{secrets.token_hex(20)}"\n')
    scan_secrets.update_baseline(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baselined")
    clone = tmp_path_factory.mktemp("elsewhere") / "clone"
    git(clone.parent, "clone", "-q", str(repo), str(clone))
    assert scan(clone) == []
