"""The engine-free run: ``__main__.py`` for one stack under Pulumi's mock engine, every registration recorded.

One harness, used by the plan command, the tests and the benchmark. It loads ``Pulumi.yaml`` and
``Pulumi.<stack>.yaml`` the way the CLI does (project-namespaced keys, project-level defaults, structured values
as JSON, ``secure:`` values present and secret without being decrypted), returns realistic ids and ARNs from the
mocks, and records each registration's inputs, dependencies and options.

It is not ``pulumi preview``: it diffs against no state and asks no provider.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from platform_secrets.offline.config import (
    ROOT,
    SECURE_PLACEHOLDER,
    StackConfigError,
    load_config,
    stacks,
    stub_secrets,
)
from platform_secrets.offline.mocks import RealisticMocks, RecordingMonitor
from platform_secrets.offline.registered import SECRET, UNKNOWN, Registered, RunResult

ORGANIZATION = "organization"
"""The organization the mock engine runs in (``pulumi.get_organization()``; the DIY backends' name too)."""

__all__ = [
    "ORGANIZATION",
    "ROOT",
    "SECRET",
    "SECURE_PLACEHOLDER",
    "UNKNOWN",
    "Registered",
    "RunResult",
    "StackConfigError",
    "load_config",
    "redact",
    "run",
    "stacks",
    "stub_secrets",
]


class _CaptureHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def run(
    stack: str,
    *,
    preview: bool = False,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    raise_errors: bool = False,
    override_origins: Mapping[str, str] | None = None,
    secrets_origin: str = "the runner's secrets",
    config_root: Path | None = None,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> RunResult:
    """Run ``__main__.py`` of ``root`` for ``stack`` under the mock engine and return what it registered.

    ``config_root``: read ``Pulumi.yaml`` and the stack file from there instead (data only: the code run is
    ``root``'s), e.g. a pull request's files planned by the base branch's code.

    ``stack_references``: qualified stack name (``organization/<project>/<stack>``) -> the outputs a
    ``pulumi.StackReference`` to it reads (a shard's foundation, planned first); any other target raises.

    The program is told where each config value came from (``override_origins``: a label per override key,
    ``--config`` by default; ``secrets_origin`` for ``secrets``), so that its messages blame the right input.
    """
    # The program's own loader, imported with the program rather than with this module.
    from platform_secrets.program.stack import config_origins

    origins: dict[str, str] = {}
    project, config, secret_keys = load_config(
        stack,
        config_root or root,
        overrides,
        secrets,
        origins=origins,
        override_origins=override_origins,
        secrets_origin=secrets_origin,
    )
    mocks = RealisticMocks(stack_references)
    monitor = RecordingMonitor(mocks)
    logger = logging.getLogger(f"platform-secrets.offline.{stack}")
    captured = _CaptureHandler()
    logger.addHandler(captured)
    logger.propagate = False
    # Each run its own root Stack: ``set_mocks`` keeps an existing one, so a second run in the same process
    # would parent its top-level resources to the first stack's root and collect its exports too.
    pulumi.runtime.settings.ROOT.set(None)
    _ensure_event_loop()  # the new root Stack registers through the thread's loop
    pulumi.runtime.set_mocks(
        mocks,
        project=project,
        stack=stack,
        preview=preview,
        monitor=monitor,
        logger=logger,
        organization=ORGANIZATION,
    )
    pulumi.runtime.set_all_config(config, secret_keys)
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()
    error: Exception | None = None

    @pulumi.runtime.test
    def program() -> Any:
        sys.path.insert(0, str(root))
        try:
            with config_origins(origins):
                runpy.run_path(str(root / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(root))
        stack_outputs = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]

        async def collect() -> None:
            # After every registration: each export's value, and whether Pulumi would store it secret.
            for name, value in stack_outputs.items():
                resolved, known, secret = await _resolve(value)
                outputs[name] = resolved if known else None
                if secret:
                    secret_outputs.add(name)

        return collect()

    # A run only allocates: every registration leaves objects that live until it ends. CPython's cyclic
    # collector would rescan that growing heap again and again, a cost that grows faster than the catalog
    # (measured: a third of a run's time, the SDK floor's included, and part of why time grew more than
    # tenfold from 100 to 1000 services). It is paused for the run and restored after; reference counting
    # still frees everything acyclic, and the cycles a run leaves are collected once it returns.
    collecting = gc.isenabled()
    gc.disable()
    try:
        program()
    except Exception as exc:  # the program's own error, e.g. a RunError naming every problem
        if raise_errors:
            raise
        error = exc
    finally:
        logger.removeHandler(captured)
        if collecting:
            gc.enable()
    return RunResult(
        stack=stack,
        preview=preview,
        resources=list(monitor.registered),
        outputs=outputs,
        secret_outputs=secret_outputs,
        error=error,
        warnings=captured.messages,
    )


# --- redaction for artifacts ---


def redact(value: Any) -> Any:
    """Inputs with secrets replaced by ``[secret]`` and unknowns by ``[unknown]``; nothing else changes."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


async def _resolve(value: Any) -> tuple[Any, bool, bool]:
    """(plain value, whether every part is known, whether any part is secret) of an export.

    What ``Output.from_input(value)`` would give, without wrapping every nested dict and list of a large
    export in new Outputs (which made collecting the exports a visible part of a run).
    """
    if isinstance(value, pulumi.Output):
        inner, known, secret = await _resolve(await value.future(with_unknowns=True))
        return inner, known and await value.is_known(), secret or await value.is_secret()
    if isinstance(value, dict):
        parts = {key: await _resolve(item) for key, item in value.items()}
        return (
            {key: part[0] for key, part in parts.items()},
            all(part[1] for part in parts.values()),
            any(part[2] for part in parts.values()),
        )
    if isinstance(value, (list, tuple)):
        items = [await _resolve(item) for item in value]
        return [i[0] for i in items], all(i[1] for i in items), any(i[2] for i in items)
    if inspect.isawaitable(value):
        return await _resolve(await value)
    return value, True, False


def _ensure_event_loop() -> None:
    """A usable event loop for this thread: a run before this one (or ``asyncio.run`` anywhere in the process)
    may have closed or unset it, and the SDK registers the root Stack through ``get_event_loop()``."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())
