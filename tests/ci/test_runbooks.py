"""The runbooks name only what the program creates: every name and config key in their commands exists.

Each entry name, role, KMS alias, namespace and Kubernetes object, GCP secret and project, Azure vault and secret,
stack, region and config key that ``runbooks/*.md`` mentions is looked up in the offline plans of dev and prod
(on AWS, GCP and Azure) or in the settings model; a runbook that drifts from the program fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from platform_secrets.model.catalog import Source, load_catalog
from platform_secrets.model.settings import SETTINGS_KEYS, AwsSettings
from platform_secrets.offline.runner import RunResult
from platform_secrets.paths import PROJECT_ROOT
from tests import guide

ROOT = PROJECT_ROOT
RUNBOOKS = {p.name: p.read_text() for p in sorted((ROOT / "runbooks").glob("*.md"))}
ALL_TEXT = "\n".join(RUNBOOKS.values())
CATALOG = load_catalog(ROOT / "catalog.yaml")
STACK_FILES = {p.name[len("Pulumi.") : -len(".yaml")]: p for p in ROOT.glob("Pulumi.*.yaml")}
SECRET_KEYS = {
    f"{owner}.{key}": spec.source
    for owner, key, spec in [
        *(("shared", key, spec) for key, spec in CATALOG.shared.items()),
        *(
            (name, key, spec)
            for name, service in CATALOG.services.items()
            for key, spec in service.secrets.items()
            if hasattr(spec, "source")
        ),
    ]
}
AWS_KEYS = {field.alias or name for name, field in AwsSettings.model_fields.items()}
WORKLOADS = [name for name, service in CATALOG.services.items() if service.workload]
COMMANDS = ("pulumi", "kubectl", "aws", "gcloud", "az", "python")


def commands(text: str) -> list[list[str]]:
    """Every shell command of a runbook (code blocks and inline code), split into words."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines += re.sub(r"\\\n\s*", " ", block).splitlines()
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    found = []
    for line in lines:
        for part in re.split(r"&&|\||;|\$\(|\)", line.split("  #")[0]):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            if words and words[0] in COMMANDS:
                found.append(words)
    return found


def option(words: list[str], *names: str) -> list[str]:
    values = []
    for index, word in enumerate(words[:-1]):
        if word in names:
            values.append(words[index + 1])
    for word in words:
        for name in names:
            if word.startswith(name + "="):
                values.append(word.split("=", 1)[1])
    return values


def concrete(value: str) -> bool:
    """A literal name (not a placeholder like ``<service>`` or a shell variable)."""
    return not re.search(r"[<>$*{}]", value)


COMMAND_LIST = [words for text in RUNBOOKS.values() for words in commands(text)]


def inputs_of(runs: list[RunResult], type_: str, field: str) -> set[str]:
    values = set()
    for run in runs:
        for r in run.of_type(type_):
            value = r.inputs
            for part in field.split("."):
                value = value.get(part, {}) if isinstance(value, dict) else {}
            if isinstance(value, str):
                values.add(value)
    return values


@pytest.fixture(scope="module")
def aws_runs(dev_run: RunResult, prod_run: RunResult) -> list[RunResult]:
    return [dev_run, prod_run]


def test_both_runbooks_exist_and_have_commands() -> None:
    assert set(RUNBOOKS) == {
        "audit-findings.md",
        "disaster-recovery.md",
        "rotate-secrets.md",
        "shards.md",
    }
    assert len(COMMAND_LIST) > 60


def test_every_entry_name_exists_in_a_plan(aws_runs: list[RunResult]) -> None:
    entries = inputs_of(aws_runs, "aws:secretsmanager/secret:Secret", "name")
    mentioned = set(re.findall(r"platform-secrets/(?:dev|prod)/[a-z0-9-]+/[A-Z0-9_]+", ALL_TEXT))
    assert len(mentioned) >= 9
    assert mentioned - entries == set()
    # The guide's services, so that a service added to the catalog needs no runbook edit to stay green.
    owners = {"shared", *guide.guide_services()}
    prod_entries = {
        e for e in entries if e.startswith("platform-secrets/prod/") and e.split("/")[2] in owners
    }
    dr_table = RUNBOOKS["disaster-recovery.md"]
    assert {e for e in prod_entries if e not in dr_table} == set(), "the DR table lists every entry"


def test_every_role_alias_and_gcp_name_exists(
    aws_runs: list[RunResult], gcp_dev_run: RunResult, gcp_prod_run: RunResult
) -> None:
    roles = inputs_of(aws_runs, "aws:iam/role:Role", "name")
    aliases = inputs_of(aws_runs, "aws:kms/alias:Alias", "name")
    gcp_ids = inputs_of([gcp_dev_run, gcp_prod_run], "gcp:secretmanager/secret:Secret", "secretId")
    known = roles | gcp_ids | {alias.removeprefix("alias/") for alias in aliases}
    tokens = set(re.findall(r"platform-secrets-(?:dev|prod)-[A-Za-z0-9_-]+", ALL_TEXT))
    assert tokens
    for token in tokens:
        if token.endswith("-"):  # a prefix completed by a shell variable, e.g. in a loop
            assert any(role.startswith(token) for role in roles), token
        else:
            assert token in known, token
    assert set(re.findall(r"alias/[a-z0-9-]+", ALL_TEXT)) <= aliases


def test_role_arns_are_the_programs_roles_or_its_admins(aws_runs: list[RunResult]) -> None:
    arns = {r.outputs["arn"] for run in aws_runs for r in run.of_type("aws:iam/role:Role")}
    admins = {
        arn
        for path in STACK_FILES.values()
        for arn in (
            yaml.safe_load(path.read_text())["config"].get("platform-secrets:aws") or {}
        ).get("adminRoleArns", [])
    }
    mentioned = set(re.findall(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", ALL_TEXT))
    assert mentioned and mentioned <= arns | admins


def test_kubernetes_names_exist(aws_runs: list[RunResult]) -> None:
    kinds = {
        "namespace": "kubernetes:core/v1:Namespace",
        "externalsecret": "kubernetes:external-secrets.io/v1:ExternalSecret",
        "secretstore": "kubernetes:external-secrets.io/v1:SecretStore",
        "serviceaccount": "kubernetes:core/v1:ServiceAccount",
        "configmap": "kubernetes:core/v1:ConfigMap",
    }
    names = {kind: inputs_of(aws_runs, type_, "metadata.name") for kind, type_ in kinds.items()}
    names["secret"] = inputs_of(
        aws_runs, "kubernetes:external-secrets.io/v1:ExternalSecret", "spec.target.name"
    )
    checked = 0
    for words in (w for w in COMMAND_LIST if w[0] == "kubectl"):
        for namespace in filter(concrete, option(words, "-n", "--namespace")):
            assert namespace in names["namespace"], words
            checked += 1
        for verb_index, word in enumerate(words[1:-1], start=1):
            kind = word.lower()
            if kind in names and words[verb_index - 1] in ("get", "annotate", "describe"):
                target = words[verb_index + 1]
                if concrete(target) and not target.startswith("-"):
                    assert target in names[kind], words
                    checked += 1
    assert checked >= 20


def test_urns_and_import_commands_name_registered_resources(aws_runs: list[RunResult]) -> None:
    registered = {(r.type, r.name) for run in aws_runs for r in run.resources}
    urns = re.findall(r"urn:pulumi:(\w[\w-]*)::platform-secrets::([\w:./$-]+)::([\w-]+)", ALL_TEXT)
    assert urns
    for stack, types, name in urns:
        assert stack in STACK_FILES
        assert (types.split("$")[-1], name) in registered, (types, name)
    imports = [w for w in COMMAND_LIST if w[:2] == ["pulumi", "import"] and len(w) > 3]
    assert imports
    for words in imports:
        assert (words[2], words[3]) in registered, words


def test_loops_over_services_name_exactly_the_workloads() -> None:
    loops = re.findall(r"for service in ([a-z0-9 -]+); do", ALL_TEXT)
    assert loops
    guide_workloads = [name for name in WORKLOADS if name in guide.guide_services()]
    for loop in loops:
        names = loop.split()
        assert set(names) <= set(WORKLOADS), (
            f"not a workload: {sorted(set(names) - set(WORKLOADS))}"
        )
        assert [n for n in names if n in guide_workloads] == guide_workloads, loop


def test_gcp_and_azure_names_exist(
    gcp_dev_run: RunResult,
    gcp_prod_run: RunResult,
    azure_dev_run: RunResult,
    azure_prod_run: RunResult,
) -> None:
    gcp = [gcp_dev_run, gcp_prod_run]
    azure = [azure_dev_run, azure_prod_run]
    gcp_ids = inputs_of(gcp, "gcp:secretmanager/secret:Secret", "secretId")
    projects = inputs_of(gcp, "gcp:secretmanager/secret:Secret", "project")
    vaults = inputs_of(azure, "azure-native:keyvault:Vault", "vaultName")
    secrets = inputs_of(azure, "azure-native:keyvault:Secret", "secretName")
    checked = 0
    for words in COMMAND_LIST:
        if words[:3] == ["gcloud", "secrets", "versions"] and len(words) > 4:
            ids = [w for w in words[4:] if w.startswith("platform-secrets-")] + option(
                words, "--secret"
            )
            assert ids and set(ids) <= gcp_ids, words
            assert set(option(words, "--project")) <= projects and option(words, "--project"), words
            checked += 1
        if words[:2] == ["az", "keyvault"] and len(words) > 4:
            assert set(option(words, "--vault-name")) <= vaults, words
            assert set(option(words, "--name")) <= secrets, words
            checked += 1
    assert checked >= 5
    for vault in re.findall(r"kv-[a-z]+-[a-z]+-[0-9a-f]{8}", ALL_TEXT):
        assert vault in vaults
    for project in re.findall(r"acme-secrets-[a-z]+", ALL_TEXT):
        assert project in projects


def test_config_keys_are_settings_or_catalog_secrets() -> None:
    checked = 0
    for words in COMMAND_LIST:
        if words[:3] != ["pulumi", "config", "set"]:
            continue
        flags = [w for w in words[3:] if w.startswith("--")]
        args = [
            w for w in words[3:] if not w.startswith("--") and w not in option(words, "--stack")
        ]
        if not args:
            continue  # the command named in prose, e.g. `pulumi config set --secret`
        key = args[0]
        if "--secret" in flags:
            assert SECRET_KEYS.get(key) is Source.CONFIG, f"{key}: not a config-sourced secret"
        elif "--path" in flags:
            if key.startswith("aws."):
                assert key.removeprefix("aws.") in AWS_KEYS, key
            else:
                inner = re.fullmatch(r'rotationEpochs\["([^"]+)"\]', key)
                assert inner and SECRET_KEYS.get(inner[1]) is Source.GENERATED, key
        else:
            assert key in SETTINGS_KEYS, key
            if key == "adoptExisting":
                assert args[1] in ("true", "false")
        checked += 1
    assert checked >= 20


def test_stacks_and_regions_are_the_projects() -> None:
    initialised = {w[3] for w in COMMAND_LIST if w[:3] == ["pulumi", "stack", "init"]}
    stacks = set(STACK_FILES) | initialised
    regions = set()
    for path in STACK_FILES.values():
        aws = yaml.safe_load(path.read_text())["config"].get("platform-secrets:aws") or {}
        regions |= {aws.get("region"), aws.get("replicaRegion")} - {None}
    for words in COMMAND_LIST:
        for stack in option(words, "--stack"):
            assert stack in stacks, words
        if words[0] == "aws":
            for region in option(words, "--region"):
                assert region in regions, words
    assert initialised == {"prod", "prod-dr"}
    assert {"dev", "prod"} <= stacks


def test_plan_artifacts_the_runbook_applies_exist(aws_prod_plan_dir: Path) -> None:
    assert "plan-dr/iam/$service.trust.json" in RUNBOOKS["disaster-recovery.md"]
    for service in WORKLOADS:
        assert (aws_prod_plan_dir / "iam" / f"{service}.trust.json").is_file()
    assert any(
        p.name.startswith("_cluster.namespace.") for p in (aws_prod_plan_dir / "k8s").iterdir()
    )


def test_rotation_runbook_covers_every_key_and_every_cloud() -> None:
    text = RUNBOOKS["rotate-secrets.md"]
    for name in guide.guide_services():
        for key in CATALOG.services[name].secrets:
            assert key in text, f"{name}.{key}"
    for needle in (
        "pulumi config set rotationEpoch",
        "pulumi config set --secret",
        "aws secretsmanager put-secret-value",
        "gcloud secrets versions add",
        "az keyvault secret set",
        "force-sync=$(date +%s) --overwrite",
        "kubectl rollout restart deployment",
        "refreshInterval",
    ):
        assert needle in text, needle


def test_disaster_recovery_covers_the_four_situations() -> None:
    text = RUNBOOKS["disaster-recovery.md"]
    for needle in (
        "pulumi config set adoptExisting true",
        "pulumi config set adoptExisting false",
        "aws secretsmanager restore-secret",
        "aws.oidcIssuer",
        "aws.replicaRegion",
        "Pulumi.prod-dr.yaml",
        "30 days",
    ):
        assert needle in text, needle


def test_the_shards_runbook_moves_a_service_with_a_record_and_a_dry_run_first() -> None:
    """When to shard (the issue's numbers), add a service, move one (record, CI, dry-run, deploy, remove the
    record), roll back; every `platform-secrets shards` subcommand it names exists."""
    from platform_secrets.cli.shards import app

    text = RUNBOOKS["shards.md"]
    for heading in ("## When to shard", "## Add a service", "## Move a service", "## Rollback"):
        assert heading in text, heading
    for number in ("#10960", "#9348", "#7682", "#20323", "#14989", "1,000"):
        assert number in text, number
    assert "shards propose notifications --environment example --plan plan-example --write" in text
    moves = [w for w in COMMAND_LIST if w[:3] == ["pulumi", "state", "move"]]
    assert moves and all("--yes" not in w for w in moves), "the runbook's own move is a dry run"
    steps = [line for line in text.splitlines() if re.match(r"\d\. \*\*", line)]
    assert [s.split("**")[1].split()[0] for s in steps[:6]] == [
        "Pull", "CI", "Dry-run", "Merge;", "Check", "Remove",
    ]  # fmt: skip
    named = set(re.findall(r"platform-secrets shards ([a-z-]+)", text))
    known = {c.name or c.callback.__name__ for c in app.registered_commands}  # type: ignore[union-attr]
    assert named and named <= known, named - known
