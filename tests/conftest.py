"""Shared fixtures: one mock run per stack and mode for the whole session (the suite stays fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_secrets.offline import artifacts
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests import catalog_facts

PROD_SECRETS = catalog_facts.fake_config_secrets()
"""What an operator would set with `pulumi config set --secret` before a prod `pulumi up`: every config-sourced
secret of the shipped catalog, with an obviously fake value generated for this session."""


LONG_FIRST = (
    "tests/offline/test_adding_a_service.py",
    "tests/ci/test_shards_workflow_runs.py",
    "tests/ci/test_scan_secrets.py",
    "tests/program/test_least_privilege_aws.py",
    "tests/offline/test_benchmark_smoke.py",
    "tests/deploy/test_orchestrate.py",
    "tests/audit/test_audit_aws.py",
    "tests/live/test_env_aws.py",
)
"""Files with a long unit of work (a whole tier run again, a workflow's scripts, the scans of planted
repositories, a live server's replays), longest first (``make test ARGS=--durations=30``)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The LONG_FIRST files first, every other file after them in its usual order (a stable sort).

    ``make test`` shares whole files out to its workers (pytest-xdist ``--dist loadfile``, in this order): a
    worker given one of these last would run alone for its whole length at the end.
    """
    rank = {name: place for place, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def _ok(result: RunResult) -> RunResult:
    if result.error is not None:
        raise AssertionError(f"the {result.stack} program failed: {result.error}")
    return result


@pytest.fixture(scope="session")
def dev_run() -> RunResult:
    return _ok(offline.run("dev"))


@pytest.fixture(scope="session")
def dev_preview() -> RunResult:
    return _ok(offline.run("dev", preview=True))


@pytest.fixture(scope="session")
def prod_run() -> RunResult:
    return _ok(offline.run("prod", secrets=PROD_SECRETS))


@pytest.fixture(scope="session")
def prod_preview() -> RunResult:
    return _ok(offline.run("prod", preview=True, secrets=PROD_SECRETS))


@pytest.fixture(scope="session", params=["dev", "prod"])
def run_both(request: pytest.FixtureRequest, dev_run: RunResult, prod_run: RunResult) -> RunResult:
    """Each stack's update-mode run, for rules that hold in every environment."""
    return dev_run if request.param == "dev" else prod_run


@pytest.fixture(scope="session")
def aws_dev_plan_dir(tmp_path_factory: pytest.TempPathFactory, dev_run: RunResult) -> Path:
    """The dev stack's offline plan artifacts, written once."""
    out = tmp_path_factory.mktemp("plan") / "dev"
    artifacts.write(dev_run, out)
    return out


@pytest.fixture(scope="session")
def aws_prod_plan_dir(tmp_path_factory: pytest.TempPathFactory, prod_run: RunResult) -> Path:
    out = tmp_path_factory.mktemp("plan") / "prod"
    artifacts.write(prod_run, out)
    return out


# --- GCP and Azure: the same stack files with `cloud` overridden, one run per stack, cloud and mode ---


def _cloud_run(stack: str, cloud: str, preview: bool = False) -> RunResult:
    secrets = PROD_SECRETS if stack == "prod" else None
    return _ok(offline.run(stack, preview=preview, overrides={"cloud": cloud}, secrets=secrets))


@pytest.fixture(scope="session")
def gcp_dev_run() -> RunResult:
    return _cloud_run("dev", "gcp")


@pytest.fixture(scope="session")
def gcp_prod_run() -> RunResult:
    return _cloud_run("prod", "gcp")


@pytest.fixture(scope="session")
def gcp_prod_preview() -> RunResult:
    return _cloud_run("prod", "gcp", preview=True)


@pytest.fixture(scope="session")
def azure_dev_run() -> RunResult:
    return _cloud_run("dev", "azure")


@pytest.fixture(scope="session")
def azure_prod_run() -> RunResult:
    return _cloud_run("prod", "azure")


@pytest.fixture(scope="session")
def azure_prod_preview() -> RunResult:
    return _cloud_run("prod", "azure", preview=True)


@pytest.fixture(scope="session")
def vault_dev_run() -> RunResult:
    return _cloud_run("dev", "vault")


@pytest.fixture(scope="session")
def vault_prod_run() -> RunResult:
    return _cloud_run("prod", "vault")


@pytest.fixture(scope="session")
def vault_prod_preview() -> RunResult:
    return _cloud_run("prod", "vault", preview=True)


@pytest.fixture(scope="session")
def cloud_plan_dirs(
    tmp_path_factory: pytest.TempPathFactory,
    aws_dev_plan_dir: Path,
    aws_prod_plan_dir: Path,
    gcp_dev_run: RunResult,
    gcp_prod_run: RunResult,
    azure_dev_run: RunResult,
    azure_prod_run: RunResult,
    vault_dev_run: RunResult,
    vault_prod_run: RunResult,
) -> dict[tuple[str, str], Path]:
    """(cloud, stack) -> the offline plan's artifacts, written once per cloud and stack."""
    dirs = {("aws", "dev"): aws_dev_plan_dir, ("aws", "prod"): aws_prod_plan_dir}
    runs = {
        ("gcp", "dev"): gcp_dev_run,
        ("gcp", "prod"): gcp_prod_run,
        ("azure", "dev"): azure_dev_run,
        ("azure", "prod"): azure_prod_run,
        ("vault", "dev"): vault_dev_run,
        ("vault", "prod"): vault_prod_run,
    }
    for (cloud, stack), result in runs.items():
        out = tmp_path_factory.mktemp("plan") / f"{cloud}-{stack}"
        artifacts.write(result, out)
        dirs[(cloud, stack)] = out
    return dirs


# --- Vault: a real OpenBao server for the session (tests/servers/openbao_server.py) ---


@pytest.fixture(scope="session")
def openbao():  # type: ignore[no-untyped-def]
    """One ``bao server -dev`` on 127.0.0.1 for the whole session, stopped at its end (an ``OpenBao``).

    Tests that replay a plan onto it use their own mount and auth paths (``tests/servers/vault_replay.py``
    takes a prefix), so several tiers can share the server.
    """
    from tests.servers.openbao_server import running_openbao

    with running_openbao() as server:
        yield server


# --- The example sharded environment (environments/example.yaml): each stack planned once per session ---


@pytest.fixture(scope="session")
def example_plan(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``platform-secrets plan --environment example`` (AWS), in two spawned worker processes: its folder and
    the plans the workers returned (``tests/sharded.py``)."""
    from tests import sharded

    return sharded.plan_example(tmp_path_factory.mktemp("env") / "example")


@pytest.fixture(scope="session")
def example_cloud_plans(example_plan):  # type: ignore[no-untyped-def]
    """cloud -> the example environment's stack plans with ``cloud`` overridden as ``--cloud`` does (in this
    process; AWS's are the worker-planned ones)."""
    from tests import sharded

    return sharded.CloudPlans(example_plan)
