"""Attacks on the AWS store, one test per attack (the threat model: tests/attacks/README.md).

Each test is the attack as a reviewer would try it on the prod plan's registered documents; the
live proofs of the same attacks on ministack are in tests/program/test_least_privilege_aws.py.
"""

from __future__ import annotations

import json

from platform_secrets.access import matrix as access
from platform_secrets.offline import runner as offline
from platform_secrets.offline.runner import RunResult

NOT_READ = (
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:StopReplicationToReplica",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:RestoreSecret",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:ValidateResourcePolicy",
)
"""Secrets Manager actions that do not read: only the admin roles may perform them."""
ACCOUNT = "444455556666"
BROAD = f"arn:aws:iam::{ACCOUNT}:role/power-user"
"""A principal of the prod account that no resource policy names (its IAM policy: secretsmanager:*)."""


def _entries(run: RunResult) -> list[access.AwsEntry]:
    entries, _, _ = access.aws_documents(run.resources)
    return entries


def test_broad_account_principal_reads_a_replica(prod_run: RunResult) -> None:
    """A broad account principal (secretsmanager:* + kms:*) reads prod entries in the replica region.

    The resource policy named the primary ARN; Secrets Manager copies it verbatim to the replica,
    whose ARN differs by region, so the deny matched nothing there.
    """
    entries = _entries(prod_run)
    assert all(len(entry.arns) == 2 for entry in entries), "prod entries have one replica each"
    open_copies = [
        arn
        for entry in entries
        for arn in entry.arns
        if access.aws_verdict(entry.policy, "secretsmanager:GetSecretValue", arn, BROAD) != "Deny"
    ]
    assert open_copies == []
    matrix = access.derive(prod_run.resources)
    assert {name: row["kind"] for name, row in matrix.items() if row["kind"] == "account"} == {}


def test_broad_account_principal_manages_an_entry(prod_run: RunResult) -> None:
    """A broad account principal replicates, rotates, restores, tags or re-stages an entry.

    The deny listed eight actions; ReplicateSecretToRegions (a copy under a key of the attacker's
    choosing), UpdateSecretVersionStage (roll a value back), TagResource and others were open.
    """
    allowed = [
        f"{action} on {arn}"
        for entry in _entries(prod_run)
        for arn in entry.arns
        for action in (*NOT_READ, "secretsmanager:GetSecretValue")
        if access.aws_verdict(entry.policy, action, arn, BROAD) != "Deny"
    ]
    assert allowed == []


def test_reader_manages_its_own_entry(prod_run: RunResult) -> None:
    """A service's role (or a pod that took it) overwrites, deletes or re-replicates its own entry.

    Readers were exempt from the whole deny, so their exemption covered writes too: only their
    identity policy stood between them and PutSecretValue. Readers may only read.
    """
    matrix = access.derive(prod_run.resources)
    by_name = {entry.name: entry for entry in _entries(prod_run)}
    allowed = [
        f"{service} {action} on {arn}"
        for service, row in matrix.items()
        if row["kind"] in ("workload", "tooling")
        for name in row["entries"]
        for arn in by_name[name].arns
        for action in NOT_READ
        if access.aws_verdict(by_name[name].policy, action, arn, row["identity"]) != "Deny"
    ]
    assert allowed == []


def test_replica_copy_readable_hides_in_a_regionless_matrix(prod_run: RunResult) -> None:
    """A matrix that indexes replicas without their region shows the primary's deny for both.

    Built by hand: an entry whose policy names only its primary ARN. The derivation must report
    the replica copy as readable by the account (with its region), not fold it into the primary.
    """
    (entry, *_) = _entries(prod_run)
    primary, replica = entry.arns
    policy = json.loads(json.dumps(entry.policy))
    for statement in policy["Statement"]:
        statement["Resource"] = primary  # as the plan wrote it before the fix
    narrowed = access.AwsEntry(name=entry.name, arns=entry.arns, key=entry.key, policy=policy)
    matrix = access.derive_aws([narrowed], [])
    account = f"arn:aws:iam::{primary.split(':')[4]}:root"
    assert matrix[account]["regions"] == {entry.name: [replica.split(":")[3]]}


# --- the KMS key (primary and replica) ---

KEY_ADMIN = (
    "kms:PutKeyPolicy",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CreateGrant",
    "kms:DisableKeyRotation",
    "kms:UpdatePrimaryRegion",
)
"""What cuts off every prod secret, or hands the key to someone else, if a broad principal may do it."""


def _key_policies(run: RunResult) -> dict[str, dict]:
    return {
        r.name: json.loads(r.inputs["policy"])
        for r in run.resources
        if r.type in ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")
    }


def test_broad_account_principal_administers_the_key(prod_run: RunResult) -> None:
    """A principal with kms:* disables the key, rewrites its policy or schedules its deletion.

    AWS's default key policy (root -> kms:*) lets every IAM policy of the account decide; `protect`
    stops Pulumi, not an API call. Only the admin roles (the deployer among them) may administer.
    """
    policies = _key_policies(prod_run)
    assert sorted(policies) == ["secrets-key", "secrets-key-replica"]
    admin = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/mrk-0"
    allowed = [
        f"{name}: {action}"
        for name, policy in policies.items()
        for action in KEY_ADMIN
        if access.aws_verdict(policy, action, key, BROAD) == "Allow"
    ]
    assert allowed == []
    locked_out = [
        f"{name}: {action}"
        for name, policy in policies.items()
        for action in KEY_ADMIN
        if access.aws_verdict(policy, action, key, admin) != "Allow"
    ]
    assert locked_out == [], "the deployer (an admin role) must keep managing the key"


def test_broad_account_principal_decrypts_outside_secrets_manager(prod_run: RunResult) -> None:
    """A principal with kms:* calls kms:Decrypt on an entry's ciphertext directly.

    Every statement that lets a non-admin use the key must require Secrets Manager in the stack's
    regions (kms:ViaService) and the stack's account (kms:CallerAccount).
    """
    via = sorted(f"secretsmanager.{r}.amazonaws.com" for r in ("eu-west-1", "eu-central-1"))
    admin = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    unguarded = []
    for name, policy in _key_policies(prod_run).items():
        for statement in policy["Statement"]:
            if statement["Effect"] != "Allow" or statement["Principal"] == {"AWS": [admin]}:
                continue
            uses = [
                a
                for a in ("kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom")
                if access.aws_verdict({"Statement": [statement]}, a, "*", BROAD) == "Allow"
            ]
            condition = statement.get("Condition", {}).get("StringEquals", {})
            if uses and (
                sorted(condition.get("kms:ViaService", [])) != via
                or condition.get("kms:CallerAccount") != ACCOUNT
            ):
                unguarded.append(f"{name} {statement.get('Sid')}: {uses}")
    assert unguarded == []


def test_stack_without_admin_roles_locks_the_deployer_out() -> None:
    """No admin role: the key policy and the entries' deny would lock out the role that runs `pulumi up`.

    AWS refuses such a key policy at apply time; the stack is refused before anything registers instead.
    """
    aws = json.loads(offline.load_config("dev")[1]["platform-secrets:aws"])
    result = offline.run("dev", overrides={"aws": {**aws, "adminRoleArns": []}})
    assert result.error is not None
    assert "aws.adminRoleArns" in str(result.error)
    assert not result.resources or all(r.type.startswith("pulumi:") for r in result.resources)
