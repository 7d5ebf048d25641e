"""GCP Secret Manager with google-cloud-secret-manager and application default credentials.

Secret ids come from ``GcpAdapter.entry_name`` (``gcp_naming.secret_id``) in the stack's ``gcp.project``. A read
accesses the ``latest`` version; a write adds a version (the secret exists: Pulumi created it).
"""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions
from google.cloud import secretmanager

from platform_secrets.live.clients import StoreClient, StoreError
from platform_secrets.model.stack_model import Entry, StackModel
from platform_secrets.program.clouds.gcp import GcpAdapter
from platform_secrets.program.clouds.gcp_naming import secret_resource_id

TIMEOUT = 30.0


class GcpStore(StoreClient):
    store = "GCP Secret Manager"

    def __init__(self, model: StackModel, transport: Any = None) -> None:
        super().__init__(model)
        assert model.settings.gcp is not None  # Settings checks it
        self.project = model.settings.gcp.project
        self.adapter = GcpAdapter(model)
        self.client = (
            secretmanager.SecretManagerServiceClient(transport=transport)
            if transport is not None
            else secretmanager.SecretManagerServiceClient()
        )

    def name(self, entry: Entry) -> str:
        return secret_resource_id(self.project, self.adapter.entry_name(entry))

    def read(self, entry: Entry) -> str | None:
        try:
            response = self.client.access_secret_version(
                request={"name": f"{self.name(entry)}/versions/latest"}, timeout=TIMEOUT
            )
        except exceptions.NotFound:
            return None  # no secret, or no enabled version yet
        except exceptions.GoogleAPICallError as error:
            raise StoreError(
                f"{self.name(entry)}: {error.code} {error.reason or ''}".rstrip()
            ) from None
        return bytes(response.payload.data).decode()

    def write(self, entry: Entry, value: str) -> None:
        try:
            self.client.add_secret_version(
                request={"parent": self.name(entry), "payload": {"data": value.encode()}},
                timeout=TIMEOUT,
            )
        except exceptions.GoogleAPICallError as error:
            raise StoreError(f"{self.name(entry)}: {error.code} (writing {entry.id})") from None
