"""The plan summary a reviewer reads: nothing that only --json or access.json used to say is left out.

Stubbed secrets; config secrets with no value and what that means per service; per identity its name, cloud
id, keys and entries; tooling identities with who may assume them; protected resources. Text and --json hold
the same. The commands work as the README writes them: a failed plan leaves no earlier artifacts, and the prod
fail-fast error says how to make a review-only plan.
"""

from __future__ import annotations

import json
import re

import pytest

from platform_secrets.cli.app import main as cli_main
from platform_secrets.model.catalog import Source
from platform_secrets.offline import plan
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests import catalog_facts


def run_plan(monkeypatch, capsys, result: RunResult, *args: str) -> tuple[int, str, str]:
    """``platform-secrets plan`` with the session's run standing in for a fresh one."""
    monkeypatch.setattr(plan.offline, "run", lambda stack, **kwargs: result)
    code = cli_main(["plan", "--stack", result.stack, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def config_readers(stack: str) -> dict[str, list[str]]:
    """service -> the config secrets (catalog keys) it reads that the stack file does not set."""
    project, config, _ = offline.load_config(stack)
    readers: dict[str, list[str]] = {}
    for entry in catalog_facts.of_source(Source.CONFIG):
        if f"{project}:{entry.config_key}" not in config:
            for reader in entry.readers:
                readers.setdefault(reader, []).append(entry.key)
    return readers


def test_missing_config_secrets_say_what_they_mean_per_service(monkeypatch, capsys, dev_run):
    code, text, _ = run_plan(monkeypatch, capsys, dev_run)
    assert code == 0
    expected = config_readers("dev")
    assert expected, "dev leaves config secrets unset"
    for service, keys in expected.items():
        verb = "has" if len(keys) == 1 else "have"
        line = f"ESO cannot sync {service}'s Secret {service}-secrets: {', '.join(keys)} {verb} no value"
        assert line in text
    _, as_json, _ = run_plan(monkeypatch, capsys, dev_run, "--json")
    consequences = json.loads(as_json)["missing_consequences"]
    assert {name: item["keys"] for name, item in consequences.items()} == expected
    for item in consequences.values():
        assert item["consequence"] in text  # the text and --json say the same


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_each_identity_is_shown_by_name_with_its_cloud_id_keys_and_entries(
    monkeypatch, capsys, cloud, dev_run, azure_dev_run, gcp_dev_run
):
    result = {"aws": dev_run, "azure": azure_dev_run, "gcp": gcp_dev_run}[cloud]
    _, text, _ = run_plan(monkeypatch, capsys, result)
    _, as_json, _ = run_plan(monkeypatch, capsys, result, "--json")
    access = json.loads(as_json)["access"]
    for service in catalog_facts.SHIPPED.services:
        row = access[service]
        assert row["identity_name"] != row["identity"] or cloud == "gcp", row
        expected_name = f"platform-secrets-dev-{service}" if cloud != "gcp" else None
        if expected_name:
            assert row["identity_name"] == expected_name
        assert row["keys"] == catalog_facts.own_keys()[service]
        assert len(row["entries"]) == len(row["keys"])
        block = re.split(r"\n  (?! )", text.split(f"\n  {service} (", 1)[1], maxsplit=1)[0]
        assert row["identity_name"] in block and row["identity"] in block
        for entry in row["entries"]:
            assert entry in block


def test_tooling_identities_show_who_may_assume_them(monkeypatch, capsys, dev_run):
    _, text, _ = run_plan(monkeypatch, capsys, dev_run)
    _, as_json, _ = run_plan(monkeypatch, capsys, dev_run, "--json")
    tooling = json.loads(as_json)["tooling"]
    assert set(tooling) == set(catalog_facts.tooling())
    role = "arn:aws:iam::111122223333:role/ci-linear"  # Pulumi.dev.yaml's toolingPrincipals
    assert tooling["linear-integration"]["assumed_by"] == [role]
    assert (
        f"linear-integration (platform-secrets-dev-linear-integration): {role}" in text
    )  # in the text, not only in access.json


def test_a_review_plan_lists_the_stubbed_secrets(monkeypatch, capsys, prod_run):
    code, text, _ = run_plan(monkeypatch, capsys, prod_run, "--stub-secrets")
    assert code == 0
    stubbed = {key for keys in config_readers("prod").values() for key in keys}
    expected = sorted(
        e.config_key for e in catalog_facts.of_source(Source.CONFIG) if e.key in stubbed
    )
    assert expected
    head = text.split("resources per component:", 1)[0]
    assert "REVIEW-ONLY PLAN" in head
    for key in expected:
        assert f"\n  {key}" in head
    _, as_json, _ = run_plan(monkeypatch, capsys, prod_run, "--stub-secrets", "--json")
    assert json.loads(as_json)["stubbed_secrets"] == expected


def test_prod_lists_its_protected_resources(monkeypatch, capsys, prod_run):
    _, text, _ = run_plan(monkeypatch, capsys, prod_run)
    _, as_json, _ = run_plan(monkeypatch, capsys, prod_run, "--json")
    listed = {item["name"] for item in json.loads(as_json)["protected_resources"]}
    protected = {r.name for r in prod_run.resources if r.protect or r.retain_on_delete}
    assert protected and listed == protected
    section = text.split("protected resources", 1)[1]
    for name in protected:
        assert f" {name}  (" in section


def test_the_prod_fail_fast_error_says_how_to_make_a_review_only_plan(capsys, tmp_path):
    code = cli_main(["plan", "--stack", "prod", "--out", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == 1
    assert "required in prod but not set" in err
    assert err.rstrip().endswith(
        "`make plan STACK=prod REVIEW=1` (or add --stub-secrets); `pulumi up` still needs the "
        "real values."
    )


def test_a_failed_plan_leaves_no_artifacts_of_an_earlier_run(
    monkeypatch, capsys, tmp_path, dev_run
):
    out = tmp_path / "plan-prod"
    assert run_plan(monkeypatch, capsys, dev_run, "--out", str(out))[0] == 0
    assert (out / "access.json").is_file()
    monkeypatch.undo()
    assert cli_main(["plan", "--stack", "prod", "--out", str(out)]) == 1
    assert not out.exists(), "the earlier run's artifacts are still there, unmarked"


def test_the_plan_refuses_to_empty_a_folder_that_is_not_a_plan(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    assert cli_main(["plan", "--stack", "dev", "--out", str(tmp_path)]) == 1
    assert "refusing to empty it" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
