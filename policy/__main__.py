"""The policy pack's entry point: ``pulumi preview --policy-pack policy`` runs this file.

Builds the ``PolicyPack`` from ``rules.POLICIES`` (constructing it starts the analyzer's gRPC server and never
returns, which is why the rules live in an importable package). First it keeps secrets visible to the policies:
pulumi-policy strips the engine's secret marks before calling a policy, so ``rules.keep_secret_marks`` swaps its
deserializer for one that keeps each secret as a ``Secret`` marker (see the docstring of ``rules.common``).
"""

import sys
from pathlib import Path

import pulumi_policy.policy as sdk
from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this file with the pack's folder first on sys.path: `rules` is the sibling package. The project
# root goes on sys.path too, for `platform_secrets.model.values`: the value grammar the program itself uses (standard
# library only, so the pack's own virtualenv needs nothing more), whatever directory the CLI starts us in.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from rules import POLICIES, keep_secret_marks

keep_secret_marks(sdk)

PolicyPack(
    name="platform-secrets",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="platform-secrets invariants: least privilege on secrets, one ServiceAccount per trust, "
    "customer-managed keys, rotation and https in prod, RBAC by name, no plaintext secret inputs.",
)
