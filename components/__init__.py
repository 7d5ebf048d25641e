"""platform-secrets: the catalog model, stack settings, cloud adapters, Kubernetes binding and components."""
