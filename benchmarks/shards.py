"""Shard benchmark: a synthetic catalog planned as one stack and as a sharded environment, in one run.

``python -m benchmarks.shards --sizes 1000,5000 [--workers 2] [--limit 1000] [--json]``

For each size it writes a synthetic catalog (``benchmarks.synthetic``) with one shared secret read by one
service in every shard, fills shards up to ``--limit`` resources (the resources of one service measured on a
small run; each new service to the least filled shard, as ``shards propose`` does, a new shard when all are full),
and measures, alternating in one invocation:

- ``one_stack_seconds``: the whole catalog as one stack, in a fresh process, its artifacts written;
- ``env_seconds``: ``platform-secrets plan --environment`` (the foundation, then the shards in ``--workers``
  spawned processes), wall time; ``ratio`` = env / one stack;
- ``stacks``, ``max_resources`` per stack (each at most the limit), ``peak_mb``: the one stack's peak, and the
  largest peak of the environment's worker processes (each planned many stacks: a bound on any one stack's);
- a one-service change (a secret added to a service of the first shard, the environment planned again):
  ``others_identical`` (every other shard's ``resources.json`` byte-identical) and ``foundation_changed``;
- ``shard_job_seconds``: that change's shard previewed as a ``shards.yml`` shard job does (``plan --environment
  --shard``: the foundation and that shard only), wall time.

Not a timed test (``tests/offline/test_benchmark_smoke.py`` runs it at a few services). AWS only.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from benchmarks import synthetic
from platform_secrets.model import shards
from platform_secrets.offline import environment as env_plan
from platform_secrets.offline import runner as offline

SHARED = "BENCH_JWT"
ENVIRONMENT = "bench"


def dev_config() -> dict[str, Any]:
    """dev's plain settings (short keys), the environment file's ``config:``."""
    data = yaml.safe_load((offline.ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in data.items()}


def assign(names: list[str], per_service: int, overhead: int, limit: int) -> dict[str, list[str]]:
    """Shards filled to ``limit``: each service to the least filled shard with room, else a new shard."""
    stacks: dict[str, list[str]] = {}
    for name in names:
        room = [
            s for s, held in stacks.items() if overhead + per_service * (len(held) + 1) <= limit
        ]
        if not room:
            stacks[f"{ENVIRONMENT}-{len(stacks):03d}"] = []
            room = [next(reversed(stacks))]
        target = min(room, key=lambda s: (len(stacks[s]), s))
        stacks[target].append(name)
    return stacks


def write_environment(root: Path, size: int, limit: int, per_service: int) -> tuple[Path, dict]:
    """The synthetic project: catalog, environment file, one stack file per stack; the catalog's data."""
    (root / "environments").mkdir(parents=True)
    shutil.copy(offline.ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    names = synthetic.service_names(size)
    catalog = synthetic.catalog(size)
    catalog["shared"] = {
        SHARED: {"description": "Signs tokens.", "source": "generated", "length": 32}
    }
    # Each shard's providers and its shared reader's grant come on top of its services: a margin of 10.
    stacks = assign(names, per_service, overhead=10, limit=limit)
    for held in stacks.values():
        catalog["services"][held[0]]["secrets"][SHARED] = {"shared": SHARED}
    config = dev_config()
    config["settings"] = {n: {"PUBLIC_URL": f"https://{n}.dev.example.internal"} for n in names}
    config["toolingPrincipals"] = {}
    layout = {
        "foundation": f"{ENVIRONMENT}-foundation",
        "stackResourceLimit": limit,
        "stacks": stacks,
        "config": config,
    }
    (root / "environments" / f"{ENVIRONMENT}.yaml").write_text(
        yaml.safe_dump(layout, sort_keys=False)
    )
    for stack in [layout["foundation"], *stacks]:
        (root / f"Pulumi.{stack}.yaml").write_text(
            f"config:\n  platform-secrets:environmentFile: environments/{ENVIRONMENT}.yaml\n"
        )
    # One stack of the same catalog and settings, for the comparison.
    one = {"config": {f"platform-secrets:{k}": v for k, v in config.items()}}
    (root / "Pulumi.bench.yaml").write_text(yaml.safe_dump(one, sort_keys=False))
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    (root / "catalog.yaml").write_text(yaml.dump(catalog, Dumper=dumper, sort_keys=False))
    return root / "catalog.yaml", catalog


def per_service_resources(tmp: Path) -> int:
    """Resources of one service on AWS (its component and what lies under it), from a small run."""
    root = tmp / "probe"
    catalog, _ = write_environment(root, 3, 5000, 1)
    result = offline.run(
        "bench", overrides={"catalog": str(catalog)}, config_root=root, raise_errors=True
    )
    records = [
        {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent} for r in result.resources
    ]
    counts, _, _ = shards.counts_from_records(records)
    return max(counts.values())


def _one_stack(root: Path, catalog: Path, out: Path) -> env_plan.StackPlan:
    # Its artifacts written too (access.json derived), as the environment plan writes its own and the union's.
    return env_plan.plan_stack(
        "bench", out, {"catalog": str(catalog)}, {}, None, None, config_root=root
    )


def _plan_environment(root: Path, catalog: Path, out: Path, workers: int, **kwargs: Any) -> float:
    """Plan the environment quietly into ``out``; its seconds (a failed plan fails the benchmark)."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = env_plan.plan_environment(
            ENVIRONMENT, out, config={"catalog": str(catalog)}, workers=workers, root=root, **kwargs
        )
    assert code == 0, f"the environment plan into {out.name} failed"
    return time.perf_counter() - started


def measure(size: int, limit: int, workers: int, tmp: Path, per_service: int) -> dict[str, Any]:
    root = tmp / f"size-{size}"
    catalog_path, catalog = write_environment(root, size, limit, per_service)
    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        started = time.perf_counter()
        one = pool.submit(_one_stack, root, catalog_path, tmp / f"one-{size}").result()
        one_seconds = time.perf_counter() - started
    assert one.error is None, one.error
    held: dict[str, env_plan.StackPlan] = {}
    env_seconds = _plan_environment(
        root, catalog_path, tmp / f"out-{size}", workers, on_plans=held.update
    )
    # A one-service change: a secret added to the first shard's second service.
    layout = shards.read_layout(root / "environments" / f"{ENVIRONMENT}.yaml")
    first = sorted(layout.stacks)[0]
    changed_service = layout.stacks[first][-1]
    catalog["services"][changed_service]["secrets"]["EXTRA_TOKEN"] = {
        "description": "A secret added in a one-service change.",
        "source": "generated",
        "length": 32,
    }
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    _plan_environment(root, catalog_path, tmp / f"out-{size}-changed", workers)
    shard_job_seconds = _plan_environment(
        root, catalog_path, tmp / f"out-{size}-shard", workers, shards_only=[first]
    )
    base, head = tmp / f"out-{size}", tmp / f"out-{size}-changed"
    alone = tmp / f"out-{size}-shard"
    assert (alone / first / "resources.json").read_bytes() == (
        head / first / "resources.json"
    ).read_bytes(), "the shard planned alone differs from its plan in the environment"

    def same(stack: str) -> bool:
        return (base / stack / "resources.json").read_bytes() == (
            head / stack / "resources.json"
        ).read_bytes()

    others = [s for s in layout.stacks if s != first]
    return {
        "size": size,
        "stacks": len(layout.all_stacks()),
        "max_resources": max(len(p.resources) for p in held.values()),
        "limit": limit,
        "one_stack_seconds": round(one_seconds, 2),
        "env_seconds": round(env_seconds, 2),
        "ratio": round(env_seconds / one_seconds, 2),
        "one_stack_peak_mb": one.peak_kb // 1024,
        "env_worker_peak_mb": max(p.peak_kb for p in held.values()) // 1024,
        "others_identical": all(same(s) for s in others),
        "changed_shard_differs": not same(first),
        "foundation_changed": not same(layout.foundation),
        "shard_job_seconds": round(shard_job_seconds, 2),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| services | stacks | max resources/stack | env plan s (2 workers) | one stack s | ratio | "
        "peak MB one stack | peak MB per env worker | one-service change: others identical | "
        "foundation changed | one shard job s (foundation + shard) |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['stacks']} | {r['max_resources']} | {r['env_seconds']} | "
            f"{r['one_stack_seconds']} | {r['ratio']} | {r['one_stack_peak_mb']} | "
            f"{r['env_worker_peak_mb']} | {'y' if r['others_identical'] else 'n'} | "
            f"{'y' if r['foundation_changed'] else 'n'} | {r['shard_job_seconds']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=shards.DEFAULT_LIMIT)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        per_service = per_service_resources(Path(tmp))
        rows = [measure(size, args.limit, args.workers, Path(tmp), per_service) for size in sizes]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{per_service} resources per service (AWS)\n")
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
