"""What every live-server tier needs around its server process: a free loopback port, the tail of the
server's log for a failure message, and a stop that cannot leave the process behind."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

HOST = "127.0.0.1"
"""Servers of the tests listen on loopback only."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


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
