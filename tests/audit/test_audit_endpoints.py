"""The audit talks to the stack's store only: a variable of the caller's shell never points it elsewhere.

The audit's token reads every policy and every entry's metadata: sent to a listener, it is a gift. As with
``platform-secrets env`` (``platform_secrets.live.endpoints``), a redirecting variable is refused by name, and
another address is chosen only explicitly (``endpoint=``, the command's ``--endpoint``), https-only in prod.
"""

from __future__ import annotations

import functools
from datetime import date

import pytest

from platform_secrets.audit import command as audit
from platform_secrets.audit.declared import Declared, declare
from platform_secrets.live.endpoints import EndpointRefused


@functools.cache
def declared_for(stack: str, cloud: str) -> Declared:
    """One offline plan per stack and cloud for the module (the audit only reads it)."""
    return declare(stack, {"cloud": cloud})


LISTENER = "http://127.0.0.1:9"
"""Nothing listens there: a request that reaches it fails with a connection error, not a refusal."""


@pytest.mark.parametrize(
    ("cloud", "variable"),
    [
        ("vault", "VAULT_ADDR"),
        ("aws", "AWS_ENDPOINT_URL"),
        ("aws", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        ("azure", "AZURE_AUTHORITY_HOST"),
    ],
)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_variable_that_points_the_audit_elsewhere_is_refused(
    monkeypatch: pytest.MonkeyPatch, stack: str, cloud: str, variable: str
) -> None:
    declared = declared_for(stack, cloud)
    monkeypatch.setenv(variable, "https://login.evil.test" if cloud == "azure" else LISTENER)
    monkeypatch.setenv("VAULT_TOKEN", "not-a-token")
    with pytest.raises(EndpointRefused, match=variable):
        audit.audit(declared, date(2026, 12, 1))


def test_an_http_endpoint_is_refused_for_a_prod_audit() -> None:
    declared = declared_for("prod", "vault")
    with pytest.raises(EndpointRefused, match="https only"):
        audit.audit(declared, date(2026, 12, 1), endpoint=LISTENER)
