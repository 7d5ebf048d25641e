"""The one test of the shipped catalog's data: it holds everything the Secrets Handling Guide lists.

Every service and key of the guide's "Required Secrets by Service" is in ``catalog.yaml``, with the guide's
"required in production" and its production rules; the catalog may add services, keys and stricter rules.
Every other test reads what it needs from the catalog (``tests/catalog_facts.py``) or builds its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from platform_secrets.model.catalog import (
    Catalog,
    Environment,
    SecretSpec,
    SharedRef,
    parse_catalog,
)
from tests import catalog_facts
from tests.guide import GUIDE, GUIDE_SERVICES, SECRET


def conformance_problems(catalog: Catalog) -> list[str]:
    """What the catalog lacks against the guide, one sentence per problem naming the place."""
    problems = []
    for heading, (name, path, keys) in GUIDE_SERVICES.items():
        service = catalog.services.get(name)
        if service is None:
            problems.append(f"services.{name}: missing (the guide's {heading!r})")
            continue
        if service.path != path:
            problems.append(f"services.{name}.path: {service.path!r}, the guide's is {path!r}")
        for key, (kind, required, rules) in keys.items():
            where = f"services.{name}.{kind}s.{key}"
            if kind == SECRET:
                spec = service.secrets.get(key)
                if spec is None:
                    problems.append(f"{where}: missing (the guide's {heading!r} lists it)")
                    continue
                own: SecretSpec = (
                    catalog.shared[spec.shared] if isinstance(spec, SharedRef) else spec
                )
                if required and Environment.PROD not in own.required_in:
                    problems.append(f"{where}: the guide requires it in production")
            else:
                setting = service.settings.get(key)
                if setting is None:
                    problems.append(f"{where}: missing (the guide's {heading!r} lists it)")
                    continue
                if required and Environment.PROD not in setting.required_in:
                    problems.append(f"{where}: the guide requires it in production")
                in_force = set(setting.rules) if Environment.PROD in setting.rules_in else set()
                for rule in sorted(rules - in_force):
                    problems.append(f"{where}: rule {rule.value} is not enforced in prod")
    linear = catalog.services.get("linear-integration")
    if linear is not None and linear.workload:
        problems.append("services.linear-integration: the guide's Linear key is not a pod")
    return problems


def test_the_shipped_catalog_holds_every_service_and_key_of_the_guide():
    assert conformance_problems(catalog_facts.SHIPPED) == []


def test_the_transcription_names_every_key_of_the_guide():
    """The table above is the guide's list: a key the guide gains or loses fails here."""
    assert GUIDE.exists(), f"the guide is expected at {GUIDE} (../shared beside the repository)"
    text = GUIDE.read_text()
    section = text.split("## Required Secrets by Service", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    for block in section.split("\n### ")[1:]:
        heading, _, body = block.partition("\n")
        listed[heading.strip()] = set(re.findall(r"`([A-Z][A-Z0-9_]*)(?:=[^`]*)?`", body))
    assert set(listed) == set(GUIDE_SERVICES), "the guide's services changed"
    for heading, keys in listed.items():
        transcribed = set(GUIDE_SERVICES[heading][2])
        assert keys <= transcribed, f"{heading}: not transcribed: {sorted(keys - transcribed)}"
        if keys:  # the Linear section names its key by file, not by variable
            assert keys == transcribed, f"{heading}: not in the guide: {sorted(transcribed - keys)}"


def _shipped_data() -> dict:
    return yaml.safe_load(Path(catalog_facts.shipped_path()).read_text())


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["services"]["media"]["secrets"].pop("S3_SECRET_ACCESS_KEY"),
            "services.media.secrets.S3_SECRET_ACCESS_KEY: missing",
        ),
        (
            lambda d: d["services"]["backend"]["secrets"]["OTP_PEPPER"].pop("required_in"),
            "services.backend.secrets.OTP_PEPPER: the guide requires it in production",
        ),
        (
            lambda d: d["shared"]["JWT_SECRET"].pop("required_in"),
            "services.agent7-messaging.secrets.JWT_SECRET: the guide requires it in production",
        ),
        (
            lambda d: d["services"]["media"]["settings"]["CORS_ORIGIN"].update(rules_in=["dev"]),
            "services.media.settings.CORS_ORIGIN: rule no_wildcard is not enforced in prod",
        ),
        (
            lambda d: d["services"].pop("agent9-search"),
            "services.agent9-search: missing",
        ),
    ],
    ids=["key-dropped", "required-dropped", "shared-required-dropped", "rule-off", "service"],
)
def test_a_catalog_that_drops_what_the_guide_lists_fails_conformance(edit, expected):
    data = _shipped_data()
    edit(data)
    problems = conformance_problems(parse_catalog(data))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_catalog_that_adds_a_service_and_keys_conforms():
    data = _shipped_data()
    data["services"]["notifications"] = {
        "secrets": {"PUSH_TOKEN": {"source": "config", "required_in": ["prod"]}}
    }
    data["services"]["media"]["settings"]["S3_PREFIX"] = {"default": "media/"}
    assert conformance_problems(parse_catalog(data)) == []
