"""platform-secrets: every service's secrets, its least-privilege identity and its Kubernetes binding.

Wiring only: validate the catalog against this stack (nothing is created if anything is wrong), create the
environment's shared pieces, one ServiceSecrets component per service, and export what service teams need.
"""

import pulumi

from platform_secrets.program import kubernetes
from platform_secrets.program.clouds import adapter_class
from platform_secrets.program.service_secrets import (
    ServiceSecrets,
    ServiceSecretsArgs,
    SharedSecrets,
)
from platform_secrets.program.stack import load_stack_model

model = load_stack_model()
adapter = adapter_class(model.settings.cloud)(model)
# The cloud's providers and the cluster's, both pinned by the stack file; every component's children inherit them.
providers = pulumi.ResourceOptions.merge(
    adapter.provider_opts(), kubernetes.provider_opts(model.settings.kubernetes)
)

shared = SharedSecrets("shared", model, adapter, providers)
services = {
    service.name: ServiceSecrets(
        service.name, ServiceSecretsArgs(service, model, adapter, shared.entries), providers
    )
    for service in model.services
}

pulumi.export("environment", model.settings.environment.value)
pulumi.export("cloud", model.settings.cloud.value)
pulumi.export("store", adapter.exports())
pulumi.export(
    "services",
    {
        name: {
            "identity": component.identity,
            "entries": {stored.entry.key: stored.name for stored in component.entries.values()},
            "entry_refs": {stored.entry.key: stored.ref for stored in component.entries.values()},
            **component.kubernetes,
        }
        for name, component in services.items()
    },
)
pulumi.export(
    "shared_entries",
    {
        stored.entry.key: {"name": stored.name, "ref": stored.ref}
        for stored in shared.entries.values()
    },
)
pulumi.export(
    "access_matrix",
    {service.name: [env_var for env_var, _ in service.env] for service in model.services},
)
pulumi.export("missing_secrets", list(model.missing))
