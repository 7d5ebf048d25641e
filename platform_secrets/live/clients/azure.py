"""Azure Key Vault with azure-keyvault-secrets and ``DefaultAzureCredential`` (CLI login, env, managed identity).

The vault is the stack's (``AzureAdapter.vault_name_of``: ``azure.vaultName`` or the derived name); secret names
come from ``AzureAdapter.entry_name``. A read gets the current version; a write sets a new one.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from platform_secrets.live.clients import StoreClient, StoreError
from platform_secrets.model.stack_model import Entry, StackModel
from platform_secrets.program.clouds.azure import AzureAdapter


class AzureStore(StoreClient):
    store = "Azure Key Vault"

    def __init__(self, model: StackModel, credential: Any = None, transport: Any = None) -> None:
        super().__init__(model)
        self.adapter = AzureAdapter(model)
        self.vault_url = f"https://{AzureAdapter.vault_name_of(model.settings)}.vault.azure.net"
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        options = {"transport": transport} if transport is not None else {}
        self.client = SecretClient(self.vault_url, credential, **options)

    def name(self, entry: Entry) -> str:
        return self.adapter.entry_name(entry)

    def read(self, entry: Entry) -> str | None:
        try:
            secret = self.client.get_secret(self.name(entry))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as error:
            code = error.error.code if error.error else error.status_code
            raise StoreError(f"{self.vault_url}/secrets/{self.name(entry)}: {code}") from None
        except AzureError as error:
            raise StoreError(f"{self.vault_url}: {type(error).__name__}") from None
        return secret.value

    def write(self, entry: Entry, value: str) -> None:
        try:
            self.client.set_secret(self.name(entry), value)
        except HttpResponseError as error:
            code = error.error.code if error.error else error.status_code
            raise StoreError(f"{self.vault_url}/secrets/{self.name(entry)}: {code}") from None
        except AzureError as error:
            raise StoreError(f"{self.vault_url}: {type(error).__name__}") from None
