"""Tier 3: the offline plan's artifacts, checked by outside tools and against the catalog's intent.

- every Kubernetes manifest: ``kubernetes-validate --strict``;
- ExternalSecret and SecretStore: the CRDs of External Secrets Operator in ../shared/crds (served version only),
  made strict (a field the API server would prune is an error here);
- identity and resource policies: parliament;
- access.json (derived from the registrations) equals what the catalog intends.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from parliament import analyze_policy_string

from platform_secrets.offline import artifacts
from platform_secrets.offline import runner as offline
from tests import catalog_facts
from tests.checks import (
    ESO_KINDS,
    OWN_KEYS,
    ROOT,
    WORKLOADS,
    eso_validator,
    kubernetes_validate,
    manifests,
)
from tests.conftest import PROD_SECRETS


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan_dir(request, aws_dev_plan_dir, aws_prod_plan_dir) -> Path:
    return aws_dev_plan_dir if request.param == "dev" else aws_prod_plan_dir


def namespace_of(obj: dict) -> str:
    meta = obj["metadata"]
    return meta["name"] if obj["kind"] == "Namespace" else meta["namespace"]


def kinds_per_namespace(plan_dir: Path) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for _, obj in manifests(plan_dir):
        kinds.setdefault(namespace_of(obj), set()).add(obj["kind"])
    return kinds


def test_plan_writes_every_artifact(plan_dir):
    assert (plan_dir / "resources.json").is_file()
    assert (plan_dir / "access.json").is_file()
    kinds = kinds_per_namespace(plan_dir)
    assert set(kinds) == set(WORKLOADS)  # one namespace per workload, nothing else
    expected = {"Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", *ESO_KINDS}
    for namespace, got in kinds.items():
        assert got >= expected, f"{namespace} lacks {sorted(expected - got)}"
    iam = {p.name for p in (plan_dir / "iam").glob("*.json")}
    for service in catalog_facts.SHIPPED.services:
        for kind in ("trust", "identity"):
            assert f"{service}.{kind}.json" in iam


def test_resources_json_has_the_contract_fields(plan_dir):
    records = json.loads((plan_dir / "resources.json").read_text())
    assert records
    for record in records:
        assert set(record) == {
            "urn",
            "type",
            "name",
            "parent",
            "inputs",
            "dependencies",
            "protect",
            "retain_on_delete",
            "import_id",
        }
    versions = [r for r in records if r["type"].endswith("secretVersion:SecretVersion")]
    assert versions and all(r["inputs"]["secretString"] == "[secret]" for r in versions)


def test_no_secret_value_reaches_any_artifact(plan_dir):
    for path in plan_dir.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "mock-" not in text, path  # the mocks' generated values
            for value in PROD_SECRETS.values():
                assert value not in text, path


def test_kubernetes_manifests_pass_kubernetes_validate_strict(plan_dir):
    found = [(p, obj) for p, obj in manifests(plan_dir) if obj["kind"] not in ESO_KINDS]
    assert {namespace_of(obj) for _, obj in found} == set(WORKLOADS)
    kubernetes_validate([str(p) for p, _ in found])


def test_eso_objects_validate_against_the_served_crd(plan_dir):
    checked = set()
    for path, obj in manifests(plan_dir):
        if obj["kind"] in ESO_KINDS:
            assert obj["apiVersion"] == "external-secrets.io/v1", path.name
            eso_validator(obj["kind"]).validate(obj)
            checked.add((namespace_of(obj), obj["kind"]))
    assert checked == {(w, kind) for w in WORKLOADS for kind in ESO_KINDS}


def test_strict_crd_check_catches_a_misspelt_field():
    store = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "x"},
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": "eu-west-1",
                    "auth": {"jwt": {"serviceAcountRef": {"name": "x"}}},
                }
            }
        },
    }
    with pytest.raises(jsonschema.ValidationError, match="serviceAcountRef"):
        eso_validator("SecretStore").validate(store)


def test_identity_and_resource_policies_pass_parliament(plan_dir):
    linted = set()
    for path in sorted((plan_dir / "iam").glob("*.json")):
        if path.name.endswith((".identity.json", ".resource.json")):
            findings = analyze_policy_string(path.read_text()).findings
            assert not findings, (path.name, [(f.issue, f.detail) for f in findings])
            linted.add(path.name)
    assert {f"{s}.identity.json" for s in catalog_facts.SHIPPED.services} <= linted
    resource = {n.removesuffix(".resource.json") for n in linted if n.endswith(".resource.json")}
    assert len(resource) == len(catalog_facts.entries()), "one resource policy per entry"


def test_parliament_flags_a_widened_policy():
    widened = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
        ],
    }
    assert analyze_policy_string(json.dumps(widened)).findings


def test_key_policy_star_is_only_this_key(plan_dir):
    """In a key policy `Resource: *` means this key; it is the one star allowed (see aws_policies).

    parliament's only finding on the key policies is that star (RESOURCE_STAR); anything else (an unknown
    action, a malformed condition) fails.
    """
    paths = sorted((plan_dir / "iam").glob("*.key-policy.json"))
    assert paths
    for path in paths:
        statements = json.loads(path.read_text())["Statement"]
        assert [s["Resource"] for s in statements] == ["*"] * len(statements)
        findings = analyze_policy_string(path.read_text()).findings
        assert {f.issue for f in findings} <= {"RESOURCE_STAR"}, (
            path.name,
            [(f.issue, f.detail) for f in findings],
        )


def test_parliament_flags_a_misspelt_key_policy_action(plan_dir):
    """The key-policy lint above can fail: a misspelt action in the same document is reported."""
    path = sorted((plan_dir / "iam").glob("*.key-policy.json"))[0]
    doc = json.loads(path.read_text())
    doc["Statement"][-1]["Action"] = ["kms:Decrpyt"]
    findings = analyze_policy_string(json.dumps(doc)).findings
    assert {f.issue for f in findings} - {"RESOURCE_STAR"}


def test_access_matrix_equals_the_catalogs_intent(plan_dir):
    access = json.loads((plan_dir / "access.json").read_text())
    services = {name: row for name, row in access.items() if row["kind"] != "admin"}
    assert {name: row["keys"] for name, row in services.items()} == OWN_KEYS
    for name, row in services.items():
        if row["kind"] == "workload":
            assert row["service_account"] == f"{name}/{name}"


def test_a_shared_secret_appears_for_each_of_its_readers(plan_dir):
    access = json.loads((plan_dir / "access.json").read_text())
    shared = [e for e in catalog_facts.entries() if e.owner == "shared"]
    assert shared, "the shipped catalog shares a secret (JWT_SECRET)"
    for entry in shared:
        readers = [
            name
            for name, row in access.items()
            if any(e.endswith(f"/shared/{entry.key}") for e in row["entries"])
            and row["kind"] != "admin"
        ]
        assert sorted(readers) == sorted(entry.readers), entry.key


def test_linear_key_is_readable_by_no_workload(plan_dir):
    access = json.loads((plan_dir / "access.json").read_text())
    readers = sorted(name for name, row in access.items() if "LINEAR_API_KEY" in row["keys"])
    assert readers == sorted(["linear-integration", *[n for n in access if n.startswith("arn:")]])
    assert access["linear-integration"]["kind"] == "tooling"


def test_access_is_derived_so_a_widened_policy_shows_up(dev_run):
    """access.json reads the registered documents: widen one and the matrix must change."""
    widened = copy.deepcopy(dev_run)
    policy = widened.by_name("media-read-secrets")
    doc = json.loads(policy.inputs["policy"])
    backend = widened.by_name("backend-otp-pepper-entry").outputs["arn"]
    doc["Statement"][0]["Resource"].append(backend)
    policy.inputs["policy"] = json.dumps(doc)
    media = artifacts.access.derive(widened.resources)["media"]
    # The role now asks for backend's entry, but that entry's resource policy still denies media.
    assert "OTP_PEPPER" not in media["keys"]
    resource_policy = widened.by_name("backend-otp-pepper-policy")
    doc = json.loads(resource_policy.inputs["policy"])
    doc["Statement"][0]["Condition"]["StringNotEquals"]["aws:PrincipalArn"].append(
        widened.by_name("media-role").outputs["arn"]
    )
    resource_policy.inputs["policy"] = json.dumps(doc)
    assert "OTP_PEPPER" in artifacts.access.derive(widened.resources)["media"]["keys"]


def test_a_second_plan_is_byte_identical(tmp_path, aws_dev_plan_dir):
    artifacts.write(offline.run("dev"), tmp_path / "again")
    first = {
        p.relative_to(aws_dev_plan_dir): p.read_bytes()
        for p in aws_dev_plan_dir.rglob("*")
        if p.is_file()
    }
    second = {
        p.relative_to(tmp_path / "again"): p.read_bytes()
        for p in (tmp_path / "again").rglob("*")
        if p.is_file()
    }
    assert first == second


def test_plan_command_writes_artifacts_and_prints_the_matrix(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "platform_secrets",
            "plan",
            "--stack",
            "dev",
            "--out",
            str(tmp_path / "p"),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["access"]["media"]["keys"] == OWN_KEYS["media"]
    assert (tmp_path / "p" / "access.json").is_file()


def test_plan_command_fails_prod_without_its_secrets(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "platform_secrets",
            "plan",
            "--stack",
            "prod",
            "--out",
            str(tmp_path / "p"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "media.S3_ACCESS_KEY_ID: required in prod but not set" in proc.stderr
    assert not (tmp_path / "p").exists()
