"""Attacks on the AWS store, one test per attack (the threat model: tests/attacks/README.md).

Each test is the attack as a reviewer would try it on the prod plan's registered documents; the
live proofs of the same attacks on ministack are in tests/test_least_privilege_aws.py.
"""

from __future__ import annotations

import json

from tools import access
from tools.offline import RunResult

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
BROAD = "arn:aws:iam::444455556666:role/power-user"
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
