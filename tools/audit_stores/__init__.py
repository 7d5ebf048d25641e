"""Read-only readers of the live stores, for ``tools.audit``: metadata and policies, never a value.

One module per store (``aws``, ``gcp``, ``azure``, ``vault``), each a thin layer over the store's official client
library that lists entries, describes them (versions, dates, replication, protection) and reads the policies and
bindings that decide who can read them. None of them can read a secret value: each module names the exact API
operations it may call (``ALLOWED``) and refuses any other at the client's own hook, before a request leaves;
the value-reading operations of each store are listed in ``VALUE_READS`` and a test proves they are never called.

These readers are apart from ``tools/stores/`` (the value clients of ``tools.env``) on purpose: the audit cannot
read a value by construction, not by care.
"""

from __future__ import annotations


class ValueReadRefused(RuntimeError):
    """An audit reader was asked to call an operation outside its read-only allow-list."""
