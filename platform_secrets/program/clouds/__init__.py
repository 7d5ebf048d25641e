"""Cloud adapters behind one interface (``base.CloudAdapter``); each module imports no other cloud's."""

from __future__ import annotations

from importlib import import_module

from platform_secrets.model.settings import Cloud
from platform_secrets.program.clouds.base import CloudAdapter

_MODULES = {
    Cloud.AWS: ("platform_secrets.program.clouds.aws", "AwsAdapter"),
    Cloud.GCP: ("platform_secrets.program.clouds.gcp", "GcpAdapter"),
    Cloud.AZURE: ("platform_secrets.program.clouds.azure", "AzureAdapter"),
    Cloud.VAULT: ("platform_secrets.program.clouds.vault", "VaultAdapter"),
}


def adapter_class(cloud: Cloud) -> type[CloudAdapter]:
    """The adapter of ``cloud``, imported on demand (a stack loads only its own cloud's SDK)."""
    if cloud not in _MODULES:
        raise NotImplementedError(f"cloud {cloud.value!r} has no adapter yet")
    module, name = _MODULES[cloud]
    adapter: type[CloudAdapter] = getattr(import_module(module), name)
    return adapter
