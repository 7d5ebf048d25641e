"""The README's promise, run: adding a service is one edit of catalog.yaml and one regeneration command.

A copy of the repository gets a new service (a generated, a config secret required in prod, the shared
JWT_SECRET and a setting), runs ``platform-secrets derived`` and, for the sharded example environment,
``platform-secrets shards propose --write`` as the README says, and then the program, artifact
and least-privilege tiers (ministack) run on it unchanged: they read the catalog, so the new service is
planned, validated, replayed and held to least privilege like the others. Nothing else is edited.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import yaml

from tests.catalog_facts import ROOT, shipped_path

SERVICE = {
    "description": "Push notifications (added by the test).",
    "path": "notifications",
    "secrets": {
        "NOTIFY_SIGNING_KEY": {"source": "generated", "length": 32},
        "NOTIFY_PROVIDER_TOKEN": {"source": "config", "required_in": ["prod"]},
        "JWT_SECRET": {"shared": "JWT_SECRET"},
    },
    "settings": {"NOTIFY_BASE_URL": {"description": "Public base URL.", "rules": ["https_url"]}},
}
TIERS = [
    "tests/generate/test_derived.py",
    "tests/program/test_program_aws.py",
    "tests/offline/test_artifacts.py",
    "tests/program/test_least_privilege_aws.py",
]


def tracked_copy(to: Path) -> Path:
    """The repository's tracked files, as a fresh clone has them, with ../shared beside it."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    project = to / "platform-secrets"
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            (project / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name.decode())
    (to / "shared").symlink_to(ROOT.parent / "shared")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)  # the env-example tests ask git
    return project


def test_a_service_added_to_the_catalog_passes_every_tier_with_no_other_edit(tmp_path):
    project = tracked_copy(tmp_path)
    catalog = project / shipped_path().relative_to(ROOT)
    data = yaml.safe_load(catalog.read_text())
    data["services"]["notifications"] = SERVICE
    catalog.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = [sys.executable, "-m"]

    stale = subprocess.run(
        [*run, "platform_secrets", "derived", "--check"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert stale.returncode == 1 and "notifications/.env.example: missing" in stale.stderr
    regenerated = subprocess.run(
        [*run, "platform_secrets", "derived"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert regenerated.returncode == 0, regenerated.stderr
    # A sharded environment places the new service too: refused, naming the command, until it is placed.
    unplaced = subprocess.run(
        [*run, "platform_secrets", "shards", "check", "--environment", "example"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert (
        unplaced.returncode == 1
        and "notifications is in no stack" in unplaced.stderr + unplaced.stdout
    )
    placed = subprocess.run(
        [
            *run,
            "platform_secrets",
            "shards",
            "propose",
            "notifications",
            "-e",
            "example",
            "--write",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert placed.returncode == 0, placed.stderr

    report = tmp_path / "tiers.xml"
    pytest = [*run, "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    tiers = subprocess.run(
        [*pytest, f"--junitxml={report}", *TIERS],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    summary = tiers.stdout.strip().splitlines()[-1] if tiers.stdout.strip() else tiers.stderr
    assert tiers.returncode == 0, tiers.stdout[-4000:] + tiers.stderr[-2000:]
    assert " failed" not in summary and " error" not in summary, summary
    # The new service took part: its parametrized cases ran (and passed, as every case did) in each tier.
    ran = ran_cases(report)
    for tier in ("test_program_aws", "test_least_privilege_aws"):
        assert any(tier in module and "notifications" in case for module, case in ran), tier


def ran_cases(report: Path) -> list[tuple[str, str]]:
    """(module, test name) of every case the junit report says ran and was not skipped."""
    cases = ElementTree.parse(report).iter("testcase")
    return [
        (case.get("classname", ""), case.get("name", ""))
        for case in cases
        if case.find("skipped") is None
    ]
