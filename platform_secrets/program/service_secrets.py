"""The components: the environment's shared store pieces, and one ServiceSecrets per service."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi
import pulumi_random as random

from platform_secrets.model.catalog import PREVIOUS_SUFFIX, SHARED_OWNER, Source
from platform_secrets.model.stack_model import Entry, Service, StackModel
from platform_secrets.program.clouds.base import CloudAdapter, StoredEntry
from platform_secrets.program.kubernetes import RELOADER_MATCH, EnvSecret, bind_service


def secret_value(name: str, entry: Entry, parent: pulumi.Resource) -> pulumi.Output[str] | None:
    """The entry's value as a secret Output; None for an external or pending entry (created empty)."""
    if entry.source is Source.GENERATED:
        password = random.RandomPassword(
            f"{name}-generated",
            length=entry.spec.length,
            special=entry.spec.special,
            # Regenerated only when the epoch changes: no churn between runs, rotation by one edit.
            keepers={"rotation-epoch": entry.epoch},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return pulumi.Output.secret(password.result)
    if entry.source is Source.CONFIG and not entry.pending:
        # require_secret keeps the value an Output marked secret from the stack file to the store.
        return pulumi.Config().require_secret(entry.config_key)
    return None


def create_entries(
    adapter: CloudAdapter, entries: tuple[Entry, ...], parent: pulumi.Resource
) -> dict[str, StoredEntry]:
    """Create each entry (and its value) as children of ``parent``; logical names from owner and key."""
    stored = {}
    for entry in entries:
        name = f"{entry.owner}-{entry.key.lower().replace('_', '-')}"
        value = secret_value(name, entry, parent)
        # Adopting after a lost state: the store's generated values are the live ones; a fresh random
        # value must not overwrite them (the next epoch change rotates them deliberately).
        write = (
            None if adapter.settings.adopt_existing and entry.source is Source.GENERATED else value
        )
        stored[entry.id] = replace(adapter.create_entry(name, entry, write, parent), value=value)
    return stored


def previous_values(
    adapter: CloudAdapter, service: Service, by_id: dict[str, StoredEntry]
) -> list[EnvSecret]:
    """``<KEY>_PREVIOUS`` for each entry the service reads that is in an overlap (``rotationOverlaps``).

    The ref is made from the same stored entry as ``<KEY>``'s, so it cannot name another entry; the identity
    reads exactly its entries, and every store's grant covers all versions of an entry (no new grant).
    """
    found = []
    for env_var, entry_id in service.env:
        stored = by_id[entry_id]
        if stored.entry.previous_version is None:
            continue
        ref = adapter.previous_ref(stored)
        found.append(
            EnvSecret(
                env_var=f"{env_var}{PREVIOUS_SUFFIX}",
                remote_key=ref["key"],
                value=None,
                remote_property=ref.get("property"),
                remote_version=ref["version"],
            )
        )
    return found


class SharedSecrets(pulumi.ComponentResource):
    """The environment's store foundation (key, vault) and the secrets read by several services."""

    entries: dict[str, StoredEntry]

    def __init__(
        self,
        name: str,
        model: StackModel,
        adapter: CloudAdapter,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform-secrets:index:SharedSecrets", name, None, opts)
        adapter.create_foundation(self)
        self.entries = create_entries(adapter, model.entries_of(SHARED_OWNER), self)
        self.register_outputs({"entries": [stored.name for stored in self.entries.values()]})


@dataclass(frozen=True)
class ServiceSecretsArgs:
    """Inputs of one service's component."""

    service: Service
    """The service as resolved for this stack."""
    model: StackModel
    """The whole stack model (entries, settings)."""
    adapter: CloudAdapter
    """The stack's cloud."""
    shared: dict[str, StoredEntry] = field(default_factory=dict)
    """Shared entries already created, by entry id."""


class ServiceSecrets(pulumi.ComponentResource):
    """One service's secrets: its store entries, its least-privilege identity and its Kubernetes binding."""

    identity: pulumi.Output[str] | None
    entries: dict[str, StoredEntry]
    kubernetes: dict[str, pulumi.Output[str] | str]

    def __init__(
        self, name: str, args: ServiceSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("platform-secrets:index:ServiceSecrets", name, None, opts)
        service, model, adapter = args.service, args.model, args.adapter
        own = create_entries(adapter, model.entries_of(service.name), self)
        readable = [
            own[entry_id] if entry_id in own else args.shared[entry_id]
            for entry_id in service.entry_ids
        ]
        identity = adapter.create_identity(name, service, readable, self)
        self.identity = identity.id if identity else None
        self.entries = own
        self.kubernetes = {}
        if service.workload and identity is not None:
            by_id = {stored.entry.id: stored for stored in readable}
            env = []
            for env_var, entry_id in service.env:
                ref = adapter.remote_ref(by_id[entry_id])
                env.append(
                    EnvSecret(
                        env_var=env_var,
                        remote_key=ref["key"],
                        value=by_id[entry_id].value,
                        remote_property=ref.get("property"),
                    )
                )
            env += previous_values(adapter, service, by_id)
            self.kubernetes = bind_service(
                name,
                service,
                identity,
                env,
                model.settings.binding,
                model.settings.refresh_interval,
                self,
                protect=model.settings.protect,
                restart_annotations=RELOADER_MATCH if model.settings.restart_on_rotation else None,
            )
        self.register_outputs(
            {
                "identity": self.identity,
                "entries": [stored.name for stored in readable],
                **self.kubernetes,
            }
        )
