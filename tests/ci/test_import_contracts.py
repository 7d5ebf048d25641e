"""The house's walls (import-linter contracts in pyproject.toml) hold, and a wrong import breaks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from platform_secrets.paths import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, check=False
    )


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "platform_secrets", tmp_path / "platform_secrets")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_every_contract_is_kept() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("model/values.py", "import pulumi", "The model"),
        ("program/service_secrets.py", "import platform_secrets.offline.runner", "The program"),
        ("access/matrix.py", "import boto3", "The access derivation"),
        (
            "deploy/orchestrate.py",
            "import platform_secrets.program.stack",
            "The deploy orchestration",
        ),
        ("live/readers/aws.py", "import platform_secrets.live.clients.aws", "guarded readers"),
        ("program/clouds/aws.py", "import platform_secrets.program.clouds.gcp", "other cloud"),
        (
            "program/service_secrets.py",
            "import platform_secrets.program.clouds.aws",
            "shared interface",
        ),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    tmp_path: Path, module: str, wrong_import: str, contract: str
) -> None:
    root = copy_of_the_package(tmp_path)
    path = root / "platform_secrets" / module
    path.write_text(path.read_text() + f"\n{wrong_import}  # planted by the test\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    text = " ".join(result.stdout.split())
    assert re.search(r"Contracts: \d+ kept, 1 broken\.", text), result.stdout
    broken = re.findall(r"(?:KEPT|-{5,}) (.+?) BROKEN", text)
    assert len(broken) == 1 and contract in broken[0], broken
