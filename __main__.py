"""platform-secrets: every service's secrets, its least-privilege identity and its Kubernetes binding.

Wiring only: validate the catalog against this stack (nothing is created if anything is wrong), create the
environment's shared pieces, one ServiceSecrets component per service, and export what service teams need. In
a sharded environment (``environmentFile``) the foundation creates the shared pieces only, and a shard reads
them through a stack reference and creates its own services only (``model.own_services``).
"""

import pulumi

from platform_secrets.program import kubernetes
from platform_secrets.program.clouds import adapter_class
from platform_secrets.program.foundation_ref import FoundationRef
from platform_secrets.program.service_secrets import (
    ServiceSecrets,
    ServiceSecretsArgs,
    SharedSecrets,
)
from platform_secrets.program.stack import load_stack_model

model = load_stack_model()
adapter = adapter_class(model.settings.cloud)(model)
role = model.role
# The cloud's providers and the cluster's, both pinned by the stack file; every component's children inherit them.
providers = adapter.provider_opts()
if role is None or not role.is_foundation:  # a foundation creates nothing in the cluster
    providers = pulumi.ResourceOptions.merge(
        providers, kubernetes.provider_opts(model.settings.kubernetes)
    )

if role is None or role.is_foundation:
    shared_entries = SharedSecrets("shared", model, adapter, providers).entries
else:
    foundation = FoundationRef(role)
    adapter.attach_foundation(foundation)
    shared_entries = foundation.shared_entries(model, adapter)
services = {
    service.name: ServiceSecrets(
        service.name, ServiceSecretsArgs(service, model, adapter, shared_entries), providers
    )
    for service in model.own_services
}

pulumi.export("environment", model.settings.environment.value)
pulumi.export("cloud", model.settings.cloud.value)
if role is None or role.is_foundation:
    pulumi.export("store", adapter.exports())
if role is None or not role.is_foundation:
    pulumi.export(
        "services",
        {
            name: {
                "identity": component.identity,
                "entries": {stored.entry.key: stored.name for stored in component.entries.values()},
                "entry_refs": {
                    stored.entry.key: stored.ref for stored in component.entries.values()
                },
                **component.kubernetes,
            }
            for name, component in services.items()
        },
    )
if role is None or role.is_foundation:
    pulumi.export(
        "shared_entries",
        {
            stored.entry.key: {"name": stored.name, "ref": stored.ref}
            for stored in shared_entries.values()
        },
    )
if role is None or not role.is_foundation:
    pulumi.export(
        "access_matrix",
        {service.name: [env_var for env_var, _ in service.env] for service in model.own_services},
    )
    pulumi.export("missing_secrets", list(model.missing))
