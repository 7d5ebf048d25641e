"""The audit on a running AWS API: the dev plan replayed on ministack, then one drift at a time.

The replay (``tests/servers/aws_replay.py``, resource policies exactly as planned) is made in the dev stack's own
account id, so the audit's account check passes and the declared readers' ARNs are the live ones. The audit runs
with the environment's credentials (boto3's default chain), as an operator's would. Each drift test undoes its
drift, so the store is clean again for the next; every test first sees its drift reported, and a clean audit
shows that none is reported without one.

The resource policies are replayed as planned, not in the replay's ``emulator-compat`` mode: ministack 1.5.33
evaluates ``aws:PrincipalArn`` as the session ARN, so that mode adds each reader's session ARN to the policies
for the readers to read; the audit acts as no reader, and compares each live policy with the plan's exactly, so
here the plan's documents are the live ones. ministack does not replicate either: the dev plan has no replica,
and the replay makes no alias in a replica region (``tests/servers/aws_replay.py``).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from platform_secrets.audit import command as audit
from platform_secrets.audit import live_view as audit_live
from platform_secrets.audit.declared import AuditInputError, Declared, declare
from platform_secrets.cli.app import main as cli_main
from platform_secrets.live.aws_session import new_session
from platform_secrets.live.readers import ValueReadRefused
from platform_secrets.live.readers.aws import ALLOWED, VALUE_READS, AwsReader
from platform_secrets.offline.runner import RunResult
from tests.servers.aws_replay import LiveEnv, create_role, replay_plan, root_trust
from tests.servers.ministack_server import ROOT_SECRET_KEY, running_ministack

READ = "secretsmanager:GetSecretValue"


@pytest.fixture(scope="module")
def dev_declared(dev_run: RunResult) -> Declared:
    return declare("dev", run=dev_run)


@pytest.fixture(scope="module")
def live(
    aws_dev_plan_dir: Path, dev_declared: Declared, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[LiveEnv]:
    assert dev_declared.settings.aws is not None
    account = dev_declared.settings.aws.account_id
    with running_ministack() as endpoint:
        env = replay_plan(aws_dev_plan_dir, endpoint, account_id=account)
        ENDPOINT[:] = [endpoint]
        # The caller's credentials, as the default chain finds them: the account's root on ministack.
        for name, value in {
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_KEY,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }.items():
            monkeypatch_module.setenv(name, value)
        monkeypatch_module.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch_module.delenv("AWS_PROFILE", raising=False)
        yield env


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def today() -> Any:
    return datetime.now(UTC).date()


ENDPOINT: list[str] = []
"""ministack's address while the module's server runs: the audit is pointed at it explicitly."""


def run_audit(declared: Declared, days_later: int = 0) -> dict[str, Any]:
    return audit.audit(declared, today() + timedelta(days=days_later), endpoint=ENDPOINT[0])


def kinds(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(kind, entry, principal) of every finding."""
    return {(f["kind"], f["entry"], f["principal"]) for f in report["findings"]}


def entry_of(env: LiveEnv, owner: str, key: str) -> str:
    names = [name for name in env.secrets if name.endswith(f"/{owner}/{key}")]
    assert len(names) == 1, f"no single entry {owner}/{key} in {sorted(env.secrets)}"
    return names[0]


def test_the_replayed_dev_plan_audits_clean(live: LiveEnv, dev_declared: Declared) -> None:
    report = run_audit(dev_declared)
    print("\n" + audit.render(report))
    assert report["findings"] == [], audit.render(report)
    assert {e["entry"] for e in report["entries"]} == set(dev_declared.entries)
    assert all(e["status"] == "present" for e in report["entries"])
    # Readers were derived from the live documents, not copied: every declared reader shows.
    for row in report["entries"]:
        assert row["readers"] and row["readers"] == row["declared_readers"], row


def _exempt(policy: dict[str, Any], principal: str) -> dict[str, Any]:
    """The resource policy with ``principal`` added where the readers are exempted from the read deny."""
    for statement in policy["Statement"]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if not any(a in (READ, "secretsmanager:*") for a in actions):
            continue
        if "aws:PrincipalArn" not in statement["Condition"].get("StringNotEquals", {}):
            continue  # the cluster-provider guard names its readers with StringEquals
        arns = statement["Condition"]["StringNotEquals"]["aws:PrincipalArn"]
        arns = arns if isinstance(arns, list) else [arns]
        statement["Condition"]["StringNotEquals"]["aws:PrincipalArn"] = [*arns, principal]
    return policy


def test_a_policy_granting_another_role_read_is_an_extra_reader(
    live: LiveEnv, dev_declared: Declared
) -> None:
    entry = entry_of(live, "backend", "OTP_PEPPER")
    intruder = live.roles["platform-secrets-dev-media"]
    iam, sm = live.client("iam"), live.client("secretsmanager")
    grant = iam.create_policy(
        PolicyName="console-grant",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": READ, "Resource": live.secrets[entry]}],
            }
        ),
    )["Policy"]["Arn"]
    planned = json.loads(sm.get_resource_policy(SecretId=entry)["ResourcePolicy"])
    try:
        iam.attach_role_policy(RoleName="platform-secrets-dev-media", PolicyArn=grant)
        # The identity grant alone: the entry's resource policy still denies media, so no reader.
        assert ("extra-reader", entry, intruder) not in kinds(run_audit(dev_declared))
        # Someone also exempts media in the resource policy: now media reads, and the audit names it.
        sm.put_resource_policy(
            SecretId=entry,
            ResourcePolicy=json.dumps(_exempt(json.loads(json.dumps(planned)), intruder)),
        )
        report = run_audit(dev_declared)
        assert ("extra-reader", entry, intruder) in kinds(report), audit.render(report)
        assert report["summary"]["high"] >= 1
        finding = next(f for f in report["findings"] if f["kind"] == "extra-reader")
        assert finding["runbook"] == "runbooks/audit-findings.md#extra-reader"
    finally:
        iam.detach_role_policy(RoleName="platform-secrets-dev-media", PolicyArn=grant)
        iam.delete_policy(PolicyArn=grant)
        sm.put_resource_policy(SecretId=entry, ResourcePolicy=json.dumps(planned))
    assert run_audit(dev_declared)["findings"] == []


def test_a_removed_resource_policy_opens_the_entry_to_the_account(
    live: LiveEnv, dev_declared: Declared
) -> None:
    entry = entry_of(live, "events-service", "EVENTS_SECRET_KEY")
    sm = live.client("secretsmanager")
    planned = sm.get_resource_policy(SecretId=entry)["ResourcePolicy"]
    try:
        sm.delete_resource_policy(SecretId=entry)
        report = run_audit(dev_declared)
        assert ("protection", entry, "") in kinds(report), audit.render(report)
        # No deny left: any principal of the account whose own policy allows reads it (platform_secrets.access.matrix).
        account_root = f"arn:aws:iam::{live.account_id}:root"
        assert ("extra-reader", entry, account_root) in kinds(report), audit.render(report)
        assert audit.exit_code(report) == 1
    finally:
        sm.put_resource_policy(SecretId=entry, ResourcePolicy=planned)


def test_a_deleted_entry_is_missing(live: LiveEnv, dev_declared: Declared) -> None:
    entry = entry_of(live, "media", "S3_SECRET_ACCESS_KEY")
    sm = live.client("secretsmanager")
    try:
        sm.delete_secret(SecretId=entry, RecoveryWindowInDays=7)
        report = run_audit(dev_declared)
        assert ("missing", entry, "") in kinds(report), audit.render(report)
        row = next(e for e in report["entries"] if e["entry"] == entry)
        assert row["status"] == "deleted"
    finally:
        sm.restore_secret(SecretId=entry)


def test_an_entry_under_the_prefix_that_the_catalog_lacks_is_an_orphan(
    live: LiveEnv, dev_declared: Declared
) -> None:
    orphan = "/".join(("platform-secrets", "dev", "backend", "ORPHAN"))
    sm = live.client("secretsmanager")
    sm.create_secret(Name=orphan, SecretString=f"fake-{uuid.uuid4().hex}")
    try:
        report = run_audit(dev_declared)
        assert ("orphan", orphan, "") in kinds(report), audit.render(report)
        # Outside the stack's prefix is none of this audit's business.
        assert not any("other-team" in f["entry"] for f in report["findings"])
    finally:
        sm.delete_secret(SecretId=orphan, ForceDeleteWithoutRecovery=True)


def test_values_100_days_old_are_overdue_through_the_command(
    live: LiveEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line, as the weekly workflow calls it, with a 90-day period and a clock 100 days on."""
    out = tmp_path / "audit-dev.json"
    as_of = (today() + timedelta(days=100)).isoformat()
    code = cli_main(
        [
            "audit",
            "--stack",
            "dev",
            "--config",
            "rotationDays=90",
            "--as-of",
            as_of,
            "--out",
            str(out),
            "--endpoint",
            ENDPOINT[0],
        ]
    )
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    overdue = {f["entry"] for f in report["findings"] if f["kind"] == "overdue"}
    assert overdue == {e["entry"] for e in report["entries"]}, printed
    assert "overdue" in printed and "runbooks/audit-findings.md#overdue" in printed
    assert code == 0, "overdue in dev is medium: the command fails on high findings only"


def test_values_due_within_14_days_are_reported(live: LiveEnv, dev_declared: Declared) -> None:
    every_90_days = dataclasses.replace(
        dev_declared,
        entries={
            name: dataclasses.replace(entry, rotation_days=90)
            for name, entry in dev_declared.entries.items()
        },
    )
    report = run_audit(every_90_days, days_later=80)
    due = {f["entry"] for f in report["findings"] if f["kind"] == "due-soon"}
    assert due == set(dev_declared.entries), audit.render(report)
    assert not any(f["kind"] == "overdue" for f in report["findings"])


def test_an_extra_reader_fails_the_command(live: LiveEnv, dev_declared: Declared) -> None:
    entry = entry_of(live, "agent9-search", "TYPESENSE_API_KEY")
    reader = live.roles["platform-secrets-dev-backend"]
    iam, sm = live.client("iam"), live.client("secretsmanager")
    planned = json.loads(sm.get_resource_policy(SecretId=entry)["ResourcePolicy"])
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": READ, "Resource": live.secrets[entry]}],
    }
    try:
        iam.put_role_policy(
            RoleName="platform-secrets-dev-backend",
            PolicyName="hand-made",
            PolicyDocument=json.dumps(document),
        )
        sm.put_resource_policy(
            SecretId=entry,
            ResourcePolicy=json.dumps(_exempt(json.loads(json.dumps(planned)), reader)),
        )
        report = run_audit(dev_declared)
        assert ("extra-reader", entry, reader) in kinds(report), audit.render(report)
        assert audit.exit_code(report) == 1
    finally:
        iam.delete_role_policy(RoleName="platform-secrets-dev-backend", PolicyName="hand-made")
        sm.put_resource_policy(SecretId=entry, ResourcePolicy=json.dumps(planned))
    assert audit.exit_code(run_audit(dev_declared)) == 0


def test_the_audit_refuses_another_account(
    live: LiveEnv, dev_declared: Declared, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "999999999999")
    with pytest.raises(AuditInputError, match="account 999999999999"):
        run_audit(dev_declared)


# --- the audit never reads a value ---


def test_the_audit_calls_only_list_describe_and_get_policy(
    live: LiveEnv, dev_declared: Declared
) -> None:
    called: list[str] = []
    session = new_session()
    session.events.register("before-call", lambda model, **_: called.append(model.name))
    reader = AwsReader(live.region, session=session, endpoint_url=ENDPOINT[0])
    audit.audit(dev_declared, today(), reader=reader)
    assert {"ListSecrets", "DescribeSecret", "GetResourcePolicy", "ListRoles"} <= set(called)
    assert set(called) <= set().union(*ALLOWED.values()), sorted(set(called))
    assert not set(called) & VALUE_READS


def test_a_value_read_through_the_audit_reader_is_refused_before_it_is_sent(
    live: LiveEnv,
) -> None:
    entry = entry_of(live, "backend", "OTP_PEPPER")
    sent: list[str] = []
    session = new_session()
    session.events.register("before-send", lambda request, **_: sent.append(request.url))
    reader = AwsReader(live.region, session=session, endpoint_url=ENDPOINT[0])
    client = reader._clients["secretsmanager"]  # the attack: reach for the value anyway
    with pytest.raises(ValueReadRefused, match="GetSecretValue"):
        client.get_secret_value(SecretId=entry)
    with pytest.raises(ValueReadRefused, match="BatchGetSecretValue"):
        client.batch_get_secret_value(SecretIdList=[entry])
    assert sent == []
    # The control: the same call on an unguarded client reads the value (the emulator serves it).
    assert live.client("secretsmanager").get_secret_value(SecretId=entry)["SecretString"]
    assert not VALUE_READS & set().union(*ALLOWED.values())


# --- issue 16: trust drift, a moved key, a latent reader, a replaced resource policy, on the live API ---


def _planned_trust(declared: Declared, role: str) -> dict[str, Any]:
    (resource,) = [r for r in declared.of_type("aws:iam/role:Role") if r.inputs["name"] == role]
    return dict(json.loads(resource.inputs["assumeRolePolicy"]))


def _finding(report: dict[str, Any], kind: str, entry: str, principal: str = "") -> dict[str, Any]:
    matches = [
        f
        for f in report["findings"]
        if (f["kind"], f["entry"], f["principal"]) == (kind, entry, principal)
    ]
    assert matches, f"no {kind} for {entry} {principal}:\n{audit.render(report)}"
    return matches[0]


def test_the_replay_as_planned_shows_every_roles_trust_as_planned(
    live: LiveEnv, dev_declared: Declared
) -> None:
    """The control: the live trust policies read through ListRoles give exactly the plan's doors."""
    view = audit_live.aws_view(dev_declared, endpoint=ENDPOINT[0])
    assert view.doors is not None and view.planned_doors is not None, "trust drift is not judged"
    assert {d.identity for d in view.doors} == set(live.roles.values())
    assert view.doors == view.planned_doors
    assert not [f for f in run_audit(dev_declared)["findings"] if f["kind"].startswith("trust-")]


def test_a_role_whose_oidc_sub_is_widened_is_a_high_finding(
    live: LiveEnv, dev_declared: Declared
) -> None:
    role = "platform-secrets-dev-backend"
    iam = live.client("iam")
    planned = live.trust_policies[role]
    widened = json.loads(json.dumps(planned))
    condition = widened["Statement"][0]["Condition"]
    sub = next(k for k in condition["StringEquals"] if k.endswith(":sub"))
    condition["StringLike"] = {sub: "system:serviceaccount:*"}
    del condition["StringEquals"][sub]
    try:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(widened))
        report = run_audit(dev_declared)
        arn = live.roles[role]
        finding = _finding(report, "trust-widened", arn, arn)
        assert finding["severity"] == "high" and "system:serviceaccount:*" in finding["detail"]
        assert audit.exit_code(report) == 1
    finally:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(planned))
    assert run_audit(dev_declared)["findings"] == []


def test_a_role_deleted_and_re_created_with_another_trust_is_a_high_finding(
    live: LiveEnv, dev_declared: Declared
) -> None:
    role = "platform-secrets-dev-linear-integration"
    iam = live.client("iam")
    inline = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    intruder = f"arn:aws:iam::{live.account_id}:root"
    other = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": intruder}, "Action": "sts:AssumeRole"}
        ],
    }

    def recreate(trust: dict[str, Any]) -> None:
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        iam.delete_role(RoleName=role)
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        for name, document in inline.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))

    try:
        recreate(other)
        report = run_audit(dev_declared)
        arn = live.roles[role]
        finding = _finding(report, "trust-widened", arn, arn)
        assert finding["severity"] == "high" and intruder in finding["detail"], finding
    finally:
        recreate(_planned_trust(dev_declared, role))
    assert run_audit(dev_declared)["findings"] == []


def test_an_entry_moved_to_another_customer_managed_key_is_a_protection_finding(
    live: LiveEnv, dev_declared: Declared
) -> None:
    entry = entry_of(live, "media", "S3_ACCESS_KEY_ID")
    kms, sm = live.client("kms"), live.client("secretsmanager")
    other = kms.create_key(Description="someone else's key")["KeyMetadata"]["Arn"]
    try:
        sm.update_secret(SecretId=entry, KmsKeyId=other)
        finding = _finding(run_audit(dev_declared), "protection", entry)
        assert (
            other in finding["detail"] and live.kms_key_arn.rsplit("/", 1)[1] in finding["detail"]
        )
        assert "alias/platform-secrets-dev-secrets" in finding["detail"], finding
    finally:
        sm.update_secret(SecretId=entry, KmsKeyId=live.kms_key_arn)
    assert run_audit(dev_declared)["findings"] == []


def test_an_undeclared_role_under_the_prefix_with_a_read_grant_is_a_latent_reader(
    live: LiveEnv, dev_declared: Declared
) -> None:
    entry = entry_of(live, "backend", "REDIS_URL")
    role = "platform-secrets-dev-reporting"
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": READ, "Resource": live.secrets[entry]}],
    }
    arn = create_role(live, role, root_trust(live), [grant])
    try:
        report = run_audit(dev_declared)
        assert _finding(report, "latent-reader", entry, arn)["severity"] == "high"
        # The entry's resource policy denies it today: not a reader yet.
        assert ("extra-reader", entry, arn) not in kinds(report), audit.render(report)
        assert audit.exit_code(report) == 1
    finally:
        iam = live.client("iam")
        iam.delete_role_policy(RoleName=role, PolicyName="inline-0")
        iam.delete_role(RoleName=role)
    assert run_audit(dev_declared)["findings"] == []


def test_a_resource_policy_replaced_by_a_permissive_one_is_a_protection_finding(
    live: LiveEnv, dev_declared: Declared
) -> None:
    entry = entry_of(live, "agent9-search", "TYPESENSE_API_KEY")
    sm = live.client("secretsmanager")
    planned = sm.get_resource_policy(SecretId=entry)["ResourcePolicy"]
    permissive = json.loads(planned)
    for statement in permissive["Statement"]:
        statement["Effect"] = "Allow"  # the same statements, each turned from a deny into an allow
    try:
        sm.put_resource_policy(SecretId=entry, ResourcePolicy=json.dumps(permissive))
        finding = _finding(run_audit(dev_declared), "protection", entry)
        assert "resource policy" in finding["detail"] and "live Allow" in finding["detail"]
    finally:
        sm.put_resource_policy(SecretId=entry, ResourcePolicy=planned)
    assert run_audit(dev_declared)["findings"] == []


# --- a sharded environment: one store, judged across its stacks ---


def test_a_shard_audited_alone_takes_the_other_stacks_entries_for_orphans(
    live: LiveEnv, example_plan: Any
) -> None:
    """The attack on a per-stack audit: shard example-a sees the foundation's and shard b's entries (the same
    store, the same prefix) as undeclared. This is why a sharded environment is audited as a whole."""
    plan = example_plan.plans["example-a"]
    run = RunResult("example-a", False, plan.resources, plan.outputs, set())
    report = run_audit(declare("example-a", run=run))
    orphans = {f["entry"] for f in report["findings"] if f["kind"] == "orphan"}
    assert entry_of(live, "shared", "JWT_SECRET") in orphans
    assert entry_of(live, "agent9-search", "TYPESENSE_API_KEY") in orphans


def test_an_environment_is_audited_across_its_stacks_without_false_orphans(live: LiveEnv) -> None:
    """The example environment is dev split over three stacks (each planned with its own secrets stubbed, as
    `platform-secrets audit --environment example` does): its union audits the dev store clean."""
    from platform_secrets.audit.environment import declare_environment

    declared = declare_environment("example")
    report = run_audit(declared)
    assert report["findings"] == [], audit.render(report)
    assert {e["entry"] for e in report["entries"]} == {name for name in live.secrets}, (
        "every entry of the store is declared by one of the stacks"
    )
