"""``platform-secrets plan``: the offline plan of a stack (``platform_secrets.offline.plan``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer._click.core import ParameterSource  # typer vendors click 8: its own classes

from platform_secrets.cli import options
from platform_secrets.exit_codes import COULD_NOT_RUN
from platform_secrets.offline import environment as environment_plan
from platform_secrets.offline import plan as offline_plan
from platform_secrets.offline import project_dir as project_dir_
from platform_secrets.offline import runner as offline
from platform_secrets.progress import status_for

EXAMPLE = (
    "Example: platform-secrets plan --stack dev --out plan-dev --cloud gcp; "
    "platform-secrets plan --environment example --out plan-example"
)


WORKERS_ENVVAR = "PLATFORM_SECRETS_PLAN_WORKERS"


def plan(
    ctx: typer.Context,
    stack: Annotated[
        str | None, typer.Option("--stack", help="stack name (Pulumi.<stack>.yaml)")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            help="plan every stack of environments/<env>.yaml (the foundation, then the shards in "
            "parallel processes): --out gets one folder per stack, the union resources.json and its "
            "access.json",
        ),
    ] = None,
    shard: Annotated[
        list[str] | None,
        typer.Option(
            "--shard",
            metavar="STACK",
            help="with --environment: plan the foundation and this shard only (repeatable; a CI shard "
            "job's preview): no union, no access.json",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            envvar=WORKERS_ENVVAR,
            help="with --environment: spawned processes planning the shards side by side; 0 plans "
            "every stack in this process, one after another (a small environment: no interpreter "
            "to start per worker)",
        ),
    ] = 2,
    out: options.OutDir = None,
    as_json: options.Json = False,
    cloud: options.CloudOption = None,
    stub_secrets: Annotated[
        bool,
        typer.Option(
            "--stub-secrets",
            help="treat every config secret the stack lacks as set (an offline placeholder): a "
            "review-only plan before the secrets exist",
        ),
    ] = False,
    config: options.Config = None,
    diff_against: Annotated[
        Path | None,
        typer.Option(
            "--diff-against",
            metavar="DIR",
            help="another plan's folder (the base branch's): print the access change, and write "
            "access-diff.md / access-diff.json into --out",
        ),
    ] = None,
    project_dir: Annotated[
        Path | None,
        typer.Option(
            "--project-dir",
            metavar="DIR",
            help="read Pulumi.yaml, the stack file and the catalog from DIR, as data; the code is "
            "this checkout's (CI plans a pull request's files with the base branch's code)",
        ),
    ] = None,
) -> int:
    """Plan a stack under the mock engine (no cloud, no credentials): print the summary, write the artifacts."""
    if (stack is None) == (environment is None):
        print("error: give --stack STACK or --environment ENV (one of them)", file=sys.stderr)
        return COULD_NOT_RUN
    if environment is not None:
        if out is None or stub_secrets or diff_against:
            print(
                "error: --environment takes --out DIR (and --shard, --workers, --cloud, --config, "
                "--project-dir); "
                "--stub-secrets and --diff-against plan one stack",
                file=sys.stderr,
            )
            return COULD_NOT_RUN
        overrides = dict(options.parse_config(config) or {})
        root = offline.ROOT
        if project_dir is not None:
            try:
                root = project_dir_.environment_root(project_dir, overrides)
            except project_dir_.ProjectDirError as error:
                print(f"error: {error}", file=sys.stderr)
                return COULD_NOT_RUN
        return environment_plan.plan_environment(
            environment,
            out,
            cloud=cloud,
            config=overrides or None,
            workers=workers,
            root=root,
            shards_only=shard,
        )
    if shard:
        print("error: --shard plans part of an --environment", file=sys.stderr)
        return COULD_NOT_RUN
    # The variable is a default for a shell's environment plans; the flag on a one-stack plan is a mistake.
    if ctx.get_parameter_source("workers") is ParameterSource.COMMANDLINE:
        print("error: --workers plans the shards of an --environment", file=sys.stderr)
        return COULD_NOT_RUN
    assert stack is not None
    return offline_plan.plan(
        stack,
        out=out,
        as_json=as_json,
        cloud=cloud,
        stub_secrets=stub_secrets,
        config=options.parse_config(config),
        diff_against=diff_against,
        project_dir=project_dir,
        status=status_for(as_json),
    )
