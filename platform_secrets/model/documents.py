"""Reading the project's YAML documents (the catalog, ``Pulumi.yaml``, the stack files) strictly.

Plain Python and PyYAML, no Pulumi. Every error names its file: a file that cannot be read, bytes that are
not UTF-8 (with the line), a YAML syntax error (with the line), and every duplicate mapping key (with both
lines). YAML itself lets the last of two equal keys win, which silently drops a catalog's service or turns a
stack's ``environment: prod`` into whatever a later line says; here a duplicate is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (about ten times faster); the constructor is PyYAML's either way."""


class DocumentError(ValueError):
    """A document that cannot be read as intended; the message names the file and every problem found."""


class _UniqueKeyLoader(_BASE):  # type: ignore[misc, valid-type]
    """The safe loader, noting every mapping key that appears twice instead of keeping the last one."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` overrides on purpose
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
            if first != key_node.start_mark.line + 1:
                self.duplicates.append(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                    f"(first at line {first}); YAML would silently keep only the last"
                )
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text; raise ``DocumentError`` naming ``where`` on a syntax error or duplicate keys."""
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DocumentError(f"{where}: not valid YAML{line}: {problem}") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise DocumentError(
            f"{where} has {len(loader.duplicates)} duplicate key(s):\n"
            + "\n".join(f"  - {line}" for line in loader.duplicates)
        )
    return data


def read_text(path: Path) -> str:
    """A UTF-8 file's text; raise ``DocumentError`` naming the file (and the line of a bad byte)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DocumentError(f"{path}: cannot be read: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DocumentError(
            f"{path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at line {line}); save it as UTF-8"
        ) from None


def read_yaml(path: Path) -> Any:
    """Read and parse a YAML file strictly (see the module docstring); every error names ``path``."""
    return parse_yaml(read_text(path), str(path))
