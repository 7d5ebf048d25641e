"""Stack settings: what differs per environment, read from ``Pulumi.<stack>.yaml``.

Plain Python and pydantic, no Pulumi. ``environment: prod`` (a typed setting, never the stack's name) turns on
protection, retention and the strict rules.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from components.catalog import Environment, format_validation_error

ROLE_ARN = r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$"
AWS_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"


class Cloud(str, Enum):
    """The cloud whose secret store and identities a stack uses."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


class Binding(str, Enum):
    """How secrets reach the pods."""

    EXTERNAL_SECRETS = "external-secrets"
    NATIVE = "native"


class _Camel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class AwsSettings(_Camel):
    """AWS: Secrets Manager, KMS and IRSA."""

    region: str = Field(pattern=AWS_REGION, description="Region of the entries and the KMS key.")
    account_id: str = Field(
        pattern=r"^\d{12}$",
        description="Account the stack deploys to; the provider refuses any other (allowed_account_ids).",
    )
    oidc_issuer: str = Field(
        pattern=r"^[a-z0-9.-]+(/[A-Za-z0-9._-]+)*$",
        description="The EKS cluster's OIDC issuer without https://, e.g. oidc.eks.<region>.amazonaws.com/id/<ID>.",
    )
    create_oidc_provider: bool = Field(
        default=False,
        description="Create the IAM OIDC provider of the issuer (false: it exists, e.g. made by eksctl).",
    )
    admin_role_arns: tuple[Annotated[str, Field(pattern=ROLE_ARN)], ...] = Field(
        default=(),
        description="Roles exempt from the entries' deny-all resource policy (break-glass, rotation).",
    )
    replica_region: str | None = Field(
        default=None,
        pattern=AWS_REGION,
        description="Second region that holds replicas of every entry and of the KMS key (prod: required).",
    )
    rotation_lambda_arns: dict[str, str] = Field(
        default_factory=dict,
        description="`<owner>.<KEY>: lambda ARN` of third-party secrets whose rotation AWS runs on the "
        "secret's rotation period (Secrets Manager rotation rules).",
    )


class Settings(_Camel):
    """Every stack setting of platform-secrets (keys under the `platform-secrets:` namespace)."""

    environment: Environment = Field(description="dev, staging or prod; prod is strict.")
    cloud: Cloud = Field(
        default=Cloud.AWS, description="Which cloud's store and identities to use."
    )
    name_prefix: str = Field(
        default="platform-secrets",
        pattern=r"^[a-z][a-z0-9-]{1,20}$",
        description="Prefix of every cloud name (entries, roles, keys).",
    )
    binding: Binding = Field(
        default=Binding.EXTERNAL_SECRETS,
        description="external-secrets (ESO syncs from the store) or native (Pulumi writes the Secret).",
    )
    refresh_interval: str = Field(
        default="1h",
        pattern=r"^\d+[smh]$",
        description="How often ESO re-reads the store (picks up rotated values).",
    )
    recovery_window_days: Annotated[int, Field(ge=7, le=30)] | None = Field(
        default=None,
        description="Days a deleted entry can be restored; dev default 7, prod always 30.",
    )
    rotation_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        default=None,
        description="Default rotation period of every secret; prod default 90 and at most 90.",
    )
    rotation_epoch: str = Field(
        default="initial",
        pattern=r"^[A-Za-z0-9._-]{1,40}$",
        description="Keeper of every generated value: change it (e.g. to today's date) to regenerate them "
        "all on the next `pulumi up`. A date (YYYY-MM-DD) lets the program warn when rotation is overdue.",
    )
    rotation_epochs: dict[str, Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")]] = Field(
        default_factory=dict,
        description="Per-secret epochs, `<owner>.<KEY>: epoch`, to regenerate one value (e.g. after a leak).",
    )
    settings: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Plain setting values per service: {service: {KEY: value}}; override catalog defaults.",
    )
    tooling_principals: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Non-workload service -> principals that may assume its identity (AWS: role ARNs).",
    )
    adopt_existing: bool = Field(
        default=False,
        description="Import store entries and keys that exist under their deterministic names instead of "
        "creating them (disaster recovery after the state is lost).",
    )
    aws: AwsSettings | None = Field(default=None, description="AWS settings (cloud: aws).")

    @property
    def strict(self) -> bool:
        """Prod rules on: required secrets, CORS, https, protection, rotation."""
        return self.environment is Environment.PROD

    @property
    def protect(self) -> bool:
        """Store entries and keys are protected and retained on delete in prod."""
        return self.strict

    @property
    def effective_recovery_window_days(self) -> int:
        return 30 if self.strict else (self.recovery_window_days or 7)

    @property
    def effective_rotation_days(self) -> int | None:
        return self.rotation_days or (90 if self.strict else None)

    @model_validator(mode="after")
    def _environment_rules(self) -> Settings:
        problems = []
        if self.cloud is Cloud.AWS and self.aws is None:
            problems.append("aws: required when cloud is aws")
        if self.strict:
            if self.recovery_window_days not in (None, 30):
                problems.append("recoveryWindowDays: prod keeps deleted entries 30 days")
            if self.rotation_days is not None and self.rotation_days > 90:
                problems.append("rotationDays: prod rotates at least every 90 days")
            if self.cloud is Cloud.AWS and self.aws is not None and not self.aws.replica_region:
                problems.append("aws.replicaRegion: prod replicates to a second region")
        if self.aws and self.aws.replica_region == self.aws.region:
            problems.append("aws.replicaRegion: must differ from aws.region")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SettingsError(ValueError):
    """The stack settings are invalid; the message names every problem."""


SETTINGS_KEYS = tuple(field.alias or name for name, field in Settings.model_fields.items())
"""Top-level config keys (camelCase) under the project namespace."""


def parse_settings(raw: dict[str, Any], where: str = "stack settings") -> Settings:
    """Validate the stack's raw config (top-level keys as in the stack file, namespace removed)."""
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise SettingsError(format_validation_error(error, where)) from None


def config_key(owner: str, key: str) -> str:
    """Stack config key of a config-sourced secret: `pulumi config set --secret <owner>.<KEY>`."""
    return f"{owner}.{key}"


def is_config_secret_key(name: str) -> bool:
    """Whether a config key names a secret value (`<owner>.<KEY>`) rather than a setting."""
    return re.fullmatch(r"[a-z][a-z0-9-]*\.[A-Z][A-Z0-9_]*", name) is not None
