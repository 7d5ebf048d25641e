"""Audit a live environment against what the program declares: ``platform-secrets audit --stack prod``.

Read-only, with the caller's credentials (AWS: boto3's default chain; GCP: application default credentials;
Azure: DefaultAzureCredential; Vault: ``VAULT_ADDR`` and ``VAULT_TOKEN``). For the stack's store it checks that each
declared entry exists and holds a current value, the value's age against its rotation period, who can read each
entry according to the live policies (derived by ``platform_secrets.access.matrix``, as the plan's ``access.json`` is) against the
declared readers, entries under the stack's prefix that no catalog entry declares, and the protection the stack
declares. It never reads a value (``platform_secrets/live/readers/``).

Prints a table and the findings (each with what to do and its section of ``runbooks/audit-findings.md``),
prints the report as JSON instead with ``--json``, writes it as JSON with ``--out FILE``, and exits 1 when any finding is high (an undeclared reader, a missing
or empty required entry in prod, a prod value overdue for rotation, prod protection gone), 2 when it could not
audit, 0 otherwise.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from platform_secrets.audit import live_view as audit_live
from platform_secrets.audit.checks import HIGH, RUNBOOK, Finding, LiveView, findings, rows
from platform_secrets.audit.declared import AuditInputError, Declared, declare
from platform_secrets.audit.environment import declare_environment
from platform_secrets.exit_codes import COULD_NOT_RUN, FINDINGS, OK
from platform_secrets.live.endpoints import EndpointRefused
from platform_secrets.live.readers import ValueReadRefused
from platform_secrets.model.settings import Cloud
from platform_secrets.progress import Status, silent

VIEWS: dict[str, Callable[..., LiveView]] = {
    "aws": audit_live.aws_view,
    "gcp": audit_live.gcp_view,
    "azure": audit_live.azure_view,
    "vault": audit_live.vault_view,
}
"""The store of each cloud setting -> its live view."""


def audit(
    declared: Declared, as_of: date, reader: Any = None, endpoint: str | None = None
) -> dict[str, Any]:
    """The audit report of one stack: entries, findings and a summary (what ``--json`` writes)."""
    view = VIEWS.get(declared.cloud)
    if view is None:
        raise AuditInputError(f"no audit reader for the {declared.cloud} store yet")
    live = view(declared, reader) if reader is not None else view(declared, endpoint=endpoint)
    found = findings(declared, live, as_of)
    counts = Counter(f.severity for f in found)
    return {
        "stack": declared.stack,
        "environment": declared.environment,
        "store": declared.cloud,
        "scope": live.scope,
        "as_of": as_of.isoformat(),
        "entries": rows(declared, live, as_of),
        "findings": [f.as_dict() for f in found],
        "summary": {sev: counts.get(sev, 0) for sev in ("high", "medium", "low")},
        "notes": list(live.notes),
        "runbook": RUNBOOK,
    }


def _short(label: str) -> str:
    """A role ARN as its name; anything else as is."""
    return label.rsplit("/", 1)[-1] if label.startswith("arn:") and "/" in label else label


def render(report: dict[str, Any]) -> str:
    entries = report["entries"]
    lines = [
        f"audit of stack {report['stack']} ({report['environment']}, {report['store']}) under "
        f"{report['scope']} as of {report['as_of']}: {sum(e['declared'] for e in entries)} entries "
        f"declared, {sum(e['status'] not in ('missing',) for e in entries)} in the store",
        "",
    ]
    width = max([len(e["entry"]) for e in entries] + [5])
    lines.append(f"  {'ENTRY':<{width}}  {'STATUS':<8} {'AGE':>5} {'ROTATE':>6}  READERS")
    for e in entries:
        age = "-" if e["age_days"] is None else f"{e['age_days']}d"
        period = "-" if e["rotation_days"] is None else f"{e['rotation_days']}d"
        readers = ", ".join(sorted(_short(r) for r in e["readers"])) or "-"
        lines.append(f"  {e['entry']:<{width}}  {e['status']:<8} {age:>5} {period:>6}  {readers}")
    summary = report["summary"]
    lines += [
        "",
        f"findings: {summary['high']} high, {summary['medium']} medium, {summary['low']} low",
    ]
    for f in report["findings"]:
        who = f"  {f['principal']}" if f["principal"] else ""
        lines.append(f"  {f['severity'].upper():<6} {f['kind']:<14} {f['entry']}{who}")
        lines.append(f"         {f['detail']}")
        lines.append(f"         do: {f['action']} ({f['runbook']})")
    for note in report["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def run_audit(
    stack: str | None,
    *,
    environment: str | None = None,
    out: Path | None = None,
    as_json: bool = False,
    as_of: date | None = None,
    cloud: Cloud | None = None,
    config: dict[str, Any] | None = None,
    endpoint: str | None = None,
    status: Status = silent,
) -> int:
    """``platform-secrets audit``: audit ``stack``'s live store, print the report (``--json``: as JSON),
    write it as JSON to ``out``; an exit code of ``platform_secrets.exit_codes``. With ``environment`` (a
    sharded one, ``environments/<env>.yaml``) the store is judged against all its stacks' union."""
    overrides: dict[str, Any] = dict(config or {})
    if cloud:
        overrides["cloud"] = cloud.value
    when = as_of or datetime.now(UTC).date()
    try:
        if environment is not None:
            with status(f"planning every stack of environment {environment} offline"):
                declared = declare_environment(environment, overrides)
        else:
            assert stack is not None
            with status(f"planning stack {stack} offline (the declared side)"):
                declared = declare(stack, overrides)
        stack = declared.stack
    except AuditInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return FINDINGS
    try:
        with status(f"reading the {declared.cloud} store of stack {stack} (read-only)"):
            report = audit(declared, when, endpoint=endpoint)
    except (
        EndpointRefused
    ) as error:  # a variable of the shell, or --endpoint, refused: refused input
        print(f"error: {error}", file=sys.stderr)
        return FINDINGS
    except (
        AuditInputError,
        ValueReadRefused,
    ) as error:  # wrong account, no reader, a guard tripped
        print(f"error: {error}", file=sys.stderr)
        return COULD_NOT_RUN
    except Exception as error:  # the store's client: no credentials, access denied, unreachable
        print(f"error: could not read the {stack} store: {error}", file=sys.stderr)
        return COULD_NOT_RUN
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    if as_json:
        print(text, end="")
    else:
        print(render(report))
    if out:
        out.write_text(text)
        if not as_json:
            print(f"\nreport written to {out}")
    return exit_code(report)


def exit_code(report: dict[str, Any]) -> int:
    """``FINDINGS`` (1) when any finding is high, else ``OK``."""
    return FINDINGS if report["summary"][HIGH] else OK


__all__ = ["Finding", "audit", "exit_code", "render", "run_audit"]
