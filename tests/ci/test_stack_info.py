"""Tier 1: what a stack is comes from its files, not its name (``platform_secrets.ci.stack_info``), pure."""

from __future__ import annotations

import json
import re

import pytest

from platform_secrets.ci.stack_info import Refused, StackInfo, main, run_problems, stack_info


@pytest.fixture
def root(tmp_path):
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "live.yaml").write_text(
        "foundation: eu-base\nstacks:\n  eu-a: [backend]\n  prod-sandbox: [media]\n"
    )
    stacks = {
        "eu-base": ("environments/live.yaml", "prod"),
        "eu-a": ("environments/live.yaml", "prod"),
        "prod-sandbox": ("environments/live.yaml", "dev"),
        "dev": (None, "dev"),
    }
    for stack, (env_file, environment) in stacks.items():
        join = f"  platform-secrets:environmentFile: {env_file}\n" if env_file else ""
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(
            f"config:\n{join}  platform-secrets:environment: {environment}\n"
        )
    return tmp_path


def test_stack_info_reads_environment_not_the_name(root):
    assert stack_info("eu-a", root) == StackInfo("prod", "shard", "eu-a", "environments/live.yaml")
    assert stack_info("prod-sandbox", root).environment == "dev"
    assert stack_info("eu-base", root).role == "foundation"
    assert stack_info("dev", root) == StackInfo("dev", "one-stack", "dev", None)


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ("prod-z", "unknown stack prod-z: no Pulumi.prod-z.yaml"),
        ("../etc", "'../etc' is not a stack name"),
    ],
)
def test_an_unknown_stack_is_refused(root, stack, message):
    with pytest.raises(Refused, match=message):
        stack_info(stack, root)


def test_a_stack_named_by_an_environment_file_but_not_joined_is_refused(root):
    (root / "Pulumi.eu-a.yaml").write_text("config:\n  platform-secrets:environment: prod\n")
    message = "eu-a is in environments/live.yaml but Pulumi.eu-a.yaml does not join"
    with pytest.raises(Refused, match=re.escape(message)):
        stack_info("eu-a", root)


def test_a_stack_without_a_typed_environment_is_refused(root):
    (root / "Pulumi.dev.yaml").write_text("config:\n  platform-secrets:environment: production\n")
    with pytest.raises(Refused, match="sets no valid environment \\('production'"):
        stack_info("dev", root)


PROD_SHARD = StackInfo("prod", "shard", "eu-a", "environments/live.yaml")


@pytest.mark.parametrize(
    ("github_environment", "command", "ref", "event", "refused"),
    [
        ("eu-a", "up", "refs/heads/main", "push", False),
        ("preview-eu-a", "preview", "refs/heads/main", "push", False),
        ("preview-eu-a", "up", "refs/heads/main", "push", True),
        ("dev", "preview", "refs/heads/main", "push", True),
        ("eu-a", "up", "refs/heads/feature", "workflow_dispatch", True),
        ("eu-a", "preview", "refs/heads/main", "pull_request", True),
    ],
)
def test_a_prod_stack_runs_from_main_under_its_own_environment_only(
    github_environment, command, ref, event, refused
):
    problems = run_problems(PROD_SHARD, "eu-a", github_environment, command, ref, event)
    assert bool(problems) is refused, problems


def test_a_dev_stack_is_judged_by_its_github_environment_only():
    dev = StackInfo("dev", "shard", "prod-sandbox", "environments/live.yaml")
    assert run_problems(dev, "prod-sandbox", "prod-sandbox", "up", "refs/heads/x", "push") == []


def test_the_module_prints_the_facts_and_refuses_a_run_that_does_not_fit(root, capsys):
    argv = ["eu-a", "--project-dir", str(root)]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "environment": "prod",
        "environment_file": "environments/live.yaml",
        "github_environment": "eu-a",
        "role": "shard",
    }
    assert main([*argv, "--github-environment", "dev", "--ref", "refs/heads/main"]) == 1
    assert "its own is 'eu-a'" in capsys.readouterr().err


def test_the_shards_stack_info_command_prints_the_facts(root, capsys):
    from platform_secrets.cli.app import main as cli_main

    assert cli_main(["shards", "stack-info", "eu-a", "--project-dir", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["role"] == "shard"
    assert cli_main(["shards", "stack-info", "nope", "--project-dir", str(root)]) == 1
