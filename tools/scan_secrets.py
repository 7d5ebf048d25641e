"""Secret scan: ``python -m tools.scan_secrets`` fails (exit 1) on any plaintext secret the repository would ship.

Three checks over the files git would commit (tracked, plus untracked files that ``.gitignore`` does not keep
out), all of them offline and from PyPI only:

1. **detect-secrets** with the committed ``.secrets.baseline``: any finding that is not in the baseline, or that
   the baseline marks as a real secret (``is_secret: true``, set by ``detect-secrets audit``), fails.
2. **The guide's own patterns**, never allowlisted: a Linear API key, an AWS access key id, a private key
   header (see ``GUIDE_PATTERNS``).
3. **Env files**: any ``.env`` or ``.env.*`` file (``.env.example`` excepted) or ``.env.linear`` that git would
   commit. ``.gitignore`` keeps them out; this catches a ``git add -f`` or a broken ``.gitignore``.

``--since REV`` also reads every commit in ``REV..HEAD`` (a pull request's commits): a key added in one commit
and removed in the next is still in the history, so its added lines go through the guide's patterns and its
added files through the env-file rule.

``--update-baseline`` rewrites the baseline from the current files (keeping earlier audit marks); review its diff
and run ``detect-secrets audit .secrets.baseline`` before committing it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ".secrets.baseline"

GUIDE_PATTERNS: dict[str, re.Pattern[str]] = {
    "Linear API key": re.compile(r"lin_api_[A-Za-z0-9]{20,}"),
    "AWS access key id": re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    "private key": re.compile(
        r"-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----"
    ),
}
"""The patterns of the Secrets Handling Guide's auditing rule; a match always fails, baseline or not."""

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


def guide_findings(path: str, text: str) -> list[Finding]:
    """Matches of the guide's patterns in one file's text (the matched value is never printed)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in GUIDE_PATTERNS.items():
            if pattern.search(line):
                found.append(Finding(path, number, kind, "guide pattern; never allowlisted"))
    return found


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


def history_findings(root: Path, since: str) -> list[Finding]:
    """Guide patterns in lines added by any commit of ``since..HEAD``, and env files added there."""
    found: list[Finding] = []
    added = _git(root, "log", "--format=", "--name-only", "--diff-filter=A", f"{since}..HEAD")
    for path in sorted({p for p in added.splitlines() if p}):
        if is_forbidden_env_file(path):
            found.append(Finding(path, 0, "env file added in history", f"since {since}"))
    log = _git(
        root, "log", "-p", "--no-color", "--no-ext-diff", "--format=@@commit %h", f"{since}..HEAD"
    )
    commit, path = "", ""
    for line in log.splitlines():
        if line.startswith("@@commit "):
            commit = line.split()[1]
        elif line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else line[4:]
        elif line.startswith("+") and not line.startswith("+++"):
            for kind, pattern in GUIDE_PATTERNS.items():
                if pattern.search(line):
                    found.append(Finding(path, 0, kind, f"added in commit {commit}"))
    return found


def scan(
    root: Path = ROOT, baseline: Path | None = None, since: str | None = None
) -> list[Finding]:
    """Every finding of the three checks (and of the history, with ``since``), sorted."""
    baseline = baseline or root / BASELINE
    files = [p for p in candidate_files(root) if (root / p).is_file()]
    found = [
        Finding(p, 0, "env file would be committed") for p in files if is_forbidden_env_file(p)
    ]
    for path in files:
        if path == BASELINE:
            continue  # hashes only; detect-secrets skips it too
        text = (root / path).read_bytes().decode("utf-8", errors="replace")
        found += guide_findings(path, text)
    found += detect_secrets_findings(root, [p for p in files if p != BASELINE], baseline)
    if since:
        found += history_findings(root, since)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.scan_secrets", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="repository to scan (a git work tree)"
    )
    parser.add_argument(
        "--baseline", type=Path, help=f"detect-secrets baseline (default: ROOT/{BASELINE})"
    )
    parser.add_argument("--since", metavar="REV", help="also scan the commits of REV..HEAD")
    parser.add_argument(
        "--update-baseline", action="store_true", help="rewrite the baseline instead of scanning"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.update_baseline:
            return update_baseline(root, args.baseline)
        findings = scan(root, args.baseline, args.since)
    except subprocess.CalledProcessError as error:
        print(f"error: git failed: {error.stderr.strip() or error}", file=sys.stderr)
        return 2
    except Exception as error:  # a missing or unreadable baseline, detect-secrets not installed
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if findings:
        print(f"secret scan: {len(findings)} finding(s); nothing may be committed as is:")
        for finding in findings:
            print(f"  {finding}")
        print(
            "Remove the value (rotate it if it was ever pushed: runbooks/rotate-secrets.md). For a "
            "detect-secrets false positive: python -m tools.scan_secrets --update-baseline, then "
            f"detect-secrets audit {BASELINE}."
        )
        return 1
    print("secret scan: clean (detect-secrets with the baseline, the guide's patterns, env files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
