"""Set ``rotationEpochs`` and ``rotationOverlaps`` entries in a stack file by editing its text: comments and
every other line stay.

Each edit touches only its ``platform-secrets:<key>`` block (made at the end of ``config`` when the file has
none; removed when its last entry is). Before anything is written, the result is parsed and compared with the
original: the config must be the same except that key, which must be the old entries plus the set ones minus
the removed ones, and every line outside the block must be byte-identical (``secure:`` values included).
Anything else is refused and nothing written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

KEY = "platform-secrets:rotationEpochs"
OVERLAPS = "platform-secrets:rotationOverlaps"
_ITEM = re.compile(r'^    ([A-Za-z0-9_.-]+):\s*"?([A-Za-z0-9._-]+)"?\s*(#.*)?$')
_NAME = re.compile(r"^[a-z][a-z0-9-]*\.[A-Z][A-Z0-9_]*$")
VALUES = {
    KEY: (re.compile(r"^[A-Za-z0-9._-]{1,40}$"), "an epoch"),
    OVERLAPS: (re.compile(r"^[A-Za-z0-9-]{1,64}$"), "a version"),
}
"""Each editable block's value grammar (the settings' own), and its name for the messages."""


class StackEditRefused(ValueError):
    """The edit would change more than the rotation epochs, or the file's shape is not one it can edit."""


def _config(text: str, origin: str) -> dict[str, Any]:
    doc = yaml.safe_load(text) or {}
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise StackEditRefused(f"{origin}: no `config:` mapping")
    return config


def _block(lines: list[str], key: str) -> tuple[int, int] | None:
    """(first, end) line indexes of the ``key`` block, items included; None when the file has none."""
    header = re.compile(rf"^  {re.escape(key)}:\s*(#.*)?$")
    for i, line in enumerate(lines):
        if header.match(line.rstrip("\n")):
            end = i + 1
            while end < len(lines) and lines[end].startswith("    "):
                end += 1
            return i, end
    return None


def _insert_at(lines: list[str], origin: str, key: str) -> int:
    """Where a new block goes: after the last line of the top-level ``config:`` mapping."""
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "config:"), None)
    if start is None:
        raise StackEditRefused(f"{origin}: no top-level `config:` line to add {key} under")
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def bumped(text: str, bump: dict[str, str], origin: str = "stack file") -> str:
    """``text`` with each ``bump`` entry set in ``rotationEpochs``; raises StackEditRefused otherwise."""
    return edited(text, {KEY: (bump, ())}, origin)


def edited(
    text: str,
    changes: dict[str, tuple[dict[str, str], tuple[str, ...]]],
    origin: str = "stack file",
) -> str:
    """``text`` with, for each block key, its ``(set, removed)`` entries applied, one block at a time."""
    for key, (items, removed) in changes.items():
        text = _edit_block(text, key, items, removed, origin)
    return text


def _edit_block(
    text: str, key: str, items: dict[str, str], removed: tuple[str, ...], origin: str
) -> str:
    pattern, what = VALUES[key]
    bad = [f"{k}: {v!r}" for k, v in items.items() if not pattern.match(v)]
    bad += [repr(k) for k in [*items, *removed] if not _NAME.match(k)]
    if bad:
        raise StackEditRefused(f"{origin}: not {what} of an <owner>.<KEY>: {', '.join(bad)}")
    old_entries = _config(text, origin).get(key) or {}
    if not isinstance(old_entries, dict):
        raise StackEditRefused(f"{origin}: {key} is not a mapping")
    removed = tuple(k for k in removed if k in old_entries and k not in items)
    if not items and not removed:
        return text
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    block = _block(lines, key)
    if sum(f"{key}:" in line for line in lines) != (0 if block is None else 1):
        raise StackEditRefused(f"{origin}: {key} is not one block mapping it can edit line by line")
    if block is None:
        at = _insert_at(lines, origin, key)
        first, end, old_items = at, at, []
        header = f"  {key}:\n"
    else:
        first, end = block
        header, old_items = lines[first], lines[first + 1 : end]
    seen: set[str] = set()
    out = []
    for line in old_items:
        match = _ITEM.match(line.rstrip("\n"))
        if match is None:
            if line.strip().startswith("#") or not line.strip():
                out.append(line)
                continue
            raise StackEditRefused(f"{origin}: cannot edit the {key} line {line.strip()!r}")
        name = match.group(1)
        if name in removed:
            continue
        if name in items:
            seen.add(name)
            comment = f"  {match.group(3)}" if match.group(3) else ""
            out.append(f'    {name}: "{items[name]}"{comment}\n')
        else:
            out.append(line)
    out += [f'    {name}: "{items[name]}"\n' for name in sorted(items.keys() - seen)]
    kept = any(_ITEM.match(line.rstrip("\n")) for line in out)
    new_lines = [*lines[:first], *([header, *out] if kept else []), *lines[end:]]
    new = "".join(new_lines)
    want = {k: v for k, v in {**old_entries, **items}.items() if k not in removed}
    _check(text, new, lines[:first] + lines[end:], new_lines, key, want, origin)
    return new


def _check(
    old: str,
    new: str,
    old_rest: list[str],
    new_lines: list[str],
    key: str,
    want: dict[str, str],
    origin: str,
) -> None:
    old_config, new_config = _config(old, origin), _config(new, origin)
    others_old = {k: v for k, v in old_config.items() if k != key}
    others_new = {k: v for k, v in new_config.items() if k != key}
    problems = []
    if others_old != others_new:
        changed = sorted(
            k
            for k in others_old.keys() | others_new.keys()
            if others_old.get(k) != others_new.get(k)
        )
        problems.append(f"the edit would change {', '.join(changed)}")
    if {str(k): str(v) for k, v in (new_config.get(key) or {}).items()} != {
        str(k): str(v) for k, v in want.items()
    }:
        problems.append(f"the edit would not give {key} exactly the old entries plus the set ones")
    block = _block(new_lines, key)
    rest = new_lines if block is None else new_lines[: block[0]] + new_lines[block[1] :]
    if rest != old_rest:
        problems.append(f"a line outside the {key} block would change")
    if problems:
        raise StackEditRefused(f"{origin}: nothing written: " + "; ".join(problems))


def write_bumped(
    path: Path,
    bump: dict[str, str],
    overlaps_set: dict[str, str] | None = None,
    overlaps_ended: tuple[str, ...] = (),
) -> bool:
    """Bump the epochs and start or end overlaps in the stack file at ``path``; True when it changed."""
    old = path.read_text()
    new = edited(old, {KEY: (bump, ()), OVERLAPS: (overlaps_set or {}, overlaps_ended)}, path.name)
    if new == old:
        return False
    path.write_text(new)
    return True
