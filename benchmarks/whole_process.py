"""The offline plan as a whole process against the floor as a whole process.

``python -m benchmarks.whole_process [--stack dev] [--cloud aws] [--runs 9] [--json]``

Times ``platform-secrets plan --stack STACK --out DIR`` (start, imports, validation, the run, the artifacts)
against ``python -m benchmarks.floor --manifest FILE`` (start, imports, the same resources registered flat under
the same mock engine, exit), alternating, each in a fresh process. The manifest is recorded from the stack's own
run first, outside the clock. Reports the best and the median wall time of each, their ratio, and each process's
CPU time and peak resident set (``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import floor
from platform_secrets.offline import runner as offline

TARGET_RATIO = 1.3


def timed(command: list[str]) -> dict[str, float]:
    """Wall time, CPU time and peak RSS (MB) of one child process; fails if it fails."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=offline.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-4000:]}")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def compare(stack: str, cloud: str | None, runs: int) -> dict[str, Any]:
    """Alternate the plan command and the floor ``runs`` times each; summarise both."""
    overrides = {"cloud": cloud} if cloud else None
    with tempfile.TemporaryDirectory(prefix="whole-process-") as tmp:
        manifest = Path(tmp) / "manifest.json"
        result = offline.run(stack, overrides=overrides)
        if result.error is not None:
            raise RuntimeError(f"{stack}: {result.error}")
        count = floor.write_manifest(manifest, result.resources)
        plan = [
            sys.executable,
            "-m",
            "platform_secrets.offline.plan",
            "--stack",
            stack,
            "--out",
            f"{tmp}/plan",
        ]
        plan += ["--cloud", cloud] if cloud else []
        floor_command = [sys.executable, "-m", "benchmarks.floor", "--manifest", str(manifest)]
        ours, floors = [], []
        for _ in range(runs):
            ours.append(timed(plan))
            floors.append(timed(floor_command))

    def summary(samples: list[dict[str, float]]) -> dict[str, float]:
        return {
            "best_seconds": round(min(s["seconds"] for s in samples), 3),
            "median_seconds": round(statistics.median(s["seconds"] for s in samples), 3),
            "best_cpu_seconds": round(min(s["cpu_seconds"] for s in samples), 3),
            "peak_mb": round(statistics.median(s["peak_mb"] for s in samples), 1),
        }

    mine, theirs = summary(ours), summary(floors)
    return {
        "stack": stack,
        "cloud": cloud or result.outputs.get("cloud"),
        "runs": runs,
        "resources": len(result.resources),
        "floor_resources": count,
        "plan": mine,
        "floor": theirs,
        "ratio": round(mine["best_seconds"] / theirs["best_seconds"], 3),
        "median_ratio": round(mine["median_seconds"] / theirs["median_seconds"], 3),
    }


def render(data: dict[str, Any]) -> str:
    lines = [
        f"stack {data['stack']} ({data['cloud']}): {data['resources']} resources registered by the plan, "
        f"{data['floor_resources']} by the floor; {data['runs']} runs each, alternating",
        f"{'':<34} {'best s':>7} {'median s':>8} {'cpu s':>6} {'peak MB':>8}",
    ]
    for label, key in (
        ("platform-secrets plan --out DIR", "plan"),
        ("floor (benchmarks.floor)", "floor"),
    ):
        row = data[key]
        lines.append(
            f"{label:<34} {row['best_seconds']:>7.3f} {row['median_seconds']:>8.3f} "
            f"{row['best_cpu_seconds']:>6.2f} {row['peak_mb']:>8.1f}"
        )
    met = "ok" if data["ratio"] <= TARGET_RATIO else "MISSED"
    lines.append(
        f"\n  [{met}] plan/floor as whole processes {data['ratio']:.2f} (best) "
        f"<= {TARGET_RATIO}; median {data['median_ratio']:.2f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.whole_process", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stack", default="dev")
    parser.add_argument(
        "--cloud", help="plan on this cloud (platform_secrets.offline.plan --cloud)"
    )
    parser.add_argument("--runs", type=int, default=9, help="runs of each, alternating")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    data = compare(args.stack, args.cloud, args.runs)
    print(json.dumps(data, indent=2) if args.json else render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
