"""A service moving between two shards of an environment: the ``moved:`` records of ``environments/<env>.yaml``.

Pure (pydantic, no Pulumi). A record ``{service, from, to}`` says that the service's resources leave stack
``from`` for stack ``to`` by ``pulumi state move`` (their state, and so their generated values, kept), not by a
delete in one stack and a create in the other. The record must agree with the assignment (``stacks``), which
already lists the service under ``to``; the deploy runs the move before any ``up`` and the record is removed
afterwards (runbooks/shards.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from platform_secrets.model.catalog import Catalog

if TYPE_CHECKING:
    from platform_secrets.model.shards import EnvironmentLayout

STACK_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class Move(BaseModel):
    """One service moving from one shard to another."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    service: str = Field(
        description="The service that moves (whole: its component and every child)."
    )
    source: str = Field(alias="from", pattern=STACK_NAME, description="The shard it leaves.")
    dest: str = Field(alias="to", pattern=STACK_NAME, description="The shard it joins.")


def move_problems(layout: EnvironmentLayout, catalog: Catalog, origin: str) -> list[str]:
    """Every bad record, each naming its index: an unknown service or stack, a move within one stack, a
    ``to`` that disagrees with the assignment, two records for one service."""
    problems: list[str] = []
    shards = ", ".join(layout.stacks)
    seen: dict[str, int] = {}
    for index, move in enumerate(layout.moved):
        where = f"{origin}: moved[{index}]"
        if move.service not in catalog.services:
            problems.append(f"{where}: {move.service} is not in the catalog")
        for side, stack in (("from", move.source), ("to", move.dest)):
            if stack not in layout.stacks:
                problems.append(
                    f"{where}: {side} {stack} is not a shard of this environment (shards: {shards})"
                )
        if move.source == move.dest:
            problems.append(
                f"{where}: {move.service} moves from {move.source} to {move.dest}; "
                "a move is between two shards"
            )
        home = layout.stack_of(move.service)
        if home is not None and move.dest in layout.stacks and home != move.dest:
            problems.append(
                f"{where}: {move.service} moves to {move.dest}, but stacks lists it in {home}; "
                "the record and the assignment must agree"
            )
        seen[move.service] = seen.get(move.service, 0) + 1
        if seen[move.service] == 2:
            problems.append(
                f"{where}: {move.service} has 2 move records; one move per service at a time"
            )
    return problems
