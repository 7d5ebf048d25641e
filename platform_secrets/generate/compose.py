"""Docker Compose / Swarm fragments per workload service, generated beside its ``.env.example``.

``compose.yaml`` gives the service exactly its own secrets as Compose/Swarm file secrets: one ``secrets:`` entry
per key, mounted read-only at ``/run/secrets/<KEY>``, read from the files that
``platform-secrets env pull --format files --out DIR`` writes (``DIR`` is ``$PLATFORM_SECRETS_DIR/<service>``). Plain
settings are environment variables interpolated from the Compose project's environment, defaulting to the
catalog's default.

For the Vault store, ``compose.vault.yaml`` adds an agent sidecar (OpenBao Agent; Vault Agent reads the same
configuration) that logs in with the service's own JWT role and renders **one file per key**
(``/run/platform-secrets/<KEY>``, the value byte for byte: no quoting, no escaping, nothing a shell or a dotenv
parser reads) into a tmpfs volume it shares read-only with the app, and ``vault-agent.<stack>.hcl`` is that agent's configuration for each stack
with a ``vault`` section. The agent's paths are relative to its working directory (``/`` in the fragment), so that
the same file runs unchanged under a test's ``bao agent`` in a scratch directory.

Names only: no value of any stack or store is read here.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from platform_secrets.model.catalog import SHARED_OWNER, ServiceSpec, SharedRef

FILES_DIR_VAR = "PLATFORM_" + "SECRETS_DIR"  # split: a scanner reads NAME = "..." as a password
STACK_VAR = "PLATFORM_SECRETS_STACK"
EXAMPLES_VAR = "PLATFORM_SECRETS_EXAMPLES"
"""Where env-examples/ is: Compose resolves relative paths against the first file given with ``-f``, not this one."""
AGENT_IMAGE = "openbao/openbao:2.4.4"
"""The agent's image; override with ``$OPENBAO_AGENT_IMAGE`` (e.g. ``hashicorp/vault`` runs the same config)."""
TOKEN_PATH = "run/secrets/vault-jwt"
ENV_DIR = "run/platform-secrets"
"""The folder the agent renders one file per key into (the value exactly). Not an env file: a value with `$`,
`&`, `$(...)`, quotes or a newline cannot be represented in a sourced `KEY=...` line without a quoting that
every consumer reads alike, while a file holds any value as it is, as /run/secrets/<KEY> does."""
FILES_NAME = "compose.yaml"
VAULT_NAME = "compose.vault.yaml"


def agent_config_name(stack: str) -> str:
    return f"vault-agent.{stack}.hcl"


def _header(lines: list[str]) -> str:
    return "".join(f"# {line}\n".replace("# \n", "#\n") for line in lines)


def _settings(service: ServiceSpec) -> dict[str, str]:
    return {key: f"${{{key}:-{spec.default or ''}}}" for key, spec in service.settings.items()}


def _jwt_variable(name: str) -> str:
    return f"{name.upper().replace('-', '_')}_VAULT_JWT_FILE"


def _dump(header: list[str], document: dict[str, Any]) -> str:
    return _header(header) + yaml.safe_dump(document, sort_keys=False, width=100)


def files_fragment(name: str, service: ServiceSpec) -> dict[str, Any]:
    """The service with its secrets as file secrets under /run/secrets, and the top-level secrets they name."""
    app: dict[str, Any] = {}
    if service.secrets:
        app["secrets"] = [{"source": f"{name}-{key}", "target": key} for key in service.secrets]
    if service.settings:
        app["environment"] = _settings(service)
    document: dict[str, Any] = {"services": {name: app}}
    if service.secrets:
        document["secrets"] = {
            f"{name}-{key}": {
                "file": f"${{{FILES_DIR_VAR}:?the folder of `platform-secrets env pull --format files`}}/{name}/{key}"
            }
            for key in service.secrets
        }
    return document


def render_files(name: str, service: ServiceSpec) -> str:
    return _dump(
        [
            f"{name}: Compose / Swarm delivery with file secrets. Generated from catalog.yaml by",
            "`platform-secrets derived`: edit the catalog, not this file.",
            "",
            "Fill the files first (one 0600 file per key, in a git-ignored folder):",
            f"  platform-secrets env pull --stack dev --service {name} --format files "
            f"--out $PLATFORM_SECRETS_DIR/{name}",
            "Use it as an override file (`docker compose -f <yours> -f compose.yaml`; `docker stack deploy`",
            "takes both too). Each secret is mounted read-only at /run/secrets/<KEY>; plain settings are",
            "environment variables taken from the Compose project's environment (default: the catalog's).",
        ],
        files_fragment(name, service),
    )


def vault_fragment(name: str, service: ServiceSpec) -> dict[str, Any]:
    """The app, its agent sidecar, the agent's config and JWT, and the tmpfs volume they share."""
    volume = f"{name}-env"
    agent = f"{name}-vault-agent"
    app: dict[str, Any] = {
        "depends_on": {agent: {"condition": "service_healthy"}},
        "volumes": [
            {"type": "volume", "source": volume, "target": f"/{ENV_DIR}", "read_only": True}
        ],
    }
    if service.settings:
        app["environment"] = _settings(service)
    return {
        "services": {
            name: app,
            agent: {
                "image": f"${{OPENBAO_AGENT_IMAGE:-{AGENT_IMAGE}}}",
                "command": ["bao", "agent", "-config=/etc/openbao/agent.hcl"],
                "working_dir": "/",
                "environment": {"BAO_ADDR": "${VAULT_ADDR:?the Vault or OpenBao address}"},
                "configs": [{"source": agent, "target": "/etc/openbao/agent.hcl"}],
                # 0444: the image's agent does not run as root; the token is mounted into this container only.
                "secrets": [{"source": f"{name}-vault-jwt", "target": "vault-jwt", "mode": 0o444}],
                "volumes": [{"type": "volume", "source": volume, "target": f"/{ENV_DIR}"}],
                "healthcheck": {
                    # Healthy once every key's file is rendered (an empty value is a file too).
                    "test": ["CMD", "test", *_every_file(service)],
                    "interval": "2s",
                    "retries": 30,
                },
            },
        },
        "configs": {
            agent: {
                "file": f"${{{EXAMPLES_VAR}:?path of env-examples}}/{name}/"
                f"vault-agent.${{{STACK_VAR}:?e.g. dev}}.hcl"
            }
        },
        "secrets": {
            f"{name}-vault-jwt": {
                "file": f"${{{_jwt_variable(name)}:?a file holding {name}'s JWT for the Vault role {name}}}"
            }
        },
        # tmpfs: the rendered values never reach a disk.
        "volumes": {volume: {"driver_opts": {"type": "tmpfs", "device": "tmpfs"}}},
    }


def _every_file(service: ServiceSpec) -> list[str]:
    arguments: list[str] = []
    for key in service.secrets:
        arguments += [*(["-a"] if arguments else []), "-e", f"/{ENV_DIR}/{key}"]
    return arguments


def render_vault(name: str, service: ServiceSpec) -> str:
    return _dump(
        [
            f"{name}: Compose delivery from Vault / OpenBao through an agent sidecar. Generated from",
            "catalog.yaml by `platform-secrets derived`: edit the catalog, not this file.",
            "",
            f"The agent logs in on the stack's JWT auth mount with the role {name} (its own policy only),",
            f"using the JWT in the file ${_jwt_variable(name)}, renders one file per key, /{ENV_DIR}/<KEY>",
            "(the value byte for byte), into a tmpfs volume shared read-only with the app, which reads each",
            "file (never source them: a value is data, not shell). It re-renders a file when its value",
            f"rotates. VAULT_ADDR is the server; {STACK_VAR} picks",
            f"${EXAMPLES_VAR}/{name}/vault-agent.<stack>.hcl. Use it as an override file",
            f"(`docker compose -f <yours> -f {VAULT_NAME}`). Swarm ignores depends_on conditions: the app",
            "must wait for the file itself.",
        ],
        vault_fragment(name, service),
    )


def agent_config(
    name: str, service: ServiceSpec, stack: str, auth_path: str, mount: str, data_path: Any
) -> str:
    """The agent's HCL: JWT auto-auth with the service's role, one template per key rendering its file.

    ``data_path(mount, "<owner>/<KEY>")`` is the Vault naming's API path of an entry's value.
    """
    templates = []
    for key, ref in service.secrets.items():
        owner, stored = (SHARED_OWNER, ref.shared) if isinstance(ref, SharedRef) else (name, key)
        # The API path in parts (`printf`): a long quoted path reads as a high-entropy string to the scanners.
        parts = data_path(mount, f"{owner}/{stored}").split("/")
        path = (
            f'(printf "{"/".join(["%s"] * len(parts))}" {" ".join(json.dumps(p) for p in parts)})'
        )
        # The value as it is (no `toJSON`, no `KEY=`): the file is the value, whatever bytes it holds.
        contents = f"{{{{ with secret {path} }}}}{{{{ .Data.data.value }}}}{{{{ end }}}}"
        templates.append(
            f"""
template {{
  destination          = {json.dumps(f"{ENV_DIR}/{key}")}
  perms                = "0600"
  error_on_missing_key = true
  contents             = {json.dumps(contents)}
}}
"""
        )
    return (
        _header(
            [
                f"{name}: OpenBao / Vault Agent configuration for the {stack} stack. Generated from",
                "catalog.yaml and the stack file by `platform-secrets derived`: do not edit.",
                "Paths are relative to the agent's working directory (/ in compose.vault.yaml).",
            ]
        )
        + f"""
auto_auth {{
  method "jwt" {{
    mount_path = {json.dumps("auth/" + auth_path)}
    config = {{
      role                     = {json.dumps(name)}
      path                     = {json.dumps(TOKEN_PATH)}
      remove_jwt_after_reading = false
    }}
  }}
}}

template_config {{
  exit_on_retry_failure = true
}}
"""
        + "".join(templates)
    )
