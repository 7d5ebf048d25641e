"""The Kubernetes binding of one service: how its secrets reach its pods as env vars, and who may read them.

Creates, for a workload service: its namespace (retained when the service leaves the catalog, protected in
prod: deleting it would delete every workload in it); its ServiceAccount (annotated for the cloud identity, no
automounted API token); either an External Secrets Operator SecretStore + ExternalSecret that materialise one
Secret with one key per env var (``binding: external-secrets``) or that Secret written by Pulumi
(``binding: native``); a Role that allows only ``get`` on that Secret by name, bound to that ServiceAccount
only; a ConfigMap with the plain settings. Cloud-neutral: the cloud adapter supplies the annotations, the ESO
provider block and each entry's remote key. ``provider_opts`` gives the stack's one Kubernetes provider, pinned
to the context and cluster of the stack file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from platform_secrets.model.settings import Binding, KubernetesSettings
from platform_secrets.model.stack_model import Service
from platform_secrets.program.clouds.base import Identity

ESO_API_VERSION = "external-secrets.io/v1"
"""The only version a current External Secrets Operator serves (v1beta1 is refused)."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "platform-secrets"}


@dataclass(frozen=True)
class EnvSecret:
    """One env var of the service's Secret: where ESO finds it, or the value Pulumi writes."""

    env_var: str
    remote_key: str
    value: pulumi.Output[str] | None
    remote_property: str | None = None
    """The field within the entry, for stores whose entries hold fields (Vault's KV: ``value``)."""
    remote_version: str | None = None
    """The store version to fetch (a previous value during an overlap); the current one when None."""


RELOADER_MATCH = {"reloader.stakater.com/match": "true"}
"""stakater Reloader's mark on a Secret: workloads with ``reloader.stakater.com/search: "true"`` that
reference it restart when its data changes (``restartOnRotation``)."""


def provider_opts(settings: KubernetesSettings) -> pulumi.ResourceOptions:
    """Options that give a component the stack's Kubernetes provider (children inherit it).

    Explicit, as the clouds' providers are: the context and cluster come from the stack file, so an operator's
    current kubeconfig context never decides which cluster a stack's objects go to.
    """
    provider = k8s.Provider("kubernetes", context=settings.context, cluster=settings.cluster)
    return pulumi.ResourceOptions(providers=[provider])


def bind_service(
    name: str,
    service: Service,
    identity: Identity,
    env: list[EnvSecret],
    binding: Binding,
    refresh_interval: str,
    parent: pulumi.Resource,
    protect: bool = False,
    restart_annotations: dict[str, str] | None = None,
) -> dict[str, pulumi.Output[str] | str]:
    """Create the service's Kubernetes objects; return the names the service team needs.

    ``protect`` (prod) protects the namespace; it is retained on delete in every environment.
    ``restart_annotations`` go on the synced Secret (ESO: through ``target.template.metadata``) for a
    reloader to restart the workloads that opt in when its data changes.
    """
    labels = {**MANAGED_BY, "app.kubernetes.io/part-of": service.name}
    namespace = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=service.namespace, labels=labels),
        # Removing or renaming a service in the catalog must not delete its namespace: Kubernetes would delete
        # every workload, Secret and volume claim in it, ours or not. Retained: Pulumi forgets it, the
        # cluster keeps it; protected in prod: Pulumi refuses to delete it until someone unprotects it.
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True, protect=protect),
    )
    # Namespaced objects wait for the namespace (a real edge: the API refuses them before it exists); its
    # name is known, so it stays a string instead of an Output derived from the namespace's metadata.
    ns = service.namespace
    in_namespace = pulumi.ResourceOptions(parent=parent, depends_on=[namespace])

    def meta(
        object_name: str, annotations: dict[str, pulumi.Input[str]] | None = None
    ) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name, namespace=ns, labels=labels, annotations=annotations
        )

    service_account = k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata=meta(service.service_account, annotations=identity.service_account_annotations),
        # Pods get the cloud token through the identity webhook or ESO's TokenRequest, never the API token.
        automount_service_account_token=False,
        opts=in_namespace,
    )
    if binding is Binding.EXTERNAL_SECRETS:
        store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store",
            api_version=ESO_API_VERSION,
            kind="SecretStore",
            metadata=meta(service.name),
            spec={"provider": identity.eso_provider},
            # The store authenticates as the ServiceAccount: it must exist first.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace, service_account]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-external-secret",
            api_version=ESO_API_VERSION,
            kind="ExternalSecret",
            metadata=meta(service.name),
            spec={
                "refreshInterval": refresh_interval,
                "secretStoreRef": {"name": service.name, "kind": "SecretStore"},
                "target": {
                    "name": service.secret_name,
                    "creationPolicy": "Owner",
                    "deletionPolicy": "Retain",
                    # Only metadata: ESO still copies the fetched data as is.
                    **(
                        {"template": {"metadata": {"annotations": restart_annotations}}}
                        if restart_annotations
                        else {}
                    ),
                },
                "data": [
                    {"secretKey": item.env_var, "remoteRef": _remote_ref(item)} for item in env
                ],
            },
            # Synced through that store: created after it, so its first sync does not fail.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace, store]),
        )
    else:
        k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=meta(service.secret_name, annotations=dict(restart_annotations or {}) or None),
            type="Opaque",
            string_data=pulumi.Output.secret(
                {item.env_var: item.value for item in env if item.value is not None}
            ),
            opts=in_namespace,
        )
    k8s.core.v1.ConfigMap(
        f"{name}-settings",
        metadata=meta(service.configmap_name),
        data=dict(service.settings),
        opts=in_namespace,
    )
    # The RoleBinding refers to the Role by this name (Kubernetes accepts the binding first: no edge needed).
    reader_role = f"{service.name}-secret-reader"
    k8s.rbac.v1.Role(
        f"{name}-secret-reader",
        metadata=meta(reader_role),
        rules=[
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""],
                resources=["secrets"],
                resource_names=[service.secret_name],
                verbs=["get"],
            )
        ],
        opts=in_namespace,
    )
    k8s.rbac.v1.RoleBinding(
        f"{name}-secret-reader-binding",
        metadata=meta(reader_role),
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io", kind="Role", name=reader_role
        ),
        subjects=[
            k8s.rbac.v1.SubjectArgs(
                kind="ServiceAccount", name=service.service_account, namespace=ns
            )
        ],
        opts=in_namespace,
    )
    return {
        "namespace": ns,
        "service_account": service.service_account,
        "secret_name": service.secret_name,
        "configmap_name": service.configmap_name,
    }


def _remote_ref(item: EnvSecret) -> dict[str, str]:
    ref = {"key": item.remote_key}
    if item.remote_property is not None:
        ref["property"] = item.remote_property
    if item.remote_version is not None:
        ref["version"] = item.remote_version
    return ref
