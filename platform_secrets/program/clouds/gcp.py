"""GCP: Secret Manager secrets under customer-managed keys, one Google service account per service.

- per environment: the Secret Manager service agent; with ``customerManagedKey``, a key ring and a Cloud KMS key
  in each replica location (rotated every 90 days) that only that agent may use; when secrets rotate, a Pub/Sub
  topic where Secret Manager posts the rotation notices;
- one secret per entry, replicated to the stack's locations (user-managed replication), its value in a
  SecretVersion;
- no Google service account: ``secretmanager.secretAccessor`` on each of a service's own secrets and nowhere
  else (no project-level grant), granted directly to its Kubernetes ServiceAccount's Workload Identity principal
  (``principal://…/projects/<pool number>/…/<pool>/subject/ns/<ns>/sa/<sa>``), or to the tooling principals
  the stack names. There is nothing to impersonate: a Token Creator or Service Account User grant, at any
  level, makes nobody a reader. The pool is the cluster project's (``<clusterProject>.svc.id.goog``), shared
  by every Workload Identity cluster of that project: that project must hold only clusters trusted as much as
  this one (an operator precondition, see the threat model).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pulumi
import pulumi_gcp as gcp

from platform_secrets.model.settings import GcpSettings, epoch_date
from platform_secrets.model.stack_model import Entry, Service, StackModel
from platform_secrets.program.clouds import gcp_naming as naming
from platform_secrets.program.clouds.base import CloudAdapter, Foundation, Identity, StoredEntry


class GcpAdapter(CloudAdapter):
    """Secret Manager + Cloud KMS + GKE Workload Identity."""

    def __init__(self, model: StackModel) -> None:
        super().__init__(model)
        assert model.settings.gcp is not None  # Settings checks it
        self.gcp: GcpSettings = model.settings.gcp
        self.keys: dict[str, gcp.kms.CryptoKey] = {}
        self.topic: gcp.pubsub.Topic | None = None
        self._key_ids: dict[str, pulumi.Output[str]] = {}
        """Location -> the secrets key's id: this stack's keys, or in a shard the foundation's."""
        self._topic_id: pulumi.Output[str] | None = None
        self._store_grants: list[pulumi.Resource] = []
        """Grants the service agent needs before a secret can use the keys and the topic."""
        self._provider: gcp.Provider | None = None

    # --- names (pure, deterministic: a fresh stack re-creates the same ones) ---

    @property
    def _prefix(self) -> tuple[str, str]:
        return self.settings.name_prefix, self.settings.environment.value

    def entry_name(self, entry: Entry) -> str:
        return naming.secret_id(*self._prefix, entry.owner, entry.key)

    @staticmethod
    def problems(model: StackModel) -> list[str]:
        settings, gcp_settings = model.settings, model.settings.gcp
        if gcp_settings is None:
            return []  # Settings names it
        prefix, env = settings.name_prefix, settings.environment.value
        problems: list[str] = []
        for entry in model.entries:
            secret = naming.secret_id(prefix, env, entry.owner, entry.key)
            if not naming.SECRET_ID.fullmatch(secret):
                problems.append(f"{entry.config_key}: secret id {secret!r} breaks GCP's rule")
            if entry.rotation_days and _rotation_start(entry, settings.rotation_epoch) is None:
                problems.append(
                    f"{entry.config_key}: rotates every {entry.rotation_days} days, so rotationEpoch "
                    "must be a date (YYYY-MM-DD): the first rotation notice is counted from it"
                )
        if settings.strict and gcp_settings.cluster_project in (None, gcp_settings.project):
            # GKE's Workload Identity pool is the project's, shared by every Workload Identity cluster in
            # it: whoever may create one there can present any workload's ServiceAccount. In prod the pool
            # must not be the secrets' project, whose administrators hold broad store permissions.
            problems.append(
                "gcp.clusterProject: prod needs the cluster in a project of its own (with "
                "clusterProjectNumber), not the secrets' project: its Workload Identity pool is shared "
                "by every cluster of that project"
            )
        for name in (naming.key_ring_name(prefix, env), naming.crypto_key_name(prefix, env)):
            if not naming.KMS_NAME.fullmatch(name):
                problems.append(f"namePrefix: KMS name {name!r} breaks GCP's rule")
        if not naming.TOPIC_NAME.fullmatch(naming.topic_name(prefix, env)):
            problems.append("namePrefix: the rotation topic's name breaks Pub/Sub's rule")
        tooling = {service.name for service in model.services if not service.workload}
        for name, members in gcp_settings.tooling_members.items():
            if name not in tooling:
                problems.append(
                    f"gcp.toolingMembers.{name}: not a non-workload service of the catalog"
                )
            for member in members:
                why = naming.member_problem(member) or _tooling_member_problem(member, model)
                if why:
                    problems.append(f"gcp.toolingMembers.{name}: {member!r} {why}")
        return problems

    # --- resources ---

    def provider_opts(self) -> pulumi.ResourceOptions:
        if self._provider is None:
            # An explicit provider pinned to the stack's project: an ambient gcloud default never applies.
            self._provider = gcp.Provider(
                "gcp",
                project=self.gcp.project,
                region=self.gcp.locations[0],
                default_labels=self._labels(),
            )
        return pulumi.ResourceOptions(providers={"gcp": self._provider})

    def _labels(self) -> dict[str, str]:
        prefix, env = self._prefix
        return {"managed-by": "pulumi", "project": prefix, "environment": env}

    def _adopting(self, parent: pulumi.Resource, resource_id: str) -> pulumi.ResourceOptions:
        """Import by deterministic id when ``adoptExisting`` is on (GCP refuses to create a duplicate)."""
        return pulumi.ResourceOptions(
            parent=parent, import_=resource_id if self.settings.adopt_existing else None
        )

    @property
    def _rotating(self) -> bool:
        return any(entry.rotation_days for entry in self.model.entries)

    def create_foundation(self, parent: pulumi.Resource) -> None:
        if not (self.gcp.customer_managed_key or self._rotating):
            return
        project = self.gcp.project
        prefix, env = self._prefix
        child = pulumi.ResourceOptions(parent=parent)
        # The Secret Manager service agent must exist before it can be granted the keys and the topic.
        agent = gcp.projects.ServiceIdentity(
            "secret-manager-agent", project=project, service=naming.SECRET_MANAGER_API, opts=child
        )
        window = self.settings.effective_recovery_window_days
        if self.gcp.customer_managed_key:
            ring_name = naming.key_ring_name(prefix, env)
            key_name = naming.crypto_key_name(prefix, env)
            # CMEK for user-managed replication: each replica is encrypted by a key in its own location.
            for location in self.gcp.locations:
                ring_id = naming.key_ring_id(project, location, ring_name)
                ring = gcp.kms.KeyRing(
                    f"secrets-key-ring-{location}",
                    name=ring_name,
                    location=location,
                    project=project,
                    opts=self.durable(parent, adopt_id=ring_id),
                )
                key = gcp.kms.CryptoKey(
                    f"secrets-key-{location}",
                    name=key_name,
                    key_ring=ring.id,
                    purpose="ENCRYPT_DECRYPT",
                    rotation_period=naming.duration(naming.KEY_ROTATION_DAYS),
                    # Old key versions wait this long before destruction: the recovery window of the key.
                    destroy_scheduled_duration=naming.duration(window),
                    labels={"location": location},
                    opts=self.durable(parent, adopt_id=f"{ring_id}/cryptoKeys/{key_name}"),
                )
                self.keys[location] = key
                self._key_ids[location] = key.id
                self._store_grants.append(
                    gcp.kms.CryptoKeyIAMMember(
                        f"secrets-key-{location}-secret-manager",
                        crypto_key_id=key.id,
                        role=naming.KEY_USER_ROLE,
                        member=agent.member,
                        opts=child,
                    )
                )
        if self._rotating:
            name = naming.topic_name(prefix, env)
            self.topic = gcp.pubsub.Topic(
                "rotation-topic",
                name=name,
                project=project,
                # Notices only (secret ids and times, never values); a week covers a long weekend.
                message_retention_duration=naming.duration(7),
                opts=self._adopting(parent, naming.topic_id(project, name)),
            )
            self._topic_id = self.topic.id
            self._store_grants.append(
                gcp.pubsub.TopicIAMMember(
                    "rotation-topic-publisher",
                    topic=self.topic.id,
                    role=naming.PUBLISHER_ROLE,
                    member=agent.member,
                    opts=child,
                )
            )

    def foundation_outputs(self) -> frozenset[str]:
        needs = {"kms_keys"} if self.gcp.customer_managed_key else set()
        return frozenset(needs | ({"rotation_topic"} if self._rotating else set()))

    def attach_foundation(self, foundation: Foundation) -> None:
        # The foundation's keys and topic; their grants to the service agent were made there, before.
        if self.gcp.customer_managed_key:
            self._key_ids = {
                location: foundation.store_item("kms_keys", location)
                for location in self.gcp.locations
            }
        if self._rotating:
            self._topic_id = foundation.store("rotation_topic")

    def create_entry(
        self,
        name: str,
        entry: Entry,
        value: pulumi.Output[str] | None,
        parent: pulumi.Resource,
    ) -> StoredEntry:
        project = self.gcp.project
        store_name = self.entry_name(entry)
        replicas = [
            gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(
                location=location,
                customer_managed_encryption=(
                    gcp.secretmanager.SecretReplicationUserManagedReplicaCustomerManagedEncryptionArgs(
                        kms_key_name=self._key_ids[location]
                    )
                    if location in self._key_ids
                    else None
                ),
            )
            for location in self.gcp.locations
        ]
        rotation = topics = None
        ignore: list[str] = []
        if entry.rotation_days:
            start = _rotation_start(entry, self.settings.rotation_epoch)
            assert (
                start is not None and self._topic_id is not None
            )  # problems() and Settings check it
            rotation = gcp.secretmanager.SecretRotationArgs(
                next_rotation_time=naming.next_rotation_time(start, entry.rotation_days),
                rotation_period=naming.duration(entry.rotation_days),
            )
            topics = [gcp.secretmanager.SecretTopicArgs(name=self._topic_id)]
            # Secret Manager moves the next rotation time on by itself after each notice; re-sending the
            # first one would be refused as a time in the past.
            ignore.append("rotation.nextRotationTime")
        secret = gcp.secretmanager.Secret(
            f"{name}-entry",
            secret_id=store_name,
            project=project,
            replication=gcp.secretmanager.SecretReplicationArgs(
                user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(replicas=replicas)
            ),
            labels={"owner": entry.owner, "source": entry.source.value},
            annotations={
                "platform-secrets-owner": entry.owner,
                "platform-secrets-key": entry.key,
                "platform-secrets-rotation-days": str(entry.rotation_days or "none"),
            },
            rotation=rotation,
            topics=topics,
            # A destroyed version stays restorable (disabled) this long: the recovery window.
            version_destroy_ttl=naming.duration(self.settings.effective_recovery_window_days),
            deletion_protection=self.settings.protect,
            opts=pulumi.ResourceOptions.merge(
                self.durable(parent, adopt_id=naming.secret_resource_id(project, store_name)),
                pulumi.ResourceOptions(depends_on=self._store_grants, ignore_changes=ignore),
            ),
        )
        if value is not None:
            gcp.secretmanager.SecretVersion(
                f"{name}-value",
                secret=secret.id,
                secret_data=value,
                # In prod a rotated-out value is disabled, not destroyed: it can be re-enabled in an incident.
                # A keep_previous value is abandoned: it stays enabled, so readers can still fetch it as
                # <KEY>_PREVIOUS during the overlap (ESO fails the whole Secret on one unreadable ref).
                deletion_policy="ABANDON"
                if entry.spec.keep_previous
                else ("DISABLE" if self.settings.protect else None),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        return StoredEntry(entry=entry, name=store_name, ref=secret.id, resource=secret)

    def create_identity(
        self,
        name: str,
        service: Service,
        entries: list[StoredEntry],
        parent: pulumi.Resource,
    ) -> Identity | None:
        if service.workload:
            members = [
                naming.workload_principal(
                    self.gcp.workload_pool_number,
                    self.gcp.workload_pool,
                    service.namespace,
                    service.service_account,
                )
            ]
        elif self.gcp.tooling_members.get(service.name):
            members = sorted(self.gcp.tooling_members[service.name])
        else:
            pulumi.log.warn(
                f"{service.name}: no gcp.toolingMembers in this stack, so no identity reads its entries"
            )
            return None
        # Each reader is granted on each of its secrets directly: no Google service account stands between,
        # so no Token Creator / Service Account User grant (at an account or the project) can become it.
        for index, member in enumerate(members):
            suffix = "" if index == 0 else f"-{index}"
            for stored in entries:
                gcp.secretmanager.SecretIamMember(
                    f"{name}-reads-{_slug(stored.entry)}{suffix}",
                    secret_id=stored.ref,
                    role=naming.ACCESSOR_ROLE,
                    member=member,
                    opts=pulumi.ResourceOptions(parent=parent),
                )
        # ESO's workloadIdentity auth with no iam.gke.io/gcp-service-account annotation on the ServiceAccount
        # uses the federated token itself (direct access) for Secret Manager.
        provider = {
            "gcpsm": {
                "projectID": self.gcp.project,
                "auth": {
                    "workloadIdentity": {
                        "clusterLocation": self.gcp.cluster_location,
                        "clusterName": self.gcp.cluster_name,
                        "clusterProjectID": self.gcp.cluster_project or self.gcp.project,
                        "serviceAccountRef": {"name": service.service_account},
                    }
                },
            }
        }
        return Identity(
            service=service.name,
            id=pulumi.Output.from_input(members[0]),
            service_account_annotations={},
            eso_provider=provider,
        )

    def exports(self) -> dict[str, Any]:
        out: dict[str, Any] = {"project": self.gcp.project, "locations": list(self.gcp.locations)}
        if self.keys:
            out["kms_keys"] = {location: key.id for location, key in self.keys.items()}
        if self.topic is not None:
            out["rotation_topic"] = self.topic.id
        return out


def _rotation_start(entry: Entry, stack_epoch: str) -> date | None:
    """The date rotation is counted from: the entry's own epoch if it is a date, else the stack's."""
    return epoch_date(entry.epoch) or epoch_date(stack_epoch)


def _slug(entry: Entry) -> str:
    return f"{entry.owner}-{entry.key.lower().replace('_', '-')}"


_SERVICE_ACCOUNT = re.compile(
    r"serviceAccount:(?P<account>[^@]+)@(?P<project>[a-z][a-z0-9-]+)\.iam\.gserviceaccount\.com"
)
_POOL_PRINCIPAL = re.compile(
    r"principal://iam\.googleapis\.com/projects/(?P<number>\d+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/subject/(?P<subject>.+)"
)


def _tooling_member_problem(member: str, model: StackModel) -> str | None:
    """Why a tooling member would hand a tooling service's secrets to someone else, or None.

    Refused: a person or a group (``user:``, ``group:``); a service account of this stack (a workload's own
    identity); a principal of the cluster's workload pool (a Kubernetes ServiceAccount, i.e. a workload);
    a service account or pool of a project that is neither ``gcp.project`` nor in ``gcp.toolingProjects``
    (a ``principal://`` names its project by number, which the program cannot map to ``gcp.project``
    offline: list it).
    """
    settings, gcp_settings = model.settings, model.settings.gcp
    assert gcp_settings is not None
    trusted = {gcp_settings.project, *gcp_settings.tooling_projects}
    if member.startswith(("user:", "group:")):
        return (
            "is a person's account or a group: name a service account or a federated CI principal"
        )
    account = _SERVICE_ACCOUNT.fullmatch(member)
    if member.startswith("serviceAccount:"):
        if account is None:
            return (
                "is not a user-managed service account (<name>@<project>.iam.gserviceaccount.com)"
            )
        own = {
            naming.account_id(settings.name_prefix, settings.environment.value, service.name)
            for service in model.services
        }
        if account["project"] == gcp_settings.project and account["account"] in own:
            return "is a service account of this stack (a workload's identity): it could act as the tooling one"
        if account["project"] not in trusted:
            return (
                f"is a service account of project {account['project']}, which is neither gcp.project nor "
                "listed in gcp.toolingProjects"
            )
        return None
    principal = _POOL_PRINCIPAL.fullmatch(member)
    if principal is not None:
        if principal["pool"] == gcp_settings.workload_pool or principal["subject"].startswith(
            "ns/"
        ):
            return (
                "is a Kubernetes ServiceAccount of the cluster's workload pool (a workload identity): its "
                "pods could act as the tooling service account"
            )
        if principal["number"] not in trusted:
            return (
                f"is a principal of project number {principal['number']}, not listed in "
                "gcp.toolingProjects"
            )
    return None
