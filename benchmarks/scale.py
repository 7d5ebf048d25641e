"""Scale benchmark: plan synthetic catalogs of many services offline, per cloud, against the SDK's floor.

``python -m benchmarks.scale --sizes 10,100,500,1000 --cloud aws [--json]``

For each cloud and size it writes a synthetic catalog (``benchmarks.synthetic``: services with three secrets
and two plain settings), plans it with ``platform_secrets.offline.runner.run`` in a fresh process, records the run as a manifest,
and registers the same resources again through the floor program (``benchmarks.floor``: the providers' own
classes, same inputs, flat, same mock engine) in another fresh process. Each size reports:

- ``seconds``: wall time of the offline run, the best of ``--repeat`` runs (as ``timeit`` reports: other
  processes on the machine only ever add time), ``floor_seconds`` the floor's, ``ratio`` the two's quotient;
- ``peak_mb``: growth of the peak resident set during the run (median);
- ``resources`` registered, ``per_service`` (resources of one service: its component and what lies under it);
- ``depth``: the longest chain of dependencies among them, i.e. the provider round-trips a real ``pulumi up``
  must make one after the other.

Without ``--json`` a table follows, with the targets of the scale issue checked; ``--check`` exits 1 when one
fails. ``--cloud all`` runs every cloud that has an adapter and a stack file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import synthetic
from platform_secrets.offline import runner as offline

CLOUDS = ("aws", "gcp", "azure")
TARGET_SIZE = 1000
TARGET_RATIO = 1.3
"""Plan time over floor time at TARGET_SIZE services, per cloud."""
TARGET_DEPTH = 5
TARGET_GROWTH = 11.0
"""Time and memory at 1000 services within this factor of 100 services (linear, with a margin)."""


def available_clouds() -> dict[str, tuple[str, dict[str, Any]] | str]:
    """Cloud -> (stack, overrides) for every cloud with an adapter and a stack that has its settings;
    the reason why not for the others."""
    from platform_secrets.model.settings import Cloud
    from platform_secrets.program.clouds import adapter_class

    found: dict[str, tuple[str, dict[str, Any]] | str] = {}
    for cloud in CLOUDS:
        try:
            adapter_class(Cloud(cloud))
        except (NotImplementedError, ImportError, ValueError) as error:
            found[cloud] = f"no adapter ({error})"
            continue
        stack = synthetic.stack_for(cloud)
        found[cloud] = stack if stack else f"no Pulumi.<stack>.yaml with `{cloud}` settings"
    return found


def _run_worker(job: dict[str, Any], directory: Path, timeout: float) -> dict[str, Any]:
    path = directory / "job.json"
    path.write_text(json.dumps(job))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", str(path)],
        cwd=offline.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{job['kind']} run failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["error"]:
        raise RuntimeError(f"{job['kind']} run failed: {result['error']}")
    return result


def repeats_for(size: int, requested: int | None) -> int:
    """Runs per size: as asked, else more where a run is short (the best of a few damps the noise)."""
    if requested:
        return requested
    return 5 if size <= 100 else 3 if size <= 500 else 2


def measure_size(
    cloud: str,
    stack: tuple[str, dict[str, Any]],
    size: int,
    directory: Path,
    repeat: int | None,
    timeout: float,
) -> dict[str, Any]:
    """One row: our run and the floor's, interleaved ``repeat`` times, the best of each reported."""
    plan = synthetic.write_plan(size, cloud, stack[0], directory, stack[1])
    manifest = directory / f"manifest-{cloud}-{size}.json"
    ours_job = {
        "kind": "ours",
        "stack": plan.stack,
        "overrides": plan.overrides,
        "secrets": plan.secrets,
        "services": list(plan.services),
        "manifest": str(manifest),
    }
    floor_job = {"kind": "floor", "manifest": str(manifest)}
    ours: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    for _ in range(repeats_for(size, repeat)):
        ours.append(_run_worker(ours_job, directory, timeout))
        floors.append(_run_worker(floor_job, directory, timeout))
    first = ours[0]
    seconds = min(r["seconds"] for r in ours)
    floor_seconds = min(r["seconds"] for r in floors)
    counts = first["per_service_counts"]
    return {
        "size": size,
        "cloud": cloud,
        "seconds": round(seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(seconds / floor_seconds, 3),
        "peak_mb": round(statistics.median(r["peak_mb"] for r in ours), 1),
        "resources": first["resources"],
        "per_service": counts[0] if len(counts) == 1 else first["in_services"] / size,
        "depth": first["depth"],
        "_details": {
            "stack": plan.stack,
            "runs": len(ours),
            # Every run, in the order they alternated: how noisy the machine was for this row.
            "seconds_each": [round(r["seconds"], 2) for r in ours],
            "floor_seconds_each": [round(r["seconds"], 2) for r in floors],
            "pair_ratio_median": round(
                statistics.median(
                    o["seconds"] / f["seconds"] for o, f in zip(ours, floors, strict=True)
                ),
                3,
            ),
            "floor_peak_mb": round(statistics.median(r["peak_mb"] for r in floors), 1),
            "rss_mb": round(max(r["rss_mb"] for r in ours), 1),
            "floor_resources": floors[0]["resources"],
            "custom_resources": first["custom"],
            "fixed": first["resources"] - first["in_services"],
            "per_service_counts": counts,
            "cross_service_edges": first["cross_service_edges"],
            "floor_depth": floors[0]["depth"],
            "floor_mismatches": floors[0]["mismatches"][:5],
        },
    }


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The scale issue's targets, per cloud, as (sentence, met)."""
    checks = []
    for cloud in sorted({row["cloud"] for row in rows}):
        mine = {row["size"]: row for row in rows if row["cloud"] == cloud}
        if TARGET_SIZE in mine:
            row = mine[TARGET_SIZE]
            checks.append(
                (
                    f"{cloud}: plan/floor at {TARGET_SIZE} services {row['ratio']:.2f} "
                    f"<= {TARGET_RATIO}",
                    row["ratio"] <= TARGET_RATIO,
                )
            )
        depths = sorted({row["depth"] for row in mine.values()})
        checks.append(
            (
                f"{cloud}: depth {'/'.join(map(str, depths))} the same at every size and <= {TARGET_DEPTH}",
                len(depths) == 1 and depths[0] <= TARGET_DEPTH,
            )
        )
        per_service = {row["per_service"] for row in mine.values()}
        checks.append(
            (f"{cloud}: resources per service constant ({per_service})", len(per_service) == 1)
        )
        crossing = sum(row["_details"]["cross_service_edges"] for row in mine.values())
        checks.append(
            (f"{cloud}: {crossing} dependencies from one service to another", not crossing)
        )
        if 100 in mine and 1000 in mine:
            for key, unit in (("seconds", "time"), ("peak_mb", "memory")):
                growth = mine[1000][key] / max(mine[100][key], 1e-9)
                checks.append(
                    (
                        f"{cloud}: {unit} at 1000 services {growth:.1f}x that at 100 "
                        f"<= {TARGET_GROWTH:g}x",
                        growth <= TARGET_GROWTH,
                    )
                )
    return checks


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'cloud':<6} {'size':>5} {'seconds':>8} {'floor s':>8} {'ratio':>6} {'peak MB':>8} "
        f"{'floor MB':>8} {'resources':>9} {'per svc':>7} {'fixed':>5} {'depth':>5} {'runs':>4}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        d = row["_details"]
        lines.append(
            f"{row['cloud']:<6} {row['size']:>5} {row['seconds']:>8.2f} {row['floor_seconds']:>8.2f} "
            f"{row['ratio']:>6.2f} {row['peak_mb']:>8.1f} {d['floor_peak_mb']:>8.1f} "
            f"{row['resources']:>9} {row['per_service']:>7} {d['fixed']:>5} {row['depth']:>5} "
            f"{d['runs']:>4}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes", default="10,100,500,1000", help="comma-separated service counts")
    parser.add_argument("--cloud", default="aws", choices=[*CLOUDS, "all"])
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per row")
    parser.add_argument(
        "--repeat",
        type=int,
        help="runs per size, the best reported (default: 5 up to 100 services, "
        "3 up to 500, 2 above)",
    )
    parser.add_argument("--details", action="store_true", help="keep diagnostics in the JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--keep", type=Path, help="keep catalogs and manifests in this directory")
    parser.add_argument(
        "--save", type=Path, help="also write the rows, diagnostics included, as JSON"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per run")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if not sizes or min(sizes) < 1:
        parser.error("--sizes: positive service counts")

    found = available_clouds()
    wanted = CLOUDS if args.cloud == "all" else (args.cloud,)
    clouds = {}
    for cloud in wanted:
        where = found[cloud]
        if isinstance(where, str):
            print(f"{cloud}: skipped: {where}", file=sys.stderr)
            if args.cloud != "all":
                return 2
        else:
            clouds[cloud] = where

    rows = []
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        for cloud, stack in clouds.items():
            for size in sizes:
                row = measure_size(cloud, stack, size, directory, args.repeat, args.timeout)
                rows.append(row)
                if not args.json:
                    print(f"  {cloud} {size}: {row['seconds']:.2f}s", file=sys.stderr)
    checks = targets(rows) if rows else []
    if args.save:
        args.save.write_text(json.dumps(rows, indent=2) + "\n")
    if args.json:
        public = [
            {k: v for k, v in row.items() if args.details or not k.startswith("_")} for row in rows
        ]
        print(json.dumps(public, indent=2))
    else:
        print(table(rows))
        print()
        for sentence, met in checks:
            print(f"  [{'ok' if met else 'MISSED'}] {sentence}")
    return 1 if args.check and not all(met for _, met in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
