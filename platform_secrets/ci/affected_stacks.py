"""The shards a pull request touches: those whose planned resources differ between the base and the head.

Pure. The base and the head are environment plans (``DIR/<stack>/resources.json``, ``platform-secrets plan
--environment ENV --out DIR``). A plan cannot see everything that changes a deploy, so some changed paths affect
every stack: the project file, the dependency locks (provider pins), the policy pack, and the program's own code
(CI plans the head's files with the base's code, so a code change of the head shows in no plan). A stack file
changed affects its stack (a secret's ciphertext changes nothing in ``resources.json``). A shard new in the head
is affected; a shard the head no longer has is not listed (there is nothing of it to preview).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

EVERY_STACK = (
    "Pulumi.yaml",
    "requirements*",
    "policy/*",
    "__main__.py",
    "platform_secrets/*",
)
"""Changed paths (``fnmatch``, ``*`` crossing ``/``) that affect every stack of the environment."""


@dataclass(frozen=True)
class Affected:
    stacks: tuple[str, ...]
    reasons: dict[str, str]
    """Stack -> why it is affected (shown in the job summary)."""


def every_stack_reason(changed: Iterable[str]) -> str | None:
    """The first changed path that affects every stack, as a reason; None if none does."""
    for raw in changed:
        path = str(PurePosixPath(raw.strip()))
        if path and any(fnmatch(path, pattern) for pattern in EVERY_STACK):
            return f"{path} changed (affects every stack)"
    return None


def _records(folder: Path, stack: str) -> Any:
    path = folder / stack / "resources.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def affected(
    shards: Sequence[str], base: Path, head: Path, changed: Iterable[str] = ()
) -> Affected:
    """The shards (of the head's layout) to preview, sorted, each with its reason."""
    changed = [c.strip() for c in changed if c.strip()]
    everything = every_stack_reason(changed)
    reasons: dict[str, str] = {}
    for stack in sorted(shards):
        if everything:
            reasons[stack] = everything
            continue
        before, after = _records(base, stack), _records(head, stack)
        if after is None:
            raise FileNotFoundError(f"{head}/{stack}/resources.json: the head's plan lacks {stack}")
        if before is None:
            reasons[stack] = "new in the head"
        elif before != after:
            reasons[stack] = "its planned resources differ"
        elif f"Pulumi.{stack}.yaml" in changed:
            reasons[stack] = f"Pulumi.{stack}.yaml changed"
    return Affected(tuple(reasons), reasons)
