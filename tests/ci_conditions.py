"""Which jobs of a workflow run, given the ref and each job's outcome: its ``needs`` and ``if:`` as GitHub reads them.

GitHub Actions cannot run here. This reads a workflow's job graph and evaluates each ``if:`` with GitHub's
status functions (a job whose ``if:`` names none is ``success() && <if>``):

- ``success()``: every job it needs, directly or through others, succeeded (a skipped one is not a success);
- ``failure()``: one of them failed;
- ``cancelled()``: the run was cancelled (never, here).

Only the subset of the expression language the workflows use is read: ``&&``, ``||``, ``!``, ``==``, ``!=``,
``'strings'``, ``github.ref``, ``needs.<job>.result`` and ``needs.<job>.outputs.<name>``; anything else fails
the evaluation (``NameError``/``SyntaxError``) rather than being guessed. A job that runs gets the outcome the
scenario gives it (default ``success``) and its outputs; a job that does not run is ``skipped``, its outputs
empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from graphlib import TopologicalSorter
from types import SimpleNamespace
from typing import Any

STATUS = re.compile(r"\b(success|failure|cancelled|always)\(\)")


def _needs(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _python(expression: str) -> str:
    """The expression in Python's syntax (the subset above)."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    text = re.sub(r"needs\.([\w-]+)\.", lambda m: f"needs[{m.group(1)!r}].", text)
    text = text.replace("&&", " and ").replace("||", " or ")
    return re.sub(r"!(?!=)", " not ", text)


def evaluate(
    expression: str, *, ref: str, needs: Mapping[str, Any], status: Mapping[str, bool]
) -> bool:
    """One ``if:`` (with the implicit ``success() &&`` when it names no status function)."""
    if not STATUS.search(expression):
        expression = f"success() && ({expression})"
    names = {
        "github": SimpleNamespace(ref=ref),
        "needs": needs,
        "success": lambda: status["success"],
        "failure": lambda: status["failure"],
        "cancelled": lambda: False,
        "always": lambda: True,
    }
    return bool(eval(_python(expression), {"__builtins__": {}}, names))  # the subset above only


def run(
    jobs: Mapping[str, Mapping[str, Any]],
    *,
    ref: str = "refs/heads/main",
    outcomes: Mapping[str, str] | None = None,
    outputs: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """Each job's result (``success``, ``failure`` or ``skipped``) for a run on ``ref`` where a job that runs
    ends as ``outcomes`` says (default ``success``) and sets ``outputs``."""
    outcomes = outcomes or {}
    outputs = outputs or {}
    graph = {name: _needs(job) for name, job in jobs.items()}
    ancestors: dict[str, set[str]] = {}
    results: dict[str, str] = {}
    for name in TopologicalSorter(graph).static_order():
        ancestors[name] = set(graph[name]).union(*(ancestors[n] for n in graph[name]))
        status = {
            "success": all(results[a] == "success" for a in ancestors[name]),
            "failure": any(results[a] == "failure" for a in ancestors[name]),
        }
        context = {
            need: SimpleNamespace(
                result=results[need],
                outputs=SimpleNamespace(
                    **{
                        key: (
                            outputs.get(need, {}).get(key, "") if results[need] != "skipped" else ""
                        )
                        for key in (jobs[need].get("outputs") or {})
                    }
                ),
            )
            for need in graph[name]
        }
        condition = str(jobs[name].get("if", "success()"))
        runs = evaluate(condition, ref=ref, needs=context, status=status)
        results[name] = outcomes.get(name, "success") if runs else "skipped"
    return results
