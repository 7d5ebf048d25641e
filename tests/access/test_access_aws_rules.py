"""The small rules of ``platform_secrets/access/matrix.py``'s AWS evaluation, one per test, on plain documents:
who a resource policy names, how a door's own reader is described, what a statement says about a read."""

from __future__ import annotations

import json
from typing import Any

from platform_secrets.access import matrix as access
from platform_secrets.access.aws_trust import WayIn
from platform_secrets.offline.registered import Registered
from platform_secrets.program.clouds import aws_policies

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"
SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:s-AbCdEf"
READ = "secretsmanager:GetSecretValue"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- who a resource policy names ---


def test_a_resource_policy_names_the_principals_of_its_principal_arn_conditions() -> None:
    policy = doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "*",
            "Condition": {"StringNotEquals": {"AWS:PrincipalArn": [ROLE, ADMIN]}},
        },
        {"Effect": "Deny", "Action": "*", "Condition": {"ArnLike": {"aws:PrincipalArn": ADMIN}}},
    )
    assert access._named_principals(policy) == {ROLE, ADMIN}


def test_a_pattern_or_another_condition_key_names_no_principal() -> None:
    policy = doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Condition": {
                "ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"},
                "StringEquals": {"aws:SourceVpc": "vpc-1"},
            },
        },
        {"Effect": "Deny", "Action": "*", "Condition": None},
    )
    assert access._named_principals(policy) == set()


def test_a_resource_policy_names_its_aws_principals_but_not_anyone() -> None:
    policy = doc(
        {"Effect": "Allow", "Principal": {"AWS": [ROLE, "*"]}, "Action": READ},
        {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": READ},
        {"Effect": "Allow", "Principal": "*", "Action": READ},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": READ},
    )
    assert access._named_principals(policy) == {ROLE, ADMIN}


# --- a door's own reader ---


def test_each_door_reader_is_described_by_its_kind_and_what_it_admits() -> None:
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/x"
    assert access._door_row(WayIn("federated", provider, "sub=*")) == {
        "kind": "federated",
        "note": f"any token of {provider} whose claims match: sub=*",
        "admits": "sub=*",
    }
    assert access._door_row(WayIn("aws", ROLE)) == {
        "kind": "other",
        "note": f"{ROLE} may assume the role",
    }
    assert access._door_row(WayIn("service", "ec2.amazonaws.com")) == {
        "kind": "service",
        "note": "the service ec2.amazonaws.com, for whoever may hand it the role (iam:PassRole)",
    }
    assert access._door_row(WayIn("account", f"arn:aws:iam::{ACCOUNT}:root")) == {
        "kind": "account",
        "note": "any principal of the account whose own IAM policy allows it to assume the role",
    }
    assert access._door_row(WayIn("anyone", "*")) == {
        "kind": "anyone",
        "note": "any principal at all (of any account) may assume the role",
    }


def test_the_account_of_an_arn_is_its_fifth_field_and_nothing_for_a_name() -> None:
    assert access._account(ROLE) == ACCOUNT
    assert access._account("*") == ""
    assert access._account("ec2.amazonaws.com") == ""
    assert access._account("arn:aws:iam::999:root") == "999"
    assert access._account("a:b:c:d:e") == ""


# --- what one document says about a read ---


def test_an_identity_policy_allows_a_read_only_of_the_actions_and_arns_it_names() -> None:
    policy = doc({"Effect": "Allow", "Action": "SecretsManager:Get*", "Resource": SECRET})
    assert access.aws_verdict(policy, READ, SECRET, None) == "Allow"
    assert access.aws_verdict(policy, READ, SECRET + "x", None) is None
    assert access.aws_verdict(policy, READ, SECRET.upper(), None) is None  # ARNs match by case
    assert access.aws_verdict(policy, "secretsmanager:DescribeSecret", SECRET, None) is None
    assert access.aws_verdict(None, READ, SECRET, None) is None


def test_not_action_and_not_resource_exclude_what_they_name() -> None:
    policy = doc({"Effect": "Allow", "NotAction": "secretsmanager:Get*", "Resource": "*"})
    assert access.aws_verdict(policy, READ, SECRET, None) is None
    assert access.aws_verdict(policy, "secretsmanager:ListSecrets", SECRET, None) == "Allow"
    other = doc({"Effect": "Allow", "Action": "*", "NotResource": SECRET})
    assert access.aws_verdict(other, READ, SECRET, None) is None
    assert access.aws_verdict(other, READ, SECRET + "x", None) == "Allow"


def test_a_deny_wins_over_an_allow_in_the_same_document_whatever_the_order() -> None:
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": READ, "Resource": SECRET}
    assert access.aws_verdict(doc(allow, deny), READ, SECRET, None) == "Deny"
    assert access.aws_verdict(doc(deny, allow), READ, SECRET, None) == "Deny"


def test_a_statement_of_unknown_condition_allows_but_does_not_deny() -> None:
    unknown = {"StringEquals": {"aws:SourceVpc": "vpc-1"}}
    allow = doc({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": unknown})
    deny = doc({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown})
    assert access.aws_verdict(allow, READ, SECRET, None) == "Allow"
    assert access.aws_verdict(deny, READ, SECRET, None) is None


def test_a_resource_policy_deny_spares_exactly_the_principals_it_exempts() -> None:
    policy = doc(
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "secretsmanager:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalArn": [ADMIN]}},
        }
    )
    assert access.aws_verdict(policy, READ, SECRET, ADMIN) is None
    assert access.aws_verdict(policy, READ, SECRET, ROLE) == "Deny"
    assert access.aws_verdict(policy, READ, SECRET, None) == "Deny"  # nobody's list names it


def test_a_principal_arn_pattern_exempts_the_roles_it_matches() -> None:
    policy = doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"ForAnyValue:ArnNotLikeIfExists": {"aws:PrincipalArn": ["*:role/adm?n"]}},
        }
    )
    assert access.aws_verdict(policy, READ, SECRET, ADMIN) is None
    assert access.aws_verdict(policy, READ, SECRET, ROLE) == "Deny"


def test_naming_the_account_counts_unless_only_the_principal_itself_may() -> None:
    root = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": READ, "Resource": "*"})
    assert access.aws_verdict(root, READ, SECRET, ROLE) == "Allow"
    assert access.aws_verdict(root, READ, SECRET, ROLE, by_account=False) is None
    deny = doc(
        {
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": READ,
            "Resource": "*",
        }
    )
    assert access.aws_verdict(deny, READ, SECRET, ROLE, by_account=False) == "Deny"
    named = doc({"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": READ, "Resource": "*"})
    assert access.aws_verdict(named, READ, SECRET, ROLE, by_account=False) == "Allow"
    assert access.aws_verdict(named, READ, SECRET, ADMIN) is None
    assert access.aws_verdict(named, READ, SECRET, None) is None
    service = doc({"Effect": "Allow", "Principal": "ec2", "Action": READ, "Resource": "*"})
    assert access.aws_verdict(service, READ, SECRET, ROLE) is None


# --- the plan's registrations as documents ---


def registered(type_: str, name: str, inputs: dict[str, Any], **outputs: Any) -> Registered:
    return Registered(
        urn=f"urn:pulumi:dev::p::{type_}::{name}",
        type=type_,
        name=name,
        inputs=inputs,
        outputs=outputs,
        id=name,
    )


READ_POLICY = json.dumps(doc({"Effect": "Allow", "Action": READ, "Resource": SECRET}))
TRUST = doc({"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "sts:AssumeRole"})
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/p-read"
REPLICA = SECRET.replace("eu-west-1", "eu-central-1")


def _secret(replicas: list[dict[str, str]] | None = None) -> Registered:
    inputs = {"name": "p/dev/app/DB", "tags": {"platform-secrets/key": "DB"}, "replicas": replicas}
    return registered("aws:secretsmanager/secret:Secret", "db", inputs, arn=SECRET)


def _role(*, tags: dict[str, str] | None = None) -> Registered:
    inputs = {"name": "app", "assumeRolePolicy": json.dumps(TRUST), "tags": tags}
    return registered("aws:iam/role:Role", "app", inputs, arn=ROLE)


def _entry_policy(policy: dict[str, Any]) -> Registered:
    inputs = {"secretArn": SECRET, "policy": json.dumps(policy)}
    return registered("aws:secretsmanager/secretPolicy:SecretPolicy", "db-policy", inputs)


def test_a_registered_entry_is_judged_in_its_primary_and_replica_regions() -> None:
    entries, roles, _ = access.aws_documents([_secret([{"region": "eu-central-1"}]), _role()])
    assert entries == [access.AwsEntry("p/dev/app/DB", (SECRET, REPLICA), "DB", None)]
    assert [(r.name, r.arn, r.trust, r.policies, r.tags) for r in roles] == [
        ("app", ROLE, TRUST, (), {})
    ]
    assert access.in_region(SECRET, "us-east-1") == SECRET.replace("eu-west-1", "us-east-1")


def test_a_role_holds_its_inline_and_its_attached_managed_policies_only() -> None:
    inline = registered("aws:iam/rolePolicy:RolePolicy", "i", {"role": ROLE, "policy": READ_POLICY})
    managed = registered(
        "aws:iam/policy:Policy",
        "m",
        {"policy": READ_POLICY.replace(READ, "kms:Decrypt")},
        arn=POLICY_ARN,
    )
    attached = registered(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "a",
        {"role": "app", "policyArn": POLICY_ARN},
    )
    unknown = registered(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "u",
        {"role": "app", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    _, (role,), _ = access.aws_documents([_role(), inline, managed, attached, unknown])
    assert role.policies == (
        json.loads(READ_POLICY),
        json.loads(READ_POLICY.replace(READ, "kms:Decrypt")),
    )


def test_a_registered_resource_policy_belongs_to_the_entry_it_names() -> None:
    policy = doc({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"})
    (entry,), _, _ = access.aws_documents([_entry_policy(policy), _secret()])
    assert entry.policy == policy


def test_the_matrix_of_a_run_names_the_service_its_role_serves_and_what_it_reads() -> None:
    inline = registered("aws:iam/rolePolicy:RolePolicy", "i", {"role": ROLE, "policy": READ_POLICY})
    matrix = access.derive([_secret(), _role(tags={"platform-secrets/service": "backend"}), inline])
    assert matrix["backend"]["entries"] == ["p/dev/app/DB"]
    assert matrix["backend"]["keys"] == ["DB"]
    assert matrix["backend"]["assumed_by"] == [ADMIN]
    assert access.derive([_role(), inline]) == {}


# --- rules the mutation run showed no test stated (make mutation) ---


def test_a_principal_that_is_no_arn_is_named_only_by_its_own_name() -> None:
    """A bare account id or a service name has no account field: an empty or account-less name is not it."""
    for named in ("", "arn:aws:iam:::root"):
        policy = doc(
            {"Effect": "Allow", "Principal": {"AWS": named}, "Action": READ, "Resource": "*"}
        )
        assert access.aws_verdict(policy, READ, SECRET, ACCOUNT) is None, named
        assert access.aws_verdict(policy, READ, SECRET, "ec2.amazonaws.com") is None, named
    itself = doc(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": READ, "Resource": "*"}
    )
    assert access.aws_verdict(itself, READ, SECRET, ACCOUNT) == "Allow"


OTHER = SECRET.replace("s-AbCdEf", "t-AbCdEf")
THIRD = SECRET.replace("s-AbCdEf", "u-AbCdEf")


def _entries(*arns: str) -> list[access.AwsEntry]:
    return [access.AwsEntry(arn.rsplit(":", 1)[-1], (arn,), "K", {"Statement": []}) for arn in arns]


def _tool(name: str, trusted: list[str], *policies: dict[str, Any]) -> access.AwsRole:
    trust = doc({"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"})
    return access.AwsRole(name, f"arn:aws:iam::{ACCOUNT}:role/{name}", trust, policies)


def _reads(*arns: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Action": READ, "Resource": list(arns)})


def test_a_document_without_statements_allows_nothing_and_names_nobody() -> None:
    assert access.aws_verdict({}, READ, SECRET, ROLE) is None
    assert access._named_principals({}) == set()


def test_an_identity_deny_refuses_that_entry_only_even_if_another_policy_allows() -> None:
    deny = doc({"Effect": "Deny", "Action": READ, "Resource": SECRET})
    role = _tool("app", [ADMIN], _reads(SECRET, OTHER), deny)
    assert access.derive_aws(_entries(SECRET, OTHER), [role])["app"]["entries"] == ["t-AbCdEf"]


def test_a_tooling_roles_named_assumers_are_in_its_row_not_rows_of_their_own() -> None:
    """The principals a tooling role names are its declared way in: its row, not a reader each."""
    matrix = access.derive_aws(_entries(SECRET), [_tool("tool", [ADMIN], _reads(SECRET))])
    assert sorted(matrix) == [f"arn:aws:iam::{ACCOUNT}:root", "tool"]
    assert matrix["tool"]["assumed_by"] == [ADMIN]


def test_a_tooling_role_names_every_way_in_among_who_assumes_it() -> None:
    other_root = "arn:aws:iam::444455556666:root"
    role = _tool("tool", [ADMIN, "444455556666"], _reads(SECRET))
    matrix = access.derive_aws(_entries(SECRET), [role])
    assert matrix["tool"]["assumed_by"] == [ADMIN, other_root]
    assert matrix[other_root]["via"] == {"s-AbCdEf": [role.arn]}


def test_a_workloads_env_var_names_come_from_its_service_accounts_namespace() -> None:
    """The namespace is the service account's first half: a workload named unlike its namespace keeps it."""
    provider = aws_policies.oidc_provider_arn(ACCOUNT, "oidc.example/id/X")
    trust = aws_policies.irsa_trust_policy(provider, "oidc.example/id/X", "apps", "backend")
    role = access.AwsRole("backend", ROLE, trust, (_reads(SECRET),))
    matrix = access.derive_aws(_entries(SECRET), [role], {("apps", "s-AbCdEf"): "DB_URL"})
    assert matrix["backend"]["service_account"] == "apps/backend"
    assert matrix["backend"]["keys"] == ["DB_URL"]


def test_via_names_only_the_assumed_roles_that_read_each_entry_and_not_its_own() -> None:
    """An entry a role reads itself has no via; one read through another role names that role alone."""
    worker = _tool("worker", [ADMIN], _reads(OTHER))
    both = _tool("both", [worker.arn], _reads(SECRET, OTHER))
    third = _tool("third", [worker.arn], _reads(THIRD))
    matrix = access.derive_aws(_entries(SECRET, OTHER, THIRD), [worker, both, third])
    assert matrix["worker"]["entries"] == ["s-AbCdEf", "t-AbCdEf", "u-AbCdEf"]
    assert matrix["worker"]["via"] == {"s-AbCdEf": [both.arn], "u-AbCdEf": [third.arn]}


def test_a_federated_door_reader_says_which_tokens_it_admits() -> None:
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:o/*"}},
        }
    )
    role = access.AwsRole("ci", ROLE, trust, (_reads(SECRET),))
    row = access.derive_aws(_entries(SECRET), [role])[f"{provider} sub~repo:o/*"]
    assert (row["kind"], row["admits"], row["entries"]) == (
        "federated",
        "sub~repo:o/*",
        ["s-AbCdEf"],
    )


def test_a_role_attached_by_an_arn_with_a_path_holds_its_policies() -> None:
    """A policy names its role by name or by ARN, and an ARN may hold a path: the name is its last part."""
    with_path = f"arn:aws:iam::{ACCOUNT}:role/team/app"
    managed = registered("aws:iam/policy:Policy", "m", {"policy": READ_POLICY}, arn=POLICY_ARN)
    resources = [
        _role(),
        managed,
        registered(
            "aws:iam/rolePolicy:RolePolicy", "i", {"role": with_path, "policy": READ_POLICY}
        ),
        registered(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "a",
            {"role": with_path, "policyArn": POLICY_ARN},
        ),
    ]
    _, (role,), _ = access.aws_documents(resources)
    assert role.policies == (json.loads(READ_POLICY), json.loads(READ_POLICY))


def test_the_matrix_of_a_run_holds_its_gcp_and_vault_rows_with_their_env_var_names() -> None:
    """One run's matrix dispatches to every store it registered entries in, with the ExternalSecrets' names."""
    gcp_secret = Registered(
        urn="urn:gcp",
        type="gcp:secretmanager/secret:Secret",
        name="s",
        id="projects/p/secrets/db",
        inputs={"project": "p", "secretId": "db", "annotations": {"platform-secrets-key": "DB"}},
    )
    grant = Registered(
        urn="urn:grant",
        type="gcp:secretmanager/secretIamMember:SecretIamMember",
        name="g",
        inputs={
            "secretId": "projects/p/secrets/db",
            "role": "roles/secretmanager.secretAccessor",
            "member": "user:alice@example.com",
        },
    )
    kv = registered("vault:kv/secretV2:SecretV2", "kv", {"mount": "kv", "name": "app/TOKEN"})
    policy = 'path "kv/data/app/TOKEN" { capabilities = ["read"] }'
    vault_policy = registered("vault:index/policy:Policy", "p", {"name": "p-app", "policy": policy})
    vault_role = registered(
        "vault:jwt/authBackendRole:AuthBackendRole",
        "r",
        {
            "backend": "k8s",
            "roleName": "app",
            "tokenPolicies": ["p-app"],
            "boundSubject": "system:serviceaccount:apps:app",
        },
    )
    external = registered(
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        "es",
        {
            "metadata": {"namespace": "apps"},
            "spec": {"data": [{"secretKey": "APP_TOKEN", "remoteRef": {"key": "app/TOKEN"}}]},
        },
    )
    matrix = access.derive([gcp_secret, grant, kv, vault_policy, vault_role, external])
    assert matrix["user:alice@example.com"]["entries"] == ["db"]
    assert matrix["app"]["entries"] == ["kv/app/TOKEN"]
    assert matrix["app"]["keys"] == ["APP_TOKEN"]


def test_a_run_with_vault_roles_but_no_vault_entry_has_no_vault_rows() -> None:
    """As for AWS: the Vault derivation runs for a run that registers entries; roles alone give no row."""
    role = registered(
        "vault:jwt/authBackendRole:AuthBackendRole", "r", {"roleName": "app", "tokenPolicies": []}
    )
    assert access.derive([role, _role()]) == {}


def test_a_null_aws_principal_names_nobody_not_a_principal_called_none() -> None:
    null = doc({"Effect": "Allow", "Principal": {"AWS": None}, "Action": READ, "Resource": "*"})
    assert access.aws_verdict(null, READ, SECRET, "None") is None
    assert access._named_principals(null) == set()


def test_a_deny_in_the_first_identity_policy_refuses_what_a_later_one_allows() -> None:
    """The denies of every identity policy count, not the last one's only."""
    deny = doc({"Effect": "Deny", "Action": READ, "Resource": SECRET})
    role = _tool("app", [ADMIN], deny, _reads(SECRET, OTHER))
    assert access.derive_aws(_entries(SECRET, OTHER), [role])["app"]["entries"] == ["t-AbCdEf"]


def test_a_resource_policy_that_allows_anyone_is_read_by_a_role_with_no_identity_policy() -> None:
    """In the entry's account a resource policy's Allow to ``*`` is enough: every role reads it."""
    open_policy = doc({"Effect": "Allow", "Principal": "*", "Action": READ, "Resource": "*"})
    entries = [access.AwsEntry("s-AbCdEf", (SECRET,), "K", open_policy), *_entries(OTHER)]
    matrix = access.derive_aws(entries, [_tool("app", [ADMIN])])
    assert matrix["app"]["entries"] == ["s-AbCdEf"]


def test_a_resource_policy_naming_a_role_for_another_action_does_not_let_the_account_root_grant_it() -> (
    None
):
    """A role named by an Allow of another action, and the account root allowed the read: the role reads
    only if its own IAM policy allows (the account principal grants a role nothing by itself)."""
    policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"},
            "Action": "secretsmanager:DescribeSecret",
        },
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": READ},
    )
    entries = [access.AwsEntry("s-AbCdEf", (SECRET,), "K", policy)]
    matrix = access.derive_aws(entries, [_tool("app", [ADMIN])])
    assert matrix["app"]["entries"] == []
    allowed = access.derive_aws(entries, [_tool("app", [ADMIN], _reads(SECRET))])
    assert allowed["app"]["entries"] == ["s-AbCdEf"]


def test_an_identity_deny_beats_a_resource_policy_naming_the_role_and_spares_every_other_entry() -> (
    None
):
    """Ten entries whose resource policy allows the role by name, each denied by the role's own policy,
    and ten its policy allows: it reads the ten allowed, whichever order they are judged in (a stop at the
    first denied one would lose some with odds of 184,755 in 184,756)."""
    allowed = [SECRET.replace("s-AbCdEf", f"a{i}-AbCdEf") for i in range(10)]
    denied = [SECRET.replace("s-AbCdEf", f"d{i}-AbCdEf") for i in range(10)]
    names_role = doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": READ})
    entries = [
        *_entries(*allowed),
        *(access.AwsEntry(a.rsplit(":", 1)[-1], (a,), "K", names_role) for a in denied),
    ]
    deny = doc({"Effect": "Deny", "Action": READ, "Resource": denied})
    matrix = access.derive_aws(entries, [_tool("app", [ADMIN], _reads(*allowed), deny)])
    assert matrix["app"]["entries"] == sorted(a.rsplit(":", 1)[-1] for a in allowed)
    undenied = access.derive_aws(entries, [_tool("app", [ADMIN], _reads(*allowed))])
    assert len(undenied["app"]["entries"]) == 20  # the resource policy alone grants the named role
