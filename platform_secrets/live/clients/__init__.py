"""Live store clients for the day-two commands: one module per store, like ``platform_secrets/program/clouds/``.

Each client reads and writes an entry's *value* with the caller's own credentials (the store library's default
chain) through the store's official client library, and names entries with the adapters' own pure naming, so a
name changes in one place. None of this is imported by ``components/``.

A read returns the value, or ``None`` when the store holds none (no entry, or an entry without a value: an
``external`` entry nobody filled yet). Every failure is a ``StoreError`` naming the entry and the store's error
code, never a value.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from importlib import import_module

from platform_secrets.model.settings import Cloud
from platform_secrets.model.stack_model import Entry, StackModel


class StoreError(RuntimeError):
    """A store call failed; the message names the entry and the store's error, never a value."""


LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "azure", "google", "grpc", "hvac", "requests")
"""Loggers of the client libraries. At DEBUG, botocore logs request bodies (a pushed value among them) and
azure-core and urllib3 log requests; they are held at WARNING so that no logging set-up makes them echo one."""


def quiet_libraries() -> None:
    """Hold the client libraries' loggers at WARNING, whatever the root logger's level."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class StoreClient(ABC):
    """One store of one stack: the entries' values, read and written as the caller."""

    store = "store"
    """What the store is called in messages."""

    def __init__(self, model: StackModel) -> None:
        self.model = model
        self.settings = model.settings

    @abstractmethod
    def name(self, entry: Entry) -> str:
        """The entry's name in the store (from the adapter's naming)."""

    @abstractmethod
    def read(self, entry: Entry) -> str | None:
        """The entry's current value; ``None`` when there is no entry or no value."""

    @abstractmethod
    def write(self, entry: Entry, value: str) -> None:
        """Store ``value`` as the entry's new current version (the entry exists: Pulumi created it)."""


_MODULES = {
    Cloud.AWS: ("platform_secrets.live.clients.aws", "AwsStore"),
    Cloud.GCP: ("platform_secrets.live.clients.gcp", "GcpStore"),
    Cloud.AZURE: ("platform_secrets.live.clients.azure", "AzureStore"),
    Cloud.VAULT: ("platform_secrets.live.clients.vault", "VaultStore"),
}


def client_for(model: StackModel, endpoint: str | None = None) -> StoreClient:
    """The store client of the stack's cloud, imported on demand (only its library is loaded).

    ``endpoint`` is where its requests go (``platform_secrets.live.endpoints.endpoint_for``: the stack's address or an
    explicit ``--endpoint``); the clients never take it from the environment.
    """
    cloud = model.settings.cloud
    if cloud not in _MODULES:
        raise StoreError(f"cloud {cloud.value!r} has no store client yet")
    module, name = _MODULES[cloud]
    options = (
        {_ENDPOINT_ARGUMENT[cloud]: endpoint} if endpoint and cloud in _ENDPOINT_ARGUMENT else {}
    )
    client: StoreClient = getattr(import_module(module), name)(model, **options)
    return client


_ENDPOINT_ARGUMENT = {Cloud.AWS: "endpoint_url", Cloud.VAULT: "address"}
