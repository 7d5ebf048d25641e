"""``platform_secrets.live.env`` talks to the stack's store and nowhere else: an engineer's shell cannot redirect it.

``VAULT_ADDR`` (hvac's default) and ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (boto3's) used to
win over the stack: a prod pull or push then sent the Vault token, or the pushed value, to whatever listened
there, over http too. Now the store's address is the stack's; another one only with ``--endpoint URL``
(https only in prod); a variable that would redirect the command is refused with a message naming it. No
test here reaches a server: a refusal happens before any client exists (port 9 on 127.0.0.1 would not answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from platform_secrets.live.clients.aws import AwsStore
from platform_secrets.live.clients.vault import VaultStore
from platform_secrets.live.endpoints import endpoint_for_settings
from platform_secrets.model.catalog import load_catalog
from platform_secrets.offline import stackfile
from tests.servers.env_support import ROOT, run_env, service_tree

CATALOG = load_catalog(ROOT / "catalog.yaml")
LISTENER = "http://127.0.0.1:9"
ELSEWHERE = {
    "GOOGLE_CLOUD_UNIVERSE_DOMAIN": "evil.test",
    "AZURE_AUTHORITY_HOST": "https://login.evil.test",
}
"""Where a variable that takes no URL (or only an https one) would point the command."""
REDIRECTS = (
    "VAULT_ADDR",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AZURE_AUTHORITY_HOST",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (*REDIRECTS, "GOOGLE_CLOUD_UNIVERSE_DOMAIN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-key")
    monkeypatch.setenv("VAULT_TOKEN", "not-a-real-token")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return service_tree(tmp_path / "repo", CATALOG)


def _on(cloud: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original = stackfile.load

    def load(stack: str, root: Path = stackfile.ROOT, overrides: Any = None) -> Any:
        return original(stack, root, {"cloud": cloud, **(overrides or {})})

    monkeypatch.setattr(stackfile, "load", load)


def _pull(tree: Path, *extra: str, stack: str = "dev") -> Any:
    args = ["check", "--stack", stack, "--service", "backend", "--root", str(tree)]
    return run_env([*args, *(["--allow-prod"] if stack == "prod" else []), *extra])


@pytest.mark.parametrize(
    ("cloud", "variable"),
    [
        ("vault", "VAULT_ADDR"),
        ("aws", "AWS_ENDPOINT_URL"),
        ("aws", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        ("gcp", "GOOGLE_CLOUD_UNIVERSE_DOMAIN"),
        ("azure", "AZURE_AUTHORITY_HOST"),
    ],
)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_variable_that_points_the_store_elsewhere_is_refused(
    cloud: str,
    variable: str,
    stack: str,
    tree: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _on(cloud, monkeypatch)
    monkeypatch.setenv(variable, ELSEWHERE.get(variable, LISTENER))
    ran = _pull(tree, stack=stack)
    assert ran.code == 1, ran.output
    assert ran.stderr.startswith("refused:") and variable in ran.stderr, ran.output
    if cloud in ("vault", "aws"):  # the GCP and Azure clients take no endpoint of ours: "unset it"
        assert "--endpoint" in ran.stderr, ran.output


def test_a_push_is_refused_too(tree: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _on("vault", monkeypatch)
    monkeypatch.setenv("VAULT_ADDR", LISTENER)
    value = tmp_path / "value"
    value.write_text("lin_api_" + "x" * 40)
    ran = run_env(
        [
            "push", "--stack", "prod", "--allow-prod", "--service", "linear-integration",
            "--key", "LINEAR_API_KEY", "--from-file", str(value),
        ]
    )  # fmt: skip
    assert ran.code == 1 and "VAULT_ADDR" in ran.stderr, ran.output


def test_vault_addr_equal_to_the_stacks_address_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engineer's VAULT_ADDR for the same server (the CLI's habit) is not a redirect."""
    from platform_secrets.live import endpoints

    model = stackfile.load("prod", overrides={"cloud": "vault"}).model
    assert model.settings.vault is not None
    monkeypatch.setenv("VAULT_ADDR", model.settings.vault.address.rstrip("/") + "/")
    assert endpoints.endpoint_for(model, None) == model.settings.vault.address


@pytest.mark.parametrize("cloud", ["vault", "aws"])
def test_an_http_endpoint_flag_is_refused_in_prod(
    cloud: str, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(cloud, monkeypatch)
    ran = _pull(tree, "--endpoint", LISTENER, stack="prod")
    assert ran.code == 1 and "https" in ran.stderr and "--endpoint" in ran.stderr, ran.output


def test_the_endpoint_flag_wins_over_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit --endpoint is the engineer's choice; the variable is then not used."""
    from platform_secrets.live import endpoints

    model = stackfile.load("dev", overrides={"cloud": "vault"}).model
    monkeypatch.setenv("VAULT_ADDR", "http://elsewhere.test:8200")
    assert endpoints.endpoint_for(model, LISTENER) == LISTENER


def test_the_store_clients_use_the_stacks_address_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth below platform_secrets.live.env: the clients themselves no longer read the variables."""
    for name in REDIRECTS:
        monkeypatch.setenv(name, LISTENER)
    vault_model = stackfile.load("prod", overrides={"cloud": "vault"}).model
    assert vault_model.settings.vault is not None
    assert VaultStore(vault_model).client.url == vault_model.settings.vault.address
    aws_model = stackfile.load("prod").model
    assert aws_model.settings.aws is not None
    region = aws_model.settings.aws.region
    assert AwsStore(aws_model).client.meta.endpoint_url == (
        f"https://secretsmanager.{region}.amazonaws.com"
    )
    assert AwsStore(aws_model, endpoint_url=LISTENER).client.meta.endpoint_url == LISTENER
    assert VaultStore(vault_model, address=LISTENER).client.url == LISTENER


@pytest.mark.parametrize(
    "value", ["https://login.microsoftonline.com", "login.microsoftonline.com/"]
)
def test_azures_public_authority_is_no_redirect(value: str) -> None:
    settings = stackfile.load("dev", overrides={"cloud": "azure"}).model.settings
    assert endpoint_for_settings(settings, None, {"AZURE_AUTHORITY_HOST": value}) is None
