"""AWS Secrets Manager with boto3 and the default credential chain (profile, SSO, env, instance role).

Entry names come from ``AwsAdapter.entry_name``; the region is the stack's ``aws.region``. The endpoint is always
explicit: Secrets Manager's regional one, or ``endpoint_url`` (``platform_secrets.live.env --endpoint``, e.g. a local emulator);
boto3's ``AWS_ENDPOINT_URL`` variables and config-file ``endpoint_url`` never apply (``platform_secrets.live.endpoints``).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from platform_secrets.live.aws_session import new_session
from platform_secrets.live.clients import StoreClient, StoreError
from platform_secrets.model.stack_model import Entry, StackModel
from platform_secrets.program.clouds.aws import AwsAdapter

NOT_FOUND = "ResourceNotFoundException"
"""No such secret, or a secret with no current version (an external entry not filled yet)."""


class AwsStore(StoreClient):
    store = "AWS Secrets Manager"

    def __init__(
        self, model: StackModel, session: Any = None, endpoint_url: str | None = None
    ) -> None:
        super().__init__(model)
        assert model.settings.aws is not None  # Settings checks it
        self.adapter = AwsAdapter(model)
        region = model.settings.aws.region
        self.client = (session or new_session()).client(
            "secretsmanager",
            region_name=region,
            endpoint_url=endpoint_url or f"https://secretsmanager.{region}.amazonaws.com",
        )

    def name(self, entry: Entry) -> str:
        return self.adapter.entry_name(entry)

    def read(self, entry: Entry) -> str | None:
        try:
            response = self.client.get_secret_value(SecretId=self.name(entry))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "?")
            if code == NOT_FOUND:
                return None
            raise StoreError(f"{self.name(entry)}: {code} (reading {entry.id})") from None
        except BotoCoreError as error:
            raise StoreError(f"{self.name(entry)}: {type(error).__name__}: {error}") from None
        if "SecretString" in response:
            return str(response["SecretString"])
        return bytes(response.get("SecretBinary", b"")).decode()

    def write(self, entry: Entry, value: str) -> None:
        try:
            self.client.put_secret_value(SecretId=self.name(entry), SecretString=value)
        except ClientError as error:
            # Only the code: a validation message could quote the request.
            code = error.response.get("Error", {}).get("Code", "?")
            raise StoreError(f"{self.name(entry)}: {code} (writing {entry.id})") from None
        except BotoCoreError as error:
            raise StoreError(f"{self.name(entry)}: {type(error).__name__}") from None
