"""What a stack is, read from its files, never from its name: its typed environment, its role, its GitHub environment.

``python -m platform_secrets.ci.stack_info STACK [--github-environment E --command C --ref R --event V]`` prints
``{"environment", "role", "github_environment", "environment_file"}`` (one JSON line) and, given the run's
facts, refuses (exit 1) a run they do not fit. It needs pydantic and PyYAML only (the runtime lock), so the
credentialed job (``pulumi-stack.yml``) runs it after its checkout. ``environment`` is the typed setting
``platform-secrets:environment`` (dev, staging, prod) from the stack file or, for a stack that joins an
environment file, that file's ``config:``: a shard ``prod-a`` (or ``eu-a``) of a prod environment is prod,
whatever its name says. ``role`` is ``one-stack``, ``foundation`` or ``shard``; ``github_environment`` is the
stack's own (one GitHub environment per stack: its variables, its protection rules, its Pulumi team).
Exit 0 fine, 1 refused (an unknown stack, a run that does not fit), 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from platform_secrets.model.catalog import Environment
from platform_secrets.model.documents import DocumentError, read_yaml
from platform_secrets.model.shards import STACK_NAME, LayoutError, read_layout

NS = "platform-secrets:"
Role = Literal["one-stack", "foundation", "shard"]
MAIN = "refs/heads/main"


class Refused(ValueError):
    """The stack is unknown or its files do not say what it is; or the run does not fit it."""


@dataclass(frozen=True)
class StackInfo:
    environment: str
    role: Role
    github_environment: str
    environment_file: str | None


def _config(path: Path, origin: str) -> dict[str, Any]:
    try:
        data = read_yaml(path) or {}
    except DocumentError as error:
        raise Refused(f"{origin}: {error}") from None
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def stack_info(stack: str, root: Path) -> StackInfo:
    """The stack's facts from ``Pulumi.<stack>.yaml`` and its environment file; ``Refused`` naming why."""
    if not re.fullmatch(STACK_NAME, stack):
        raise Refused(f"{stack!r} is not a stack name")
    stack_file = f"Pulumi.{stack}.yaml"
    if not (root / stack_file).is_file():
        raise Refused(f"unknown stack {stack}: no {stack_file}")
    config = _config(root / stack_file, stack_file)
    env_file = config.get(f"{NS}environmentFile")
    raw_environment = config.get(f"{NS}environment")
    source = stack_file
    role: Role = "one-stack"
    if env_file is not None:
        if not isinstance(env_file, str) or not re.fullmatch(
            r"environments/[A-Za-z0-9][A-Za-z0-9._-]*\.yaml", env_file
        ):
            raise Refused(
                f"{stack_file}: environmentFile {env_file!r} is not environments/<env>.yaml"
            )
        path = root / env_file
        if not path.is_file():
            raise Refused(f"{stack_file}: environmentFile {env_file} not found")
        try:
            layout = read_layout(path, env_file)
        except LayoutError as error:
            raise Refused(str(error)) from None
        if stack == layout.foundation:
            role = "foundation"
        elif stack in layout.stacks:
            role = "shard"
        else:
            raise Refused(
                f"stack {stack} is not in {env_file} (its stacks: {', '.join(layout.all_stacks())})"
            )
        shared = _config(path, env_file).get("environment")
        if shared is not None:
            if raw_environment is not None:
                raise Refused(
                    f"environment: set in both {stack_file} and {env_file}; write it once"
                )
            raw_environment, source = shared, env_file
    else:
        named_by = _environment_files_naming(stack, root)
        if named_by:
            raise Refused(
                f"stack {stack} is in {', '.join(named_by)} but {stack_file} does not join it "
                f"({NS}environmentFile): as one stack it would hold every service"
            )
    try:
        environment = Environment(raw_environment)
    except ValueError:
        raise Refused(
            f"stack {stack}: {source} sets no valid environment ({raw_environment!r}; "
            f"one of {', '.join(e.value for e in Environment)})"
        ) from None
    return StackInfo(environment.value, role, stack, env_file)


def _environment_files_naming(stack: str, root: Path) -> list[str]:
    found = []
    for path in sorted((root / "environments").glob("*.yaml")):
        try:
            layout = read_layout(path, f"environments/{path.name}")
        except LayoutError:
            continue
        if stack in layout.all_stacks():
            found.append(f"environments/{path.name}")
    return found


def run_problems(
    info: StackInfo, stack: str, github_environment: str, command: str, ref: str, event: str
) -> list[str]:
    """Why this run of the stack is refused: each reason a sentence (empty: it may run)."""
    problems = []
    allowed = [info.github_environment] + (
        [f"preview-{info.github_environment}"] * (command == "preview")
    )
    if github_environment not in allowed:
        problems.append(
            f"{command} of {stack} under GitHub environment {github_environment!r}: its own is "
            f"{' or '.join(repr(a) for a in allowed)} (one environment per stack: its role, its team, its rules)"
        )
    if info.environment == Environment.PROD.value and (
        ref != MAIN or event.startswith("pull_request")
    ):
        problems.append(
            f"{stack} is a {info.role} of a prod environment (from {info.environment_file or f'Pulumi.{stack}.yaml'}): "
            f"{command} refused on {ref} ({event}); prod runs reviewed code from main only"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_secrets.ci.stack_info")
    parser.add_argument("stack")
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="default: the current directory"
    )
    parser.add_argument(
        "--github-environment", help="the run's GitHub environment, to check it fits"
    )
    parser.add_argument("--command", choices=["preview", "up"], default="preview")
    parser.add_argument("--ref", default="", help="the run's ref ($GITHUB_REF)")
    parser.add_argument("--event", default="", help="the run's event ($GITHUB_EVENT_NAME)")
    args = parser.parse_args(argv)
    try:
        info = stack_info(args.stack, args.project_dir)
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(info), sort_keys=True))
    if args.github_environment is None:
        return 0
    problems = run_problems(
        info, args.stack, args.github_environment, args.command, args.ref, args.event
    )
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
