"""Linear's key on a running AWS API (ministack, the dev plan replayed with values, as in test_env_aws.py):
``.env.linear`` written in its own format (the key alone on one line) after the catalog's ``format`` check, and
``push`` of the external key: the format checked before anything is written, nothing of the value printed.

The no-echo test captures everything: the command's stdout and stderr, every log record at DEBUG (the client
libraries' included), and a second push run as its own process.
"""

from __future__ import annotations

import logging
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.test_env_aws import CATALOG, WORKLOADS, _engineer
from tests.servers import env_support
from tests.servers.aws_replay import LiveEnv, replay_plan
from tests.servers.env_support import ROOT, run_env, service_tree
from tests.servers.ministack_server import running_ministack


@pytest.fixture(scope="module")
def mutable(aws_dev_plan_dir: Path) -> Iterator[LiveEnv]:
    with running_ministack() as endpoint:
        yield replay_plan(
            aws_dev_plan_dir,
            endpoint,
            account_id="000000000021",
            resource_policies="emulator-compat",
        )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return service_tree(tmp_path / "repo", CATALOG)


LINEAR = "linear-integration"


def _linear_key() -> str:
    return "lin_api_" + secrets.token_hex(20)


_ENGINEERS: dict[str, dict[str, str]] = {}


def _engineer_of(env: LiveEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """Act as the engineer (the admin role's stand-in, made once per replay)."""
    if env.account_id not in _ENGINEERS:
        _ENGINEERS[env.account_id] = _engineer(env)
    for key, value in _ENGINEERS[env.account_id].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(env_support, "ENDPOINT", [env.endpoint])


def _stored(env: LiveEnv, key: str) -> str:
    name = next(n for n in env.secrets if n.endswith(f"/{LINEAR}/{key}"))
    return str(env.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def test_push_then_pull_writes_env_linear_as_one_bare_line(
    mutable: LiveEnv, tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engineer_of(mutable, monkeypatch)
    value = _linear_key()
    source = tmp_path / "key.txt"
    source.write_text(value + "\n")  # as an editor saves it
    args = ["push", "--stack", "dev", "--service", LINEAR, "--key", "LINEAR_API_KEY"]
    pushed = run_env([*args, "--from-file", str(source)])
    assert pushed.code == 0, pushed.output
    assert _stored(mutable, "LINEAR_API_KEY") == value
    pulled = run_env(["pull", "--stack", "dev", "--service", LINEAR, "--root", str(tree)])
    assert pulled.code == 0, pulled.output
    path = tree / ".env.linear"
    assert path.read_text() == value + "\n"  # no variable name, one line
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert value not in pushed.output + pulled.output


@pytest.mark.parametrize(
    "shape",
    ["LINEAR_API_KEY={}", "{} ", "sk_{}", "lin_api_{}-x", "lin-api-{}"],
    ids=["with-variable-name", "trailing-space", "other-vendor", "bad-char", "dashes"],
)
def test_push_refuses_a_value_in_the_wrong_format_without_echoing_it(
    mutable: LiveEnv, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    _engineer_of(mutable, monkeypatch)
    before = _stored(mutable, "LINEAR_API_KEY")
    token = secrets.token_hex(20)
    value = shape.format(token if shape.startswith("lin") else f"lin_api_{token}")
    args = ["push", "--stack", "dev", "--service", LINEAR, "--key", "LINEAR_API_KEY"]
    ran = run_env(args, stdin=value)
    assert ran.code == 1, ran.output
    assert "format" in ran.stderr
    assert token not in ran.output
    assert _stored(mutable, "LINEAR_API_KEY") == before


def test_push_refuses_a_secret_pulumi_owns(
    mutable: LiveEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engineer_of(mutable, monkeypatch)
    args = ["push", "--stack", "dev", "--service", "backend", "--key", "JWT_SECRET"]
    ran = run_env(args, stdin=secrets.token_hex(32))
    assert ran.code == 1
    assert "only external secrets" in ran.stderr


def test_pull_refuses_a_stored_linear_key_in_the_wrong_format(
    mutable: LiveEnv, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key stored without its `lin_api_` prefix (as the replay's dummy value is): no .env.linear."""
    _engineer_of(mutable, monkeypatch)
    name = next(n for n in mutable.secrets if n.endswith(f"/{LINEAR}/LINEAR_API_KEY"))
    token = secrets.token_hex(20)
    mutable.client("secretsmanager").put_secret_value(SecretId=name, SecretString=token)
    ran = run_env(["pull", "--stack", "dev", "--service", LINEAR, "--root", str(tree)])
    assert ran.code == 1
    assert ran.stdout.splitlines()[1].split()[:2] == ["LINEAR_API_KEY", "invalid:"]
    assert token not in ran.output
    assert not (tree / ".env.linear").exists()


def test_no_value_reaches_any_output_or_log(
    mutable: LiveEnv, tree: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Push and pull with every logger at DEBUG, and push again as a separate process: the value, and every
    value the pulls read, appear in no stdout, stderr or log record."""
    _engineer_of(mutable, monkeypatch)
    caplog.set_level(logging.DEBUG)
    value = _linear_key()
    args = ["push", "--stack", "dev", "--service", LINEAR, "--key", "LINEAR_API_KEY"]
    outputs = [run_env(args, stdin=value).output]
    for service in [*WORKLOADS, LINEAR]:
        outputs.append(
            run_env(["pull", "--stack", "dev", "--service", service, "--root", str(tree)]).output
        )
    second = _linear_key()
    process = subprocess.run(
        [sys.executable, "-m", "platform_secrets", "env", *args, "--endpoint", mutable.endpoint],
        input=second,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert _stored(mutable, "LINEAR_API_KEY") == second
    text = "\n".join([*outputs, process.stdout, process.stderr, caplog.text])
    logging.getLogger("tests.env.probe").debug("capture-probe")
    assert "capture-probe" in caplog.text  # the capture takes DEBUG records from any logger
    values = [value, second, *mutable.values.values()]
    assert [v for v in values if v in text] == []
