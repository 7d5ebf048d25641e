"""What the registered graph says about a real ``pulumi up``: its critical path and its per-service shape.

Computed from the registrations alone (``platform_secrets.offline.runner.Registered``): ``dependencies`` are the URNs a resource
waits for before the engine can create it (the SDK expands a dependency on a component into its children).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from platform_secrets.offline.runner import Registered

PROVIDER = "pulumi:providers:"


def round_trips(r: Registered) -> int:
    """1 for a resource the engine creates through its provider; 0 for a component or a provider itself."""
    return int(r.custom and not r.type.startswith(PROVIDER))


def depth(resources: list[Registered]) -> int:
    """The longest dependency chain: how many provider round-trips must happen one after the other.

    A resource without dependencies is a chain of 1; a resource that waits for a chain of ``n`` ends one of
    ``n + 1``. Components and providers weigh nothing. Iterative, so a deep graph cannot hit the recursion limit.
    """
    by_urn = {r.urn: r for r in resources}
    longest: dict[str, int] = {}
    for start in resources:
        stack = [(start.urn, False)]
        while stack:
            urn, expanded = stack.pop()
            if urn in longest:
                continue
            deps = [d for d in by_urn[urn].dependencies if d in by_urn]
            if expanded:
                below = max((longest[d] for d in deps), default=0)
                longest[urn] = below + round_trips(by_urn[urn])
                continue
            stack.append((urn, True))
            stack.extend((d, False) for d in deps if d not in longest)
    return max(longest.values(), default=0)


def owners(resources: list[Registered], services: Iterable[str]) -> dict[str, str]:
    """URN -> the service whose component it is or lives under; resources of no service are left out."""
    names = set(services)
    by_urn = {r.urn: r for r in resources}
    owner: dict[str, str] = {}
    for r in resources:
        node: Registered | None = r
        while node is not None:
            if not node.custom and node.name in names:
                owner[r.urn] = node.name
                break
            node = by_urn.get(node.parent)
    return owner


def per_service(resources: list[Registered], services: Iterable[str]) -> Counter[str]:
    """Resources registered for each service (its component and everything under it)."""
    counts: Counter[str] = Counter({name: 0 for name in services})
    counts.update(owners(resources, services).values())
    return counts


def cross_service_edges(
    resources: list[Registered], services: Iterable[str]
) -> list[tuple[str, str]]:
    """(resource, dependency) pairs where a service's resource waits for another service's resource."""
    owner = owners(resources, services)
    return [
        (r.urn, dep)
        for r in resources
        if r.urn in owner
        for dep in r.dependencies
        if dep in owner and owner[dep] != owner[r.urn]
    ]
