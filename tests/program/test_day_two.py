"""Day two: rotation without churn, adoption after a lost state, and URNs that cannot silently change."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from platform_secrets.model.catalog import Source
from platform_secrets.offline import runner as offline
from platform_secrets.offline.artifacts import resource_record
from tests import catalog_facts
from tests.conftest import PROD_SECRETS

URNS = Path(__file__).with_name("prod_urns.txt")
GENERATED_ENTRIES = catalog_facts.of_source(Source.GENERATED)
GENERATED = {f"{e.owner}-{e.key.lower().replace('_', '-')}-generated" for e in GENERATED_ENTRIES}
"""The logical names of the shipped catalog's generated values."""


def records(run: offline.RunResult) -> dict[str, dict]:
    return {r.urn: resource_record(r) for r in run.resources}


def changed(a: offline.RunResult, b: offline.RunResult) -> set[str]:
    ra, rb = records(a), records(b)
    assert ra.keys() == rb.keys()
    return {ra[urn]["name"] for urn in ra if ra[urn] != rb[urn]}


def test_generated_values_change_only_with_their_epoch(prod_run):
    again = offline.run("prod", secrets=PROD_SECRETS)
    assert changed(prod_run, again) == set()


def test_a_new_rotation_epoch_regenerates_every_generated_value_and_nothing_else(prod_run):
    rotated = offline.run("prod", secrets=PROD_SECRETS, overrides={"rotationEpoch": "2026-12-01"})
    assert changed(prod_run, rotated) == GENERATED
    for name in GENERATED:
        assert rotated.by_name(name).inputs["keepers"] == {"rotation-epoch": "2026-12-01"}


def test_a_per_secret_epoch_regenerates_exactly_that_secret(prod_run):
    rotated = offline.run(
        "prod",
        secrets=PROD_SECRETS,
        overrides={"rotationEpochs": {"backend.OTP_PEPPER": "leak-2026-11"}},
    )
    assert changed(prod_run, rotated) == {"backend-otp-pepper-generated"}


def test_an_epoch_for_a_non_generated_secret_is_refused():
    result = offline.run(
        "prod", secrets=PROD_SECRETS, overrides={"rotationEpochs": {"backend.REDIS_URL": "x"}}
    )
    assert "rotationEpochs.backend.REDIS_URL: not a generated secret" in str(result.error)
    assert result.resources == []


def test_an_overdue_rotation_epoch_is_reported():
    old = (date.today() - timedelta(days=120)).isoformat()
    result = offline.run("prod", secrets=PROD_SECRETS, overrides={"rotationEpoch": old})
    assert result.error is None
    overdue = [w for w in result.warnings if "rotation is due" in w]
    assert {w.split(":", 1)[0] for w in overdue} == {e.config_key for e in GENERATED_ENTRIES}
    assert all("every 90 days" in w for w in overdue)


def test_prod_entries_declare_a_rotation_period_of_at_most_90_days(prod_run):
    for entry in prod_run.of_type("aws:secretsmanager/secret:Secret"):
        assert int(entry.inputs["tags"]["platform-secrets/rotation-days"]) <= 90


def test_a_rotation_function_makes_aws_rotate_a_third_party_secret():
    config = offline.load_config("prod")[1]["platform-secrets:aws"]
    aws = {
        **json.loads(config),
        "rotationLambdaArns": {
            "backend.REDIS_URL": "arn:aws:lambda:eu-west-1:444455556666:function:rotate-redis"
        },
    }
    result = offline.run("prod", secrets=PROD_SECRETS, overrides={"aws": aws})
    assert result.error is None, result.error
    (rotation,) = result.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 90}
    assert rotation.inputs["secretId"] == result.by_name("backend-redis-url-entry").outputs["arn"]


@pytest.fixture(scope="module")
def adopted() -> offline.RunResult:
    result = offline.run("prod", secrets=PROD_SECRETS, overrides={"adoptExisting": True})
    assert result.error is None, result.error
    return result


def test_adoption_imports_every_entry_and_key_by_its_deterministic_name(adopted, prod_run):
    kinds = ("aws:secretsmanager/secret:Secret", "aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")
    durable = [r for r in adopted.resources if r.type in kinds]
    assert {r.urn for r in durable} == {r.urn for r in prod_run.resources if r.type in kinds}
    arns = {r.name: r.outputs.get("arn") for r in prod_run.resources}
    for r in durable:
        assert r.import_id, r.name
        if r.type == "aws:secretsmanager/secret:Secret":
            assert r.import_id == arns[r.name]  # the ARN of the entry of the same name
    assert {r.name for r in adopted.resources if r.import_id} >= {
        r.name for r in adopted.resources if r.type in ("aws:iam/role:Role", "aws:kms/alias:Alias")
    }


def test_adoption_never_overwrites_a_generated_value(adopted):
    versions = adopted.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    written = {r.name for r in versions}
    assert not written & {n.replace("-generated", "-value") for n in GENERATED}
    # config values are re-written as they are
    config = {f"{e.owner}-{e.key.lower().replace('_', '-')}-value" for e in catalog_facts.entries()}
    assert written == config - {n.replace("-generated", "-value") for n in GENERATED} - {
        f"{e.owner}-{e.key.lower().replace('_', '-')}-value"
        for e in catalog_facts.of_source(Source.EXTERNAL)
    }


def test_without_adoption_nothing_is_imported(prod_run):
    assert not [r.name for r in prod_run.resources if r.import_id]


def guarded_urns() -> list[str]:
    return [line for line in URNS.read_text().splitlines() if line and not line.startswith("#")]


def urn_guard(expected: list[str], actual: list[str]) -> str | None:
    """What a run lost of the guarded prod URNs, as one message naming each, or None.

    A URN that disappears or changes (a rename, a new parent) deletes or replaces a production resource; a
    URN that is added creates one and is fine (append it to tests/program/prod_urns.txt to guard it from then on).
    """
    gone = sorted(set(expected) - set(actual))
    if not gone:
        return None
    components = sorted(
        urn.rsplit("::", 1)[1]
        for urn in gone
        if urn.split("::")[2].rsplit("$", 1)[-1].startswith("platform-secrets:index:")
    )
    lines = [
        f"{len(gone)} prod URN(s) disappeared or changed: each deletes or replaces a production "
        "resource on `pulumi up`.",
    ]
    if components:
        lines.append(f"Components gone (a service or the shared secrets): {', '.join(components)}")
    lines += [f"  - {urn}" for urn in gone]
    lines.append(
        "If intended: add `aliases=[...]` for what moved (a removal needs a reviewed decision), then "
        "edit tests/program/prod_urns.txt in the same commit."
    )
    return "\n".join(lines)


def test_prod_urns_do_not_disappear_or_change(prod_run):
    """Changing a prod URN replaces a production resource: it must be a reviewed edit with an alias."""
    problem = urn_guard(guarded_urns(), [r.urn for r in prod_run.resources])
    assert problem is None, problem


def test_the_urn_guard_names_a_removed_prod_service_and_accepts_an_added_one(tmp_path):
    data = yaml.safe_load(catalog_facts.shipped_path().read_text())
    removed = data["services"].pop("agent9-search")
    added = "urn-guard-added"
    assert added not in data["services"]
    data["services"][added] = removed  # the same shape under a new name: added URNs
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump(data))
    secrets = {k.replace("agent9-search.", f"{added}."): v for k, v in PROD_SECRETS.items()}
    run = offline.run("prod", secrets=secrets, overrides={"catalog": str(catalog)})
    assert run.error is None, run.error
    problem = urn_guard(guarded_urns(), [r.urn for r in run.resources])
    assert problem is not None
    assert "Components gone (a service or the shared secrets): agent9-search\n" in problem
    assert "::agent9-search-role" in problem and added not in problem
    grown = guarded_urns() + [r.urn for r in run.resources if added in r.urn]
    assert urn_guard(guarded_urns(), grown) is None  # only additions: fine


@pytest.fixture(scope="module")
def dr_run() -> offline.RunResult:
    result = offline.run("prod-dr", secrets=PROD_SECRETS)
    assert result.error is None, result.error
    return result


def test_the_dr_stack_recreates_prods_access_matrix_in_the_other_region(dr_run, prod_run):
    from platform_secrets.access.matrix import derive

    def service_keys(run: offline.RunResult) -> dict[str, list[str]]:
        return {
            name: row["keys"]
            for name, row in derive(run.resources).items()
            if row["kind"] in ("workload", "tooling")
        }

    assert service_keys(dr_run) == service_keys(prod_run)
    for entry in dr_run.of_type("aws:secretsmanager/secret:Secret"):
        assert entry.outputs["arn"].startswith("arn:aws:secretsmanager:eu-central-1:444455556666:")


def test_the_dr_stack_adopts_prods_entries_keys_and_roles_by_name(dr_run, prod_run):
    names = lambda run, t: {r.inputs["name"] for r in run.of_type(t)}  # noqa: E731
    for type_ in ("aws:secretsmanager/secret:Secret", "aws:iam/role:Role"):
        assert names(dr_run, type_) == names(prod_run, type_)
        assert all(r.import_id for r in dr_run.of_type(type_))
    (key,) = dr_run.of_type("aws:kms/key:Key")
    assert key.import_id  # found through the alias prod keeps in the replica region
    aliases = prod_run.of_type("aws:kms/alias:Alias")
    assert {(a.inputs["name"], a.inputs.get("region", "eu-west-1")) for a in aliases} == {
        ("alias/platform-secrets-prod-secrets", "eu-west-1"),
        ("alias/platform-secrets-prod-secrets", "eu-central-1"),
    }


def test_the_dr_stack_trusts_only_the_dr_clusters_service_accounts(dr_run):
    issuer = "oidc.eks.eu-central-1.amazonaws.com/id/DRD539D4633E53DE1B716D3041E00"
    for role in dr_run.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        federated = trust["Principal"].get("Federated")
        if federated:
            assert federated.endswith(f":oidc-provider/{issuer}")
            assert set(trust["Condition"]["StringEquals"]) == {f"{issuer}:sub", f"{issuer}:aud"}
