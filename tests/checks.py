"""Checks shared by the artifact tests of every cloud: outside tools run the same way everywhere.

- ``kubernetes_validate``: the ``kubernetes-validate --strict`` command on manifest files;
- ``eso_validator``: a validator for the served version (v1) of External Secrets Operator's own CRDs in
  ../shared/crds, made strict: a field the API server would prune is an error here.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import yaml

from platform_secrets.paths import PROJECT_ROOT
from tests import catalog_facts

ROOT = PROJECT_ROOT
CRDS = ROOT.parent / "shared" / "crds"
ESO_KINDS = {
    "ExternalSecret": "external-secrets.io_externalsecrets.yaml",
    "SecretStore": "external-secrets.io_secretstores.yaml",
}


def manifests(plan_dir: Path) -> list[tuple[Path, dict]]:
    """Every ``k8s/*.yaml`` of a plan, with its object."""
    return [(p, yaml.safe_load(p.read_text())) for p in sorted((plan_dir / "k8s").glob("*.yaml"))]


def kubernetes_validate(files: list[str]) -> None:
    """Run ``kubernetes-validate --strict`` on the files; every one must pass against a real schema."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(" passed for resource ") == len(files), proc.stdout


@cache
def eso_validator(kind: str) -> jsonschema.protocols.Validator:
    """A validator of whole objects of ``kind`` (built once: the schemas are large)."""
    crd = yaml.load((CRDS / ESO_KINDS[kind]).read_text(), Loader=yaml.CSafeLoader)
    (version,) = [v for v in crd["spec"]["versions"] if v["served"]]
    assert version["name"] == "v1", "a current ESO serves only external-secrets.io/v1"
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
    for key, value in schema.get("properties", {}).items():
        if key != "metadata":  # metadata is the API server's ObjectMeta, not the CRD's to define
            _forbid_unknown(value)
    return jsonschema.Draft7Validator(schema)


def _forbid_unknown(node: object) -> None:
    if isinstance(node, dict):
        if (
            node.get("type") == "object"
            and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for value in node.values():
            _forbid_unknown(value)
    elif isinstance(node, list):
        for item in node:
            _forbid_unknown(item)


WORKLOADS = catalog_facts.workloads()
"""The shipped catalog's services that run as pods."""
OWN_KEYS = catalog_facts.own_keys()
"""The env vars of the secrets each service of the shipped catalog reads (the guide's are held by
tests/model/test_guide_conformance.py, so a catalog edit that drops one fails there)."""
