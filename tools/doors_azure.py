"""Azure doors: every federated identity credential on a managed identity, from the plan or live (one function).

``azure-federated``: one door per credential, named by the identity's name, its detail the issuer (without a
trailing slash), the subject and the audiences. A credential live but not planned (another issuer, a wider or
another subject, another audience) is a high ``trust-widened`` finding.
"""

from __future__ import annotations

from typing import Any

from tools.access_azure import CREDENTIAL
from tools.doors import Door, canonical


def doors(resources: list[Any]) -> frozenset[Door]:
    """The doors of the Azure resources (registrations, or live objects in their shape)."""
    return frozenset(
        Door(
            str(r.inputs["resourceName"]),
            "azure-federated",
            canonical(
                {
                    "issuer": str(r.inputs["issuer"]).rstrip("/"),
                    "subject": r.inputs["subject"],
                    "audiences": list(r.inputs.get("audiences") or []),
                }
            ),
        )
        for r in resources
        if r.type == CREDENTIAL
    )
