"""The one command, ``platform-secrets``: every subcommand wired here (one module each in this package).

``main(argv)`` runs it and returns the exit code (``platform_secrets.exit_codes``): a usage error (a
misspelt flag, a bad value) is 1, not click's 2, and an unexpected exception is 2.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException  # typer vendors click 8: its own classes

from platform_secrets.cli import audit, derived, diff, env, plan, scan, shards
from platform_secrets.cli import deploy as deploy_cli
from platform_secrets.cli import rotate as rotate_cli
from platform_secrets.exit_codes import COULD_NOT_RUN, FINDINGS, OK

PROG = "platform-secrets"

app = typer.Typer(
    name=PROG,
    help="Every service's secrets in a managed store: the offline plan, the access diff, the live audit, "
    "local env files, derived files and the secret scan. Exit codes: 0 fine, 1 findings or refused "
    "input, 2 could not run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    epilog="Example: platform-secrets plan --stack dev --out plan-dev",
)
app.command(epilog=plan.EXAMPLE)(plan.plan)
app.command(epilog=diff.EXAMPLE)(diff.diff)
app.command(epilog=audit.EXAMPLE)(audit.audit)
app.add_typer(env.app, name="env")
app.command(epilog=derived.EXAMPLE)(derived.derived)
app.command(epilog=scan.EXAMPLE)(scan.scan)
app.add_typer(shards.app, name="shards")
app.command(name="deploy", epilog=deploy_cli.EXAMPLE)(deploy_cli.deploy)
app.command(name="rotate", epilog=rotate_cli.EXAMPLE)(rotate_cli.rotate)


def main(argv: list[str] | None = None) -> int:
    """Run ``platform-secrets`` with ``argv`` (default: the process's) and return its exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name=PROG, standalone_mode=False)
    except (
        ClickException
    ) as error:  # a usage error (a misspelt flag, a bad value): 1, not click's 2
        error.show()
        return FINDINGS
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return FINDINGS
    except Exception as error:  # a bug: say so, and do not pass for findings
        print(f"error: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return COULD_NOT_RUN
    return code if isinstance(code, int) else OK
