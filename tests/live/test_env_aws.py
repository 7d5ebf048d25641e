"""``platform_secrets.live.env pull`` against a running AWS API: the dev plan replayed on ministack, with values.

One ministack server; the dev plan's entries, roles and resource policies replayed onto it (each entry holding
``test-value-for-<name>``, resource policies in the ``emulator-compat`` mode of ``tests/servers/aws_replay.py``).
The engineer is the plan's admin role (the only principals besides the readers that the entries' resource
policies let in), stood in for by a role that reads every entry, and reaches the command through boto3's
default chain only: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` in the environment; the
emulator's address goes in as ``--endpoint`` (``AWS_ENDPOINT_URL`` is refused: tests/live/test_env_endpoints.py).

A second replay in another account serves the tests that change the store (a deleted entry, a pushed value).
"""

from __future__ import annotations

import functools
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values

from platform_secrets.generate import compose
from platform_secrets.generate.envexample import keys_of, local_path
from platform_secrets.model.catalog import load_catalog
from platform_secrets.offline import stackfile
from tests.generate.test_compose import DIR_VARIABLE
from tests.servers import env_support
from tests.servers.aws_replay import LiveEnv, create_stand_in_principal, replay_plan
from tests.servers.env_support import ROOT, run_env, service_tree
from tests.servers.ministack_server import running_ministack

CATALOG = load_catalog(ROOT / "catalog.yaml")
WORKLOADS = [name for name, spec in CATALOG.services.items() if spec.workload]
ENGINEER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:PutSecretValue",
            ],
            "Resource": "arn:aws:secretsmanager:*:*:secret:*",
        }
    ],
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_ministack() as url:
        yield url


def _engineer(env: LiveEnv) -> dict[str, str]:
    """The environment of an engineer who assumed the plan's admin role: credentials only."""
    admin = env.plan.services("admin")[0]
    credentials = create_stand_in_principal(env, env.role_arn(admin), ENGINEER_POLICY)
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@pytest.fixture(scope="module")
def store(aws_dev_plan_dir: Path, endpoint: str) -> LiveEnv:
    return replay_plan(
        aws_dev_plan_dir, endpoint, account_id="000000000011", resource_policies="emulator-compat"
    )


@pytest.fixture(scope="module")
def engineer(store: LiveEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(home / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        for name, value in _engineer(store).items():
            patch.setenv(name, value)
        patch.setattr(env_support, "ENDPOINT", [store.endpoint])
        yield


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return service_tree(tmp_path / "repo", CATALOG)


@functools.cache
def dev_settings(service: str) -> dict[str, str]:
    model = stackfile.load("dev").model
    return dict(next(s for s in model.services if s.name == service).settings)


def expected(store: LiveEnv, service: str) -> dict[str, str]:
    """What the service's .env must hold: each entry the plan lets it read, under its key, with its value;
    and the dev stack's settings."""
    values = {}
    for name in store.entries(service):
        values[name.rsplit("/", 1)[1]] = store.values[name]
    return values | dev_settings(service)


@pytest.mark.parametrize("service", WORKLOADS)
def test_pull_writes_exactly_the_services_keys_with_the_store_values(
    engineer: None, store: LiveEnv, tree: Path, service: str
) -> None:
    ran = run_env(["pull", "--stack", "dev", "--service", service, "--root", str(tree)])
    assert ran.code == 0, ran.output
    path = tree / local_path(service, CATALOG.services[service])
    assert dotenv_values(path) == expected(store, service)
    keys = [
        line.split("=", 1)[0]
        for line in path.read_text().splitlines()
        if "=" in line and not line.startswith("#")  # a missing key stands as a comment
    ]
    assert keys == [k for k in keys_of(CATALOG.services[service]) if k in keys], (
        "not in example order"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("service", WORKLOADS)
def test_files_format_writes_one_private_file_per_key(
    engineer: None, store: LiveEnv, tmp_path: Path, service: str
) -> None:
    tree = service_tree(tmp_path / "repo", CATALOG)
    gitignore = tree / ".gitignore"
    gitignore.write_text(gitignore.read_text().replace(".secrets/\n", ""))
    out = tree / ".secrets" / service  # not ignored yet
    args = ["pull", "--stack", "dev", "--service", service, "--format", "files", "--out", str(out)]
    refused = run_env(args)
    assert refused.code == 1 and "git does not ignore" in refused.stderr
    assert not out.exists()
    gitignore.write_text(gitignore.read_text() + ".secrets/\n")
    ran = run_env(args)
    assert ran.code == 0, ran.output
    files = {p.name: p.read_text() for p in out.iterdir()}
    assert files == expected(store, service)
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    # The service's Compose fragment, with PLATFORM_SECRETS_DIR set, finds each of its secrets there.
    fragment = yaml.safe_load((ROOT / "env-examples" / service / compose.FILES_NAME).read_text())
    for source, spec in fragment.get("secrets", {}).items():
        path = Path(DIR_VARIABLE.sub(str(tree / ".secrets"), spec["file"]))
        assert path.read_text() == files[source.removeprefix(f"{service}-")]


def test_each_key_is_reported_and_no_value_is_printed(
    engineer: None, store: LiveEnv, tree: Path
) -> None:
    for service in WORKLOADS:
        ran = run_env(["pull", "--stack", "dev", "--service", service, "--root", str(tree)])
        present = expected(store, service)
        for key in keys_of(CATALOG.services[service]):
            # A key with a value in the store or the stack is `set`; one with none (a setting the dev
            # stack leaves unset, in a catalog that has one) is `missing`.
            status = "set" if key in present else "missing"
            assert any(line.split()[:2] == [key, status] for line in ran.stdout.splitlines()), key
        leaked = [v for v in present.values() if len(v) > 3 and v in ran.output]
        assert leaked == []


def test_check_reports_and_writes_nothing(engineer: None, tree: Path) -> None:
    ran = run_env(["check", "--stack", "dev", "--service", "backend", "--root", str(tree)])
    assert ran.code == 0, ran.output
    assert "JWT_SECRET" in ran.stdout
    assert not (tree / "backend" / ".env").exists()


def test_a_path_git_does_not_ignore_is_refused_before_any_read(engineer: None, tree: Path) -> None:
    (tree / ".gitignore").write_text("# nothing ignored\n")
    ran = run_env(["pull", "--stack", "dev", "--service", "backend", "--root", str(tree)])
    assert ran.code == 1
    assert "git does not ignore" in ran.stderr
    assert "JWT_SECRET" not in ran.stdout  # refused before the store was asked
    assert not (tree / "backend" / ".env").exists()


def test_prod_is_refused_without_the_flag(engineer: None, tree: Path) -> None:
    ran = run_env(["pull", "--stack", "prod", "--service", "backend", "--root", str(tree)])
    assert ran.code == 1
    assert "--allow-prod" in ran.stderr
    assert ran.stdout == ""


def test_prod_over_an_http_endpoint_is_refused_before_any_read(
    store: LiveEnv, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator speaks http: prod refuses it (the token and values would cross in cleartext), even with
    --allow-prod, and reads nothing; AWS_ENDPOINT_URL pointing there is refused too."""
    monkeypatch.setattr(
        env_support, "ENDPOINT", []
    )  # this test passes (or omits) --endpoint itself
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", store.account_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    args = ["pull", "--stack", "prod", "--allow-prod", "--service", "backend", "--root", str(tree)]
    ran = run_env([*args, "--endpoint", store.endpoint])
    assert ran.code == 1 and "https" in ran.stderr, ran.output
    assert ran.stdout == ""
    monkeypatch.setenv("AWS_ENDPOINT_URL", store.endpoint)
    ran = run_env(args)
    assert ran.code == 1 and "AWS_ENDPOINT_URL" in ran.stderr, ran.output
    assert not (tree / "backend" / ".env").exists()


# --- a store that changes: its own replay ---


@pytest.fixture(scope="module")
def mutable(aws_dev_plan_dir: Path, endpoint: str) -> LiveEnv:
    return replay_plan(
        aws_dev_plan_dir, endpoint, account_id="000000000012", resource_policies="emulator-compat"
    )


def test_a_missing_value_is_reported_missing(
    mutable: LiveEnv, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = next(n for n in mutable.entries("backend") if n.endswith("/REDIS_URL"))
    mutable.client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    for key, value in _engineer(mutable).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(env_support, "ENDPOINT", [mutable.endpoint])
    ran = run_env(["pull", "--stack", "dev", "--service", "backend", "--root", str(tree)])
    assert ran.code == 0, ran.output  # not required in dev
    assert ["REDIS_URL", "missing"] in [line.split() for line in ran.stdout.splitlines()]
    written = dotenv_values(tree / "backend" / ".env")
    assert "REDIS_URL" not in written
    assert set(written) == {"JWT_SECRET", "OTP_PEPPER"}
