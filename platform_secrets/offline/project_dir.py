"""``platform_secrets.offline.plan --project-dir DIR``: another checkout's project files, read as data by this checkout's code.

CI computes a pull request's access diff with the base branch's tools (issue 16, item 10): the head's
``Pulumi.yaml``, stack file and catalog are read from its checkout; nothing of the head is imported or run. The
catalog path the head's project names must stay inside its directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from platform_secrets.offline import runner as offline

ORIGIN = "--project-dir"


class ProjectDirError(ValueError):
    """A project directory that cannot be planned as data."""


def data_root(
    directory: Path | None, stack: str, overrides: dict[str, Any], origins: dict[str, str]
) -> Path | None:
    """The directory to read the config from, with ``overrides['catalog']`` pointed at its catalog.

    Returns None (this checkout's own files) when no directory is given. The program reads the catalog from
    the ``catalog`` config key, resolved against its own checkout; an absolute path keeps it on the data.
    """
    if directory is None:
        return None
    root = _project_root(directory)
    project, config, _ = offline.load_config(stack, root, overrides)
    key = f"{project}:catalog"
    named = str(overrides.get("catalog") or config.get(key) or "catalog.yaml")
    overrides["catalog"] = _catalog_inside(root, named, directory)
    origins.setdefault("catalog", ORIGIN)
    return root


def environment_root(directory: Path, overrides: dict[str, Any]) -> Path:
    """``plan --environment ENV --project-dir DIR``: DIR's environment files, stack files and catalog, as data.

    ``overrides['catalog']`` is pointed at DIR's catalog (the program reads the environment file beside it), which
    must lie inside DIR.
    """
    root = _project_root(directory)
    overrides["catalog"] = _catalog_inside(
        root, str(overrides.get("catalog") or "catalog.yaml"), directory
    )
    return root


def _project_root(directory: Path) -> Path:
    root = directory.resolve()
    if not (root / "Pulumi.yaml").is_file():
        raise ProjectDirError(f"{directory}: no Pulumi.yaml, not a project directory")
    return root


def _catalog_inside(root: Path, named: str, directory: Path) -> str:
    """The absolute path of the catalog ``named`` in ``root``; refused when it resolves outside it."""
    catalog = (root / named).resolve()
    if not catalog.is_relative_to(root):
        raise ProjectDirError(
            f"{directory}: the catalog `{named}` lies outside the project directory"
        )
    return str(catalog)
