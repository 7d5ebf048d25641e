"""The mutation score per module, from mutmut's results in ``mutants/``, against a floor (``make mutation``).

A mutant counts as **killed** when a test failed (or timed out) with it; it counts against the module when it
survived, had no test at all, or left the run suspicious. Mutants listed in the equivalents file
(``tests/mutation-equivalents.txt``: ``<mutant id>  # why it behaves exactly like the original``) are left
out of the total. Exit 1 when a module is under the floor, when an equivalent has no reason, or when a listed
equivalent is not a surviving mutant any more (a stale line hides nothing, but it must go).

Usage: ``python -m platform_secrets.ci.mutation_report [--floor 90] [--equivalents FILE] [--show-survivors]``
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

MUTANTS = Path("mutants")
EQUIVALENTS = Path("tests/mutation-equivalents.txt")
KILLED = frozenset({1, 3, 24, -24, 36, 152, 255})
"""mutmut's exit codes for a detected mutant: a test failed (1, 3) or the run timed out."""
SURVIVED = 0
NOT_RUN = frozenset({34, 37})
"""Skipped, or caught by a type check (not configured here): neither in the total."""


@dataclass
class Score:
    module: str
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    """Mutants no test noticed (survived, no tests, suspicious), minus the equivalents."""
    equivalent: int = 0

    @property
    def total(self) -> int:
        return self.killed + len(self.survived)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def read_equivalents(path: Path) -> tuple[dict[str, str], list[str]]:
    """``{mutant id: why}`` and the problems of the file (a line without a reason, a duplicate)."""
    found: dict[str, str] = {}
    problems: list[str] = []
    if not path.exists():
        return found, problems
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        mutant, _, why = line.partition("#")
        mutant = mutant.strip()
        if not why.strip():
            problems.append(f"{path}:{number}: {mutant} has no reason (`<id>  # why`)")
        if mutant in found:
            problems.append(f"{path}:{number}: {mutant} is listed twice")
        found[mutant] = why.strip()
    return found, problems


def module_of(meta: Path, root: Path) -> str:
    return ".".join(meta.relative_to(root).with_suffix("").with_suffix("").parts)


def scores(root: Path, equivalents: dict[str, str]) -> tuple[list[Score], list[str]]:
    """One score per mutated module, and the equivalents that are not surviving mutants."""
    result = []
    seen: set[str] = set()
    for meta in sorted(root.rglob("*.py.meta")):
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        score = Score(module_of(meta, root))
        for mutant, code in sorted(exit_codes.items()):
            if code in NOT_RUN:
                continue
            if code in KILLED:
                score.killed += 1
            elif mutant in equivalents and code == SURVIVED:
                score.equivalent += 1
                seen.add(mutant)
            else:
                score.survived.append(mutant)
        result.append(score)
    stale = sorted(set(equivalents) - seen)
    return result, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=float, default=90.0, help="least percent killed per module")
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    parser.add_argument("--mutants", type=Path, default=MUTANTS)
    parser.add_argument("--show-survivors", action="store_true", help="list every surviving mutant")
    args = parser.parse_args(argv)

    equivalents, problems = read_equivalents(args.equivalents)
    found, stale = scores(args.mutants, equivalents)
    if not found:
        print(
            f"no mutmut results under {args.mutants}/: run `make mutation` first", file=sys.stderr
        )
        return 1
    print(f"{'module':<32} {'killed':>6} {'survived':>8} {'equivalent':>10} {'score':>7}")
    for s in found:
        flag = "" if s.percent >= args.floor else f"  < {args.floor:g} %"
        line = f"{s.module:<32} {s.killed:>6} {len(s.survived):>8} {s.equivalent:>10} {s.percent:>6.1f}%"
        print(line + flag)
        if args.show_survivors:
            for mutant in s.survived:
                print(f"    survived: {mutant}  (`mutmut show {mutant}`)")
    problems += [f"{args.equivalents}: {m} is not a surviving mutant (stale line)" for m in stale]
    problems += [
        f"{s.module}: {s.percent:.1f} % killed, under {args.floor:g} % (`--show-survivors` lists them)"
        for s in found
        if s.percent < args.floor
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
