"""What every live-server tier needs around its server process: a free loopback port, the tail of the
server's log for a failure message, and a stop that cannot leave the process behind."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
from pathlib import Path

HOST = "127.0.0.1"
"""Servers of the tests listen on loopback only."""


PORT_BANDS = range(20000, 32768)
"""Under pytest-xdist, the ports the workers share out (below Linux's ephemeral range, 32768 on)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    Under pytest-xdist each worker takes ports from its own band of ``PORT_BANDS`` only: two workers starting
    servers at once can never choose the same port (the loser would then poll the winner's server).
    """
    index, count = _xdist_worker()
    if count == 1:
        return _bound_port(0)
    width = len(PORT_BANDS) // count
    band = range(PORT_BANDS.start + index * width, PORT_BANDS.start + (index + 1) * width)
    for _ in range(200):
        with contextlib.suppress(OSError):
            return _bound_port(random.choice(band))
    raise RuntimeError(f"no free port in {band.start}-{band.stop - 1} on {HOST}")


def _bound_port(port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, port))
        return int(sock.getsockname()[1])


def _xdist_worker() -> tuple[int, int]:
    """(index, count) of this pytest-xdist worker (``gw<index>``), (0, 1) outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not name.startswith("gw") or not name[2:].isdigit() or count < 1:
        return 0, 1
    return int(name[2:]) % count, count


def log_tail(log_path: Path, lines: int = 30) -> str:
    """The last lines of a server's log, for the message of a test that could not start it."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (the server cleans up and exits), then SIGKILL if it is still running."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
