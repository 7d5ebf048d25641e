"""Smoke test of the scale benchmark (``python -m benchmarks.scale``) at 3 and 10 services.

Not the benchmark itself (that runs 10 to 1000 services for minutes): it proves the command's JSON keeps its
shape, that the critical path does not grow with the catalog, that every service costs the same resources, and
that the floor registers exactly what our program registered.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import graph
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import Registered

KEYS = {
    "size",
    "cloud",
    "seconds",
    "floor_seconds",
    "ratio",
    "peak_mb",
    "resources",
    "per_service",
    "depth",
}
SIZES = (3, 10)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--sizes",
            ",".join(map(str, SIZES)),
            "--cloud",
            "aws",
            "--repeat",
            "1",
            "--json",
            "--details",
        ],
        cwd=offline.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_one_row_per_size_with_the_documented_keys(rows):
    assert [row["size"] for row in rows] == list(SIZES)
    for row in rows:
        assert set(row) - {"_details"} == KEYS
        assert row["cloud"] == "aws"
        assert row["seconds"] > 0 and row["floor_seconds"] > 0 and row["peak_mb"] >= 0
        assert row["ratio"] == pytest.approx(row["seconds"] / row["floor_seconds"], rel=0.01)


def test_the_critical_path_is_short_and_does_not_grow(rows):
    depths = {row["depth"] for row in rows}
    assert len(depths) == 1
    assert depths.pop() <= 5


def test_every_service_costs_the_same_resources(rows):
    per_service = {row["per_service"] for row in rows}
    assert len(per_service) == 1
    (small, large), n = rows, per_service.pop()
    assert isinstance(n, int)
    assert large["resources"] - small["resources"] == (large["size"] - small["size"]) * n
    for row in rows:
        assert row["_details"]["per_service_counts"] == [n]


def test_no_service_waits_for_another(rows):
    assert all(row["_details"]["cross_service_edges"] == 0 for row in rows)


def test_the_floor_registers_what_the_program_registered(rows):
    for row in rows:
        details = row["_details"]
        assert details["floor_resources"] == details["custom_resources"]
        assert details["floor_mismatches"] == []
        assert details["floor_depth"] == 1  # flat: nothing waits for anything


def _reg(urn: str, deps: tuple[str, ...] = (), custom: bool = True, parent: str = "") -> Registered:
    return Registered(
        urn=urn,
        type=urn.split("::")[0],
        name=urn.split("::")[-1],
        parent=parent,
        inputs={},
        outputs={},
        dependencies=list(deps),
        property_dependencies={},
        protect=False,
        retain_on_delete=False,
        import_id="",
        provider="",
        custom=custom,
    )


def test_depth_counts_provider_round_trips_only():
    component = _reg("pkg:index:Component::c", custom=False)
    key = _reg("aws:kms/key:Key::k")
    secret = _reg("aws:sm/secret:Secret::s", (key.urn,), parent=component.urn)
    policy = _reg("aws:sm/policy:Policy::p", (secret.urn, key.urn), parent=component.urn)
    waits_for_component = _reg("x:y:Z::z", (component.urn,))
    assert graph.depth([component, key, secret, policy, waits_for_component]) == 3
    assert graph.depth([]) == 0
    assert graph.cross_service_edges([component, secret, policy], ["c"]) == []


def test_the_shard_benchmark_fills_shards_to_the_limit_and_moves_no_service():
    """benchmarks/shards.py's assignment (pure; the benchmark itself is not run here): every shard within the
    limit, and one more service appended without moving any other."""
    from benchmarks import shards as shard_bench

    names = [f"svc-{i:04d}" for i in range(120)]
    stacks = shard_bench.assign(names, per_service=20, overhead=10, limit=1000)
    assert all(10 + 20 * len(held) <= 1000 for held in stacks.values()), stacks
    assert sorted(n for held in stacks.values() for n in held) == names
    grown = shard_bench.assign([*names, "svc-new"], per_service=20, overhead=10, limit=1000)
    assert {s: [n for n in held if n != "svc-new"] for s, held in grown.items()} == stacks
