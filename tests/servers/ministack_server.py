"""Run ministack (a local AWS API emulator from PyPI) as a subprocess with IAM enforcement on.

``running_ministack()`` starts ``python -m ministack`` on 127.0.0.1 and a free port with
``AUTH=true``, waits (bounded) until ``/_ministack/ready`` answers 200 and ``/_ministack/health``
reports ``"auth": "enabled"``, yields the endpoint URL, and stops the process (SIGTERM, then
SIGKILL after a timeout). Every failure raises ``MinistackError`` with the tail of the server's
log: a test that needs the emulator fails, it never skips.

ministack before 1.5.33 does not enforce IAM on STS and Secrets Manager, so every least-privilege
test would pass for nothing: the installed version is checked before anything starts.

Callers that sign with the access key ``test`` (or a 12-digit account id, which selects that
account) act as the account's root; the server is given ``AWS_ACCESS_KEY_ID=test`` so that no key
inherited from the environment becomes a root key.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from tests.servers.processes import HOST, free_port, log_tail, stop

MIN_VERSION = (1, 5, 33)
"""The first ministack enforcing IAM on STS and Secrets Manager (requirements-dev.txt pins it)."""

ROOT_ACCESS_KEY = "test"
ROOT_SECRET_KEY = "test"

_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT")
"""The only variables of the caller's environment the server sees: persistence, account, region, TLS
and service filters set by a developer's shell must not change what the tests exercise."""


class MinistackError(RuntimeError):
    """ministack is missing, too old, or did not start or answer as expected."""


def _version_tuple(version: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise MinistackError(f"cannot read the ministack version {version!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def installed_version() -> str:
    """The installed ministack version; raises if it is missing or older than MIN_VERSION."""
    try:
        version = metadata.version("ministack")
    except metadata.PackageNotFoundError as exc:
        raise MinistackError(
            "ministack is not installed: `make test` installs requirements-dev.txt into .venv"
        ) from exc
    if _version_tuple(version) < MIN_VERSION:
        floor = ".".join(map(str, MIN_VERSION))
        raise MinistackError(
            f"ministack {version} is installed, but {floor} or later is required: older "
            "releases do not enforce IAM on STS and Secrets Manager, and the least-privilege "
            f"tests would pass for nothing. Run: pip install 'ministack>={floor},<2'"
        )
    return version


def _server_env(port: int, workdir: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    env.update(
        AUTH="true",  # enforce IAM: signatures, identity, trust and resource policies
        GATEWAY_PORT=str(port),
        BIND_HOST=HOST,  # never listen beyond loopback
        LOG_LEVEL="WARNING",
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY,  # root keys: `test` and 12-digit account ids only
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_KEY,
        TMPDIR=str(workdir),  # its PID file and any scratch files stay in our directory
        DOCKER_HOST=f"unix://{workdir}/no-docker.sock",  # never reap a Docker daemon's containers
        IOT_MTLS_ENABLED="0",  # no second listener
        SFTP_ENABLED="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _get_json(url: str, timeout: float) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _wait_until_ready(
    process: subprocess.Popen[bytes], endpoint: str, deadline: float
) -> dict[str, object]:
    """Poll until ready: the health document, or MinistackError on exit or timeout."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MinistackError(
                f"ministack exited with status {process.returncode} while starting"
            )
        with contextlib.suppress(OSError):
            status, _ = _get_json(f"{endpoint}/_ministack/ready", timeout=1.0)
            if status == 200:
                _, health = _get_json(f"{endpoint}/_ministack/health", timeout=2.0)
                return health
        time.sleep(0.05)
    raise MinistackError("ministack did not become ready in time")


@contextlib.contextmanager
def running_ministack(
    startup_timeout: float = 20.0, stop_timeout: float = 10.0, attempts: int = 3
) -> Iterator[str]:
    """Start ministack with IAM enforcement on 127.0.0.1 and a free port; yield its endpoint URL.

    A port taken between choosing and binding it is retried with another port (``attempts`` in
    all); any other failure raises ``MinistackError`` at once. The server is stopped on exit.
    """
    version = installed_version()
    workdir = Path(tempfile.mkdtemp(prefix="ministack-live-"))
    process: subprocess.Popen[bytes] | None = None
    log_path = workdir / "ministack.log"
    health: dict[str, object] = {}
    try:
        for attempt in range(1, attempts + 1):
            port = free_port()
            endpoint = f"http://{HOST}:{port}"
            log_path = workdir / f"ministack-{port}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "ministack"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                    env=_server_env(port, workdir),
                    start_new_session=True,  # a Ctrl-C in the test run does not reach it half-way
                )
            try:
                health = _wait_until_ready(process, endpoint, time.monotonic() + startup_timeout)
            except MinistackError as exc:
                stop(process, stop_timeout)
                port_taken = "already in use" in log_tail(log_path)
                if port_taken and attempt < attempts:
                    continue
                raise MinistackError(
                    f"{exc} (ministack {version}, {endpoint}, {startup_timeout:g} s allowed). "
                    f"Server log:\n{log_tail(log_path)}"
                ) from None
            break
        if health.get("auth") != "enabled":
            raise MinistackError(
                f"ministack answered without IAM enforcement: {health.get('auth')!r}"
            )
        if health.get("version") != version:
            raise MinistackError(
                f"the server reports ministack {health.get('version')!r}, {version} is installed"
            )
        yield endpoint
    finally:
        if process is not None:
            stop(process, stop_timeout)
        shutil.rmtree(workdir, ignore_errors=True)
