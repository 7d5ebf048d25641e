"""The overlap after a rotation of a ``keep_previous`` secret: which store version readers get as ``<KEY>_PREVIOUS``.

The stack setting ``rotationOverlaps`` (``<owner>.<KEY>: <version>``) is written by ``platform-secrets rotate``
when it bumps the epoch of a ``keep_previous`` secret, and removed by it once the overlap is over; the program
adds ``<KEY>_PREVIOUS`` to each reader's Secret iff the entry is named there. So a plan stays a function of the
files (no clock in the program), and a pull request shows which version becomes the previous one.

The version is the store's id of the value being replaced, in that store's form: an AWS VersionId (the
ExternalSecret selects the ``AWSPREVIOUS`` stage, which AWS moves by itself; the id is the record), a Vault
KV v2 or GCP version number, an Azure Key Vault version id. Pure: no Pulumi, no store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from platform_secrets.model.catalog import SecretSpec, Source
from platform_secrets.model.settings import Binding, Cloud, Settings

VERSION_FORMS: dict[Cloud, tuple[re.Pattern[str], str]] = {
    Cloud.AWS: (re.compile(r"^[A-Za-z0-9-]{32,64}$"), "a Secrets Manager VersionId"),
    Cloud.VAULT: (re.compile(r"^[1-9][0-9]{0,9}$"), "a KV v2 version number"),
    Cloud.GCP: (re.compile(r"^[1-9][0-9]{0,9}$"), "a Secret Manager version number"),
    Cloud.AZURE: (re.compile(r"^[0-9a-f]{32}$"), "a Key Vault version id (32 hex digits)"),
}
"""Each store's form of a version id, and its name for the messages."""


class _Entry(Protocol):
    @property
    def config_key(self) -> str: ...
    @property
    def spec(self) -> SecretSpec: ...


def overlap_problems(settings: Settings, entries: Iterable[_Entry]) -> list[str]:
    """Every ``rotationOverlaps`` item that could not be delivered as a previous value of its own entry."""
    by_key = {entry.config_key: entry for entry in entries}
    problems = []
    pattern, form = VERSION_FORMS[settings.cloud]
    for key, version in sorted(settings.rotation_overlaps.items()):
        where = f"rotationOverlaps.{key}"
        entry = by_key.get(key)
        if entry is None:
            problems.append(f"{where}: not a secret of the catalog")
            continue
        if not entry.spec.keep_previous or entry.spec.source is not Source.GENERATED:
            problems.append(f"{where}: {key} does not keep its previous value (keep_previous)")
        if settings.binding is Binding.NATIVE:
            problems.append(
                f"{where}: binding native holds only the current value (its generated value is "
                "replaced); a previous value is delivered with binding external-secrets"
            )
        if not pattern.fullmatch(version):
            problems.append(f"{where}: {version!r} is not {form} ({settings.cloud.value})")
    if settings.cloud is Cloud.VAULT and settings.vault is not None:
        keeping = sorted(e.config_key for e in by_key.values() if e.spec.keep_previous)
        if keeping and settings.vault.max_versions < 2:
            problems.append(
                f"vault.maxVersions: {settings.vault.max_versions} keeps no previous version, but "
                f"{', '.join(keeping)} keep their previous value (keep_previous): at least 2"
            )
    return problems
