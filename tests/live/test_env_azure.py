"""The Azure store client, judged at the HTTP transport: azure-keyvault-secrets builds and signs its requests
through its whole pipeline (the Key Vault bearer challenge included) down to azure-core's own
``RequestsTransport``, whose ``requests`` session has a transport adapter that answers like Key Vault and records
each request as it would go on the wire.

What is checked is what the library sends (method, host, path, body, the bearer token after the challenge), for
the vault and secret names the dev plan registered on Azure, and how answers map: a value, 404 as missing, 403 as
an error that names the secret and no value. Nothing here talks to Azure.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport

from platform_secrets.live import env
from platform_secrets.live.clients import StoreError
from platform_secrets.live.clients.azure import AzureStore
from platform_secrets.offline import stackfile

TENANT = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"
BEARER = "fake-access-token-" + secrets.token_hex(8)


class FakeCredential:
    """What azure-identity would hand the pipeline after a login: a bearer token for the vault's scope."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(BEARER, int(time.time()) + 3600)


class FakeKeyVault(requests.adapters.HTTPAdapter):
    """Key Vault's secrets API: 401 with a bearer challenge without a token; GET and PUT of secrets with one."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.denied: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def close(self) -> None:
        return None

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else bytes(body)
        self.requests.append((request.method, request.url, dict(request.headers), body))
        url = urlparse(request.url)
        if request.headers.get("Authorization") != f"Bearer {BEARER}":
            challenge = (
                f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
                'resource="https://vault.azure.net"'
            )
            return self._answer(request, 401, {}, {"WWW-Authenticate": challenge})
        name = url.path.split("/")[2]
        if name in self.denied:
            return self._answer(request, 403, {"error": {"code": "Forbidden", "message": "denied"}})
        if request.method == "PUT":
            self.values[name] = json.loads(body)["value"]
        if name not in self.values:
            error = {
                "code": "SecretNotFound",
                "message": f"A secret with (name/id) {name} was not found",
            }
            return self._answer(request, 404, {"error": error})
        secret_id = f"https://{url.hostname}/secrets/{name}/{secrets.token_hex(16)}"
        document = {"value": self.values[name], "id": secret_id, "attributes": {"enabled": True}}
        return self._answer(request, 200, document)

    def _answer(
        self,
        request: Any,
        status: int,
        document: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(json.dumps(document).encode()),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            status=status,
            preload_content=False,
        )
        return self.build_response(request, raw)


@pytest.fixture(scope="module")
def stack() -> stackfile.Stack:
    return stackfile.load("dev", overrides={"cloud": "azure"})


@pytest.fixture(scope="module")
def plan(cloud_plan_dirs: dict[tuple[str, str], Path]) -> tuple[str, dict[str, Any]]:
    """(vault name, access matrix) of the dev plan on Azure."""
    directory = cloud_plan_dirs[("azure", "dev")]
    resources = json.loads((directory / "resources.json").read_text())
    [vault] = [
        r["inputs"]["vaultName"] for r in resources if r["type"] == "azure-native:keyvault:Vault"
    ]
    return vault, json.loads((directory / "access.json").read_text())


def _store(stack: stackfile.Stack) -> tuple[AzureStore, FakeKeyVault, FakeCredential]:
    vault, credential = FakeKeyVault(), FakeCredential()
    session = requests.Session()
    session.mount("https://", vault)
    transport = RequestsTransport(session=session, session_owner=False)
    return AzureStore(stack.model, credential=credential, transport=transport), vault, credential


def test_pull_reads_exactly_the_planned_secrets_of_the_planned_vault(
    stack: stackfile.Stack, plan: tuple[str, dict[str, Any]]
) -> None:
    vault, access = plan
    store, transport, credential = _store(stack)
    names = {name for row in access.values() for name in row.get("entries", [])}
    transport.values = {name: secrets.token_hex(16) for name in names}
    for service in [s for s in access if access[s].get("kind") == "workload"]:
        transport.requests.clear()
        items = env.collect(stack, service, store)
        signed = [(m, u) for m, u, headers, _ in transport.requests if "Authorization" in headers]
        assert {urlparse(u).hostname for _, u in signed} == {f"{vault}.vault.azure.net"}
        assert {m for m, _ in signed} == {"GET"}
        assert {urlparse(u).path.split("/")[2] for _, u in signed} == set(
            access[service]["entries"]
        )
        got = {item.value for item in items if item.kind == "secret"}
        assert got == {transport.values[name] for name in access[service]["entries"]}
    assert credential.scopes and all(
        s == ("https://vault.azure.net/.default",) for s in credential.scopes
    )


def test_a_secret_that_is_not_there_is_missing(stack: stackfile.Stack) -> None:
    store, _, _ = _store(stack)
    items = env.collect(stack, "agent9-search", store)
    assert [(item.key, item.status) for item in items if item.kind == "secret"] == [
        ("TYPESENSE_API_KEY", "missing")
    ]


def test_a_denied_read_is_an_error_naming_the_secret(stack: stackfile.Stack) -> None:
    store, transport, _ = _store(stack)
    entry = next(e for e in stack.model.entries if e.id == "backend/OTP_PEPPER")
    transport.values[store.name(entry)] = secret = secrets.token_hex(16)
    transport.denied.add(store.name(entry))
    with pytest.raises(StoreError, match="Forbidden") as error:
        store.read(entry)
    assert store.name(entry) in str(error.value) and secret not in str(error.value)


def test_push_sets_a_new_version_with_exactly_the_value(
    stack: stackfile.Stack, plan: tuple[str, dict[str, Any]]
) -> None:
    vault, access = plan
    store, transport, _ = _store(stack)
    entry = next(e for e in stack.model.entries if e.key == "LINEAR_API_KEY")
    value = "lin_api_" + secrets.token_hex(20)
    store.write(entry, value)
    [(method, url, _, body)] = [r for r in transport.requests if "Authorization" in r[2]]
    assert method == "PUT"
    assert urlparse(url).hostname == f"{vault}.vault.azure.net"
    assert urlparse(url).path == f"/secrets/{access['linear-integration']['entries'][0]}"
    assert json.loads(body) == {"value": value}
    assert store.read(entry) == value
