"""The Compose / Swarm fragments: valid Compose files (the Compose Specification's own schema judges) that give
each workload exactly its own secrets, under /run/secrets/<KEY>, from the files ``platform_secrets.live.env pull --format files``
writes.

The schema is ``../shared/compose/compose-spec.json`` (draft-07), as its README says; no Docker engine runs here.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from platform_secrets.generate import compose, envexample
from platform_secrets.model.catalog import Catalog, SharedRef, load_catalog, parse_catalog
from platform_secrets.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
SCHEMA = ROOT.parent / "shared" / "compose" / "compose-spec.json"
CATALOG = load_catalog(ROOT / "catalog.yaml")
WORKLOADS = [name for name, spec in CATALOG.services.items() if spec.workload]
DIR_VARIABLE = re.compile(r"\$\{" + compose.FILES_DIR_VAR + r":\?[^}]*\}")


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def problems(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(document)
    ]


def committed(service: str, name: str = compose.FILES_NAME) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / envexample.OUT / service / name).read_text())
    return data


def granted(document: dict[str, Any], service: str) -> set[str]:
    return {item["source"] for item in document["services"][service].get("secrets", [])}


@pytest.mark.parametrize("service", WORKLOADS)
def test_every_committed_fragment_is_a_valid_compose_file(service: str) -> None:
    assert problems(committed(service)) == []


def test_the_schema_refuses_a_broken_fragment() -> None:
    """Control: the validator judges (a secret grant with a field Compose does not know is refused)."""
    broken = copy.deepcopy(committed("backend"))
    broken["services"]["backend"]["secrets"][0]["path"] = "/run/secrets/JWT_SECRET"
    broken["secrets"]["backend-JWT_SECRET"]["value"] = "inline"
    assert len(problems(broken)) == 2


@pytest.mark.parametrize("service", WORKLOADS)
def test_a_service_gets_exactly_its_own_secrets_at_run_secrets_key(service: str) -> None:
    document = committed(service)
    keys = set(CATALOG.services[service].secrets)
    assert granted(document, service) == {f"{service}-{key}" for key in keys}
    assert set(document.get("secrets", {})) == {f"{service}-{key}" for key in keys}
    for item in document["services"][service].get("secrets", []):
        assert item["target"] == item["source"].removeprefix(f"{service}-")  # /run/secrets/<KEY>
    assert set(document["services"]) == {service}


def test_no_fragment_grants_another_services_secret() -> None:
    owners = {name: set(CATALOG.services[name].secrets) for name in WORKLOADS}
    for name in WORKLOADS:
        document = committed(name)
        foreign = {
            source
            for source in granted(document, name)
            if source.removeprefix(f"{name}-") not in owners[name]
        }
        assert foreign == set(), name


@pytest.mark.parametrize("service", WORKLOADS)
def test_secret_files_are_the_layout_of_pull_format_files(service: str, tmp_path: Path) -> None:
    """With PLATFORM_SECRETS_DIR=D, each secret's file is D/<service>/<KEY>, what `pull --format files
    D/<service>` writes (tests/live/test_env_aws.py reads the pulled files through these paths)."""
    for source, spec in committed(service).get("secrets", {}).items():
        key = source.removeprefix(f"{service}-")
        assert DIR_VARIABLE.sub(str(tmp_path), spec["file"]) == f"{tmp_path}/{service}/{key}"


@pytest.mark.parametrize("service", WORKLOADS)
def test_settings_are_environment_with_the_catalog_default_never_a_stack_value(
    service: str,
) -> None:
    environment = committed(service)["services"][service].get("environment", {})
    settings = CATALOG.services[service].settings
    assert environment == {key: f"${{{key}:-{s.default or ''}}}" for key, s in settings.items()}


def _small_catalog() -> Catalog:
    return parse_catalog(
        {
            "shared": {"TOKEN": {"source": "generated"}},
            "services": {
                "one": {
                    "secrets": {"TOKEN": {"shared": "TOKEN"}, "DB_URL": {"source": "config"}},
                    "settings": {"MODE": {"default": "fast"}},
                },
                "two": {"secrets": {"TOKEN": {"shared": "TOKEN"}}},
                "tool": {"workload": False, "secrets": {"API_KEY": {"source": "external"}}},
            },
        }
    )


def test_fragments_follow_the_catalog_a_shared_secret_granted_to_each_reader() -> None:
    files = envexample.render(_small_catalog())
    one = yaml.safe_load(files[f"one/{compose.FILES_NAME}"])
    two = yaml.safe_load(files[f"two/{compose.FILES_NAME}"])
    assert granted(one, "one") == {"one-TOKEN", "one-DB_URL"}
    assert granted(two, "two") == {"two-TOKEN"}
    assert f"tool/{compose.FILES_NAME}" not in files  # not a workload: no container
    assert problems(one) == [] and problems(two) == []
    assert isinstance(_small_catalog().services["two"].secrets["TOKEN"], SharedRef)


# --- the Vault variant: an agent sidecar per service, its config per stack ---

VAULT_STACKS = envexample.vault_stacks()
SECRET_PATH = re.compile(r'with secret \(printf "[^"]*"((?: "[^"]*")+)\)')


def template_paths(text: str) -> list[str]:
    """The API paths the agent template reads: each `with secret (printf "%s/..." "part" ...)`, joined."""
    text = text.replace(
        '\\"', '"'
    )  # each template's contents is an HCL string: its quotes are escaped
    return ["/".join(re.findall(r'"([^"]*)"', parts)) for parts in SECRET_PATH.findall(text)]


def test_the_stack_files_with_a_vault_section_get_agent_configs() -> None:
    assert set(VAULT_STACKS) >= {"dev", "prod"}


@pytest.mark.parametrize("service", WORKLOADS)
def test_every_vault_fragment_is_a_valid_compose_file(service: str) -> None:
    assert problems(committed(service, compose.VAULT_NAME)) == []


@pytest.mark.parametrize("service", WORKLOADS)
def test_the_agent_holds_only_the_services_jwt_and_shares_a_tmpfs_volume(service: str) -> None:
    document = committed(service, compose.VAULT_NAME)
    agent = document["services"][f"{service}-vault-agent"]
    app = document["services"][service]
    assert set(document["services"]) == {service, f"{service}-vault-agent"}
    assert [s["source"] for s in agent["secrets"]] == [f"{service}-vault-jwt"]
    assert agent["secrets"][0]["target"] == Path(compose.TOKEN_PATH).name  # /run/secrets/vault-jwt
    assert "secrets" not in app  # the app reads the rendered file, nothing else
    [app_volume] = app["volumes"]
    [agent_volume] = agent["volumes"]
    assert app_volume["source"] == agent_volume["source"] == f"{service}-env"
    assert app_volume["read_only"] is True and not agent_volume.get("read_only")
    assert app_volume["target"] == agent_volume["target"] == "/" + compose.ENV_DIR
    assert document["volumes"][f"{service}-env"]["driver_opts"]["type"] == "tmpfs"
    assert agent["working_dir"] == "/"  # the config's relative paths are the mounts above


@pytest.mark.parametrize("stack", sorted(VAULT_STACKS))
@pytest.mark.parametrize("service", WORKLOADS)
def test_the_agent_config_logs_in_as_the_service_and_reads_exactly_its_entries(
    stack: str, service: str
) -> None:
    paths = VAULT_STACKS[stack]
    text = (ROOT / envexample.OUT / service / compose.agent_config_name(stack)).read_text()
    assert f'mount_path = "auth/{paths.auth}"' in text
    assert re.search(rf'role\s+= "{re.escape(service)}"', text)
    expected = set()
    for key, ref in CATALOG.services[service].secrets.items():
        owner, stored = ("shared", ref.shared) if isinstance(ref, SharedRef) else (service, key)
        expected.add(f"{paths.mount}/data/{owner}/{stored}")
    assert set(template_paths(text)) == expected


@pytest.mark.parametrize("stack", sorted(VAULT_STACKS))
@pytest.mark.parametrize("service", WORKLOADS)
def test_the_agent_renders_one_file_per_key_holding_the_value_as_is(
    stack: str, service: str
) -> None:
    """No `KEY=` line and no filter (`toJSON` turned `&` into `\\u0026`): each key's file is its value."""
    text = (ROOT / envexample.OUT / service / compose.agent_config_name(stack)).read_text()
    destinations = re.findall(r'destination\s+= "([^"]*)"', text)
    assert destinations == [f"{compose.ENV_DIR}/{key}" for key in CATALOG.services[service].secrets]
    contents = re.findall(r'contents\s+= "(.*)"\n', text)
    assert len(contents) == len(destinations)
    assert all(c.endswith("{{ .Data.data.value }}{{ end }}") and "|" not in c for c in contents)
    healthcheck = committed(service, compose.VAULT_NAME)["services"][f"{service}-vault-agent"]
    files = [a for a in healthcheck["healthcheck"]["test"] if a.startswith("/")]
    assert files == ["/" + d for d in destinations]
