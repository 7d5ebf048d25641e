# agent9-search: OpenBao / Vault Agent configuration for the dev stack. Generated from
# catalog.yaml and the stack file by `platform-secrets derived`: do not edit.
# Paths are relative to the agent's working directory (/ in compose.vault.yaml).

auto_auth {
  method "jwt" {
    mount_path = "auth/platform-secrets-dev-k8s"
    config = {
      role                     = "agent9-search"
      path                     = "run/secrets/vault-jwt"
      remove_jwt_after_reading = false
    }
  }
}

template_config {
  exit_on_retry_failure = true
}

template {
  destination          = "run/platform-secrets/TYPESENSE_API_KEY"
  perms                = "0600"
  error_on_missing_key = true
  contents             = "{{ with secret (printf \"%s/%s/%s/%s\" \"platform-secrets-dev\" \"data\" \"agent9-search\" \"TYPESENSE_API_KEY\") }}{{ .Data.data.value }}{{ end }}"
}
