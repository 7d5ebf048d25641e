"""The GCP store client, judged at the wire: google-cloud-secret-manager talks gRPC to an in-process server on
127.0.0.1 that decodes each call with the library's own request types and answers like Secret Manager.

What is checked is what the library sends (method, resource name, payload), for the names the dev plan registered
on GCP (its access matrix), and how answers map: a value, ``NOT_FOUND`` as missing, ``PERMISSION_DENIED`` as an
error that names the secret and no value. Nothing here talks to Google.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import secretmanager
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from platform_secrets.live import env
from platform_secrets.live.clients import StoreError
from platform_secrets.live.clients.gcp import GcpStore
from platform_secrets.offline import stackfile

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # google-api-core on Python 3.11


class FakeSecretManager:
    """Secret Manager's two calls the client uses, over real gRPC: versions kept per secret, requests recorded."""

    def __init__(self) -> None:
        self.versions: dict[str, list[bytes]] = {}
        self.denied: set[str] = set()
        self.requests: list[tuple[str, Any]] = []

    def access(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append(("AccessSecretVersion", request))
        secret = request.name.removesuffix("/versions/latest")
        if secret in self.denied:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"Permission denied on {secret}")
        if not self.versions.get(secret):
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"Secret [{secret}] not found or has no versions."
            )
        number = len(self.versions[secret])
        return secretmanager.AccessSecretVersionResponse(
            name=f"{secret}/versions/{number}",
            payload=secretmanager.SecretPayload(data=self.versions[secret][-1]),
        )

    def add(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append(("AddSecretVersion", request))
        self.versions.setdefault(request.parent, []).append(request.payload.data)
        number = len(self.versions[request.parent])
        return secretmanager.SecretVersion(name=f"{request.parent}/versions/{number}")

    def handler(self) -> grpc.GenericRpcHandler:
        def method(function: Any, request_type: Any, response_type: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                function,
                request_deserializer=request_type.deserialize,
                response_serializer=response_type.serialize,
            )

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "AccessSecretVersion": method(
                    self.access,
                    secretmanager.AccessSecretVersionRequest,
                    secretmanager.AccessSecretVersionResponse,
                ),
                "AddSecretVersion": method(
                    self.add, secretmanager.AddSecretVersionRequest, secretmanager.SecretVersion
                ),
            },
        )


@pytest.fixture
def server() -> Iterator[tuple[FakeSecretManager, str]]:
    fake = FakeSecretManager()
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    grpc_server.add_generic_rpc_handlers((fake.handler(),))
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    try:
        yield fake, f"127.0.0.1:{port}"
    finally:
        grpc_server.stop(grace=None)


@pytest.fixture(scope="module")
def stack() -> stackfile.Stack:
    return stackfile.load("dev", overrides={"cloud": "gcp"})


@pytest.fixture(scope="module")
def plan_access(cloud_plan_dirs: dict[tuple[str, str], Path]) -> dict[str, Any]:
    access: dict[str, Any] = json.loads(
        (cloud_plan_dirs[("gcp", "dev")] / "access.json").read_text()
    )
    return access


def _store(stack: stackfile.Stack, address: str) -> GcpStore:
    channel = grpc.insecure_channel(address)
    return GcpStore(stack.model, transport=SecretManagerServiceGrpcTransport(channel=channel))


def _resource(stack: stackfile.Stack, secret_id: str) -> str:
    assert stack.model.settings.gcp is not None
    return f"projects/{stack.model.settings.gcp.project}/secrets/{secret_id}"


WORKLOADS = ["backend", "agent7-messaging", "media", "agent9-search", "events-service"]


def test_pull_reads_the_latest_version_of_exactly_the_planned_secrets(
    server: tuple[FakeSecretManager, str], stack: stackfile.Stack, plan_access: dict[str, Any]
) -> None:
    fake, address = server
    names = {secret for row in plan_access.values() for secret in row.get("entries", [])}
    values = {name: secrets.token_hex(16) for name in names}
    for name, value in values.items():
        fake.versions[_resource(stack, name)] = [b"old-" + value.encode(), value.encode()]
    store = _store(stack, address)
    for service in [s for s in plan_access if plan_access[s].get("kind") == "workload"]:
        fake.requests.clear()
        items = env.collect(stack, service, store)
        requested = {request.name for method, request in fake.requests}
        planned = {
            f"{_resource(stack, n)}/versions/latest" for n in plan_access[service]["entries"]
        }
        assert requested == planned, service
        assert {m for m, _ in fake.requests} == {"AccessSecretVersion"}
        got = {item.value for item in items if item.kind == "secret"}
        assert got == {values[n] for n in plan_access[service]["entries"]}, service


def test_a_secret_without_versions_is_missing(
    server: tuple[FakeSecretManager, str], stack: stackfile.Stack
) -> None:
    _, address = server
    items = env.collect(stack, "backend", _store(stack, address))
    statuses = {item.key: item.status for item in items if item.kind == "secret"}
    assert sorted(statuses) == ["JWT_SECRET", "OTP_PEPPER", "REDIS_URL"]
    assert set(statuses.values()) == {"missing"}


def test_a_denied_read_is_an_error_naming_the_secret(
    server: tuple[FakeSecretManager, str], stack: stackfile.Stack
) -> None:
    fake, address = server
    store = _store(stack, address)
    entry = next(e for e in stack.model.entries if e.id == "backend/OTP_PEPPER")
    fake.denied.add(store.name(entry))
    with pytest.raises(StoreError, match="OTP_PEPPER") as error:
        store.read(entry)
    assert "403" in str(error.value)


def test_push_adds_a_version_with_exactly_the_value(
    server: tuple[FakeSecretManager, str], stack: stackfile.Stack, plan_access: dict[str, Any]
) -> None:
    fake, address = server
    store = _store(stack, address)
    entry = next(e for e in stack.model.entries if e.key == "LINEAR_API_KEY")
    value = "lin_api_" + secrets.token_hex(20)
    store.write(entry, value)
    [(method, request)] = fake.requests
    assert method == "AddSecretVersion"
    assert isinstance(request, secretmanager.AddSecretVersionRequest)
    assert request.parent == _resource(stack, plan_access["linear-integration"]["entries"][0])
    assert request.payload.data == value.encode()
    assert store.read(entry) == value
