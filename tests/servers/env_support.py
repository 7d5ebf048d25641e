"""What the ``platform_secrets.live.env`` tests share across stores: a service tree under git, and running the command.

``service_tree(path)`` makes ``path`` a git work tree with the repository's ``.gitignore`` and a root folder for
each workload service (the catalog's ``path``), as a monorepo that holds the services would have.
``run_env(args)`` runs ``platform-secrets env`` in-process and returns its exit code and everything it printed;
with ``ENDPOINT`` set (a test's local server), a pull or push gets ``--endpoint`` (the only way to point the
command elsewhere than the stack's address: ``VAULT_ADDR`` / ``AWS_ENDPOINT_URL`` are refused).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from platform_secrets.cli.app import main as cli_main
from platform_secrets.model.catalog import Catalog
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


def service_tree(path: Path, catalog: Catalog) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    shutil.copy(ROOT / ".gitignore", path / ".gitignore")
    for name, service in catalog.services.items():
        if service.workload:
            (path / (service.path or name)).mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


ENDPOINT: list[str] = []
"""The local server the store commands go to (monkeypatched by a test: ``[url]``); empty: the stack's."""


def run_env(args: list[str], stdin: str | None = None) -> Ran:
    """``platform-secrets env <args>`` (``platform_secrets.cli.app.main``) with its standard streams captured (and ``stdin`` fed, if given)."""
    if ENDPOINT and args[:1] in (["pull"], ["check"], ["push"]) and "--endpoint" not in args:
        args = [*args, "--endpoint", ENDPOINT[-1]]
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main(["env", *args])
    finally:
        sys.stdin = saved
    return Ran(code, out.getvalue(), err.getvalue())
