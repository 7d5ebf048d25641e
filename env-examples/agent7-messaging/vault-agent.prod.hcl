# agent7-messaging: OpenBao / Vault Agent configuration for the prod stack. Generated from
# catalog.yaml and the stack file by `platform-secrets derived`: do not edit.
# Paths are relative to the agent's working directory (/ in compose.vault.yaml).

auto_auth {
  method "jwt" {
    mount_path = "auth/platform-secrets-prod-k8s"
    config = {
      role                     = "agent7-messaging"
      path                     = "run/secrets/vault-jwt"
      remove_jwt_after_reading = false
    }
  }
}

template_config {
  exit_on_retry_failure = true
}

template {
  destination          = "run/platform-secrets/JWT_SECRET"
  perms                = "0600"
  error_on_missing_key = true
  contents             = "{{ with secret (printf \"%s/%s/%s/%s\" \"platform-secrets-prod\" \"data\" \"shared\" \"JWT_SECRET\") }}{{ .Data.data.value }}{{ end }}"
}
