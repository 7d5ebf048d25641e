"""Progress for long work (the audit's store reads, the plan's mock run): a rich status on a terminal.

Quiet (no output at all) when ``CI`` is set, when standard error is not a terminal, and with ``--json``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

Status = Callable[[str], AbstractContextManager[Any]]
"""``status("reading the store")`` wraps a long step; the commands take one (default: silent)."""


def shows_progress(as_json: bool = False) -> bool:
    return not as_json and not os.environ.get("CI") and sys.stderr.isatty()


@contextlib.contextmanager
def silent(_message: str) -> Iterator[None]:
    yield


def status_for(as_json: bool = False) -> Status:
    """A rich spinner on standard error when progress is wanted, else ``silent``."""
    if not shows_progress(as_json):
        return silent
    from rich.console import Console

    console = Console(stderr=True)

    @contextlib.contextmanager
    def status(message: str) -> Iterator[None]:
        with console.status(message):
            yield

    return status
