"""One measurement in a fresh process: ``python -m benchmarks.worker JOB.json`` prints one JSON object.

A job is either our program on a synthetic catalog (``"kind": "ours"``) or the floor replaying a manifest
(``"kind": "floor"``). The clock (``time.perf_counter``) covers ``platform_secrets.offline.runner.run`` only: the program's own
imports, its catalog and validation, every registration and the engine's wait for them. The harness (``pulumi``
and ``platform_secrets.offline.runner``) is imported first and the floor's manifest read first, in both cases outside the clock.
Memory is the growth of the process's peak resident set during the run (``ru_maxrss`` after minus before), so
that the interpreter and the harness do not hide how the run itself scales; one process per measurement keeps
one run's memory out of the next.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import floor, graph
from platform_secrets.offline import runner as offline


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job and return its measurements (and, for ours, the graph's statistics)."""
    if job["kind"] == "floor":
        floor.preload(Path(job["manifest"]))
        root, stack, overrides, secrets = floor.FLOOR_ROOT, floor.FLOOR_STACK, {}, {}
    else:
        root, stack = offline.ROOT, job["stack"]
        overrides, secrets = job["overrides"], job["secrets"]
    before = _peak_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = offline.run(stack, root=root, overrides=overrides, secrets=secrets)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _peak_mb()
    out: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mb": peak - before,
        "rss_mb": peak,
        "error": None if result.error is None else str(result.error),
        "resources": len(result.resources),
        "custom": sum(r.custom for r in result.resources),
        "depth": graph.depth(result.resources),
    }
    if job["kind"] == "ours" and result.error is None:
        services = job["services"]
        counts = graph.per_service(result.resources, services)
        out["per_service_counts"] = sorted(set(counts.values()))
        out["in_services"] = sum(counts.values())
        out["cross_service_edges"] = len(graph.cross_service_edges(result.resources, services))
        if job.get("manifest"):
            floor.write_manifest(Path(job["manifest"]), result.resources)
    if job["kind"] == "floor" and result.error is None:
        out["mismatches"] = floor.mismatches(result.resources)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(args[0]).read_text())
    print(json.dumps(measure(job)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
