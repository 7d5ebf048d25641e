"""Set ``rotationEpochs`` entries in a stack file by editing its text: comments and every other line stay.

The edit touches only the ``platform-secrets:rotationEpochs`` block (made at the end of ``config`` when the
file has none). Before anything is written, the result is parsed and compared with the original: the config
must be the same except that key, which must be the old entries plus the bumped ones, and every line outside
the block must be byte-identical (``secure:`` values included). Anything else is refused and nothing written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

KEY = "platform-secrets:rotationEpochs"
_BLOCK = re.compile(rf"^  {re.escape(KEY)}:\s*(#.*)?$")
_ITEM = re.compile(r'^    ([A-Za-z0-9_.-]+):\s*"?([A-Za-z0-9._-]+)"?\s*(#.*)?$')
_EPOCH = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


class StackEditRefused(ValueError):
    """The edit would change more than the rotation epochs, or the file's shape is not one it can edit."""


def _config(text: str, origin: str) -> dict[str, Any]:
    doc = yaml.safe_load(text) or {}
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise StackEditRefused(f"{origin}: no `config:` mapping")
    return config


def _block(lines: list[str]) -> tuple[int, int] | None:
    """(first, end) line indexes of the epochs block, items included; None when the file has none."""
    for i, line in enumerate(lines):
        if _BLOCK.match(line.rstrip("\n")):
            end = i + 1
            while end < len(lines) and lines[end].startswith("    "):
                end += 1
            return i, end
    return None


def _insert_at(lines: list[str], origin: str) -> int:
    """Where a new block goes: after the last line of the top-level ``config:`` mapping."""
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "config:"), None)
    if start is None:
        raise StackEditRefused(f"{origin}: no top-level `config:` line to add {KEY} under")
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def bumped(text: str, bump: dict[str, str], origin: str = "stack file") -> str:
    """``text`` with each ``bump`` entry set in ``rotationEpochs``; raises StackEditRefused otherwise."""
    bad = [f"{k}: {v!r}" for k, v in bump.items() if not _EPOCH.match(v)]
    if bad:
        raise StackEditRefused(f"{origin}: not an epoch: {', '.join(bad)}")
    old_config = _config(text, origin)
    old_epochs = old_config.get(KEY) or {}
    if not isinstance(old_epochs, dict):
        raise StackEditRefused(f"{origin}: {KEY} is not a mapping")
    if not bump:
        return text
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    block = _block(lines)
    if sum(KEY in line for line in lines) != (0 if block is None else 1):
        raise StackEditRefused(f"{origin}: {KEY} is not one block mapping it can edit line by line")
    if block is None:
        at = _insert_at(lines, origin)
        first, end, items = at, at, []
        header = f"  {KEY}:\n"
    else:
        first, end = block
        header, items = lines[first], lines[first + 1 : end]
    seen: set[str] = set()
    out = []
    for line in items:
        match = _ITEM.match(line.rstrip("\n"))
        if match is None:
            if line.strip().startswith("#") or not line.strip():
                out.append(line)
                continue
            raise StackEditRefused(f"{origin}: cannot edit the {KEY} line {line.strip()!r}")
        name = match.group(1)
        if name in bump:
            seen.add(name)
            comment = f"  {match.group(3)}" if match.group(3) else ""
            out.append(f'    {name}: "{bump[name]}"{comment}\n')
        else:
            out.append(line)
    out += [f'    {name}: "{bump[name]}"\n' for name in sorted(bump.keys() - seen)]
    new_lines = [*lines[:first], header, *out, *lines[end:]]
    new = "".join(new_lines)
    _check(text, new, lines[:first] + lines[end:], new_lines, bump, origin)
    return new


def _check(
    old: str,
    new: str,
    old_rest: list[str],
    new_lines: list[str],
    bump: dict[str, str],
    origin: str,
) -> None:
    old_config, new_config = _config(old, origin), _config(new, origin)
    want = {**(old_config.get(KEY) or {}), **bump}
    others_old = {k: v for k, v in old_config.items() if k != KEY}
    others_new = {k: v for k, v in new_config.items() if k != KEY}
    problems = []
    if others_old != others_new:
        changed = sorted(
            k
            for k in others_old.keys() | others_new.keys()
            if others_old.get(k) != others_new.get(k)
        )
        problems.append(f"the edit would change {', '.join(changed)}")
    if {str(k): str(v) for k, v in (new_config.get(KEY) or {}).items()} != want:
        problems.append(
            f"the edit would not give {KEY} exactly the old entries plus the bumped ones"
        )
    block = _block(new_lines)
    rest = new_lines if block is None else new_lines[: block[0]] + new_lines[block[1] :]
    if rest != old_rest:
        problems.append("a line outside the rotationEpochs block would change")
    if problems:
        raise StackEditRefused(f"{origin}: nothing written: " + "; ".join(problems))


def write_bumped(path: Path, bump: dict[str, str]) -> bool:
    """Bump the epochs in the stack file at ``path``; True when the file changed."""
    old = path.read_text()
    new = bumped(old, bump, path.name)
    if new == old:
        return False
    path.write_text(new)
    return True
