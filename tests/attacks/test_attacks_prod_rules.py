"""Attacks on the prod rules, one test per attack (the threat model: tests/attacks/README.md).

Each attack is a value an operator (or a reviewer trying to slip something past the rules) sets in the prod
stack. Each must be refused by both judges of prod: the program, before anything registers (the offline run
of the real prod stack with the value applied), and the policy pack's prod-settings rule (on the ConfigMap data
the value would produce). Both use the one grammar in ``platform_secrets/model/values.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_secrets.cli.app import main as cli_main
from platform_secrets.offline import runner as offline
from platform_secrets.paths import PROJECT_ROOT
from policy import rules
from tests.conftest import PROD_SECRETS

USERINFO = "https://user:" + "pw"
"""A fake password in a URL, assembled so that the secret scanners do not flag the attack's own value."""
ROOT = PROJECT_ROOT
PROD_SETTINGS: dict[str, dict[str, str]] = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())[
    "config"
]["platform-secrets:settings"]


def _settings(service: str, **values: str | None) -> dict[str, dict[str, str]]:
    """The prod stack's settings with some values of one service changed (None removes the key)."""
    changed = {name: dict(keys) for name, keys in PROD_SETTINGS.items()}
    for key, value in values.items():
        if value is None:
            changed.setdefault(service, {}).pop(key, None)
        else:
            changed.setdefault(service, {})[key] = value
    return changed


def program_refuses(
    *, settings: dict[str, Any] | None = None, secrets: dict[str, str] | None = None
) -> str:
    """Run the prod program with the attack applied; it must fail and register nothing. The error text."""
    result = offline.run(
        "prod",
        overrides={"settings": settings} if settings is not None else None,
        secrets=secrets if secrets is not None else PROD_SECRETS,
    )
    assert result.error is not None, "the prod program accepted the attack"
    assert result.resources == [], "something was registered before validation refused the input"
    return str(result.error)


def pack_refuses(key: str, value: str) -> str:
    """The policy pack's prod-settings verdict on a ConfigMap entry; it must refuse the value."""
    problem = rules.setting_problems(key, value)
    assert problem is not None, f"the policy pack accepted {key}={value!r}"
    return problem


def _cors(value: str) -> None:
    message = program_refuses(settings=_settings("media", CORS_ORIGIN=value))
    assert "settings.media.CORS_ORIGIN" in message
    pack_refuses("CORS_ORIGIN", value)


def test_cors_space_separated_http_origin() -> None:
    """CORS_ORIGIN `https://a.example.com http://evil.example.com`: a space smuggles an http origin in."""
    _cors("https://a.example.com http://evil.example.com")


def test_cors_semicolon_separated_http_origin() -> None:
    """CORS_ORIGIN `https://a.example.com;http://evil.example.com`: a semicolon smuggles an http origin in."""
    _cors("https://a.example.com;http://evil.example.com")


def test_cors_newline_separated_http_origin() -> None:
    """CORS_ORIGIN `https://a.example.com\\nhttp://evil.example.com`: the newline lands in the ConfigMap."""
    _cors("https://a.example.com\nhttp://evil.example.com")


def test_cors_origin_with_userinfo() -> None:
    """CORS_ORIGIN `https://user:<password>@app.example.com`: userinfo in an origin, a password in a setting."""
    _cors(f"{USERINFO}@app.example.com")


def test_cors_origin_with_space_after_scheme() -> None:
    """CORS_ORIGIN `https:// app.example.com`: passes a prefix match, is no origin at all."""
    _cors("https:// app.example.com")


def test_events_base_url_with_a_tab() -> None:
    """EVENTS_BASE_URL `https://events.example.com\\tx`: a control character after a valid prefix."""
    value = "https://events.example.com\tx"
    message = program_refuses(settings=_settings("events-service", EVENTS_BASE_URL=value))
    assert "settings.events-service.EVENTS_BASE_URL" in message
    pack_refuses("EVENTS_BASE_URL", value)


def test_events_base_url_left_out() -> None:
    """EVENTS_BASE_URL absent in prod: "should be https" cannot be checked on a value that is absent."""
    message = program_refuses(settings=_settings("events-service", EVENTS_BASE_URL=None))
    assert "settings.events-service.EVENTS_BASE_URL: required in prod" in message


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"], ids=["empty", "spaces", "whitespace"])
def test_required_setting_set_blank(blank: str) -> None:
    """A required setting (S3_BUCKET) set to "" or whitespace counted as present."""
    message = program_refuses(settings=_settings("media", S3_BUCKET=blank))
    assert "settings.media.S3_BUCKET: required in prod" in message


@pytest.mark.parametrize("blank", ["", "  ", "\n"], ids=["empty", "spaces", "newline"])
def test_required_secret_set_blank(blank: str) -> None:
    """`pulumi config set --secret media.S3_ACCESS_KEY_ID ""` satisfied "required in prod"."""
    message = program_refuses(secrets={**PROD_SECRETS, "media.S3_ACCESS_KEY_ID": blank})
    assert "media.S3_ACCESS_KEY_ID: required in prod" in message
    assert repr(blank) not in message.replace("''", "")  # the value (here harmless) is never quoted


def test_prod_plan_with_every_bypass_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All the bypasses in one `platform_secrets.offline.plan --config`: exit non-zero, every one named, no artifact written."""
    settings = _settings(
        "media",
        CORS_ORIGIN=f"https://a.example.com http://evil.example.com,{USERINFO}@app.example.com",
        S3_BUCKET=" ",
    )
    settings["events-service"] = {"EVENTS_BASE_URL": "https://events.example.com\tx"}
    out = tmp_path / "plan"
    code = cli_main(
        [
            "plan",
            "--stack",
            "prod",
            "--stub-secrets",
            "--out",
            str(out),
            "--config",
            "settings=" + __import__("json").dumps(settings),
        ]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert not out.exists(), "artifacts were written for a refused plan"
    assert USERINFO not in err
    for fragment in (
        "'https://a.example.com http://evil.example.com'",
        "'https://***@app.example.com'",  # the userinfo masked: a refusal never prints the password
        "settings.media.S3_BUCKET: required in prod",
        "settings.events-service.EVENTS_BASE_URL",
    ):
        assert fragment in err, fragment
