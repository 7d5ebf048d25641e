"""A shard's view of its foundation: one ``pulumi.StackReference``, read, never written back.

Dependencies point one way: a shard reads the foundation's ``store`` and ``shared_entries`` outputs; the
foundation reads no shard (it grants readers in shards by deterministic names computed from the catalog). An
output the shard needs and the foundation does not export fails the run naming it; the offline environment
plan (``platform-secrets plan --environment``) names it before anything is deployed.
"""

from __future__ import annotations

from typing import Any

import pulumi

from platform_secrets.model.catalog import SHARED_OWNER
from platform_secrets.model.shards import StackRole
from platform_secrets.model.stack_model import StackModel
from platform_secrets.program.clouds.base import CloudAdapter, StoredEntry


class FoundationError(pulumi.RunError):
    """The foundation stack lacks an output this shard reads."""


def qualified_name(foundation: str) -> str:
    """``<organization>/<project>/<stack>``: the name a stack reference resolves (same backend)."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{foundation}"


class FoundationRef:
    """The foundation's outputs, each failing with the output's name when the foundation lacks it."""

    def __init__(self, role: StackRole) -> None:
        self.foundation = role.foundation
        self.reference = pulumi.StackReference(
            "foundation", stack_name=qualified_name(role.foundation)
        )

    def _missing(self, what: str) -> FoundationError:
        return FoundationError(
            f"the foundation stack {self.foundation} exports no {what}, which stack "
            f"{pulumi.get_stack()} reads: plan the environment (platform-secrets plan --environment) "
            "and deploy the foundation first"
        )

    def _output(self, name: str) -> pulumi.Output[Any]:
        def require(value: Any) -> Any:
            if value is None:
                raise self._missing(name)
            return value

        return self.reference.get_output(name).apply(require)

    def store(self, key: str) -> pulumi.Output[Any]:
        def pick(store: dict[str, Any]) -> Any:
            if store.get(key) is None:
                raise self._missing(f"store.{key}")
            return store[key]

        return self._output("store").apply(pick)

    def store_item(self, key: str, item: str) -> pulumi.Output[Any]:
        def pick(value: dict[str, Any]) -> Any:
            if not isinstance(value, dict) or value.get(item) is None:
                raise self._missing(f"store.{key}.{item}")
            return value[item]

        return self.store(key).apply(pick)

    def shared_entries(self, model: StackModel, adapter: CloudAdapter) -> dict[str, StoredEntry]:
        """The shared entries this shard's services read, as stored by the foundation: the name is
        deterministic, the reference (an ARN with its random suffix, a secret id) is the foundation's output."""
        read = {entry_id for service in model.own_services for entry_id in service.entry_ids}
        entries = {}
        for entry in model.entries_of(SHARED_OWNER):
            if entry.id not in read:
                continue

            def ref(shared: dict[str, Any], key: str = entry.key) -> str:
                if key not in shared or not shared[key].get("ref"):
                    raise self._missing(f"shared_entries.{key}")
                return str(shared[key]["ref"])

            entries[entry.id] = StoredEntry(
                entry=entry,
                name=adapter.entry_name(entry),
                ref=self._output("shared_entries").apply(ref),
                resource=self.reference,
            )
        return entries
