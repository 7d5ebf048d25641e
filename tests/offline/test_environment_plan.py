"""Tier 2 (mock engine): a sharded environment planned stack by stack, the foundation first.

The example environment (environments/example.yaml) is dev's catalog and settings over a foundation and two
shards; each of its stacks is planned once per session (``example_plan``: the CLI's path, two worker
processes; ``example_cloud_plans``: the other stores, in this process).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from platform_secrets.access import matrix as access
from platform_secrets.offline import environment as env_plan
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from platform_secrets.paths import PROJECT_ROOT
from tests import sharded
from tests.sharded import FOUNDATION, LAYOUT, SHARDS

SERVICE = "platform-secrets:index:ServiceSecrets"
SHARED = "platform-secrets:index:SharedSecrets"


def _union(plans: dict[str, env_plan.StackPlan]) -> list[offline.Registered]:
    return [r for plan in plans.values() for r in plan.resources]


def _components(plan: env_plan.StackPlan, type_: str) -> set[str]:
    return {r.name for r in plan.resources if r.type == type_}


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "vault"])
def test_sharded_access_equals_one_stack_access(
    cloud: str, example_cloud_plans, request: pytest.FixtureRequest
) -> None:
    """The access derivation on the union of the three stacks is dev's one-stack matrix, on every store."""
    one_stack: RunResult = request.getfixturevalue(
        "dev_run" if cloud == "aws" else f"{cloud}_dev_run"
    )
    expected = access.derive(one_stack.resources)
    found = access.derive(_union(example_cloud_plans[cloud]))
    differ = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    assert differ == [], f"{cloud}: rows that differ from the one-stack plan: {differ}"


def test_the_environment_plan_writes_each_stack_and_the_union(
    example_plan, aws_dev_plan_dir: Path
) -> None:
    out = example_plan.out
    for stack in LAYOUT.all_stacks():
        assert (out / stack / "resources.json").is_file(), stack
        written = (out / stack / "resources.json").read_text()
        assert written == sharded.records(example_plan.plans[stack]), stack
    union = json.loads((out / "resources.json").read_text())
    assert len(union) == sum(len(p.resources) for p in example_plan.plans.values())
    assert (out / "access.json").read_bytes() == (aws_dev_plan_dir / "access.json").read_bytes()


def test_environment_plan_runs_stacks_in_processes(example_plan) -> None:
    pids = {stack: plan.pid for stack, plan in example_plan.plans.items()}
    assert os.getpid() not in pids.values(), pids
    assert (
        next(iter(example_plan.plans)) == FOUNDATION
    )  # planned first: the shards read its outputs


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "vault"])
def test_the_foundation_registers_no_service_resources(cloud: str, example_cloud_plans) -> None:
    plan = example_cloud_plans[cloud][FOUNDATION]
    assert _components(plan, SERVICE) == set()
    assert _components(plan, SHARED) == {"shared"}
    in_cluster = sorted(r.type for r in plan.resources if r.type.startswith("kubernetes:"))
    assert in_cluster == [], f"{cloud}: the foundation creates nothing in the cluster: {in_cluster}"
    parents = {r.parent.rsplit("::", 1)[-1] for r in plan.resources if r.parent}
    assert parents == {"shared", f"platform-secrets-{FOUNDATION}"}, parents


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "vault"])
def test_a_shard_registers_only_its_services(cloud: str, example_cloud_plans) -> None:
    for stack in SHARDS:
        plan = example_cloud_plans[cloud][stack]
        assert _components(plan, SERVICE) == set(LAYOUT.stacks[stack]), stack
        assert _components(plan, SHARED) == set(), f"{stack} registers shared secrets"


def test_a_shard_reads_the_foundation_through_a_stack_reference_under_mocks(example_plan) -> None:
    """Shard b's entries are encrypted by the foundation's key and its reader's policy names the
    foundation's shared ARN (with its random suffix): both read through the stack reference."""
    foundation = example_plan.plans[FOUNDATION].outputs
    shard = example_plan.plans["example-b"]
    key = foundation["store"]["kms_key_arn"]
    entries = [r for r in shard.resources if r.type == "aws:secretsmanager/secret:Secret"]
    assert entries and {r.inputs["kmsKeyId"] for r in entries} == {key}
    jwt = foundation["shared_entries"]["JWT_SECRET"]["ref"]
    policy = next(r for r in shard.resources if r.name == "agent7-messaging-read-secrets").inputs[
        "policy"
    ]
    assert jwt in policy and key in policy
    refs = {d for r in entries for d in r.dependencies if "StackReference" in d}
    assert refs == {
        "urn:pulumi:example-b::platform-secrets::pulumi:pulumi:Stack$pulumi:pulumi:StackReference::foundation"
    }


def test_the_foundation_policy_names_readers_in_every_shard(example_plan) -> None:
    """AWS: the foundation grants the shared secret by deterministic role ARNs, one per reader, whatever shard
    it sits in (computed from the catalog, never read back from a shard)."""
    plan = example_plan.plans[FOUNDATION]
    policy = next(r for r in plan.resources if r.name == "shared-jwt-secret-policy").inputs[
        "policy"
    ]
    for reader, stack in (("backend", "example-a"), ("agent7-messaging", "example-b")):
        assert f"role/platform-secrets-dev-{reader}" in policy, (reader, stack)


def test_a_stack_reference_to_an_unplanned_stack_raises() -> None:
    """Never a silent None: a shard planned without its foundation's plan fails naming the target."""
    result = offline.run("example-a")
    assert result.error is not None
    assert "organization/platform-secrets/example-foundation has not been planned" in str(
        result.error
    )


def test_a_missing_foundation_output_is_named(example_plan) -> None:
    outputs = json.loads(json.dumps(example_plan.plans[FOUNDATION].outputs))
    del outputs["store"]["kms_key_arn"]
    refs = {f"organization/platform-secrets/{FOUNDATION}": outputs}
    result = offline.run("example-a", stack_references=refs)
    assert result.error is not None
    assert "the foundation stack example-foundation exports no store.kms_key_arn" in str(
        result.error
    )
    problems = env_plan.problems_of(
        LAYOUT, {"example-a": env_plan.StackPlan("example-a", str(result.error))}, "x"
    )
    assert any("store.kms_key_arn" in p and p.startswith("stack example-a") for p in problems)


def test_a_stack_over_the_limit_is_named_with_its_count(example_plan) -> None:
    tight = LAYOUT.model_copy(update={"stack_resource_limit": 38})
    problems = env_plan.problems_of(tight, example_plan.plans, "environments/example.yaml")
    count = len(example_plan.plans["example-b"].resources)
    assert problems == [
        f"stack example-b holds {count} resources, over the limit of 38 (stackResourceLimit in "
        "environments/example.yaml): move services to another shard or add one"
    ]


def _root_with(tmp_path: Path, layout: dict) -> Path:
    root = tmp_path / "repo"
    (root / "environments").mkdir(parents=True)
    for name in ("catalog.yaml", "Pulumi.yaml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    (root / "environments" / "bad.yaml").write_text(yaml.safe_dump(layout))
    return root


def test_a_shared_reader_in_no_shard_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks = {
        name: [s for s in services if s != "agent7-messaging"]
        for name, services in LAYOUT.stacks.items()
    }
    root = _root_with(tmp_path, {"foundation": FOUNDATION, "stacks": stacks})
    out = tmp_path / "out"
    assert env_plan.plan_environment("bad", out, root=root, workers=0) == 1
    err = capsys.readouterr().err
    assert "shared secret JWT_SECRET is read by agent7-messaging, which is in no stack" in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == [root]


def test_a_secure_value_in_the_environment_file_is_refused(tmp_path: Path, capsys) -> None:
    layout = {
        "foundation": FOUNDATION,
        "stacks": dict(LAYOUT.stacks),
        "config": {"aws": {"accountId": {"secure": "AAEA"}}, "backend.DATABASE_URL": "x"},
    }
    root = _root_with(tmp_path, layout)
    assert env_plan.plan_environment("bad", tmp_path / "out", root=root, workers=0) == 1
    err = capsys.readouterr().err
    assert "config.aws holds a `secure:` value" in err, err
    assert "config.backend.DATABASE_URL: a secret's key" in err, err


def _catalog_with(tmp_path: Path, edit) -> str:
    data = yaml.safe_load((PROJECT_ROOT / "catalog.yaml").read_text())
    edit(data)
    shutil.copytree(PROJECT_ROOT / "environments", tmp_path / "environments")  # beside the catalog
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_untouched_shards_plan_byte_identical_after_a_one_service_change(
    tmp_path: Path, example_plan
) -> None:
    """A secret added to media (shard a): the foundation and shard b plan byte-identical, shard a does not."""

    def add_secret(data: dict) -> None:
        data["services"]["media"]["secrets"]["THUMBNAIL_KEY"] = {
            "source": "generated",
            "length": 32,
            "description": "signs thumbnail URLs",
        }

    changed = sharded.plan_inline(catalog=_catalog_with(tmp_path, add_secret))
    before = example_plan.plans
    same = [
        s for s in LAYOUT.all_stacks() if sharded.records(changed[s]) == sharded.records(before[s])
    ]
    assert same == [FOUNDATION, "example-b"], same


def test_the_foundation_changes_only_when_a_shared_secrets_readers_change(
    tmp_path: Path, example_plan
) -> None:
    """agent9-search (shard b) starts reading JWT_SECRET: the foundation's resource policy names it."""

    def read_jwt(data: dict) -> None:
        data["services"]["agent9-search"]["secrets"]["JWT_SECRET"] = {"shared": "JWT_SECRET"}

    catalog = _catalog_with(tmp_path, read_jwt)
    changed = sharded.plan_stack_inline(FOUNDATION, catalog=catalog)
    before = example_plan.plans[FOUNDATION]
    assert sharded.records(changed) != sharded.records(before)
    policy = next(r for r in changed.resources if r.name == "shared-jwt-secret-policy").inputs[
        "policy"
    ]
    assert "role/platform-secrets-dev-agent9-search" in policy


def test_a_key_set_in_both_files_is_an_error_not_an_override(tmp_path: Path) -> None:
    from platform_secrets.model.environment_file import join

    root = _root_with(
        tmp_path,
        {
            "foundation": FOUNDATION,
            "stacks": dict(LAYOUT.stacks),
            "config": {"environment": "dev", "recoveryWindowDays": 7},
        },
    )
    raw = {"recoveryWindowDays": 30, "cloud": "gcp"}
    origins = {"recoveryWindowDays": "Pulumi.example-a.yaml", "cloud": "--cloud gcp"}
    role, problems = join("example-a", raw, origins, None, root, "environments/bad.yaml")
    assert problems == [
        "recoveryWindowDays: set in both Pulumi.example-a.yaml and environments/bad.yaml; a shared "
        "setting is written once: remove it from one (the environment file's is not overridden)"
    ]
    assert raw == {"recoveryWindowDays": 30, "cloud": "gcp", "environment": "dev"}
    assert role is not None and role.services == frozenset(LAYOUT.stacks["example-a"])


def test_another_shards_secret_in_this_stack_file_is_refused(tmp_path: Path) -> None:
    """A deployer of shard b who sets backend's secret (shard a's) in its own file: named, not used."""
    result = offline.run(
        "example-b",
        secrets={"backend.REDIS_URL": "redis://example.invalid:6379"},
        stack_references={"organization/platform-secrets/example-foundation": {}},
    )
    assert result.error is not None
    assert "backend.REDIS_URL: set in the runner's secrets, but backend is in another stack" in str(
        result.error
    )
    assert result.resources == []


def test_a_native_binding_cannot_be_sharded() -> None:
    """With binding native a shard would write its pods' Secret without the shared values (the foundation
    exports names and ARNs, never values): refused before anything registers."""
    result = offline.run("example-b", overrides={"binding": "native"})
    assert result.error is not None and result.resources == []
    assert "binding: native cannot be split over stacks" in str(result.error)


def test_a_shard_plans_in_preview_mode_too(example_plan) -> None:
    """`pulumi preview` of a shard reads the stack reference as well: the same registrations as an update."""
    refs = sharded.references(example_plan.plans[FOUNDATION])
    preview = offline.run("example-b", preview=True, stack_references=refs)
    assert preview.error is None, preview.error
    assert sorted(r.urn for r in preview.resources) == sorted(
        r.urn for r in example_plan.plans["example-b"].resources
    )
