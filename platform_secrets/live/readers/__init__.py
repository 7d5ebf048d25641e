"""Read-only readers of the live stores, for ``platform_secrets.audit.command``: metadata and policies, never a value.

One module per store (``aws``, ``gcp``, ``azure``, ``vault``), each a thin layer over the store's official client
library that lists entries, describes them (versions, dates, replication, protection) and reads the policies and
bindings that decide who can read them. None of them can read a secret value: each module names the exact API
operations it may call (``ALLOWED``) and refuses any other at the client's own hook, before a request leaves;
the value-reading operations of each store are listed in ``VALUE_READS`` and a test proves they are never called.

These readers are apart from ``platform_secrets/live/clients/`` (the value clients of ``platform_secrets.live.env``) on purpose: the audit cannot
read a value by construction, not by care.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import BaseAdapter


class ValueReadRefused(RuntimeError):
    """An audit reader was asked to call an operation outside its read-only allow-list."""


class GuardedAdapter(BaseAdapter):
    """A ``requests`` transport adapter that sends only requests matching an allow-list, through ``inner``.

    The GCP and Azure readers send every request through one of these (mounted on their clients' sessions), so
    an operation outside the list (a value read) is refused before it leaves the process.
    """

    def __init__(self, inner: Any, allowed: tuple[tuple[str, str], ...], store: str) -> None:
        super().__init__()
        self.inner = inner
        self.allowed = tuple((method, re.compile(path)) for method, path in allowed)
        self.store = store

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        path = urlsplit(request.url).path
        if not any(
            request.method == method and pattern.fullmatch(path) for method, pattern in self.allowed
        ):
            raise ValueReadRefused(
                f"the audit never sends {request.method} {path} to {self.store} (read-only)"
            )
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()
