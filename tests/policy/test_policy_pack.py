"""The policy pack (``policy/``) against the offline plans: clean plans pass, a broken copy of each kind fails.

Each policy's ``validate`` is called with pulumi-policy's own ``ResourceValidationArgs`` / ``StackValidationArgs``,
built from the resources the offline run recorded (inputs in the engine's wire form, through the pack's own
``engine_properties``, so secrets arrive marked as the engine sends them). A broken case deep-copies one
registered resource and changes one field. The last tests start the pack the way the CLI does
(``python -m pulumi.policy <engine> policy``) and talk to its gRPC server.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import Registered, RunResult
from platform_secrets.paths import PROJECT_ROOT
from policy import rules

ROOT = PROJECT_ROOT
POLICY_DIR = ROOT / "policy"
BY_NAME = {policy.name: policy for policy in rules.POLICIES}


# --- a thin adapter: offline registrations -> pulumi-policy's argument objects ---


def _options(r: Registered) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=r.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=r.aliases,
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=r.parent or None,
    )


def _providers(result: RunResult) -> dict[str, PolicyProviderResource]:
    """Provider reference (``urn::id``) -> the provider as a policy sees it."""
    return {
        f"{r.urn}::{r.id}": PolicyProviderResource(
            r.type, unknown_checking_proxy(rules.engine_properties(r.inputs)), r.urn, r.name
        )
        for r in result.resources
        if r.type.startswith("pulumi:providers:")
    }


def resource_args(
    r: Registered, result: RunResult, config: dict[str, Any] | None = None
) -> ResourceValidationArgs:
    props = unknown_checking_proxy(rules.engine_properties(r.inputs))
    provider = _providers(result).get(r.provider)
    return ResourceValidationArgs(r.type, props, r.urn, r.name, _options(r), provider, config)


def stack_args(result: RunResult, config: dict[str, Any] | None = None) -> StackValidationArgs:
    providers = _providers(result)
    resources = [
        PolicyResource(
            r.type,
            unknown_checking_proxy(rules.engine_properties(r.inputs)),
            r.urn,
            r.name,
            _options(r),
            providers.get(r.provider),
            None,
            [],
            {},
        )
        for r in result.resources
    ]
    return StackValidationArgs(resources, config)


def violations_of(name: str, r: Registered, result: RunResult) -> list[str]:
    policy = BY_NAME[name]
    assert isinstance(policy, ResourceValidationPolicy)
    found: list[str] = []
    policy.validate(resource_args(r, result), lambda message, urn=None: found.append(message))
    return found


def stack_violations(name: str, result: RunResult) -> list[str]:
    policy = BY_NAME[name]
    assert isinstance(policy, StackValidationPolicy)
    found: list[str] = []
    policy.validate(stack_args(result), lambda message, urn=None: found.append(message))
    return found


def all_violations(result: RunResult) -> list[str]:
    found = []
    for policy in rules.POLICIES:
        if isinstance(policy, StackValidationPolicy):
            found += [f"{policy.name}: {m}" for m in stack_violations(policy.name, result)]
            continue
        for r in result.resources:
            found += [f"{policy.name}: {m}" for m in violations_of(policy.name, r, result)]
    return found


def broken(
    result: RunResult, type_: str, name: str | None, change: Callable[[dict[str, Any]], None]
) -> tuple[Registered, RunResult]:
    """A deep copy of one registered resource with ``change`` applied to its inputs, in a copy of the run."""
    original = next(r for r in result.resources if r.type == type_ and name in (None, r.name))
    resource = copy.deepcopy(original)
    change(resource.inputs)
    run = copy.copy(result)
    run.resources = [resource if r is original else r for r in result.resources]
    return resource, run


def _edit_document(field: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[dict], None]:
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs[field])
        edit(document)
        inputs[field] = json.dumps(document)

    return change


@pytest.fixture(scope="module")
def native_dev_run() -> RunResult:
    """The dev stack with ``binding: native``: Pulumi writes the Kubernetes Secrets itself."""
    result = offline.run("dev", overrides={"binding": "native"})
    assert result.error is None, result.error
    return result


# --- the clean plans pass ---


@pytest.mark.parametrize(
    "fixture",
    [
        "dev_run",
        "prod_run",
        "native_dev_run",
        "gcp_dev_run",
        "gcp_prod_run",
        "azure_dev_run",
        "azure_prod_run",
        "vault_dev_run",
        "vault_prod_run",
    ],
)
def test_clean_plan_passes_every_policy(fixture: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(fixture)
    assert all_violations(result) == []


def test_every_policy_is_mandatory_and_tested_here() -> None:
    assert {p.enforcement_level.value for p in rules.POLICIES} == {"mandatory"}
    tested = {
        "no-wildcard-secret-access",
        "trust-bound-to-one-service-account",
        "customer-managed-keys",
        "rotation-in-prod",
        "prod-settings-https-and-cors",
        "secret-reader-roles-by-name",
        "no-plaintext-secret-values",
        "prod-store-protected",  # tests/policy/test_policy_vault.py
        "namespaces-protected-in-prod",
        "key-vault-network-restricted-in-prod",
        "ci-bound-to-a-protected-environment-in-prod",  # tests/attacks/test_attacks_tooling.py
    }
    assert set(rules.POLICY_NAMES) == tested


def test_environment_is_read_from_the_provider_default_tags(
    dev_run: RunResult, prod_run: RunResult
) -> None:
    for result, expected in ((dev_run, "dev"), (prod_run, "prod")):
        entry = next(r for r in result.resources if r.type == rules.AWS_SECRET)
        assert rules.resource_environment(resource_args(entry, result)) == expected
        assert rules.stack_environment(stack_args(result)) == expected


# --- no-wildcard-secret-access ---


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc["Statement"][0].update(Resource="*"),
        lambda doc: doc["Statement"][0].update(Action="secretsmanager:*"),
        lambda doc: doc["Statement"][0].update(
            Resource="arn:aws:secretsmanager:eu-west-1:444455556666:secret:platform-secrets/prod/*"
        ),
        lambda doc: doc["Statement"][1].update(Resource="*"),
    ],
    ids=["resource-star", "action-star", "name-prefix-star", "kms-resource-star"],
)
def test_wildcard_secret_access_in_a_role_policy_is_refused(
    prod_run: RunResult, edit: Callable[[dict], None]
) -> None:
    policy, run = broken(
        prod_run,
        "aws:iam/rolePolicy:RolePolicy",
        "backend-read-secrets",
        _edit_document("policy", edit),
    )
    assert violations_of("no-wildcard-secret-access", policy, run)


def test_gcp_project_level_secret_accessor_grant_is_refused(gcp_prod_run: RunResult) -> None:
    member = next(r for r in gcp_prod_run.resources if r.type in rules.GCP_SECRET_GRANTS)
    grant = copy.deepcopy(member)
    grant.type = "gcp:projects/iAMMember:IAMMember"
    grant.inputs = {
        "project": "acme-secrets-prod",
        "role": grant.inputs["role"],
        "member": grant.inputs["member"],
    }
    assert violations_of("no-wildcard-secret-access", grant, gcp_prod_run)


def test_azure_vault_level_secrets_user_assignment_is_refused(azure_prod_run: RunResult) -> None:
    def widen(inputs: dict[str, Any]) -> None:
        inputs["scope"] = inputs["scope"].split("/secrets/")[0]

    assignment, run = broken(azure_prod_run, rules.AZURE_ROLE_ASSIGNMENT, None, widen)
    assert violations_of("no-wildcard-secret-access", assignment, run)


# --- trust-bound-to-one-service-account ---


def _condition(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["Statement"][0]["Condition"]


def _sub_key(doc: dict[str, Any]) -> str:
    return next(k for k in _condition(doc)["StringEquals"] if k.endswith(":sub"))


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: _condition(doc).update(
            StringLike={_sub_key(doc): "system:serviceaccount:backend:*"}
        ),
        lambda doc: _condition(doc)["StringEquals"].update(
            {
                _sub_key(doc): [
                    "system:serviceaccount:backend:backend",
                    "system:serviceaccount:media:media",
                ]
            }
        ),
        lambda doc: _condition(doc)["StringEquals"].pop(
            next(k for k in _condition(doc)["StringEquals"] if k.endswith(":aud"))
        ),
        lambda doc: doc["Statement"][0].update(Principal={"AWS": "*"}),
    ],
    ids=["sub-pattern", "two-service-accounts", "no-audience", "any-principal"],
)
def test_trust_wider_than_one_service_account_is_refused(
    dev_run: RunResult, edit: Callable[[dict], None]
) -> None:
    role, run = broken(
        dev_run, rules.AWS_ROLE, "backend-role", _edit_document("assumeRolePolicy", edit)
    )
    assert violations_of("trust-bound-to-one-service-account", role, run)


@pytest.mark.parametrize(
    ("type_", "target"),
    [
        ("gcp:serviceaccount/iAMMember:IAMMember", "serviceAccountId"),
        ("gcp:projects/iAMMember:IAMMember", "project"),
    ],
)
@pytest.mark.parametrize(
    "role",
    [
        rules.GCP_WORKLOAD_IDENTITY_USER,
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
    ],
)
def test_gcp_act_as_grants_are_refused_at_an_account_or_the_project(
    gcp_dev_run: RunResult, type_: str, target: str, role: str
) -> None:
    grant = copy.deepcopy(
        next(r for r in gcp_dev_run.resources if r.type == rules.GCP_SECRET_GRANTS[0])
    )
    grant.type = type_
    grant.inputs = {target: "acme-secrets-dev", "role": role, "member": "user:insider@example.com"}
    run = copy.copy(gcp_dev_run)
    run.resources = [*gcp_dev_run.resources, grant]
    assert violations_of("trust-bound-to-one-service-account", grant, run)


def test_gcp_plan_has_no_act_as_grant(gcp_dev_run: RunResult) -> None:
    """The control: the program's own grants pass."""
    assert not [
        m
        for r in gcp_dev_run.resources
        for m in violations_of("trust-bound-to-one-service-account", r, gcp_dev_run)
    ]


def test_azure_federated_subject_pattern_is_refused(azure_dev_run: RunResult) -> None:
    credential, run = broken(
        azure_dev_run,
        rules.AZURE_FEDERATION,
        None,
        lambda inputs: inputs.update(subject="system:serviceaccount:backend:*"),
    )
    assert violations_of("trust-bound-to-one-service-account", credential, run)


# --- customer-managed-keys ---


@pytest.mark.parametrize(
    "change",
    [
        lambda inputs: inputs.pop("kmsKeyId"),
        lambda inputs: inputs.update(kmsKeyId="alias/aws/secretsmanager"),
        lambda inputs: inputs["replicas"][0].pop("kmsKeyId"),
    ],
    ids=["no-key", "aws-managed-key", "replica-without-key"],
)
def test_entry_without_customer_managed_key_is_refused(
    prod_run: RunResult, change: Callable[[dict], None]
) -> None:
    entry, run = broken(prod_run, rules.AWS_SECRET, "backend-redis-url-entry", change)
    assert violations_of("customer-managed-keys", entry, run)


def test_gcp_prod_replica_without_cmek_is_refused(gcp_prod_run: RunResult) -> None:
    def drop(inputs: dict[str, Any]) -> None:
        inputs["replication"]["userManaged"]["replicas"][0].pop("customerManagedEncryption")

    entry, run = broken(gcp_prod_run, rules.GCP_SECRET, None, drop)
    assert violations_of("customer-managed-keys", entry, run)


# --- rotation-in-prod ---


@pytest.mark.parametrize("days", ["none", "91", "365"])
def test_prod_entry_rotating_less_often_than_90_days_is_refused(
    prod_run: RunResult, days: str
) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["tags"]["platform-secrets/rotation-days"] = days

    entry, run = broken(prod_run, rules.AWS_SECRET, "shared-jwt-secret-entry", change)
    assert violations_of("rotation-in-prod", entry, run)


def test_prod_kms_key_without_rotation_is_refused(prod_run: RunResult) -> None:
    key, run = broken(
        prod_run, rules.AWS_KMS_KEY, "secrets-key", lambda i: i.update(enableKeyRotation=False)
    )
    assert violations_of("rotation-in-prod", key, run)


def test_dev_entry_without_rotation_is_allowed(dev_run: RunResult) -> None:
    entry = next(r for r in dev_run.resources if r.type == rules.AWS_SECRET)
    assert entry.inputs["tags"]["platform-secrets/rotation-days"] == "none"
    assert violations_of("rotation-in-prod", entry, dev_run) == []


def test_azure_prod_secret_without_rotation_tag_is_refused(azure_prod_run: RunResult) -> None:
    entry, run = broken(
        azure_prod_run,
        rules.AZURE_SECRET,
        None,
        lambda inputs: inputs["tags"].update({"platform-secrets-rotation-days": "none"}),
    )
    assert violations_of("rotation-in-prod", entry, run)


# --- prod-settings-https-and-cors ---


@pytest.mark.parametrize(
    ("configmap", "key", "value"),
    [
        ("media-settings", "CORS_ORIGIN", "*"),
        ("media-settings", "CORS_ORIGIN", "https://app.example.com,*"),
        ("media-settings", "S3_ENDPOINT", "http://minio.internal:9000"),
        ("events-service-settings", "EVENTS_BASE_URL", "http://events.example.com"),
        ("agent9-search-settings", "TYPESENSE_PROTOCOL", "http"),
    ],
)
def test_prod_configmap_with_wildcard_cors_or_http_is_refused(
    prod_run: RunResult, configmap: str, key: str, value: str
) -> None:
    _, run = broken(
        prod_run, rules.K8S_CONFIGMAP, configmap, lambda inputs: inputs["data"].update({key: value})
    )
    found = stack_violations("prod-settings-https-and-cors", run)
    assert len(found) == 1 and key in found[0]


def test_dev_configmap_may_allow_any_origin_and_http(dev_run: RunResult) -> None:
    media = dev_run.by_name("media-settings", rules.K8S_CONFIGMAP)
    assert media.inputs["data"]["CORS_ORIGIN"] == "*"
    assert stack_violations("prod-settings-https-and-cors", dev_run) == []


def test_policy_config_environment_overrides_the_tags(dev_run: RunResult) -> None:
    found: list[str] = []
    BY_NAME["prod-settings-https-and-cors"].validate(
        stack_args(dev_run, config={"environment": "prod"}), lambda m, urn=None: found.append(m)
    )
    assert any("CORS_ORIGIN" in m for m in found) and any("EVENTS_BASE_URL" in m for m in found)


# --- namespaces-protected-in-prod ---

NAMESPACE = "kubernetes:core/v1:Namespace"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


def test_unprotected_prod_namespace_is_refused(prod_run: RunResult) -> None:
    namespace = prod_run.by_name("backend-namespace", NAMESPACE)
    run = copy.copy(prod_run)
    run.resources = [
        dataclasses.replace(r, protect=False) if r is namespace else r for r in prod_run.resources
    ]
    found = stack_violations("namespaces-protected-in-prod", run)
    assert len(found) == 1 and "backend-namespace" in found[0] and "protected" in found[0]


def test_prod_namespace_through_a_provider_without_a_cluster_is_refused(
    prod_run: RunResult,
) -> None:
    _, run = broken(prod_run, KUBERNETES_PROVIDER, None, lambda inputs: inputs.pop("cluster"))
    found = stack_violations("namespaces-protected-in-prod", run)
    namespaces = {r.name for r in prod_run.of_type(NAMESPACE)}
    assert namespaces and {m.split(":")[0] for m in found} == namespaces
    assert all("cluster" in m for m in found)


def test_dev_namespaces_may_be_unprotected(dev_run: RunResult) -> None:
    assert dev_run.of_type(NAMESPACE) and not any(r.protect for r in dev_run.of_type(NAMESPACE))
    assert stack_violations("namespaces-protected-in-prod", dev_run) == []


# --- key-vault-network-restricted-in-prod ---


def _acls(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(inputs: dict[str, Any]) -> None:
        change(inputs["properties"])

    return edit


@pytest.mark.parametrize(
    "change",
    [
        lambda props: props["networkAcls"].update(defaultAction="Allow"),
        lambda props: props.pop("networkAcls"),
    ],
    ids=["default-allow", "no-firewall"],
)
def test_prod_key_vault_open_to_every_network_is_refused(
    azure_prod_run: RunResult, change: Callable[[dict[str, Any]], None]
) -> None:
    vault, run = broken(azure_prod_run, rules.AZURE_VAULT, None, _acls(change))
    found = violations_of("key-vault-network-restricted-in-prod", vault, run)
    assert len(found) == 1 and "every network" in found[0]


def test_prod_key_vault_opened_with_a_reason_is_allowed(azure_prod_run: RunResult) -> None:
    def open_with_reason(inputs: dict[str, Any]) -> None:
        inputs["properties"]["networkAcls"]["defaultAction"] = "Allow"
        inputs["tags"]["platform-secrets-public-network-reason"] = "vendor X reads it, INC-1234"

    vault, run = broken(azure_prod_run, rules.AZURE_VAULT, None, open_with_reason)
    assert violations_of("key-vault-network-restricted-in-prod", vault, run) == []


def test_dev_key_vault_may_stay_open(azure_dev_run: RunResult) -> None:
    (vault,) = azure_dev_run.of_type(rules.AZURE_VAULT)
    assert vault.inputs["properties"]["networkAcls"]["defaultAction"] == "Allow"
    assert violations_of("key-vault-network-restricted-in-prod", vault, azure_dev_run) == []


# --- secret-reader-roles-by-name ---


@pytest.mark.parametrize(
    "change",
    [
        lambda inputs: inputs["rules"][0].pop("resourceNames"),
        lambda inputs: inputs["rules"][0].update(verbs=["get", "list", "watch"]),
        lambda inputs: inputs["rules"][0].update(resources=["*"], resourceNames=["*"]),
    ],
    ids=["no-resource-names", "list-and-watch", "every-resource"],
)
def test_role_reaching_secrets_beyond_get_by_name_is_refused(
    dev_run: RunResult, change: Callable[[dict], None]
) -> None:
    role, run = broken(
        dev_run, "kubernetes:rbac.authorization.k8s.io/v1:Role", "backend-secret-reader", change
    )
    assert violations_of("secret-reader-roles-by-name", role, run)


# --- no-plaintext-secret-values ---


def test_kubernetes_secret_with_plaintext_string_data_is_refused(native_dev_run: RunResult) -> None:
    def reveal(inputs: dict[str, Any]) -> None:
        inputs["stringData"] = inputs["stringData"]["value"]

    secret, run = broken(native_dev_run, rules.K8S_SECRET, "backend-secret", reveal)
    found = violations_of("no-plaintext-secret-values", secret, run)
    assert sorted(found) == sorted(
        f"backend-secret: stringData.{key} is not a Pulumi secret (use pulumi.Output.secret / "
        "require_secret)"
        for key in ("JWT_SECRET", "OTP_PEPPER")
    )


def test_store_value_in_plaintext_is_refused(dev_run: RunResult) -> None:
    def reveal(inputs: dict[str, Any]) -> None:
        inputs["secretString"] = inputs["secretString"]["value"]

    version, run = broken(dev_run, rules.AWS_SECRET_VERSION, None, reveal)
    assert violations_of("no-plaintext-secret-values", version, run)


def test_secret_values_in_the_plans_arrive_marked(native_dev_run: RunResult) -> None:
    secret = native_dev_run.by_name("backend-secret", rules.K8S_SECRET)
    props = rules.engine_properties(secret.inputs)
    assert rules.is_secret(props["stringData"])
    assert rules.plain(props["stringData"]).keys() == {"JWT_SECRET", "OTP_PEPPER"}


# --- the pack as the CLI runs it: a real gRPC analyzer ---


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """``python -m pulumi.policy <engine> policy``, as pulumi-analyzer-policy-python starts it."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(POLICY_DIR)],
        cwd=POLICY_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.isdigit():
            process.kill()
            raise AssertionError(f"the pack did not start: {first!r} {process.communicate()[1]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{first}")
        grpc.channel_ready_future(channel).result(timeout=10)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def _request(r: Registered, result: RunResult, inputs: dict[str, Any] | None = None) -> Any:
    properties = json_format.ParseDict(r.inputs if inputs is None else inputs, struct_pb2.Struct())
    request = analyzer_pb2.AnalyzeRequest(
        type=r.type, urn=r.urn, name=r.name, properties=properties
    )
    provider = next((p for p in result.resources if f"{p.urn}::{p.id}" == r.provider), None)
    if provider is not None:
        request.provider.CopyFrom(
            analyzer_pb2.AnalyzerProviderResource(
                type=provider.type,
                urn=provider.urn,
                name=provider.name,
                properties=json_format.ParseDict(provider.inputs, struct_pb2.Struct()),
            )
        )
    return request


def test_pack_serves_every_policy_as_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "platform-secrets"
    assert {p.name for p in info.policies} == set(rules.POLICY_NAMES)
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}


def test_pack_sees_secret_marks_sent_by_the_engine(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, native_dev_run: RunResult
) -> None:
    secret = native_dev_run.by_name("backend-secret", rules.K8S_SECRET)
    clean = analyzer.Analyze(_request(secret, native_dev_run))
    assert list(clean.diagnostics) == []
    plaintext = {**secret.inputs, "stringData": secret.inputs["stringData"]["value"]}
    refused = analyzer.Analyze(_request(secret, native_dev_run, plaintext))
    assert {d.policyName for d in refused.diagnostics} == {"no-plaintext-secret-values"}


def test_pack_refuses_a_wildcard_policy_and_reads_prod_from_the_provider(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_run: RunResult
) -> None:
    policy = prod_run.by_name("backend-read-secrets")
    document = json.loads(policy.inputs["policy"])
    document["Statement"][0]["Resource"] = "*"
    response = analyzer.Analyze(
        _request(policy, prod_run, {**policy.inputs, "policy": json.dumps(document)})
    )
    assert {d.policyName for d in response.diagnostics} == {"no-wildcard-secret-access"}
    entry = prod_run.by_name("backend-otp-pepper-entry")
    tags = {**entry.inputs["tags"], "platform-secrets/rotation-days": "none"}
    response = analyzer.Analyze(_request(entry, prod_run, {**entry.inputs, "tags": tags}))
    assert {d.policyName for d in response.diagnostics} == {"rotation-in-prod"}


def test_without_the_shim_the_sdk_hides_secret_marks(native_dev_run: RunResult) -> None:
    """Why ``keep_secret_marks`` exists: the SDK's own deserializer drops the mark (a control test)."""
    from pulumi_policy.deserialize import deserialize_properties

    secret = native_dev_run.by_name("backend-secret", rules.K8S_SECRET)
    wire = json_format.MessageToDict(json_format.ParseDict(secret.inputs, struct_pb2.Struct()))
    assert not rules.is_secret(deserialize_properties(wire)["stringData"])
    assert rules.is_secret(rules.engine_properties(wire)["stringData"])


def test_a_prod_label_on_a_configmap_applies_the_prod_rules_in_any_stack(
    dev_run: RunResult,
) -> None:
    def label(inputs: dict[str, Any]) -> None:
        inputs["metadata"]["labels"][rules.ENVIRONMENT_LABEL] = "prod"

    _, run = broken(dev_run, rules.K8S_CONFIGMAP, "media-settings", label)
    found = stack_violations("prod-settings-https-and-cors", run)
    assert len(found) == 1 and "CORS_ORIGIN" in found[0]
