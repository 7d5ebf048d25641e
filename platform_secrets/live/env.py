"""A service's local ``.env`` (or per-key files) from a stack's store, and pushing an ``external`` value.

``platform-secrets env pull --stack dev --service backend`` writes ``backend/.env`` (the catalog's ``path``,
under ``--root``) with the service's secrets from the stack's store and its plain settings from the stack, in
the order of its ``.env.example``, as the caller (the store library's default credentials; a Vault token from
``VAULT_TOKEN`` or ``~/.vault-token``). ``--format files --out DIR`` writes one file per key instead (Docker's file
secrets, Compose's ``secrets: file:``); ``env check`` only reports. A non-workload service whose ``path`` names a
file (the Linear key's ``.env.linear``) gets its one value alone on one line, after its format is checked.

``platform-secrets env push --stack dev --service linear-integration --key LINEAR_API_KEY --from-file F``
(or the value on standard input) writes a new version of an ``external`` secret after checking the catalog's
format for it.

The store is the stack's (``platform_secrets.live.endpoints``): ``--endpoint URL`` picks another address (https only in prod);
``VAULT_ADDR`` or ``AWS_ENDPOINT_URL`` pointing elsewhere is refused, never followed.

What it guarantees: no value is ever printed (each key is reported ``set``, ``missing``, ``empty`` or
``invalid``); files are created mode 0600 (never widened, never chmod-ed after); a path git does not ignore is
refused; a prod stack is refused without ``--allow-prod``; nothing is written unless every check passed, and a
required key that is missing, or a refusal, makes it exit 1; a store that fails, 2.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from platform_secrets.exit_codes import COULD_NOT_RUN, FINDINGS, OK
from platform_secrets.generate.envexample import keys_of, local_path
from platform_secrets.live import endpoints
from platform_secrets.live.clients import StoreClient, StoreError, client_for, quiet_libraries
from platform_secrets.model.catalog import Environment, ServiceSpec, Source
from platform_secrets.model.stack_model import Entry, Service
from platform_secrets.model.values import format_problem
from platform_secrets.offline import stackfile

ROOT = stackfile.ROOT
FILE_MODE = 0o600
DIR_MODE = 0o700
_BARE = re.compile(r"[A-Za-z0-9_./:@%+,=~-]*")
"""Characters a .env value may hold unquoted in every dotenv dialect (dotenv, python-dotenv, direnv)."""


class Refused(Exception):
    """The command refuses to go on; the message says why (and never holds a value)."""


@dataclass
class Item:
    """One key of a service's file and what the stack has for it."""

    key: str
    kind: str
    """``secret`` or ``setting``."""
    required: bool
    value: str | None
    problem: str | None = None
    """Why the value breaks the catalog's format for it (a sentence that never quotes it)."""

    @property
    def status(self) -> str:
        if self.value is None:
            return "missing"
        if self.problem:
            return "invalid"
        return "empty" if self.value == "" else "set"


# --- what the stack has for a service ---


def _service(stack: stackfile.Stack, name: str) -> tuple[Service, ServiceSpec]:
    for service in stack.model.services:
        if service.name == name:
            return service, stack.catalog.services[name]
    names = ", ".join(s.name for s in stack.model.services)
    raise Refused(f"no service {name!r} in the catalog (services: {names})")


def collect(stack: stackfile.Stack, name: str, store: StoreClient) -> list[Item]:
    """Every key of the service, in ``.env.example`` order: secrets read from the store, settings from the stack."""
    service, spec = _service(stack, name)
    env = stack.model.settings.environment
    entries = {entry.id: entry for entry in stack.model.entries}
    secrets = {key: entries[entry_id] for key, entry_id in service.env}
    settings = dict(service.settings)
    items = []
    for key in keys_of(spec):
        if key in secrets:
            entry = secrets[key]
            value = store.read(entry)
            problem = format_problem(entry.spec, value) if value else None
            items.append(Item(key, "secret", entry.spec.must_hold_value(env), value, problem))
        else:
            required = env in spec.settings[key].required_in
            items.append(Item(key, "setting", required, settings.get(key)))
    return items


# --- rendering ---


def env_line(key: str, value: str) -> str:
    """``KEY=value``, quoted where a dotenv parser would otherwise change it; refuses what it cannot hold."""
    if _BARE.fullmatch(value):
        return f"{key}={value}"
    if "\n" in value or "\r" in value:
        raise Refused(
            f"{key}: its value has a line break, which a .env line cannot hold; use --format files"
        )
    if "'" not in value:
        return f"{key}='{value}'"
    if not set(value) & set('"\\$`'):
        return f'{key}="{value}"'
    raise Refused(
        f"{key}: its value mixes quotes a .env line cannot hold as is; use --format files"
    )


def render_env(service: str, stack: str, items: list[Item]) -> str:
    lines = [
        f"# {service}: from the {stack} stack by `platform-secrets env pull`; never commit this file.",
    ]
    for item in items:
        if item.value is None:
            lines.append(f"# {item.key}= (missing in the {stack} stack)")
        else:
            lines.append(env_line(item.key, item.value))
    return "\n".join(lines) + "\n"


# --- files: private, atomic, only where git ignores them ---


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a new file created 0600, then rename it over ``path``.

    The new file is created with ``os.open(..., O_EXCL, 0o600)``: it never exists with a wider mode, an
    existing file's mode is not inherited, and a symlink at ``path`` is replaced, never followed.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def git_ignores(path: Path) -> bool:
    """Whether git ignores ``path`` (``git check-ignore``); refuses where git cannot tell."""
    anchor = path.parent
    while not anchor.is_dir():
        anchor = anchor.parent
    result = subprocess.run(
        ["git", "-C", str(anchor), "check-ignore", "-q", "--", str(path.absolute())],
        capture_output=True,
        text=True,
    )
    if result.returncode in (0, 1):
        return result.returncode == 0
    raise Refused(f"{path}: git cannot tell whether it is ignored ({result.stderr.strip()})")


def _require_ignored(paths: list[Path]) -> None:
    exposed = [str(path) for path in paths if not git_ignores(path)]
    if exposed:
        raise Refused(
            "git does not ignore " + ", ".join(exposed) + ": a secret there could be committed; "
            "add it to .gitignore (or pick an ignored path)"
        )


# --- commands ---


def _stack(name: str, allow_prod: bool) -> stackfile.Stack:
    try:
        stack = stackfile.load(name)
    except stackfile.StackFileError as error:
        raise Refused(str(error)) from None
    if stack.model.settings.environment is Environment.PROD and not allow_prod:
        raise Refused(
            f"stack {name!r} is a prod environment: its values stay out of local files unless you "
            "pass --allow-prod"
        )
    return stack


def _store(stack: stackfile.Stack, endpoint_flag: str | None) -> StoreClient:
    """The stack's store client, at the stack's address or ``--endpoint``; never where a variable points."""
    try:
        endpoint = endpoints.endpoint_for(stack.model, endpoint_flag)
    except endpoints.EndpointRefused as error:
        raise Refused(str(error)) from None
    return client_for(stack.model, endpoint)


def _report(items: list[Item]) -> None:
    width = max((len(item.key) for item in items), default=0)
    for item in items:
        note = " (required)" if item.required and item.status == "missing" else ""
        note += f": {item.problem}" if item.problem else ""
        print(f"  {item.key.ljust(width)}  {item.status}{note}")


def pull(
    stack_name: str,
    service_name: str,
    *,
    root: Path = ROOT,
    files_dir: Path | None = None,
    check: bool = False,
    allow_prod: bool = False,
    endpoint: str | None = None,
) -> int:
    """``platform-secrets env pull`` (``check``: ``env check``): the service's ``.env`` under ``root``, or
    one file per key in ``files_dir``; raises ``Refused`` or ``StoreError`` (``run`` maps them to codes)."""
    stack = _stack(stack_name, allow_prod)
    service, spec = _service(stack, service_name)
    value_file = not spec.workload and len(spec.secrets) == 1 and not spec.settings
    if files_dir is not None:
        targets = [files_dir / key for key in keys_of(spec)]
        where = f"{files_dir}/<KEY>"
    else:
        targets = [root / local_path(service.name, spec)]
        where = str(targets[0])
        if not check and not targets[0].parent.is_dir():
            raise Refused(f"{targets[0].parent} does not exist: is --root the repository's root?")
    if not check:
        _require_ignored(targets)

    store = _store(stack, endpoint)
    items = collect(stack, service.name, store)
    print(f"{service.name}: {stack.name} stack, {store.store} -> {where}")
    _report(items)
    failed = [i.key for i in items if i.problem or (i.required and i.value is None)]
    if value_file and items[0].value is None:
        failed.append(items[0].key)
    if failed:
        print(f"not written: {', '.join(failed)} missing or invalid", file=sys.stderr)
        return FINDINGS
    if check:
        return OK
    if files_dir is not None:
        os.makedirs(files_dir, mode=DIR_MODE, exist_ok=True)
        for item, target in zip(items, targets, strict=True):
            if item.value is None:
                target.unlink(missing_ok=True)  # a value gone from the store leaves no stale file
            else:
                write_private(target, item.value)
    elif value_file:
        value = items[0].value or ""
        if "\n" in value:
            raise Refused(f"{items[0].key}: a value file holds one line")
        write_private(targets[0], value + "\n")
    else:
        write_private(targets[0], render_env(service.name, stack.name, items))
    print(f"wrote {where} (mode 0600)")
    return OK


def _read_value(source: Path | None) -> str:
    if source:
        text = source.read_text(encoding="utf-8")
    elif sys.stdin.isatty():
        text = getpass.getpass("value (not echoed): ")
    else:
        text = sys.stdin.read()
    return text.removesuffix("\n").removesuffix("\r")


def push(
    stack_name: str,
    service_name: str,
    key: str,
    *,
    from_file: Path | None = None,
    allow_prod: bool = False,
    endpoint: str | None = None,
) -> int:
    """``platform-secrets env push``: a new version of the external secret ``key`` of a service."""
    stack = _stack(stack_name, allow_prod)
    service, _ = _service(stack, service_name)
    entry_ids = dict(service.env)
    if key not in entry_ids:
        raise Refused(f"{service.name} has no secret {key!r} (its secrets: {', '.join(entry_ids)})")
    entry: Entry = next(e for e in stack.model.entries if e.id == entry_ids[key])
    if entry.source is not Source.EXTERNAL:
        raise Refused(
            f"{entry.config_key} is {entry.source.value}: Pulumi owns its value; only external secrets "
            "are pushed"
        )
    value = _read_value(from_file)
    if not value:
        raise Refused(f"{key}: the value is empty")
    if "\n" in value or "\r" in value:
        raise Refused(f"{key}: the value has a line break; a secret is one line")
    problem = format_problem(entry.spec, value)
    if problem:
        raise Refused(f"{key}: refused, {problem}")
    store = _store(stack, endpoint)
    store.write(entry, value)
    print(f"{key}: pushed a new version of {store.name(entry)} ({store.store}, {stack.name} stack)")
    return OK


def run(command: Callable[[], int]) -> int:
    """Run ``pull`` or ``push``: a refusal exits ``FINDINGS`` (1), a store that failed ``COULD_NOT_RUN`` (2)."""
    quiet_libraries()
    try:
        return command()
    except Refused as error:
        print(f"refused: {error}", file=sys.stderr)
        return FINDINGS
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return COULD_NOT_RUN
