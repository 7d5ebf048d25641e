"""Replay the offline plan's AWS documents on a live AWS API (ministack); act as its principals.

``replay_plan(plan_dir, endpoint)`` reads the plan artifacts (``arns.json``, ``resources.json``,
``access.json``) and creates, as the account's root: the KMS key (with its key policy and its alias), every
Secrets Manager entry (same name, a dummy value ``test-value-for-<name>``), the OIDC provider(s)
the trust policies name, every role with its trust policy and inline policy, and each entry's
resource policy. An entry with replicas also gets a copy in each replica region (same name, value
and resource policy), made by hand as AWS replication would make it: ministack does not replicate.

Live ARNs differ from the plan's mock ARNs (account id, a secret's 6-character suffix, the key id),
so every document goes through ``ArnSubstitution``: each plan ARN of ``arns.json`` becomes the live
ARN, then any other occurrence of the plan's account id becomes the live one. Only JSON strings
(keys and values) are rewritten; the documents' structure is kept.

Resource policies are attached in one of three modes (``ResourcePolicyMode``):

- ``"as-planned"``: exactly the plan's documents (after substitution).
- ``"emulator-compat"``: the same, plus, next to each role ARN that an ``aws:PrincipalArn``
  condition names, the ARN of the session this module's helpers open on that role
  (``arn:aws:sts::<acct>:assumed-role/<role>/<SESSION_NAME>``). ministack 1.5.33 gives
  ``aws:PrincipalArn`` the session ARN where AWS gives the role ARN, so without this the readers
  themselves are denied. Values are only added, never removed.
- ``"omit"``: no resource policy, to test the identity policies alone.

Helpers then act as the plan's principals: ``mint_web_identity_token`` makes the token a
Kubernetes ServiceAccount would present (unsigned: ministack verifies no signature), and
``irsa_secrets_client`` exchanges it through ``AssumeRoleWithWebIdentity`` for a Secrets Manager
client.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

DEFAULT_ACCOUNT_ID = "000000000000"
"""ministack's default account: the root key ``test`` acts in it."""

ROOT_SECRET_KEY = "test"
SESSION_NAME = "platform-secrets-live-test"
"""RoleSessionName of every session opened here (and the one ``emulator-compat`` names)."""

STS_AUDIENCE = "sts.amazonaws.com"
"""The audience of the token EKS projects into a pod for IRSA."""

ResourcePolicyMode = Literal["as-planned", "emulator-compat", "omit"]
KeyPolicyMode = Literal["as-planned", "account-default"]
Document = dict[str, Any]
Credentials = dict[str, str]

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"

_CLIENT_CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10)
_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$"
)


class ReplayError(RuntimeError):
    """The plan artifacts do not fit the contract, or the live API disagreed with the plan."""


# --------------------------------------------------------------------------------------------------
# Substitution of plan ARNs by live ARNs
# --------------------------------------------------------------------------------------------------


@dataclass
class ArnSubstitution:
    """Plan ARN -> live ARN, and plan account id -> live account id, applied to JSON strings.

    One pass over each string, longest plan value first, so a mapped ARN is replaced whole and the
    account-id fallback only touches what no mapped ARN covers.
    """

    plan_account: str
    live_account: str
    arns: dict[str, str] = field(default_factory=dict)

    def add(self, plan: str, live: str) -> None:
        if not plan:
            raise ReplayError(f"empty plan value mapped to {live!r}")
        known = self.arns.get(plan)
        if known is not None and known != live:
            raise ReplayError(f"{plan} maps to both {known} and {live}")
        self.arns[plan] = live

    def _mapping(self) -> dict[str, str]:
        return {self.plan_account: self.live_account, **self.arns}

    def text(self, value: str) -> str:
        mapping = self._mapping()
        pattern = "|".join(re.escape(plan) for plan in sorted(mapping, key=len, reverse=True))
        return re.sub(pattern, lambda m: mapping[m.group(0)], value)

    def document(self, doc: Any) -> Any:
        """A copy of a parsed JSON document with every string (key or value) substituted."""
        if isinstance(doc, str):
            return self.text(doc)
        if isinstance(doc, list):
            return [self.document(item) for item in doc]
        if isinstance(doc, dict):
            return {self.text(key): self.document(value) for key, value in doc.items()}
        return doc

    def json(self, raw: str | Document) -> Document:
        """Parse (if needed) and substitute a policy document."""
        doc = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(doc, dict):
            raise ReplayError(f"a policy document is not a JSON object: {raw!r:.200}")
        result: Document = self.document(doc)
        if self.plan_account != self.live_account and self.plan_account in json.dumps(result):
            raise ReplayError(f"the plan account id survived substitution in {result}")
        return result


# --------------------------------------------------------------------------------------------------
# The plan artifacts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The artifacts of one offline plan, as the contract describes them."""

    directory: Path
    access: dict[str, dict[str, Any]]
    resources: list[dict[str, Any]]
    arns: dict[str, Any]

    @classmethod
    def load(cls, directory: Path) -> Plan:
        def read(name: str) -> Any:
            path = directory / name
            if not path.is_file():
                raise ReplayError(f"the plan artifact {path} is missing")
            return json.loads(path.read_text())

        return cls(directory, read("access.json"), read("resources.json"), read("arns.json"))

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("type") == type_]

    @property
    def account_id(self) -> str:
        return str(self.arns["account_id"])

    @property
    def region(self) -> str:
        return str(self.arns["region"])

    def services(self, *kinds: str) -> list[str]:
        """Names of the access matrix's principals of the given kinds (all kinds if none)."""
        return sorted(
            name for name, row in self.access.items() if not kinds or row.get("kind") in kinds
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(doc: Document) -> list[Document]:
    return [s for s in _as_list(doc.get("Statement", [])) if isinstance(s, dict)]


def _federated_providers(trust: Document) -> list[str]:
    found = []
    for statement in _statements(trust):
        principal = statement.get("Principal")
        if isinstance(principal, dict) and "Federated" in principal:
            found += [str(p) for p in _as_list(principal["Federated"])]
    return found


def issuer_of(provider_arn: str) -> str:
    """``arn:aws:iam::<acct>:oidc-provider/<issuer>`` -> ``<issuer>`` (host and path, no scheme)."""
    marker = ":oidc-provider/"
    if marker not in provider_arn:
        raise ReplayError(f"not an OIDC provider ARN: {provider_arn}")
    return provider_arn.split(marker, 1)[1]


def session_arn(role_arn: str, session_name: str = SESSION_NAME) -> str:
    """The ARN of a session on ``role_arn``, as STS returns it."""
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise ReplayError(f"not a role ARN: {role_arn}")
    partition, account, name = match["partition"], match["account"], match["name"]
    return f"arn:{partition}:sts::{account}:assumed-role/{name}/{session_name}"


def emulator_compat_resource_policy(doc: Document, session_name: str = SESSION_NAME) -> Document:
    """A copy where each role ARN of an ``aws:PrincipalArn`` condition is joined by its session.

    ministack 1.5.33 evaluates ``aws:PrincipalArn`` as the caller's session ARN, while AWS gives the
    role ARN for a role session; this keeps the plan's meaning on ministack.

    ministack also puts no ``aws:FederatedProvider`` in any session's request context (AWS puts the
    OIDC provider's ARN in a web-identity session's), so the statement that lets workload readers in
    only through the cluster's provider would deny the planned IRSA sessions too: statements that
    condition on that key are left out here. The guard is not exercised on ministack (its document
    is checked in tests/attacks/test_attacks_aws_identity.py). Nothing else changes.
    """
    result = copy.deepcopy(doc)
    result["Statement"] = [
        st
        for st in _statements(result)
        if not any(
            key.lower() == "aws:federatedprovider"
            for block in (st.get("Condition") or {}).values()
            if isinstance(block, dict)
            for key in block
        )
    ]
    for statement in _statements(result):
        for operator, block in (statement.get("Condition") or {}).items():
            if not isinstance(block, dict):
                continue
            for key, values in list(block.items()):
                if key.lower() != "aws:principalarn":
                    continue
                extended = list(_as_list(values))
                for value in _as_list(values):
                    if isinstance(value, str) and _ROLE_ARN.match(value):
                        extra = session_arn(value, session_name)
                        if extra not in extended:
                            extended.append(extra)
                block[key] = extended
                if not operator.lower().startswith(("string", "arn")):
                    raise ReplayError(f"unexpected operator {operator} on aws:PrincipalArn")
    return result


def widened_identity_policy(doc: Document, resource: str) -> Document:
    """A copy where each statement granting Secrets Manager actions has ``resource`` as Resource."""
    result = copy.deepcopy(doc)
    widened = 0
    for statement in _statements(result):
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        if statement.get("Effect") == "Allow" and any(
            a.lower().startswith("secretsmanager:") for a in actions
        ):
            statement["Resource"] = resource
            widened += 1
    if not widened:
        raise ReplayError("no Secrets Manager statement to widen")
    return result


# --------------------------------------------------------------------------------------------------
# The live environment
# --------------------------------------------------------------------------------------------------


@dataclass
class LiveEnv:
    """What ``replay_plan`` created, by plan name, with live ARNs."""

    endpoint: str
    region: str
    account_id: str
    plan: Plan
    substitution: ArnSubstitution
    resource_policy_mode: ResourcePolicyMode
    kms_key_arn: str = ""
    key_aliases: dict[str, str] = field(default_factory=dict)
    """alias name -> the live key id it targets (the plan's region only)"""
    oidc_providers: dict[str, str] = field(default_factory=dict)
    """issuer (host/path) -> live provider ARN"""
    secrets: dict[str, str] = field(default_factory=dict)
    """entry name -> live ARN"""
    values: dict[str, str] = field(default_factory=dict)
    """entry name -> the dummy value stored"""
    roles: dict[str, str] = field(default_factory=dict)
    """role name -> live ARN"""
    trust_policies: dict[str, Document] = field(default_factory=dict)
    """role name -> live trust policy"""
    identity_policies: dict[str, Document] = field(default_factory=dict)
    """role name -> live inline policy (the last one put, if several)"""
    resource_policies: dict[str, Document] = field(default_factory=dict)
    """entry name -> live resource policy as attached (empty when the mode is "omit")"""
    replicas: dict[str, dict[str, str]] = field(default_factory=dict)
    """replica region -> {entry name -> live ARN of the copy made there}"""

    def client(
        self, service: str, credentials: Credentials | None = None, region: str | None = None
    ) -> Any:
        """A boto3 client for ``service`` (in ``region``, default the plan's): as the account's
        root, or with session credentials."""
        if credentials is None:
            keys = {"aws_access_key_id": self.account_id, "aws_secret_access_key": ROOT_SECRET_KEY}
        else:
            keys = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            config=_CLIENT_CONFIG,
            **keys,
        )

    def live(self, plan_value: str) -> str:
        """A plan ARN (or any string holding one) as it is on the live API."""
        return self.substitution.text(plan_value)

    def role_arn(self, service: str) -> str:
        """The live ARN of the identity the access matrix gives ``service``."""
        return self.live(str(self.plan.access[service]["identity"]))

    def role_name(self, service: str) -> str:
        return self.role_arn(service).rsplit("/", 1)[1]

    def entries(self, service: str) -> list[str]:
        return sorted(self.plan.access[service]["entries"])

    def foreign_entries(self, service: str) -> list[str]:
        own = set(self.entries(service))
        return sorted(name for name in self.secrets if name not in own)

    @property
    def issuer(self) -> str:
        """The issuer of the cluster's ServiceAccount tokens: that of the plan's OIDC provider."""
        return issuer_of(str(self.plan.arns["oidc_provider"]))


def replay_plan(
    plan_dir: Path,
    endpoint: str,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    resource_policies: ResourcePolicyMode = "as-planned",
    key_policy: KeyPolicyMode = "as-planned",
) -> LiveEnv:
    """Create the plan's KMS key, entries, OIDC provider(s), roles and policies on ``endpoint``.

    ``key_policy="account-default"`` replaces the plan's key policy by AWS's default one (the account's
    IAM policies decide), to test the identity policies alone. ``account_id`` selects the live account (ministack treats a 12-digit access key as the root of
    that account), so several replays can share one server. Raises ``ReplayError`` when the
    artifacts break the contract or the API returns other ARNs than predicted, and botocore's
    ``ClientError`` when a call fails.
    """
    plan = Plan.load(plan_dir)
    env = LiveEnv(
        endpoint=endpoint,
        region=plan.region,
        account_id=account_id,
        plan=plan,
        substitution=ArnSubstitution(plan.account_id, account_id),
        resource_policy_mode=resource_policies,
    )
    key_inputs = _create_key(env)  # its policy waits for the complete map
    _create_key_aliases(env)
    _create_secrets(env)
    providers = _map_predictable_arns(env)
    if key_inputs.get("policy"):
        policy = json.dumps(env.substitution.json(key_inputs["policy"]))
        if key_policy == "account-default":
            policy = json.dumps(root_trust(env, "kms:*"))
        key_id = env.kms_key_arn.rsplit("/", 1)[1]
        env.client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    _create_oidc_providers(env, providers)
    _create_roles(env)
    _put_role_policies(env)
    _put_resource_policies(env, resource_policies)
    return env


def _create_key(env: LiveEnv) -> dict[str, Any]:
    """The plan's one KMS key, mapped plan ARN and key id -> live ones; its inputs."""
    keys = env.plan.of_type(KMS_KEY)
    if len(keys) != 1:
        raise ReplayError(f"expected one {KMS_KEY}, found {len(keys)}")
    inputs: dict[str, Any] = keys[0]["inputs"]
    live_key = env.client("kms").create_key(
        Description=str(inputs.get("description", "")), MultiRegion=bool(inputs.get("multiRegion"))
    )["KeyMetadata"]
    plan_key_arn = str(env.plan.arns["kms_key"])
    env.kms_key_arn = live_key["Arn"]
    env.substitution.add(plan_key_arn, live_key["Arn"])
    env.substitution.add(plan_key_arn.rsplit("/", 1)[1], live_key["KeyId"])
    return inputs


def _create_key_aliases(env: LiveEnv) -> None:
    """The plan's aliases of its key in the plan's region (the audit finds the stack's key by its alias).

    An alias in a replica region is not made: ministack does not replicate multi-region keys, so there is no
    replica key for it to name (the replica copies use the region's default key, see below).
    """
    for resource in env.plan.of_type(KMS_ALIAS):
        inputs = resource["inputs"]
        if str(inputs.get("region") or env.region) != env.region:
            continue
        target = env.substitution.text(str(inputs["targetKeyId"]))
        env.client("kms").create_alias(AliasName=str(inputs["name"]), TargetKeyId=target)
        env.key_aliases[str(inputs["name"])] = target


def _create_secrets(env: LiveEnv) -> None:
    """Every entry, with a dummy value; live ARNs carry new random suffixes."""
    secretsmanager = env.client("secretsmanager")
    plan_arns: dict[str, str] = env.plan.arns["secrets"]
    for resource in env.plan.of_type(SECRET):
        inputs = resource["inputs"]
        name = str(inputs["name"])
        if name not in plan_arns:
            raise ReplayError(f"arns.json has no ARN for the entry {name}")
        value = f"test-value-for-{name}"
        kwargs: dict[str, Any] = {"Name": name, "SecretString": value}
        if inputs.get("kmsKeyId"):
            kwargs["KmsKeyId"] = env.substitution.text(str(inputs["kmsKeyId"]))
        if inputs.get("description"):
            kwargs["Description"] = str(inputs["description"])
        if inputs.get("tags"):
            kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in inputs["tags"].items()]
        live_arn = secretsmanager.create_secret(**kwargs)["ARN"]
        env.secrets[name] = live_arn
        env.values[name] = value
        env.substitution.add(plan_arns[name], live_arn)
        for replica in inputs.get("replicas") or []:
            _create_replica_copy(env, plan_arns[name], str(replica["region"]), kwargs)
    missing = set(plan_arns) - set(env.secrets)
    if missing:
        raise ReplayError(f"arns.json names entries resources.json does not: {sorted(missing)}")
    for service in env.plan.services():
        unknown = set(env.plan.access[service]["entries"]) - set(env.secrets)
        if unknown:
            raise ReplayError(f"access.json gives {service} unknown entries: {sorted(unknown)}")


def _create_replica_copy(env: LiveEnv, plan_arn: str, region: str, kwargs: dict[str, Any]) -> None:
    """The entry's copy in a replica region, made by hand: ministack does not replicate.

    Same name, value, description and tags, as Secrets Manager's replication would make it (the
    resource policy follows in ``_put_resource_policies``). The copy is encrypted with the region's
    default key: ministack does not replicate multi-region KMS keys either, and its Secrets Manager
    does not call KMS, so the key does not change what a principal may read here.
    """
    copy_kwargs = {k: v for k, v in kwargs.items() if k != "KmsKeyId"}
    live_arn = env.client("secretsmanager", region=region).create_secret(**copy_kwargs)["ARN"]
    env.replicas.setdefault(region, {})[str(kwargs["Name"])] = live_arn
    parts = plan_arn.split(":")
    env.substitution.add(":".join([*parts[:3], region, *parts[4:]]), live_arn)


def _map_predictable_arns(env: LiveEnv) -> set[str]:
    """Map the roles' and OIDC providers' ARNs (checked on creation); the plan's provider ARNs."""
    for name, plan_arn in env.plan.arns["roles"].items():
        env.substitution.add(str(plan_arn), f"arn:aws:iam::{env.account_id}:role/{name}")
    providers = {str(env.plan.arns["oidc_provider"])}
    for resource in env.plan.of_type(ROLE):
        trust = json.loads(resource["inputs"]["assumeRolePolicy"])
        providers.update(_federated_providers(trust))
    for plan_arn in providers:
        live_arn = f"arn:aws:iam::{env.account_id}:oidc-provider/{issuer_of(plan_arn)}"
        env.substitution.add(plan_arn, live_arn)
    return providers


def _create_oidc_providers(env: LiveEnv, plan_arns: set[str]) -> None:
    """The plan's provider and any other a trust policy names (the plan may only reference it)."""
    iam = env.client("iam")
    declared = {str(r["inputs"]["url"]): r["inputs"] for r in env.plan.of_type(OIDC_PROVIDER)}
    for plan_arn in sorted(plan_arns):
        issuer = issuer_of(plan_arn)
        inputs = declared.get(f"https://{issuer}", declared.get(issuer, {}))
        live_arn = iam.create_open_id_connect_provider(
            Url=f"https://{issuer}",
            ClientIDList=[str(c) for c in inputs.get("clientIdLists", [STS_AUDIENCE])],
            ThumbprintList=[str(t) for t in inputs.get("thumbprintLists", ["0" * 40])],
        )["OpenIDConnectProviderArn"]
        if live_arn != env.substitution.text(plan_arn):
            raise ReplayError(f"OIDC provider {plan_arn}: the API made {live_arn}")
        env.oidc_providers[issuer] = live_arn


def _create_roles(env: LiveEnv) -> None:
    iam = env.client("iam")
    for resource in env.plan.of_type(ROLE):
        inputs = resource["inputs"]
        name = str(inputs["name"])
        trust = env.substitution.json(inputs["assumeRolePolicy"])
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(trust)}
        if inputs.get("description"):
            kwargs["Description"] = str(inputs["description"])
        if inputs.get("maxSessionDuration"):
            kwargs["MaxSessionDuration"] = int(inputs["maxSessionDuration"])
        live_arn = iam.create_role(**kwargs)["Role"]["Arn"]
        expected = env.substitution.text(str(env.plan.arns["roles"].get(name, "")))
        if live_arn != expected:
            raise ReplayError(
                f"role {name}: arns.json predicts {expected!r}, the API made {live_arn}"
            )
        env.roles[name] = live_arn
        env.trust_policies[name] = trust


def _put_role_policies(env: LiveEnv) -> None:
    iam = env.client("iam")
    for resource in env.plan.of_type(ROLE_POLICY):
        inputs = resource["inputs"]
        role_name = env.substitution.text(str(inputs["role"])).rsplit("/", 1)[-1]  # name or ARN
        if role_name not in env.roles:
            raise ReplayError(f"{resource['name']}: its role {role_name} is not in the plan")
        policy = env.substitution.json(inputs["policy"])
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName=str(inputs.get("name") or resource["name"]),
            PolicyDocument=json.dumps(policy),
        )
        env.identity_policies[role_name] = policy


def _put_resource_policies(env: LiveEnv, mode: ResourcePolicyMode) -> None:
    secretsmanager = env.client("secretsmanager")
    by_arn = {arn: name for name, arn in env.secrets.items()}
    for resource in env.plan.of_type(SECRET_POLICY):
        inputs = resource["inputs"]
        secret_arn = env.substitution.text(str(inputs["secretArn"]))
        if secret_arn not in by_arn:
            raise ReplayError(f"{resource['name']}: {inputs['secretArn']} is not a planned entry")
        policy = env.substitution.json(inputs["policy"])  # checked in every mode
        if mode == "omit":
            continue
        if mode == "emulator-compat":
            policy = emulator_compat_resource_policy(policy)
        secretsmanager.put_resource_policy(SecretId=secret_arn, ResourcePolicy=json.dumps(policy))
        env.resource_policies[by_arn[secret_arn]] = policy
        # Secrets Manager copies the resource policy to every replica verbatim: so does the replay.
        for region, copies in env.replicas.items():
            if by_arn[secret_arn] in copies:
                env.client("secretsmanager", region=region).put_resource_policy(
                    SecretId=copies[by_arn[secret_arn]], ResourcePolicy=json.dumps(policy)
                )


# --------------------------------------------------------------------------------------------------
# Acting as the plan's principals
# --------------------------------------------------------------------------------------------------


def _b64url(data: Mapping[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint_web_identity_token(
    issuer: str,
    namespace: str,
    service_account: str,
    *,
    audience: str = STS_AUDIENCE,
    lifetime: int = 3600,
) -> str:
    """The claims of the token Kubernetes projects for ``namespace/service_account``, unsigned.

    ``aud`` is a string, not the one-element list a real EKS token carries: ministack 1.5.33
    compares a list claim as its Python text and never matches it. ministack verifies no
    signature, so the token carries none (``alg: none``).
    """
    now = int(time.time())
    claims = {
        "iss": f"https://{issuer}",
        "sub": f"system:serviceaccount:{namespace}:{service_account}",
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": service_account}},
    }
    return f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims)}."


def assume_role_with_web_identity(
    env: LiveEnv, role_arn: str, token: str, session_name: str = SESSION_NAME
) -> Credentials:
    """Exchange a web-identity token for the role's credentials (unsigned, as a pod's SDK does)."""
    sts = boto3.client(
        "sts",
        endpoint_url=env.endpoint,
        region_name=env.region,
        config=_CLIENT_CONFIG.merge(Config(signature_version=UNSIGNED)),
    )
    response = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName=session_name, WebIdentityToken=token
    )
    return dict(response["Credentials"])


def irsa_secrets_client(
    env: LiveEnv,
    role_arn: str,
    namespace: str,
    service_account: str,
    *,
    audience: str = STS_AUDIENCE,
    issuer: str | None = None,
) -> Any:
    """A Secrets Manager client of the pod running as ``namespace/service_account`` with IRSA."""
    token = mint_web_identity_token(
        issuer or env.issuer, namespace, service_account, audience=audience
    )
    return env.client("secretsmanager", assume_role_with_web_identity(env, role_arn, token))


def assume_role(
    env: LiveEnv,
    role_arn: str,
    credentials: Credentials | None = None,
    session_name: str = SESSION_NAME,
) -> Credentials:
    """``sts:AssumeRole`` as the root (no ``credentials``) or as the session of ``credentials``."""
    sts = env.client("sts", credentials)
    response = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)
    return dict(response["Credentials"])


def create_role(env: LiveEnv, name: str, trust: Document, policies: Iterable[Document] = ()) -> str:
    """A role the plan does not define (a stand-in or a control), with inline policies."""
    iam = env.client("iam")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )
    for index, policy in enumerate(policies):
        iam.put_role_policy(
            RoleName=name, PolicyName=f"inline-{index}", PolicyDocument=json.dumps(policy)
        )
    return arn


def root_trust(env: LiveEnv, action: str = "sts:AssumeRole") -> Document:
    """A policy that lets the account's root (the tests' admin) assume the role (or do ``action``).

    With ``kms:*`` it is AWS's default key policy: the account's IAM policies decide.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{env.account_id}:root"},
                "Action": action,
                **({"Resource": "*"} if action.startswith("kms:") else {}),
            }
        ],
    }


def create_stand_in_principal(env: LiveEnv, role_arn: str, policy: Document) -> Credentials:
    """Create the role ``role_arn`` names (outside the plan: a CI or admin role); open a session.

    The role trusts the account's root and holds ``policy``; the session is opened by the root.
    """
    match = _ROLE_ARN.match(role_arn)
    if match is None or match["account"] != env.account_id:
        raise ReplayError(f"not a role of the live account {env.account_id}: {role_arn}")
    created = create_role(env, match["name"], root_trust(env), [policy])
    if created != role_arn:
        raise ReplayError(f"stand-in role: expected {role_arn}, got {created}")
    return assume_role(env, role_arn)


def aws_principals(trust: Document, action: str = "sts:AssumeRole") -> list[str]:
    """The ``AWS`` principals a trust policy lets perform ``action``."""
    found: list[str] = []
    for statement in _statements(trust):
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        principal = statement.get("Principal")
        if statement.get("Effect") == "Allow" and action in actions and isinstance(principal, dict):
            found += [str(p) for p in _as_list(principal.get("AWS", []))]
    return found


def error_code(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str | None:
    """Run ``call(*args, **kwargs)``; the AWS error code it raised, or None if it succeeded."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        return str(exc.response.get("Error", {}).get("Code", "?"))
    return None


SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def replay_rotation(env: LiveEnv, before: list[Any], after: list[Any]) -> dict[str, str]:
    """Write, as the provider's replacement of a SecretVersion would, a new current value for each entry whose
    planned value changed between two runs' resources (an epoch bump); entry name -> the value written.

    ``PutSecretValue`` moves ``AWSCURRENT`` to the new version and ``AWSPREVIOUS`` to the replaced one, as on
    AWS. The value is the new plan's (the mocks' fake value for the new keepers), never a real secret.
    """
    from pulumi.runtime.rpc import unwrap_rpc_secret

    def values(resources: list[Any]) -> dict[str, tuple[str, str]]:
        found = {}
        for r in resources:
            if r.type == SECRET_VERSION:
                secret_id = env.substitution.text(str(r.inputs["secretId"]))
                found[r.name] = (secret_id, str(unwrap_rpc_secret(r.inputs["secretString"])))
        return found

    old, new = values(before), values(after)
    by_arn = {arn: name for name, arn in env.secrets.items()}
    written = {}
    for name, (secret_id, value) in sorted(new.items()):
        if old.get(name, (None, None))[1] == value:
            continue
        env.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=value)
        entry = by_arn[secret_id]
        env.values[entry] = value
        written[entry] = value
    return written
