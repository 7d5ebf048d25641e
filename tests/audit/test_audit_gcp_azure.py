"""The audit on GCP and Azure, their APIs faked at the HTTP transport of the official client libraries.

Each fake (``tests/audit_fake_clouds.py``) starts as the prod plan on that cloud would leave it (secrets, grants,
identities, the vault); each test makes one drift and expects the audit to name it: an extra reader, a deleted
entry, an orphan, values 100 days old, a protection gone. The clients build and parse every request as against
the cloud, so a reader that asked for the wrong thing, or for a value, would be seen here.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from platform_secrets.audit import command as audit
from platform_secrets.audit import live_view as audit_live
from platform_secrets.audit.declared import Declared, declare
from platform_secrets.live.readers import ValueReadRefused
from platform_secrets.live.readers import azure as azure_store
from platform_secrets.live.readers import gcp as gcp_store
from platform_secrets.offline.runner import RunResult
from tests.audit_fake_clouds import FakeAzure, FakeAzureCredential, FakeGcp, FakeHttp

SET_AT = datetime(2026, 11, 29, 12, tzinfo=UTC)
"""When the fakes' values were written."""
ACCESSOR = "roles/secretmanager.secretAccessor"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def kinds(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["kind"], f["entry"], f["principal"]) for f in report["findings"]}


# --- GCP ---


@pytest.fixture(scope="module")
def gcp_declared(gcp_prod_run: RunResult) -> Declared:
    return declare("prod", overrides={"cloud": "gcp"}, run=gcp_prod_run)


def gcp_audit(declared: Declared, fake: FakeGcp, days: int = 1) -> tuple[dict[str, Any], FakeHttp]:
    http = FakeHttp(fake.handle)
    reader = gcp_store.GcpReader(fake.project, credentials=AnonymousCredentials(), adapter=http)
    return audit.audit(declared, SET_AT.date() + timedelta(days=days), reader=reader), http


def test_gcp_clean(gcp_declared: Declared) -> None:
    report, http = gcp_audit(gcp_declared, FakeGcp.from_plan(gcp_declared, SET_AT))
    assert report["findings"] == [], audit.render(report)
    assert all(e["readers"] == e["declared_readers"] != [] for e in report["entries"])
    assert http.sent, "the reader went through the fake transport"


def trust(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f["kind"], f["severity"], f["principal"])
        for f in report["findings"]
        if f["kind"].startswith("trust-")
    ]


def test_gcp_the_doors_planned_are_the_doors_live(gcp_declared: Declared) -> None:
    """The control: the plan's doors, read back live from the fake, are the same set (and not none)."""
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    http = FakeHttp(fake.handle)
    reader = gcp_store.GcpReader(fake.project, credentials=AnonymousCredentials(), adapter=http)
    view = audit_live.gcp_view(gcp_declared, reader)
    assert view.doors is not None and view.planned_doors is not None
    assert view.doors == view.planned_doors and len(view.doors) >= len(gcp_declared.entries)


@pytest.mark.parametrize(
    "role",
    [
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.workloadIdentityUser",
    ],
)
def test_gcp_a_new_act_as_member_on_the_project_is_a_high_trust_widened_finding(
    gcp_declared: Declared, role: str
) -> None:
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    fake.project_bindings.append({"role": role, "members": ["user:insider@example.com"]})
    report, _ = gcp_audit(gcp_declared, fake)
    assert trust(report) == [
        ("trust-widened", "high", f"every service account of project {fake.project}")
    ], audit.render(report)
    (finding,) = [f for f in report["findings"] if f["kind"] == "trust-widened"]
    assert "user:insider@example.com" in finding["detail"] and role in finding["detail"]
    assert audit.exit_code(report) == 1


def test_gcp_a_wider_workload_identity_member_on_a_secret_is_trust_widened(
    gcp_declared: Declared,
) -> None:
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    namespace = (
        f"principalSet://iam.googleapis.com/projects/{fake.number}/locations/global/"
        f"workloadIdentityPools/{fake.project}.svc.id.goog/namespace/backend"
    )
    fake.grant("platform-secrets-prod-backend-OTP_PEPPER", ACCESSOR, namespace)
    report, _ = gcp_audit(gcp_declared, fake)
    assert ("trust-widened", "high", namespace) in trust(report), audit.render(report)


def test_gcp_extra_readers_on_the_secret_and_on_the_project(gcp_declared: Declared) -> None:
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    entry = "platform-secrets-prod-backend-OTP_PEPPER"
    fake.grant(entry, ACCESSOR, "serviceAccount:intruder@other-project.iam.gserviceaccount.com")
    fake.project_bindings.append({"role": ACCESSOR, "members": ["user:someone@example.com"]})
    report, _ = gcp_audit(gcp_declared, fake)
    found = kinds(report)
    assert ("extra-reader", entry, "intruder@other-project.iam.gserviceaccount.com") in found
    assert {
        e for k, e, p in found if k == "extra-reader" and p == "user:someone@example.com"
    } == set(gcp_declared.entries), audit.render(report)
    assert audit.exit_code(report) == 1


def test_gcp_deleted_entry_orphan_and_age(gcp_declared: Declared) -> None:
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    gone = "platform-secrets-prod-media-S3_ACCESS_KEY_ID"
    orphan = "-".join(("platform-secrets", "prod", "backend", "ORPHAN"))
    del fake.secrets[gone]
    fake.secrets[orphan] = {
        "body": {"replication": {"automatic": {}}},
        "versions": [("ENABLED", SET_AT)],
        "bindings": [],
    }
    fake.secrets["platform-secrets-dev-backend-OTHER_STACK"] = dict(fake.secrets[orphan])
    report, _ = gcp_audit(gcp_declared, fake, days=100)
    found = kinds(report)
    assert ("missing", gone, "") in found
    assert ("orphan", orphan, "") in found
    assert not any("OTHER_STACK" in entry for _, entry, _ in found), "another stack's prefix"
    overdue = {e for k, e, _ in found if k == "overdue"}
    assert overdue == set(gcp_declared.entries) - {gone}, audit.render(report)


def test_gcp_protection_and_a_disabled_value(gcp_declared: Declared) -> None:
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    entry = "platform-secrets-prod-shared-JWT_SECRET"
    replicas = fake.secrets[entry]["body"]["replication"]["userManaged"]["replicas"]
    del replicas[1]
    fake.secrets[entry]["versions"].append(("DISABLED", SET_AT))
    report, _ = gcp_audit(gcp_declared, fake)
    assert ("protection", entry, "") in kinds(report)
    assert ("empty", entry, "") in kinds(report), audit.render(report)


def test_gcp_view_gives_the_newest_version_number_for_the_rotate_command(
    gcp_declared: Declared,
) -> None:
    """The version a keep_previous rotation records as the previous one: the newest, read from metadata."""
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    entry = "platform-secrets-prod-shared-JWT_SECRET"
    fake.secrets[entry]["versions"] += [("ENABLED", SET_AT), ("ENABLED", SET_AT)]
    reader = gcp_store.GcpReader(
        fake.project, credentials=AnonymousCredentials(), adapter=FakeHttp(fake.handle)
    )
    view = audit_live.gcp_view(gcp_declared, reader)
    assert view.entries[entry].current_version == "3"
    assert {e.current_version for n, e in view.entries.items() if n != entry} == {"1"}


def test_gcp_reader_never_accesses_a_version(gcp_declared: Declared) -> None:
    fake = FakeGcp.from_plan(gcp_declared, SET_AT)
    _report, http = gcp_audit(gcp_declared, fake)
    paths = [path for _, path in http.sent]
    assert not [p for p in paths if re.search(gcp_store.VALUE_READS[0], p)]
    allowed = [re.compile(p) for _, p in gcp_store.ALLOWED]
    assert all(any(a.fullmatch(p.split("googleapis.com", 1)[1]) for a in allowed) for p in paths)
    # The attack: ask the audit's client for a value anyway; the guard refuses before the fake sees it.
    reader = gcp_store.GcpReader(fake.project, credentials=AnonymousCredentials(), adapter=http)
    before = len(http.sent)
    name = f"projects/{fake.project}/secrets/platform-secrets-prod-shared-JWT_SECRET/versions/1"
    with pytest.raises(ValueReadRefused, match=":access"):
        reader.secrets_client.access_secret_version(request={"name": name})
    assert len(http.sent) == before


# --- Azure ---


@pytest.fixture(scope="module")
def azure_declared(azure_prod_run: RunResult) -> Declared:
    return declare("prod", overrides={"cloud": "azure"}, run=azure_prod_run)


def azure_reader(fake: FakeAzure, http: FakeHttp) -> azure_store.AzureReader:
    return azure_store.AzureReader(
        fake.subscription,
        fake.group,
        fake.vault,
        credential=FakeAzureCredential(),
        adapter=http,
        identity_group=fake.identity_group,
    )


def azure_audit(
    declared: Declared, fake: FakeAzure, days: int = 1
) -> tuple[dict[str, Any], FakeHttp]:
    http = FakeHttp(fake.handle)
    as_of = SET_AT.date() + timedelta(days=days)
    return audit.audit(declared, as_of, reader=azure_reader(fake, http)), http


def test_azure_clean(azure_declared: Declared) -> None:
    report, _http = azure_audit(azure_declared, FakeAzure.from_plan(azure_declared, SET_AT))
    assert report["findings"] == [], audit.render(report)
    assert all(e["readers"] == e["declared_readers"] != [] for e in report["entries"])


def test_azure_the_doors_planned_are_the_doors_live(azure_declared: Declared) -> None:
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    view = audit_live.azure_view(azure_declared, azure_reader(fake, FakeHttp(fake.handle)))
    assert view.doors is not None and view.planned_doors is not None
    assert view.doors == view.planned_doors and len(view.doors) == len(fake.identities)


@pytest.mark.parametrize(
    ("issuer", "subject"),
    [
        ("https://token.actions.githubusercontent.com", "repo:attacker/fork:ref:refs/heads/main"),
        ("https://oidc.prod-aks.azure.com/other/cluster/", "system:serviceaccount:backend:backend"),
    ],
)
def test_azure_a_new_federated_credential_is_a_high_trust_widened_finding(
    azure_declared: Declared, issuer: str, subject: str
) -> None:
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    backend = "platform-secrets-prod-backend"
    fake.federate(backend, issuer, subject)
    report, _ = azure_audit(azure_declared, fake)
    assert ("trust-widened", "high", backend) in trust(report), audit.render(report)
    assert any(subject in f["detail"] for f in report["findings"] if f["principal"] == backend)


def test_azure_a_changed_subject_is_widened_and_narrowed(azure_declared: Declared) -> None:
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    backend = "platform-secrets-prod-backend"
    fake.credentials[backend][0]["properties"]["subject"] = "system:serviceaccount:backend:other"
    report, _ = azure_audit(azure_declared, fake)
    assert sorted(trust(report)) == [
        ("trust-narrowed", "medium", backend),
        ("trust-widened", "high", backend),
    ], audit.render(report)


def test_azure_extra_reader_at_the_resource_group(azure_declared: Declared) -> None:
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    group = f"/subscriptions/{fake.subscription}/resourceGroups/{fake.group}"
    role = f"/subscriptions/{fake.subscription}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"
    intruder = "0d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a"
    fake.assign(group, role, intruder)
    report, _ = azure_audit(azure_declared, fake)
    assert {e for k, e, p in kinds(report) if k == "extra-reader" and p == intruder} == set(
        azure_declared.entries
    ), audit.render(report)


def test_azure_deleted_entry_orphan_age_and_purge_protection(azure_declared: Declared) -> None:
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    gone = "media--s3-access-key-id"
    fake.deleted[gone] = fake.secrets.pop(gone)
    fake.secrets["backend--legacy-token"] = dict(fake.secrets["backend--redis-url"], tags={})
    fake.vault_properties["enablePurgeProtection"] = None
    report, _ = azure_audit(azure_declared, fake, days=100)
    found = kinds(report)
    assert ("missing", gone, "") in found
    assert ("orphan", "backend--legacy-token", "") in found
    assert {e for k, e, _ in found if k == "overdue"} == set(azure_declared.entries) - {gone}
    protection = [f for f in report["findings"] if f["kind"] == "protection"]
    assert [f["detail"] for f in protection] == [
        "enablePurgeProtection is None, the stack declares True"
    ], audit.render(report)


def test_azure_reader_never_gets_a_secret(azure_declared: Declared) -> None:
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    _report, http = azure_audit(azure_declared, fake)
    data_plane = [
        path.split("vault.azure.net", 1)[1] for _, path in http.sent if "vault.azure.net" in path
    ]
    listings = {f"/secrets/{name}/versions" for name in fake.secrets}
    assert set(data_plane) == {"/secrets", "/deletedsecrets"} | listings
    assert not [p for p in data_plane if re.fullmatch(azure_store.VALUE_READS[0], p)]
    http2 = FakeHttp(fake.handle)
    reader = azure_reader(fake, http2)
    with pytest.raises(ValueReadRefused, match="/secrets/backend--redis-url"):
        reader._secrets.get_secret("backend--redis-url")
    assert not [p for _, p in http2.sent if p.endswith("/secrets/backend--redis-url")]


def _jwt_entry(declared: Declared) -> str:
    (name,) = [
        n for n, e in declared.entries.items() if (e.owner, e.key) == ("shared", "JWT_SECRET")
    ]
    return name


def test_azure_view_gives_the_newest_enabled_version_for_the_rotate_command(
    azure_declared: Declared,
) -> None:
    """The version a keep_previous rotation records: the newest by creation time, from the versions listing;
    none when the newest is disabled (Key Vault refuses a read of it: no current value to keep)."""
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    jwt, redis = _jwt_entry(azure_declared), "backend--redis-url"
    first = next(iter(fake.versions[jwt]))
    newest = fake.add_version(jwt, SET_AT + timedelta(hours=2))
    older = fake.add_version(jwt, SET_AT + timedelta(hours=1), enabled=False)
    fake.add_version(redis, SET_AT + timedelta(hours=1), enabled=False)
    view = audit_live.azure_view(azure_declared, azure_reader(fake, FakeHttp(fake.handle)))
    assert view.entries[jwt].current_version == newest
    assert view.entries[jwt].previous_versions == {first, newest}
    assert older not in (view.entries[jwt].previous_versions or ())
    assert view.entries[redis].current_version is None
    assert view.entries[redis].previous_versions == set(list(fake.versions[redis])[:1])


@pytest.mark.parametrize(
    ("change", "broken"), [("disabled", True), ("gone", True), ("enabled", False)]
)
def test_azure_an_overlap_whose_version_is_disabled_or_gone_is_a_high_finding(
    azure_declared: Declared, change: str, broken: bool
) -> None:
    """ESO fails each reader's whole Secret when the ``_PREVIOUS`` version cannot be read (a disabled version
    is refused by Key Vault): the current value stops arriving too."""
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    jwt = _jwt_entry(azure_declared)
    (recorded,) = fake.versions[jwt]
    fake.add_version(jwt, SET_AT + timedelta(hours=1))  # the rotation, deployed
    if change == "disabled":
        fake.versions[jwt][recorded]["enabled"] = False
    elif change == "gone":
        del fake.versions[jwt][recorded]
    settings = azure_declared.settings.model_copy(
        update={"rotation_overlaps": {"shared.JWT_SECRET": recorded}}
    )
    report, _ = azure_audit(dataclasses.replace(azure_declared, settings=settings), fake)
    found = [(f["kind"], f["severity"], f["entry"]) for f in report["findings"]]
    assert found == ([("overlap-broken", "high", jwt)] if broken else []), audit.render(report)


VERSION = "0123456789abcdef" * 2
"""A Key Vault version id's shape (32 hex digits)."""


@pytest.mark.parametrize(
    "path",
    [
        f"/secrets/backend--redis-url/{VERSION}",  # get_secret(name, version)
        "/secrets/backend--redis-url",  # get_secret(name): the current value
        f"/secrets/backend--redis-url/versions/../{VERSION}",  # dot segments: sent as the value read
        f"/secrets/backend--redis-url%2F{VERSION}/versions",  # an encoded slash inside the name
        f"/secrets/backend--redis-url%2F{VERSION}%3F/versions",  # ... and a query cut
        "/secrets/..%2Fsecrets%2Fbackend--redis-url/versions",  # an encoded dot segment
        f"/secrets/backend--redis-url/versions/{VERSION}",  # a version under the listing
        "/secrets/backend--redis-url;versions",  # a path parameter
    ],
)
def test_azure_a_value_read_dressed_as_the_versions_listing_is_refused_before_it_is_sent(
    azure_declared: Declared, path: str
) -> None:
    """The versions listing is the one data-plane path with a secret's name in it that the audit may send; a
    request that could be routed to a value read (a version id, the name alone, a name hiding a ``/`` or a
    ``?``) is refused before it leaves, through the audit's own client."""
    from azure.core.rest import HttpRequest

    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    http = FakeHttp(fake.handle)
    reader = azure_reader(fake, http)
    with pytest.raises(ValueReadRefused, match="/secrets"):
        reader._secrets._client.send_request(HttpRequest("GET", f"{{vaultBaseUrl}}{path}"))
    assert not [p for _, p in http.sent if "backend--redis-url" in p]


def test_azure_a_versions_page_that_links_to_a_value_read_is_refused_before_it_is_sent(
    azure_declared: Declared,
) -> None:
    """The client follows a listing's ``nextLink`` as the service gives it: one that names a version (a value
    read) is refused by the guard like any other, so a hostile or confused answer cannot make the audit read."""
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    jwt = _jwt_entry(azure_declared)
    (version,) = fake.versions[jwt]
    value_read = f"/secrets/{jwt}/{version}"

    def handle(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        status, payload, more = fake.handle(method, path, headers, body)
        if path == f"/secrets/{jwt}/versions":
            payload["nextLink"] = (
                f"https://{fake.vault}.vault.azure.net:443{value_read}?api-version=7.4"
            )
        return status, payload, more

    http = FakeHttp(handle)
    with pytest.raises(ValueReadRefused, match=re.escape(value_read)):
        audit_live.azure_view(azure_declared, azure_reader(fake, http))
    assert not [p for _, p in http.sent if p.endswith(value_read)]


CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def test_azure_a_contributor_on_the_identities_group_is_a_high_trust_widened_finding(
    azure_declared: Declared,
) -> None:
    """A Contributor of the identities' group can add a federated credential to any reader."""
    fake = FakeAzure.from_plan(azure_declared, SET_AT)
    group = f"/subscriptions/{fake.subscription}/resourceGroups/{fake.identity_group}"
    role = f"/subscriptions/{fake.subscription}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    fake.assign(group, role, "0d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a")
    report, _ = azure_audit(azure_declared, fake)
    assert trust(report) == [
        ("trust-widened", "high", f"the identities of {fake.identity_group}")
    ], audit.render(report)
