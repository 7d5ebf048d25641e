"""Tier 1: the GCP access derivation (``tools/access.py``) over the plan's registrations, pure."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from tools.access import derive

PROJECT = "p-prod"
POOL = f"{PROJECT}.svc.id.goog"
ACCESSOR = "roles/secretmanager.secretAccessor"


def _r(
    type_: str, id_: str = "", outputs: dict[str, Any] | None = None, **inputs: Any
) -> SimpleNamespace:
    return SimpleNamespace(type=type_, id=id_, inputs=inputs, outputs=outputs or {})


def _secret(secret_id: str, key: str) -> SimpleNamespace:
    return _r(
        "gcp:secretmanager/secret:Secret",
        f"id-{secret_id}",
        {"name": f"projects/{PROJECT}/secrets/{secret_id}"},
        project=PROJECT,
        secretId=secret_id,
        annotations={"platform-secrets-key": key},
    )


def _account(name: str, display: str | None = None) -> SimpleNamespace:
    email = f"{name}@{PROJECT}.iam.gserviceaccount.com"
    outputs = {
        "member": f"serviceAccount:{email}",
        "email": email,
        "name": f"projects/{PROJECT}/serviceAccounts/{email}",
    }
    inputs: dict[str, Any] = {"accountId": name}
    if display:
        inputs["displayName"] = display
    return _r("gcp:serviceaccount/account:Account", f"sa-{name}", outputs, **inputs)


def _acts_as(
    account: SimpleNamespace, member: str, role: str = "roles/iam.workloadIdentityUser"
) -> SimpleNamespace:
    return _r(
        "gcp:serviceaccount/iAMMember:IAMMember",
        serviceAccountId=account.outputs["name"],
        role=role,
        member=member,
    )


def _stack() -> list[SimpleNamespace]:
    backend, tool, ci = _account("backend", "backend"), _account("tool"), _account("ci")
    return [
        _secret("prod-backend-DB", "DATABASE_URL"),
        _secret("prod-shared-JWT", "JWT_SECRET"),
        _secret("prod-media-KEY", "S3_KEY"),
        backend,
        tool,
        ci,
        _r(
            "gcp:secretmanager/secretIamMember:SecretIamMember",
            secretId="id-prod-backend-DB",
            role=ACCESSOR,
            member=backend.outputs["member"],
        ),
        _r(
            "gcp:secretmanager/secretIamBinding:SecretIamBinding",
            secretId=f"projects/{PROJECT}/secrets/prod-shared-JWT",
            role=ACCESSOR,
            members=[backend.outputs["member"], "user:eve@example.com"],
        ),
        _r(
            "gcp:secretmanager/secretIamPolicy:SecretIamPolicy",
            secretId="prod-media-KEY",
            project=PROJECT,
            policyData=json.dumps(
                {
                    "bindings": [
                        {"role": ACCESSOR, "members": [tool.outputs["member"]]},
                        {"role": "roles/viewer", "members": ["user:viewer@example.com"]},
                    ]
                }
            ),
        ),
        _r(
            "gcp:secretmanager/secretIamMember:SecretIamMember",
            secretId="unknown",
            role=ACCESSOR,
            member="user:lost@example.com",
        ),
        _r(
            "gcp:projects/iAMMember:IAMMember",
            project="other-project",
            role="roles/owner",
            member="user:elsewhere@example.com",
        ),
        _acts_as(backend, f"serviceAccount:{POOL}[backend/backend]"),
        _acts_as(tool, ci.outputs["member"], "roles/iam.serviceAccountTokenCreator"),
        _acts_as(tool, "user:ops@example.com", "roles/iam.serviceAccountTokenCreator"),
        _acts_as(tool, "user:nobody@example.com", "roles/iam.serviceAccountUser"),
        _r(
            "gcp:serviceaccount/iAMMember:IAMMember",
            serviceAccountId="projects/x/serviceAccounts/stranger",
            role="roles/iam.workloadIdentityUser",
            member="user:x@example.com",
        ),
        _r(
            "kubernetes:external-secrets.io/v1:ExternalSecret",
            metadata={"namespace": "backend"},
            spec={"data": [{"secretKey": "DB_URL", "remoteRef": {"key": "prod-backend-DB"}}]},
        ),
    ]


def test_a_workload_account_reads_its_secrets_under_its_env_names() -> None:
    matrix = derive(_stack())
    assert matrix["backend"] == {
        "identity": f"backend@{PROJECT}.iam.gserviceaccount.com",
        "entries": ["prod-backend-DB", "prod-shared-JWT"],
        "kind": "workload",
        "service_account": "backend/backend",
        "keys": ["DB_URL", "JWT_SECRET"],
    }


def test_a_tooling_account_names_who_may_act_as_it_and_passes_its_secrets_on() -> None:
    matrix = derive(_stack())
    assert matrix["tool"]["kind"] == "tooling"
    assert matrix["tool"]["entries"] == ["prod-media-KEY"]
    assert matrix["tool"]["assumed_by"] == [
        f"serviceAccount:ci@{PROJECT}.iam.gserviceaccount.com",
        "user:ops@example.com",
    ]
    assert matrix["ci"]["entries"] == ["prod-media-KEY"] and matrix["ci"]["keys"] == ["S3_KEY"]
    assert matrix["ci"]["assumes"] == [f"tool@{PROJECT}.iam.gserviceaccount.com"]


def test_a_member_outside_the_stack_granted_a_reader_role_is_a_reader_of_its_own() -> None:
    matrix = derive(_stack())
    assert matrix["user:eve@example.com"] == {
        "identity": "user:eve@example.com",
        "entries": ["prod-shared-JWT"],
        "keys": ["JWT_SECRET"],
        "kind": "other",
        "note": "not a service account of this stack, yet granted a reader role",
    }
    for member in (
        "user:viewer@example.com",
        "user:lost@example.com",
        "user:elsewhere@example.com",
    ):
        assert member not in matrix


def test_a_project_grant_reads_every_secret_of_the_project() -> None:
    grant = _r(
        "gcp:projects/iAMMember:IAMMember",
        project=PROJECT,
        role="roles/secretmanager.admin",
        member="group:ops@example.com",
    )
    matrix = derive([*_stack(), grant])
    assert matrix["group:ops@example.com"]["entries"] == [
        "prod-backend-DB",
        "prod-media-KEY",
        "prod-shared-JWT",
    ]


def test_a_kubernetes_service_account_that_may_act_as_another_account_reads_its_secrets() -> None:
    stack = _stack()
    tool = next(r for r in stack if r.id == "sa-tool")
    ksa = f"principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/{POOL}/subject/ns/backend/sa/backend"
    matrix = derive([*stack, _acts_as(tool, ksa)])
    assert matrix["backend"]["entries"] == ["prod-backend-DB", "prod-media-KEY", "prod-shared-JWT"]
    assert matrix["backend"]["assumes"] == [f"tool@{PROJECT}.iam.gserviceaccount.com"]
    pooled = derive([*stack, _acts_as(tool, f"serviceAccount:{POOL}[backend/backend]")])
    assert pooled["backend"]["assumes"] == [f"tool@{PROJECT}.iam.gserviceaccount.com"]
