"""Tier 2: the real program with the real stack files under the mock engine, on AWS (preview and update)."""

from __future__ import annotations

import asyncio
import gc
import json

import pulumi
import pytest
from pulumi.runtime import rpc

from platform_secrets.model.catalog import Source
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests import catalog_facts
from tests.checks import OWN_KEYS, WORKLOADS
from tests.conftest import PROD_SECRETS

ISSUER = {
    "dev": "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
    "prod": "oidc.eks.eu-west-1.amazonaws.com/id/PRODD539D4633E53DE1B716D3041E0",
}
ACCOUNT = {"dev": "111122223333", "prod": "444455556666"}


@pytest.fixture(scope="session", params=["dev", "prod", "dev-preview", "prod-preview"])
def any_run(request, dev_run, prod_run, dev_preview, prod_preview) -> RunResult:
    return {
        "dev": dev_run,
        "prod": prod_run,
        "dev-preview": dev_preview,
        "prod-preview": prod_preview,
    }[request.param]


def doc(r: offline.Registered, field: str) -> dict:
    return json.loads(r.inputs[field])


def secrets_by_name(run: RunResult) -> dict[str, offline.Registered]:
    return {r.inputs["name"]: r for r in run.of_type("aws:secretsmanager/secret:Secret")}


def entry_name(stack: str, owner: str, key: str) -> str:
    return f"platform-secrets/{stack}/{owner}/{key}"


def own_entries(stack: str, service: str) -> list[str]:
    return sorted(entry_name(stack, *entry) for entry in catalog_facts.reads()[service].values())


def entries_of(stack: str, *sources: Source) -> set[str]:
    """The catalog's entries whose value comes from one of ``sources``, by store name."""
    return {
        entry_name(stack, e.owner, e.key)
        for e in catalog_facts.entries()
        if not sources or e.spec.source in sources
    }


def written_entries(run: RunResult) -> set[str]:
    """The entries the run writes a value into, by store name."""
    name_of = {r.outputs["arn"]: name for name, r in secrets_by_name(run).items()}
    versions = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    return {name_of[v.inputs["secretId"]] for v in versions}


# --- structure ---


def test_every_child_resource_has_a_component_parent(any_run):
    components = {r.urn for r in any_run.resources if r.type.startswith("platform-secrets:index:")}
    names = {urn.rsplit("::", 1)[1] for urn in components}
    assert names == {"shared", *catalog_facts.SHIPPED.services}  # one per service, one for shared
    for r in any_run.resources:
        if r.type.startswith(("pulumi:providers:", "platform-secrets:index:")):
            continue
        assert r.parent in components, f"{r.name} is not a child of a component"


def test_the_aws_provider_refuses_any_other_account(any_run):
    (provider,) = any_run.of_type("pulumi:providers:aws")
    assert json.loads(provider.inputs["allowedAccountIds"]) == [ACCOUNT[any_run.stack]]


def test_every_object_has_an_explicit_deterministic_name(dev_run):
    again = offline.run("dev")
    assert sorted(r.urn for r in dev_run.resources) == sorted(r.urn for r in again.resources)
    for r in dev_run.resources:
        if r.type.startswith("kubernetes:"):
            assert r.inputs["metadata"]["name"], r.name
        elif r.type in ("aws:secretsmanager/secret:Secret", "aws:iam/role:Role"):
            assert r.inputs["name"], r.name


# --- store entries ---


def test_each_secret_has_one_entry_under_the_environment_key(run_both):
    stack = run_both.stack
    (key,) = run_both.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    entries = secrets_by_name(run_both)
    assert set(entries) == entries_of(stack)
    for entry in entries.values():
        assert entry.inputs["kmsKeyId"] == key.outputs["arn"]


def test_entry_values_are_secret_in_preview_and_update(any_run):
    versions = any_run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert versions
    for version in versions:
        assert rpc.is_rpc_secret(version.inputs["secretString"]), version.name


def test_external_entries_are_never_written(run_both):
    external = entries_of(run_both.stack, Source.EXTERNAL)
    assert external, "the shipped catalog has an external secret (the Linear key)"
    assert not written_entries(run_both) & external


def test_dev_writes_no_value_for_config_secrets_it_lacks(dev_run):
    assert written_entries(dev_run) == entries_of("dev", Source.GENERATED)
    assert set(dev_run.outputs["missing_secrets"]) == set(PROD_SECRETS)


def test_prod_writes_every_config_secret_it_was_given(prod_run):
    # generated and config values; an external entry is never written
    assert written_entries(prod_run) == entries_of("prod", Source.GENERATED, Source.CONFIG)


def test_resource_policy_denies_all_but_readers_and_admins(run_both):
    stack = run_both.stack
    arn = {
        s.inputs["name"]: s.outputs["arn"]
        for s in run_both.of_type("aws:secretsmanager/secret:Secret")
    }
    admin = f"arn:aws:iam::{ACCOUNT[stack]}:role/platform-admin"
    audit = f"arn:aws:iam::{ACCOUNT[stack]}:role/platform-secrets-audit"  # aws.auditRoleArns
    role = f"arn:aws:iam::{ACCOUNT[stack]}:role/platform-secrets-{stack}-{{}}"
    readers = {entry_name(stack, e.owner, e.key): e.readers for e in catalog_facts.entries()}
    provider = f"arn:aws:iam::{ACCOUNT[stack]}:oidc-provider/{ISSUER[stack]}"
    for policy in run_both.of_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        assert policy.inputs["blockPublicPolicy"] is True
        name = next(n for n, a in arn.items() if a == policy.inputs["secretArn"])
        statements = doc(policy, "policy")["Statement"]
        everyone, readers_only_read, audit_only_metadata = statements[:3]
        workloads = sorted(role.format(r) for r in readers[name] if r in WORKLOADS)
        # Workload readers count only when federated through the cluster's OIDC provider (IRSA);
        # an entry read by tooling roles alone has no such statement.
        assert statements[3:] == (
            [
                {
                    "Sid": "WorkloadReadersOnlyThroughTheCluster",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "secretsmanager:*",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:PrincipalArn": workloads},
                        "StringNotEquals": {"aws:FederatedProvider": provider},
                    },
                }
            ]
            if workloads
            else []
        )
        for statement in (everyone, readers_only_read, audit_only_metadata):
            assert statement["Effect"] == "Deny"
            assert statement["Principal"] == {"AWS": "*"}
            # "*" is "this secret" in a resource policy, and stays true in each replica's copy.
            assert statement["Resource"] == "*"
        assert everyone["Action"] == "secretsmanager:*"
        exempt = everyone["Condition"]["StringNotEquals"]["aws:PrincipalArn"]
        assert sorted(exempt) == sorted([role.format(r) for r in readers[name]] + [admin, audit])
        assert readers_only_read["NotAction"] == [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        ]
        assert readers_only_read["Condition"]["StringNotEquals"]["aws:PrincipalArn"] == [
            admin,
            audit,
        ]
        # The audit role: exempt above, but denied all but the metadata the audit reads.
        assert audit_only_metadata["NotAction"] == [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:ListSecretVersionIds",
        ]
        assert audit_only_metadata["Condition"] == {"StringEquals": {"aws:PrincipalArn": [audit]}}


def test_prod_entries_and_keys_are_protected_and_retained(prod_run):
    durable = (
        prod_run.of_type("aws:secretsmanager/secret:Secret")
        + prod_run.of_type("aws:kms/key:Key")
        + prod_run.of_type("aws:kms/replicaKey:ReplicaKey")
    )
    assert {r.inputs["name"] for r in durable if "name" in r.inputs} == entries_of("prod")
    assert {r.type for r in durable} >= {"aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"}
    for r in durable:
        assert r.protect and r.retain_on_delete, r.name


def test_dev_protects_nothing(dev_run):
    # Namespaces are retained in every environment (deleting one deletes its workloads), never protected in dev.
    assert not [
        r.name
        for r in dev_run.resources
        if r.protect or (r.retain_on_delete and r.type != "kubernetes:core/v1:Namespace")
    ]


def test_prod_replicates_every_entry_and_the_key_to_the_dr_region(prod_run):
    (replica,) = prod_run.of_type("aws:kms/replicaKey:ReplicaKey")
    (key,) = prod_run.of_type("aws:kms/key:Key")
    assert key.inputs["multiRegion"] is True
    assert replica.inputs["region"] == "eu-central-1"
    for entry in prod_run.of_type("aws:secretsmanager/secret:Secret"):
        assert entry.inputs["replicas"] == [
            {"region": "eu-central-1", "kmsKeyId": replica.outputs["arn"]}
        ]
        assert entry.inputs["recoveryWindowInDays"] == 30


def test_dev_recovers_deleted_entries_for_7_days_and_has_no_replica(dev_run):
    for entry in dev_run.of_type("aws:secretsmanager/secret:Secret"):
        assert entry.inputs["recoveryWindowInDays"] == 7
        assert "replicas" not in entry.inputs
    assert not dev_run.of_type("aws:kms/replicaKey:ReplicaKey")


# --- identities ---


@pytest.mark.parametrize("service", WORKLOADS)
def test_trust_admits_only_the_service_account_through_irsa(run_both, service):
    stack = run_both.stack
    role = run_both.by_name(f"{service}-role")
    issuer = ISSUER[stack]
    assert role.inputs["name"] == f"platform-secrets-{stack}-{service}"
    assert doc(role, "assumeRolePolicy") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ServiceAccountOnly",
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT[stack]}:oidc-provider/{issuer}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{service}:{service}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


@pytest.mark.parametrize("service", WORKLOADS)
def test_identity_policy_reads_exactly_its_own_entries(run_both, service):
    stack = run_both.stack
    arns = {n: r.outputs["arn"] for n, r in secrets_by_name(run_both).items()}
    (key,) = run_both.of_type("aws:kms/key:Key")
    regions = ["eu-west-1"] + (["eu-central-1"] if stack == "prod" else [])
    expected = sorted(
        arns[name].replace(":eu-west-1:", f":{region}:")
        for name in own_entries(stack, service)
        for region in regions
    )
    policy = doc(run_both.by_name(f"{service}-read-secrets"), "policy")
    read, decrypt = policy["Statement"]
    assert read == {
        "Sid": "ReadOwnEntries",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": expected,
    }
    keys = [key.outputs["arn"]] + [
        r.outputs["arn"] for r in run_both.of_type("aws:kms/replicaKey:ReplicaKey")
    ]
    assert decrypt == {
        "Sid": "DecryptThroughSecretsManager",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": sorted(keys),
        "Condition": {
            "StringEquals": {
                "kms:ViaService": sorted(f"secretsmanager.{r}.amazonaws.com" for r in regions)
            }
        },
    }


def test_no_iam_document_grants_a_wildcard_resource(any_run):
    for r in any_run.resources:
        for field in ("policy", "assumeRolePolicy"):
            if r.type.startswith("aws:iam/") and field in r.inputs:
                text = r.inputs[field]
                if not isinstance(text, str):
                    continue  # unknown in preview
                for statement in json.loads(text)["Statement"]:
                    resources = statement.get("Resource", [])
                    resources = resources if isinstance(resources, list) else [resources]
                    assert not any("*" in res for res in resources), r.name
                    actions = statement.get("Action", [])
                    actions = actions if isinstance(actions, list) else [actions]
                    assert not any(a.endswith("*") for a in actions), r.name


def test_linear_key_is_readable_only_by_its_tooling_role(run_both):
    role = run_both.by_name("linear-integration-role")
    (statement,) = doc(role, "assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {
        "AWS": [f"arn:aws:iam::{ACCOUNT[run_both.stack]}:role/ci-linear"]
    }
    assert statement["Action"] == "sts:AssumeRole"
    for service in WORKLOADS:
        policy = run_both.by_name(f"{service}-read-secrets").inputs["policy"]
        assert "LINEAR_API_KEY" not in policy


def test_a_role_waits_only_for_its_own_entries(dev_run):
    """No false ordering: a service's policy does not wait for another service's secret."""
    entry_urns = {
        r.urn: r.inputs["name"] for r in dev_run.of_type("aws:secretsmanager/secret:Secret")
    }
    for service in WORKLOADS:
        deps = dev_run.by_name(f"{service}-read-secrets").dependencies
        waited = sorted(entry_urns[d] for d in deps if d in entry_urns)
        assert waited == own_entries("dev", service)


# --- Kubernetes ---


@pytest.mark.parametrize("service", WORKLOADS)
def test_kubernetes_objects_wait_for_what_the_api_needs_first(any_run, service):
    """Namespaced objects wait for their namespace; the store for its ServiceAccount; the sync for its store.

    The RoleBinding names its Role and ServiceAccount as plain strings: Kubernetes accepts a binding before
    either exists, so no edge is added there.
    """
    k8s = {r.name: r for r in any_run.resources if r.type.startswith("kubernetes:") and r.parent}
    namespace = k8s[f"{service}-namespace"].urn
    own = [r for r in k8s.values() if r.name.startswith(f"{service}-") and r.urn != namespace]
    assert len(own) >= 6, sorted(r.name for r in own)
    for r in own:
        assert namespace in r.dependencies, f"{r.name} does not wait for its namespace"
    store = k8s[f"{service}-secret-store"]
    assert k8s[f"{service}-service-account"].urn in store.dependencies
    assert store.urn in k8s[f"{service}-external-secret"].dependencies
    binding = k8s[f"{service}-secret-reader-binding"]
    assert binding.inputs["roleRef"]["name"] == f"{service}-secret-reader"
    assert (
        binding.inputs["subjects"][0]["name"]
        == k8s[f"{service}-service-account"].inputs["metadata"]["name"]
    )


@pytest.mark.parametrize("service", WORKLOADS)
def test_service_account_carries_the_role_and_no_api_token(run_both, service):
    sa = run_both.by_name(f"{service}-service-account")
    role = run_both.by_name(f"{service}-role")
    assert sa.inputs["metadata"]["namespace"] == service
    assert sa.inputs["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": role.outputs["arn"]
    }
    assert sa.inputs["automountServiceAccountToken"] is False


@pytest.mark.parametrize("service", WORKLOADS)
def test_only_the_service_account_may_get_its_secret(run_both, service):
    role = run_both.by_name(
        f"{service}-secret-reader", "kubernetes:rbac.authorization.k8s.io/v1:Role"
    )
    assert role.inputs["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [f"{service}-secrets"],
            "verbs": ["get"],
        }
    ]
    binding = run_both.by_name(f"{service}-secret-reader-binding")
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": service, "namespace": service}
    ]
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": f"{service}-secret-reader",
    }


@pytest.mark.parametrize("service", WORKLOADS)
def test_eso_store_authenticates_as_the_service_account(run_both, service):
    store = run_both.by_name(f"{service}-secret-store")
    assert store.inputs["apiVersion"] == "external-secrets.io/v1"
    assert store.inputs["spec"] == {
        "provider": {
            "aws": {
                "service": "SecretsManager",
                "region": "eu-west-1",
                "auth": {"jwt": {"serviceAccountRef": {"name": service}}},
            }
        }
    }


@pytest.mark.parametrize("service", WORKLOADS)
def test_external_secret_materialises_one_key_per_env_var(run_both, service):
    stack = run_both.stack
    es = run_both.by_name(f"{service}-external-secret")
    assert es.inputs["apiVersion"] == "external-secrets.io/v1"
    spec = es.inputs["spec"]
    assert spec["secretStoreRef"] == {"name": service, "kind": "SecretStore"}
    assert spec["target"]["name"] == f"{service}-secrets"
    got = {d["secretKey"]: d["remoteRef"]["key"] for d in spec["data"]}
    assert got == {
        env: entry_name(stack, *entry) for env, entry in catalog_facts.reads()[service].items()
    }


def test_config_maps_hold_only_plain_settings(prod_run):
    media = prod_run.by_name("media-settings").inputs["data"]
    assert media == {
        "S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com",
        "S3_REGION": "eu-west-1",
        "S3_BUCKET": "media-prod",
        "CORS_ORIGIN": "https://app.example.com,https://admin.example.com",
    }
    assert prod_run.by_name("agent9-search-settings").inputs["data"] == {
        "TYPESENSE_PROTOCOL": "https"
    }
    for cm in prod_run.of_type("kubernetes:core/v1:ConfigMap"):
        assert not set(cm.inputs.get("data", {})) & {k for keys in OWN_KEYS.values() for k in keys}


def test_no_workload_binding_for_the_linear_integration(run_both):
    assert not [
        r for r in run_both.resources if r.type.startswith("kubernetes:") and "linear" in r.name
    ]


@pytest.fixture(scope="session")
def native_run() -> RunResult:
    result = offline.run("prod", secrets=PROD_SECRETS, overrides={"binding": "native"})
    assert result.error is None, result.error
    return result


def test_native_binding_writes_secret_values_only_as_secrets(native_run):
    assert not native_run.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    secrets = native_run.of_type("kubernetes:core/v1:Secret")
    assert {s.inputs["metadata"]["name"] for s in secrets} == {f"{s}-secrets" for s in WORKLOADS}
    for secret in secrets:
        assert rpc.is_rpc_secret(secret.inputs["stringData"]), secret.name


# --- outputs and failures ---


def test_the_runner_marks_an_export_secret_or_unknown_when_any_nested_part_is():
    """platform_secrets/offline/runner._resolve stands in for Output.from_input: a secret or unknown deep inside an export counts."""

    async def resolve_all():
        loop = asyncio.get_running_loop()

        def done(value):
            future = loop.create_future()
            future.set_result(value)
            return future

        secret = pulumi.Output(set(), done("value"), done(True), done(True))
        unknown = pulumi.Output(set(), done(None), done(False), done(False))
        return (
            await offline._resolve({"a": [1, {"b": secret}], "c": ("plain",)}),
            await offline._resolve({"x": [unknown], "y": "known"}),
            await offline._resolve({"a": [1, {"b": "plain"}]}),
        )

    nested_secret, nested_unknown, plain = asyncio.run(resolve_all())
    assert nested_secret == ({"a": [1, {"b": "value"}], "c": ["plain"]}, True, True)
    assert nested_unknown[1:] == (False, False)
    assert plain == ({"a": [1, {"b": "plain"}]}, True, False)


def test_outputs_carry_names_and_arns_but_no_secret_value(run_both):
    text = json.dumps(run_both.outputs, default=str)
    for value in PROD_SECRETS.values():
        assert value not in text
    assert "mock-" not in text  # the mocks' generated values
    backend = run_both.outputs["services"]["backend"]
    assert backend["identity"].endswith(f":role/platform-secrets-{run_both.stack}-backend")
    assert backend["secret_name"] == "backend-secrets"
    assert run_both.outputs["access_matrix"]["media"] == OWN_KEYS["media"]


def test_prod_without_a_required_secret_fails_and_registers_nothing():
    secrets = {k: v for k, v in PROD_SECRETS.items() if k != "agent9-search.TYPESENSE_API_KEY"}
    result = offline.run("prod", secrets=secrets)
    assert result.error is not None
    assert "agent9-search.TYPESENSE_API_KEY: required in prod but not set" in str(result.error)
    assert result.resources == []


def test_the_runner_gives_the_cyclic_collector_back_even_when_the_program_fails(dev_run):
    """The runner pauses the collector for a run (platform_secrets/offline/runner.py); a plan or a test session must get it back."""
    assert gc.isenabled()
    with pytest.raises(Exception, match="required in prod but not set"):
        offline.run("prod", raise_errors=True)
    assert gc.isenabled()
    gc.disable()
    try:
        offline.run("prod")  # a caller that had it off keeps it off
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_prod_with_wildcard_cors_fails_and_registers_nothing():
    result = offline.run(
        "prod",
        secrets=PROD_SECRETS,
        overrides={"settings": {"media": {"CORS_ORIGIN": "*", "S3_BUCKET": "media-prod"}}},
    )
    assert result.error is not None
    assert "settings.media.CORS_ORIGIN: '*' allows any origin" in str(result.error)
    assert result.resources == []


def test_a_secure_value_in_the_stack_file_reads_as_present_and_secret(tmp_path):
    import shutil

    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "__main__.py", "catalog.yaml"):
        shutil.copy(offline.ROOT / name, tmp_path / name)
    shutil.copytree(offline.ROOT / "platform_secrets", tmp_path / "platform_secrets")
    with (tmp_path / "Pulumi.prod.yaml").open("a") as stack_file:
        for key in PROD_SECRETS:
            # The shape `pulumi config set --secret` writes; the runner never decrypts it.
            stack_file.write(f"  platform-secrets:{key}:\n    secure: v1:not-real-ciphertext\n")
    result = offline.run("prod", root=tmp_path)
    assert result.error is None, result.error
    versions = result.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert written_entries(result) == entries_of("prod", Source.GENERATED, Source.CONFIG)
    assert all(rpc.is_rpc_secret(v.inputs["secretString"]) for v in versions)


# --- AWS quotas, checked before anything registers (issue 9, item 7) ---


def _dev_settings_with_replica() -> dict:
    config = offline.load_config("dev")[1]
    aws = json.loads(config["platform-secrets:aws"])
    return {"environment": "dev", "aws": {**aws, "replicaRegion": "eu-central-1"}}


def _bulk_catalog(count: int, length: int) -> dict:
    """One workload, ``bulk``, with ``count`` generated secrets whose keys have ``length`` characters."""
    keys = [f"K{i:03d}".ljust(length, "X") for i in range(count)]
    return {"services": {"bulk": {"secrets": {key: {"source": "generated"} for key in keys}}}}


def _aws_problems(catalog: dict) -> list[str]:
    from platform_secrets.model.catalog import parse_catalog
    from platform_secrets.model.settings import parse_settings
    from platform_secrets.model.stack_model import build_model
    from platform_secrets.program.clouds.aws import AwsAdapter

    model = build_model(parse_catalog(catalog), parse_settings(_dev_settings_with_replica()), {})
    return AwsAdapter.problems(model)


def _plan(tmp_path, catalog: dict) -> RunResult:
    import yaml

    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    overrides = {
        "catalog": str(path),
        "toolingPrincipals": {},
        "settings": {},
        **_dev_settings_with_replica(),
    }
    return offline.run("dev", overrides=overrides)


def _written_size(result: RunResult) -> int:
    (policy,) = [r for r in result.of_type("aws:iam/rolePolicy:RolePolicy")]
    return len(json.dumps(json.loads(policy.inputs["policy"]), separators=(",", ":")))


def test_read_policy_size_is_measured_as_the_program_writes_it(tmp_path):
    """The pre-registration estimate equals the registered document's size (whitespace excluded)."""
    from platform_secrets.model.catalog import parse_catalog
    from platform_secrets.model.settings import parse_settings
    from platform_secrets.model.stack_model import build_model
    from platform_secrets.program.clouds.aws import read_policy_size

    catalog = _bulk_catalog(3, 40)
    result = _plan(tmp_path, catalog)
    assert result.error is None, result.error
    model = build_model(parse_catalog(catalog), parse_settings(_dev_settings_with_replica()), {})
    assert read_policy_size(model, "bulk") == _written_size(result)


def test_a_shared_secret_read_under_two_names_is_one_arn_in_the_policy_and_in_its_size(tmp_path):
    """A service may read one shared secret under two env var names: its read policy names the ARN once
    (per region), and the size checked before registration is the registered document's."""
    from platform_secrets.model.catalog import parse_catalog
    from platform_secrets.model.settings import parse_settings
    from platform_secrets.model.stack_model import build_model
    from platform_secrets.program.clouds.aws import read_policy_size

    catalog = {
        "shared": {"SIGNING_KEY": {"source": "generated"}},
        "services": {
            "bulk": {
                "secrets": {
                    "SIGNING_KEY": {"shared": "SIGNING_KEY"},
                    "LEGACY_SIGNING_KEY": {"shared": "SIGNING_KEY"},
                    "OWN": {"source": "generated"},
                }
            }
        },
    }
    result = _plan(tmp_path, catalog)
    assert result.error is None, result.error
    (policy,) = result.of_type("aws:iam/rolePolicy:RolePolicy")
    (reads, _) = json.loads(policy.inputs["policy"])["Statement"]
    assert len(reads["Resource"]) == len(set(reads["Resource"])) == 4  # two entries, two regions
    model = build_model(parse_catalog(catalog), parse_settings(_dev_settings_with_replica()), {})
    assert read_policy_size(model, "bulk") == _written_size(result)


def test_read_policy_at_the_size_limit(tmp_path):
    """Just under 10,240 characters registers; one more entry is refused, naming the service."""
    from platform_secrets.program.clouds.aws import INLINE_POLICIES_MAX

    count = 1
    while not any("services.bulk" in p for p in _aws_problems(_bulk_catalog(count + 1, 200))):
        count += 1
    over = [p for p in _aws_problems(_bulk_catalog(count + 1, 200)) if "services.bulk" in p]
    assert len(over) == 1 and "10240" in over[0] and "read policy" in over[0], over
    under = _plan(tmp_path, _bulk_catalog(count, 200))
    assert under.error is None, under.error
    assert INLINE_POLICIES_MAX - 600 < _written_size(under) <= INLINE_POLICIES_MAX
    refused = _plan(tmp_path, _bulk_catalog(count + 1, 200))
    assert "services.bulk" in str(refused.error)
    assert not refused.of_type("aws:iam/rolePolicy:RolePolicy")


@pytest.mark.parametrize(("length", "refused"), [(486, False), (487, True)])
def test_secret_name_at_the_512_limit(length, refused):
    """``platform-secrets/dev/bulk/<KEY>``: 512 characters pass, 513 are refused, naming the key."""
    problems = [p for p in _aws_problems(_bulk_catalog(1, length)) if "Secrets Manager name" in p]
    assert bool(problems) is refused, problems
    if refused:
        assert problems[0].startswith("bulk.K000") and "513 characters" in problems[0]


@pytest.mark.parametrize(("length", "refused"), [(256, False), (257, True)])
def test_env_var_key_at_the_tag_value_limit(length, refused):
    """The key is an entry's tag value: 256 characters pass, 257 are refused, naming the key."""
    problems = [p for p in _aws_problems(_bulk_catalog(1, length)) if "AWS tags" in p]
    assert bool(problems) is refused, problems
    if refused:
        assert problems[0].startswith("bulk.K000") and "257 characters" in problems[0]


class _CountedReaders(tuple):
    """An entry's readers that count the membership tests made on them."""

    tests = 0

    def __contains__(self, item: object) -> bool:
        type(self).tests += 1
        return tuple.__contains__(self, item)


def test_the_read_policy_limits_look_up_each_services_entries_not_scan_every_entry():
    """Every shard checks the whole catalog's read policies: a scan per service would be services x
    entries (11.5 s of a 24 s shard plan at 5,000 services); the entries are grouped by reader once."""
    import dataclasses

    from platform_secrets.model.settings import parse_settings
    from platform_secrets.model.stack_model import build_model
    from platform_secrets.program.clouds.aws import AwsAdapter, read_policy_size

    model = build_model(parse_catalog_file(), parse_settings(_dev_settings_with_replica()), {})
    for service in model.services:  # the index against a plain scan
        scan = tuple(e for e in model.entries if service.name in e.readers)
        assert model.entries_read_by(service.name) == scan
    before = {s.name: read_policy_size(model, s.name) for s in model.services}
    counted = dataclasses.replace(
        model,
        entries=tuple(
            dataclasses.replace(e, readers=_CountedReaders(e.readers)) for e in model.entries
        ),
    )
    _CountedReaders.tests = 0
    assert AwsAdapter.limit_problems(counted) == []
    assert {s.name: read_policy_size(counted, s.name) for s in counted.services} == before
    assert len(model.services) > 2 and any(before.values())
    assert _CountedReaders.tests <= len(model.entries), _CountedReaders.tests


def parse_catalog_file():
    from platform_secrets.model.catalog import load_catalog

    return load_catalog(offline.ROOT / "catalog.yaml")
