"""Where the day-two commands send a store's requests: the stack's address, or an explicit ``--endpoint``.

The store libraries follow variables of the caller's shell over their arguments' defaults: hvac ``VAULT_ADDR``,
boto3 ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, google-cloud ``GOOGLE_CLOUD_UNIVERSE_DOMAIN``.
Left alone, such a variable sends the caller's token and the values pushed or read to another listener (over
http too). So the store's address is the stack's (``vault.address``; Secrets Manager's regional endpoint of
``aws.region``; Secret Manager's and Key Vault's public ones); another address only with ``--endpoint URL``,
https only in prod; and a variable that would redirect the command is refused, naming it, rather than silently
ignored (the engineer who set it learns that it does not apply).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from platform_secrets.model.settings import Cloud
from platform_secrets.model.stack_model import StackModel

REDIRECTS: dict[Cloud, tuple[str, ...]] = {
    Cloud.VAULT: ("VAULT_ADDR",),
    Cloud.AWS: ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    Cloud.GCP: ("GOOGLE_CLOUD_UNIVERSE_DOMAIN",),
    Cloud.AZURE: (),
}
"""Variables of each store's client library that change where its requests go."""
FLAG_CLOUDS = (Cloud.VAULT, Cloud.AWS)
"""Stores whose client takes ``--endpoint`` (a local emulator, a port-forward)."""
GCP_UNIVERSE = "googleapis.com"
_URL = re.compile(r"https?://[^\s/?#@]+(:\d+)?/?")


class EndpointRefused(ValueError):
    """The command would talk to another address than the stack's; the message says why and what to do."""


def stack_endpoint(model: StackModel) -> str | None:
    """The stack's own address of its store (None: the library's public default, no variable honoured)."""
    settings = model.settings
    if settings.cloud is Cloud.VAULT and settings.vault is not None:
        return settings.vault.address
    if settings.cloud is Cloud.AWS and settings.aws is not None:
        return f"https://secretsmanager.{settings.aws.region}.amazonaws.com"
    return None


def endpoint_for(
    model: StackModel, flag: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The address to use: ``flag`` when given (checked), else the stack's; refuses a redirecting variable."""
    environ = os.environ if environ is None else environ
    settings = model.settings
    cloud = settings.cloud
    if flag is not None:
        if cloud not in FLAG_CLOUDS:
            raise EndpointRefused(f"--endpoint: the {cloud.value} store client takes no endpoint")
        if not _URL.fullmatch(flag):
            raise EndpointRefused(f"--endpoint: {flag!r} is not an http(s)://host[:port] URL")
        if settings.strict and not flag.startswith("https://"):
            raise EndpointRefused(
                f"--endpoint: prod talks to its store over https only (got {flag!r}): the token and "
                "every value would cross the network in cleartext"
            )
        return flag
    own = stack_endpoint(model)
    for name in REDIRECTS[cloud]:
        value = environ.get(name, "")
        if (
            not value
            or _same(value, own)
            or (name == REDIRECTS[Cloud.GCP][0] and value == GCP_UNIVERSE)
        ):
            continue
        raise EndpointRefused(
            f"{name}={value!r} would send this command's credentials and values to another address than "
            f"the {settings.environment.value} stack's ({own or 'its public endpoint'}); unset "
            f"{name}"
            + (", or pass --endpoint URL to choose one explicitly" if cloud in FLAG_CLOUDS else "")
        )
    return own


def _same(value: str, own: str | None) -> bool:
    return own is not None and value.rstrip("/") == own.rstrip("/")
