"""The one small interface every cloud adapter implements.

The ServiceSecrets component and the Kubernetes binding know a cloud only through this: create the
environment's shared pieces, create an entry, create a service's identity with read access to exactly the entries
it is given, and say what the Kubernetes binding needs (ServiceAccount annotations, the ESO provider block, the
remote key of an entry).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi

from platform_secrets.model.stack_model import Entry, Service, StackModel


@dataclass(frozen=True)
class StoredEntry:
    """An entry as created in the cloud's store."""

    entry: Entry
    name: str
    """The entry's name in the store, deterministic (environment + owner + key)."""
    ref: pulumi.Output[str]
    """The cloud's reference to it: an ARN, a secret resource name, a Key Vault secret id."""
    resource: pulumi.Resource
    """The store resource itself, for grants that must wait for it."""
    value: pulumi.Output[str] | None = None
    """The secret value Pulumi wrote (None for external entries); used by the native binding only."""


@dataclass(frozen=True)
class Identity:
    """A service's identity and what the Kubernetes binding needs to use it."""

    service: str
    id: pulumi.Output[str]
    """Role ARN, Google service account email, or managed identity client id."""
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    eso_provider: dict[str, Any] = field(default_factory=dict)
    """The ``spec.provider`` block of an ESO SecretStore that authenticates as the ServiceAccount."""


class CloudAdapter(ABC):
    """One cloud's store and identities for one stack."""

    def __init__(self, model: StackModel) -> None:
        self.model = model
        self.settings = model.settings

    @staticmethod
    def problems(model: StackModel) -> list[str]:
        """Cloud-specific input problems (name lengths, missing settings), found before anything is created."""
        return []

    def durable(
        self, parent: pulumi.Resource, adopt_id: str | None = None
    ) -> pulumi.ResourceOptions:
        """Options of what must survive a mistake (store entries, keys, vaults).

        Protected and retained on delete in prod. With ``adoptExisting`` on (state lost, resources still
        there), ``adopt_id`` is imported instead of created: the cloud's id of the resource of the same
        deterministic name.
        """
        return pulumi.ResourceOptions(
            parent=parent,
            protect=self.settings.protect,
            retain_on_delete=self.settings.protect,
            import_=adopt_id if self.settings.adopt_existing else None,
        )

    @abstractmethod
    def provider_opts(self) -> pulumi.ResourceOptions:
        """Options that give a component this stack's providers (children inherit them)."""

    @abstractmethod
    def create_foundation(self, parent: pulumi.Resource) -> None:
        """The environment's shared pieces (keys, vault, providers' dependents), children of ``parent``."""

    @abstractmethod
    def entry_name(self, entry: Entry) -> str:
        """The entry's deterministic name in the store."""

    @abstractmethod
    def create_entry(
        self,
        name: str,
        entry: Entry,
        value: pulumi.Output[str] | None,
        parent: pulumi.Resource,
    ) -> StoredEntry:
        """Create the entry (and its value unless ``None``) with logical name prefix ``name``."""

    @abstractmethod
    def create_identity(
        self,
        name: str,
        service: Service,
        entries: list[StoredEntry],
        parent: pulumi.Resource,
    ) -> Identity | None:
        """Create the service's identity, readable entries exactly ``entries``; None if it has no consumer."""

    def remote_key(self, stored: StoredEntry) -> str:
        """The key an ESO ``remoteRef`` uses for the entry."""
        return stored.name

    def remote_ref(self, stored: StoredEntry) -> dict[str, str]:
        """An ESO ``remoteRef`` of the entry: its ``key``, and the ``property`` where an entry holds fields."""
        return {"key": self.remote_key(stored)}

    def previous_version(self, stored: StoredEntry) -> str:
        """ESO's ``remoteRef.version`` of the entry's previous value during an overlap: the recorded store
        version (Vault KV v2 and GCP: a version number; Azure: a version id). AWS selects its stage."""
        assert stored.entry.previous_version is not None, f"{stored.entry.id}: no overlap"
        return stored.entry.previous_version

    def previous_ref(self, stored: StoredEntry) -> dict[str, str]:
        """The ``remoteRef`` of the entry's previous value: the same entry's ref, at the previous version."""
        return {**self.remote_ref(stored), "version": self.previous_version(stored)}

    def exports(self) -> dict[str, Any]:
        """Environment-level stack outputs (key ARN, vault URI, ...)."""
        return {}

    def foundation_outputs(self) -> frozenset[str]:
        """The ``store`` outputs a shard of this stack's settings reads from its foundation (each must be
        in the foundation's ``exports()``)."""
        return frozenset()

    def attach_foundation(self, foundation: Foundation) -> None:
        """In a shard: take the foundation's pieces (keys, mount paths) from its outputs, instead of
        ``create_foundation``. The foundation has been deployed first, so nothing here waits on it."""
        raise NotImplementedError(f"{type(self).__name__} cannot be sharded")


class Foundation(Protocol):
    """What a shard reads of its foundation stack (``program.foundation_ref.FoundationRef``)."""

    def store(self, key: str) -> pulumi.Output[Any]:
        """The foundation's ``store.<key>`` output; the run fails naming it if the foundation lacks it."""
        ...

    def store_item(self, key: str, item: str) -> pulumi.Output[Any]:
        """``store.<key>.<item>`` (a per-location key id, ...), failing the same way."""
        ...
