"""The access change of a pull request: ``--diff-against`` compares two plans' artifacts, widenings first.

Each head plan here comes from a real run whose registrations were changed the way a pull request would
change them (a policy widened, a trust widened, a key dropped from the catalog), so the diff is judged on
what the access derivation reads, not on hand-written access.json files.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from platform_secrets.access import diff as access_diff
from platform_secrets.cli.app import main as cli_main
from platform_secrets.offline import artifacts, plan
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult
from tests import catalog_facts


def widened_reader(run: RunResult) -> RunResult:
    """media's role and backend's OTP_PEPPER entry policy both let media read OTP_PEPPER."""
    widened = copy.deepcopy(run)
    policy = widened.by_name("media-read-secrets")
    doc = json.loads(policy.inputs["policy"])
    doc["Statement"][0]["Resource"].append(
        widened.by_name("backend-otp-pepper-entry").outputs["arn"]
    )
    policy.inputs["policy"] = json.dumps(doc)
    resource_policy = widened.by_name("backend-otp-pepper-policy")
    doc = json.loads(resource_policy.inputs["policy"])
    doc["Statement"][0]["Condition"]["StringNotEquals"]["aws:PrincipalArn"].append(
        widened.by_name("media-role").outputs["arn"]
    )
    resource_policy.inputs["policy"] = json.dumps(doc)
    return widened


def widened_trust(run: RunResult, principal: str) -> RunResult:
    """The Linear tooling role trusts one more principal."""
    widened = copy.deepcopy(run)
    role = widened.by_name("linear-integration-role")
    doc = json.loads(role.inputs["assumeRolePolicy"])
    doc["Statement"][0]["Principal"]["AWS"].append(principal)
    role.inputs["assumeRolePolicy"] = json.dumps(doc)
    return widened


def write(run: RunResult, out: Path) -> Path:
    artifacts.write(run, out)
    return out


OTP_PEPPER = "platform-secrets/dev/backend/OTP_PEPPER"


def test_a_reader_added_is_printed_first(tmp_path, aws_dev_plan_dir, dev_run, capsys, monkeypatch):
    monkeypatch.setattr(plan.offline, "run", lambda stack, **kwargs: widened_reader(dev_run))
    out = tmp_path / "plan-head"
    code = cli_main(
        ["plan", "--stack", "dev", "--out", str(out), "--diff-against", str(aws_dev_plan_dir)]
    )
    assert code == 0
    printed = capsys.readouterr().out.split("access change against", 1)[1]
    first = printed.split("### ", 2)[1]
    assert first.startswith("Readers added (1)")
    assert f"`{OTP_PEPPER}`: **media** (workload" in first
    written = json.loads((out / "access-diff.json").read_text())
    assert [(r["entry"], r["reader"]) for r in written["readers_added"]] == [(OTP_PEPPER, "media")]
    assert written["changed"] is True
    markdown = (out / "access-diff.md").read_text()
    assert markdown.split("### ")[1].startswith("Readers added (1)")


def test_a_reader_removed_is_named(tmp_path, aws_dev_plan_dir, dev_run):
    base = write(widened_reader(dev_run), tmp_path / "base")
    result = access_diff.diff(base, aws_dev_plan_dir)
    assert [(r["entry"], r["reader"]) for r in result["readers_removed"]] == [(OTP_PEPPER, "media")]
    assert result["readers_added"] == []
    assert "### Readers removed (1)" in access_diff.render(result)


def test_a_widened_trust_is_an_addition(tmp_path, aws_dev_plan_dir, dev_run):
    intruder = "arn:aws:iam::111122223333:role/contractor"
    head = write(widened_trust(dev_run, intruder), tmp_path / "head")
    result = access_diff.diff(aws_dev_plan_dir, head)
    assert result["trust_added"] == [{"identity": "linear-integration", "by": intruder}]
    assert result["trust_documents_changed"] == ["linear-integration.trust.json"]
    text = access_diff.render(result)
    assert text.index("Trust added") < text.index("Trust documents changed")
    assert f"**linear-integration** may be acted as by `{intruder}`" in text


def test_an_entry_removed_from_the_catalog_is_named_with_its_readers(tmp_path, aws_dev_plan_dir):
    data = yaml.safe_load(catalog_facts.shipped_path().read_text())
    del data["services"]["backend"]["secrets"]["OTP_PEPPER"]
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump(data))
    run = offline.run("dev", overrides={"catalog": str(catalog)})
    assert run.error is None, run.error
    result = access_diff.diff(aws_dev_plan_dir, write(run, tmp_path / "head"))
    assert result["entries_removed"] == [OTP_PEPPER]
    readers = {(r["entry"], r["reader"]) for r in result["readers_removed"]}
    assert (OTP_PEPPER, "backend") in readers
    assert result["readers_added"] == [] and result["entries_added"] == []


def test_two_identical_plans_have_no_access_change(tmp_path, aws_dev_plan_dir, dev_run):
    again = write(dev_run, tmp_path / "again")
    result = access_diff.diff(aws_dev_plan_dir, again)
    assert not access_diff.changed(result)
    assert "no access change" in access_diff.render(result)


def test_protection_dropped_in_prod_is_named(tmp_path, aws_prod_plan_dir, prod_run):
    unprotected = copy.deepcopy(prod_run)
    entry = unprotected.by_name("backend-otp-pepper-entry")
    entry.protect = False
    result = access_diff.diff(aws_prod_plan_dir, write(unprotected, tmp_path / "head"))
    assert result["protection_changed"] == [
        {"urn": entry.urn, "before": "protect+retain_on_delete", "after": "retain_on_delete"}
    ]


def test_the_diff_needs_a_plan_to_compare_with(tmp_path, capsys):
    assert cli_main(["plan", "--stack", "dev", "--diff-against", str(tmp_path)]) == 1
    assert "access.json not found" in capsys.readouterr().err


def _moved(run: RunResult, service: str, stack: str) -> RunResult:
    """``service``'s resources in another stack of the environment (a recorded move: same names, same flags)."""
    moved = copy.deepcopy(run)
    for resource in moved.resources:
        if f"::{service}-" in resource.urn or resource.urn.endswith(f"::{service}"):
            head, rest = resource.urn.split("::", 1)
            resource.urn = f"{head.rsplit(':', 1)[0]}:{stack}::{rest}"
    return moved


def test_a_service_moved_to_another_stack_keeps_its_protection_in_the_diff(
    tmp_path, aws_prod_plan_dir, prod_run
):
    """A recorded move (``pulumi state move``) keeps every flag: the environment's diff shows no protection
    removed from one stack and added in another."""
    moved = _moved(prod_run, "backend", "prod-b")
    assert any(":prod-b::" in r.urn and r.protect for r in moved.resources)
    result = access_diff.diff(aws_prod_plan_dir, write(moved, tmp_path / "head"))
    assert result["protection_changed"] == []


def test_a_moved_service_that_lost_its_protection_is_named_once_by_its_new_urn(
    tmp_path, aws_prod_plan_dir, prod_run
):
    moved = _moved(prod_run, "backend", "prod-b")
    entry = moved.by_name("backend-otp-pepper-entry")
    entry.protect = False
    result = access_diff.diff(aws_prod_plan_dir, write(moved, tmp_path / "head"))
    assert ":prod-b::" in entry.urn
    assert result["protection_changed"] == [
        {"urn": entry.urn, "before": "protect+retain_on_delete", "after": "retain_on_delete"}
    ]
