"""HashiCorp Vault / OpenBao KV v2 with hvac, as the caller's token.

The address is the stack's ``vault.address`` (or ``address``: ``platform_secrets.live.env --endpoint``), never ``VAULT_ADDR``
(``platform_secrets.live.endpoints`` refuses one that points elsewhere); the token is
hvac's default: ``VAULT_TOKEN``, else ``~/.vault-token`` (what ``vault login`` / ``bao login`` write). Mount and
paths come from ``platform_secrets.program.clouds.vault_naming``: the entry ``<owner>/<KEY>`` in the stack's KV v2 mount, one
field ``value``. An external entry that only has its metadata, or whose latest version is deleted, is missing.
"""

from __future__ import annotations

from typing import Any

import hvac
from hvac import exceptions

from platform_secrets.live.clients import StoreClient, StoreError
from platform_secrets.model.stack_model import Entry, StackModel
from platform_secrets.program.clouds import vault_naming as naming

TIMEOUT = 30


class VaultStore(StoreClient):
    store = "Vault KV v2"

    def __init__(self, model: StackModel, client: Any = None, address: str | None = None) -> None:
        super().__init__(model)
        assert model.settings.vault is not None  # Settings checks it
        self.mount = naming.paths(model.settings).mount
        url = address or model.settings.vault.address
        self.client = client or hvac.Client(url=url, timeout=TIMEOUT)

    def _path(self, entry: Entry) -> str:
        return naming.secret_path(entry.owner, entry.key)

    def name(self, entry: Entry) -> str:
        return naming.data_path(self.mount, self._path(entry))

    def read(self, entry: Entry) -> str | None:
        try:
            response = self.client.secrets.kv.v2.read_secret_version(
                path=self._path(entry), mount_point=self.mount, raise_on_deleted_version=True
            )
        except exceptions.InvalidPath:
            return None  # no such secret, metadata only, or the latest version deleted
        except exceptions.VaultError as error:
            raise StoreError(f"{self.name(entry)}: {_reason(error)}") from None
        value = (response.get("data") or {}).get("data", {}).get(naming.VALUE_FIELD)
        return None if value is None else str(value)

    def write(self, entry: Entry, value: str) -> None:
        try:
            self.client.secrets.kv.v2.create_or_update_secret(
                path=self._path(entry), secret={naming.VALUE_FIELD: value}, mount_point=self.mount
            )
        except exceptions.VaultError as error:
            raise StoreError(f"{self.name(entry)}: {_reason(error)} (writing {entry.id})") from None


def _reason(error: Exception) -> str:
    if isinstance(error, exceptions.Forbidden):
        return (
            "permission denied (a token from VAULT_TOKEN or ~/.vault-token with read on this path?)"
        )
    if isinstance(error, exceptions.Unauthorized):
        return "no valid token (VAULT_TOKEN or ~/.vault-token)"
    return type(error).__name__
