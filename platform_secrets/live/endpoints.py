"""Where the day-two commands (env, audit) send a store's requests: the stack's address, or an explicit ``--endpoint``.

The store libraries follow variables of the caller's shell over their arguments' defaults: hvac ``VAULT_ADDR``,
boto3 ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, google-cloud ``GOOGLE_CLOUD_UNIVERSE_DOMAIN``,
azure-identity ``AZURE_AUTHORITY_HOST`` (where a credential signs in).
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

from platform_secrets.model.settings import Cloud, Settings
from platform_secrets.model.stack_model import StackModel

REDIRECTS: dict[Cloud, tuple[str, ...]] = {
    Cloud.VAULT: ("VAULT_ADDR",),
    Cloud.AWS: ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    Cloud.GCP: ("GOOGLE_CLOUD_UNIVERSE_DOMAIN",),
    # Where azure-identity's credentials sign in: a redirected authority receives the engineer's assertions.
    Cloud.AZURE: ("AZURE_AUTHORITY_HOST",),
}
"""Variables of each store's client library that change where its requests go."""
FLAG_CLOUDS = (Cloud.VAULT, Cloud.AWS)
"""Stores whose client takes ``--endpoint`` (a local emulator, a port-forward)."""
GCP_UNIVERSE = "googleapis.com"
AZURE_PUBLIC_AUTHORITY = "login.microsoftonline.com"
"""Azure's public cloud; a sovereign cloud's authority is not a stack setting yet, so it is refused too."""
_URL = re.compile(r"https?://[^\s/?#@]+(:\d+)?/?")


class EndpointRefused(ValueError):
    """The command would talk to another address than the stack's; the message says why and what to do."""


def stack_endpoint(model: StackModel) -> str | None:
    """The stack's own address of its store (None: the library's public default, no variable honoured)."""
    return settings_endpoint(model.settings)


def settings_endpoint(settings: Settings) -> str | None:
    """``stack_endpoint`` from the stack's settings alone (the audit has no model)."""
    if settings.cloud is Cloud.VAULT and settings.vault is not None:
        return settings.vault.address
    if settings.cloud is Cloud.AWS and settings.aws is not None:
        return f"https://secretsmanager.{settings.aws.region}.amazonaws.com"
    return None


def endpoint_for(
    model: StackModel, flag: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The address to use: ``flag`` when given (checked), else the stack's; refuses a redirecting variable."""
    return endpoint_for_settings(model.settings, flag, environ)


def endpoint_for_settings(
    settings: Settings, flag: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """``endpoint_for`` from the stack's settings alone: what the audit's readers use."""
    environ = os.environ if environ is None else environ
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
    own = settings_endpoint(settings)
    for name in REDIRECTS[cloud]:
        value = environ.get(name, "")
        if (
            not value
            or _same(value, own)
            or (name == REDIRECTS[Cloud.GCP][0] and value == GCP_UNIVERSE)
            or (name == REDIRECTS[Cloud.AZURE][0] and _host(value) == AZURE_PUBLIC_AUTHORITY)
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


def _host(value: str) -> str:
    """``https://host/`` or ``host`` -> ``host``."""
    return value.removeprefix("https://").rstrip("/")
