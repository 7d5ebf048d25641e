"""Cloud adapters behind one interface (``base.CloudAdapter``); each module imports no other cloud's."""

from __future__ import annotations

from importlib import import_module

from components.clouds.base import CloudAdapter
from components.settings import Cloud

_MODULES = {
    Cloud.AWS: ("components.clouds.aws", "AwsAdapter"),
    Cloud.GCP: ("components.clouds.gcp", "GcpAdapter"),
    Cloud.AZURE: ("components.clouds.azure", "AzureAdapter"),
    Cloud.VAULT: ("components.clouds.vault", "VaultAdapter"),
}


def adapter_class(cloud: Cloud) -> type[CloudAdapter]:
    """The adapter of ``cloud``, imported on demand (a stack loads only its own cloud's SDK)."""
    if cloud not in _MODULES:
        raise NotImplementedError(f"cloud {cloud.value!r} has no adapter yet")
    module, name = _MODULES[cloud]
    adapter: type[CloudAdapter] = getattr(import_module(module), name)
    return adapter
