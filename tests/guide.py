"""The Secrets Handling Guide's "Required Secrets by Service", transcribed once for the tests.

``tests/model/test_guide_conformance.py`` holds the catalog to it (and this transcription to the guide's text); tests
of hand-written documents (the runbooks) require the guide's services and keys, so that a service added to the
catalog needs no edit of them to keep the suite green.
"""

from __future__ import annotations

from platform_secrets.model.catalog import Rule
from tests import catalog_facts

GUIDE = catalog_facts.ROOT.parent / "shared" / "seeds" / "000_83cc7a687aa0d224.txt"

# The guide's "Required Secrets by Service", transcribed: heading -> (catalog service, path, keys).
# A key: (secret or setting, required in prod, rules in force in prod).
SECRET, SETTING = "secret", "setting"
GUIDE_SERVICES: dict[str, tuple[str, str, dict[str, tuple[str, bool, set[Rule]]]]] = {
    "backend (Fastify)": (
        "backend",
        "backend",
        {
            "JWT_SECRET": (SECRET, True, set()),
            "OTP_PEPPER": (SECRET, True, set()),
            "REDIS_URL": (SECRET, False, set()),  # a connection URL carries a password
        },
    ),
    "agent7-messaging (Express)": (
        "agent7-messaging",
        "agent7-messaging",
        {"JWT_SECRET": (SECRET, True, set())},
    ),
    "services/media (Express)": (
        "media",
        "services/media",
        {
            "S3_ACCESS_KEY_ID": (SECRET, True, set()),
            "S3_SECRET_ACCESS_KEY": (SECRET, True, set()),
            "S3_ENDPOINT": (SETTING, False, set()),
            "S3_REGION": (SETTING, False, set()),
            "S3_BUCKET": (SETTING, False, set()),
            "CORS_ORIGIN": (SETTING, False, {Rule.NO_WILDCARD}),  # must not be `*` in production
        },
    ),
    "agent9-search": (
        "agent9-search",
        "agent9-search",
        {
            "TYPESENSE_API_KEY": (SECRET, True, set()),
            "TYPESENSE_PROTOCOL": (SETTING, False, {Rule.HTTPS_PROTOCOL}),  # `=https`
        },
    ),
    "events_service (FastAPI)": (
        "events-service",
        "events_service",
        {
            "EVENTS_SECRET_KEY": (SECRET, True, set()),
            "EVENTS_DATABASE_URL": (SECRET, False, set()),  # a connection URL carries a password
            "EVENTS_BASE_URL": (SETTING, False, {Rule.HTTPS_URL}),  # should be https in production
        },
    ),
    "Linear Integration": (
        "linear-integration",
        ".env.linear",
        {"LINEAR_API_KEY": (SECRET, False, set())},  # the guide's file holds it without a name
    ),
}


def guide_services() -> list[str]:
    """The catalog names of the guide's services."""
    return [name for name, _, _ in GUIDE_SERVICES.values()]


def guide_keys() -> dict[str, list[str]]:
    """service -> the guide's keys of it (secrets and settings)."""
    return {name: list(keys) for name, _, keys in GUIDE_SERVICES.values()}
