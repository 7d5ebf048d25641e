"""A stack's validated model from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``, without the Pulumi engine.

The day-two commands (``platform_secrets.live.env``) need what the program declares for a stack (its settings, entries and
services) but never its secret values: those come from the live store. So the stack file is read the CLI's way
(``platform_secrets.offline.runner.load_config``) and handed to the program's own loader (``platform_secrets.program.stack.load_stack_model``):
one loader, the same validation, the same model. A config-sourced secret the stack file does not hold is
stubbed as present (``platform_secrets.offline.runner.stub_secrets``): whether Pulumi has a value to write does not matter to a
reader of the store, and prod files hold none here.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings

from platform_secrets.model.catalog import Catalog, CatalogError, load_catalog
from platform_secrets.model.stack_model import StackModel
from platform_secrets.offline import runner as offline
from platform_secrets.program.stack import CATALOG_KEY, PROJECT_ROOT, load_stack_model

ROOT = offline.ROOT


class StackFileError(ValueError):
    """The stack file is missing or the stack is invalid; the message names every problem."""


@dataclass(frozen=True)
class Stack:
    """A stack as the program sees it: the validated model and the catalog it was built from."""

    name: str
    model: StackModel
    catalog: Catalog


def load(stack: str, root: Path = ROOT, overrides: dict[str, Any] | None = None) -> Stack:
    """The validated model of ``stack`` and its catalog; raises ``StackFileError`` naming every problem.

    ``overrides`` sets plain values as ``pulumi config set`` would (e.g. ``{"cloud": "gcp"}``).
    """
    try:
        project, config, secret_keys = offline.load_config(
            stack,
            root,
            overrides,
            secrets=offline.stub_secrets(stack, overrides, root=root),
        )
    except offline.StackConfigError as error:
        raise StackFileError(str(error)) from None
    runtime_settings._set_project(project)
    runtime_settings._set_stack(stack)
    pulumi.runtime.set_all_config(config, secret_keys)
    # The loader's warnings speak of `pulumi up` (a config value to set, a rotation due); they say nothing
    # about the live store, so they are dropped here rather than shown to someone pulling a .env.
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            model = load_stack_model()
        except pulumi.RunError as error:
            raise StackFileError(str(error)) from None
    try:
        catalog = load_catalog(
            PROJECT_ROOT / config.get(f"{project}:{CATALOG_KEY}", "catalog.yaml")
        )
    except CatalogError as error:  # the loader read it a moment ago; only a race gets here
        raise StackFileError(str(error)) from None
    return Stack(stack, model, catalog)
