"""A stack joining its environment file (``platform-secrets:environmentFile: environments/<env>.yaml``).

Pure (files read, no Pulumi). The file's ``config:`` is merged into the stack's settings: a key set in both the
stack file and the environment file is an error, not an override (an override of the run, ``--config`` or
``--cloud``, still wins, as it wins over the stack file). The stack must be the file's foundation or one of its
shards, and the file's problems against the catalog are the stack's: every one named before anything registers.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from platform_secrets.model.catalog import Catalog
from platform_secrets.model.settings import SETTINGS_KEYS
from platform_secrets.model.shards import (
    LayoutError,
    StackRole,
    config_problems,
    layout_problems,
    read_layout,
    role_of,
)


def join(
    stack: str,
    raw: MutableMapping[str, Any],
    origins: MutableMapping[str, str],
    catalog: Catalog | None,
    root: Path,
    environment_file: str,
) -> tuple[StackRole | None, list[str]]:
    """Merge the environment's shared config into ``raw`` (and ``origins``); the stack's role and problems.

    ``origins`` names where each of the stack's keys came from: a key whose origin is the stack file (or
    unknown, as under the CLI) and which the environment file also sets is a conflict.
    """
    stack_file = f"Pulumi.{stack}.yaml"
    path = root / environment_file
    if not path.is_file():
        return None, [
            f"environmentFile: {environment_file} not found (in {origins.get('environmentFile', stack_file)})"
        ]
    try:
        layout = read_layout(path, environment_file)
    except LayoutError as error:
        return None, error.problems
    problems = []
    for key, value in layout.config.items():
        if key not in SETTINGS_KEYS or key == "environmentFile":
            continue  # named by layout_problems (config_problems)
        if key in raw:
            where = origins.get(key, stack_file)
            if where == stack_file:
                problems.append(
                    f"{key}: set in both {stack_file} and {environment_file}; a shared setting is "
                    f"written once: remove it from one (the environment file's is not overridden)"
                )
            continue  # a run's override wins, as over the stack file
        raw[key] = value
        origins[key] = environment_file
    if catalog is not None:
        problems += layout_problems(layout, catalog, origin=environment_file, stacks=[stack])
    else:
        problems += config_problems(layout, environment_file)
    role = role_of(layout, stack, environment_file)
    return role, problems
