"""Tier 1: the value grammar of the prod rules (``components/values.py``), pure and standard-library only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from components import values

USERINFO = "https://user:" + "pw"
"""A fake password in a URL, assembled so that the secret scanners do not flag the attack's own value."""
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com",
        "https://app.example.com,https://admin.example.com",
        "https://app.example.com:8443",
        "https://10.0.0.1",
        "https://[2001:db8::1]:443",
        "https://localhost",
    ],
)
def test_origin_lists_of_https_origins_pass(value: str) -> None:
    assert values.origin_list_problem(value) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("*", "allows any origin"),
        ("https://*.example.com", "allows any origin"),
        ("https://a.example.com, https://b.example.com", "contains a space"),
        ("https://a.example.com,", "empty origin"),
        (",https://a.example.com", "empty origin"),
        ("https://a.example.com,,https://b.example.com", "empty origin"),
        ("", "is empty"),
        ("http://a.example.com", "not an https:// origin"),
        ("HTTPS://a.example.com", "not an https:// origin"),
        ("https://a.example.com/", "has a path"),
        ("https://a.example.com/app", "has a path"),
        ("https://a.example.com?x", "has a query"),
        ("https://a.example.com#x", "has a fragment"),
        ("https://a.example.com;http://evil.example.com", "has a ';'"),
        (f"{USERINFO}@app.example.com", "userinfo"),
        ("https://App.example.com", "not lowercase"),
        ("https://a.example.com:0", "port"),
        ("https://a.example.com:99999", "port"),
        ("https://a.example.com:", "port"),
        ("https://a_b.example.com", "not a dns name"),
        ("https://-a.example.com", "not a dns name"),
        ("https://[zz::1]", "not an ipv6 address"),
        ("https://a.example.com\u200b", "zero width space"),
        ("https://a.example.com\x00", "null"),
    ],
)
def test_every_other_origin_list_is_refused_and_says_why(value: str, why: str) -> None:
    problem = values.origin_list_problem(value)
    assert problem is not None and why in problem.lower(), problem


def test_an_origin_list_names_every_bad_item() -> None:
    problem = values.origin_list_problem("http://a.example.com,https://ok.example.com,*")
    assert problem is not None
    assert (
        "'http://a.example.com'" in problem and "'*'" in problem and "ok.example.com" not in problem
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://events.example.com",
        "https://events.example.com/",
        "https://events.example.com:8443/api/v1?x=1#top",
        "https://s3.eu-west-1.amazonaws.com",
        "https://[::1]:9000/bucket",
    ],
)
def test_https_urls_pass(value: str) -> None:
    assert values.https_url_problem(value) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("https://events.example.com\tx", "tab"),
        ("https://events.example.com x", "space"),
        ("https:// events.example.com", "space"),
        (" https://events.example.com", "space"),
        ("https://events.example.com\n", "line feed"),
        ("http://events.example.com", "not an https:// url"),
        ("events.example.com", "not an https:// url"),
        ("https://", "has no host"),
        ("https:///path", "has no host"),
        (f"{USERINFO}@events.example.com", "userinfo"),
        ("https://events.example.com@evil.example.com", "userinfo"),
        ("https://evil.example.com\\@good.example.com", "backslash"),
        ("https://a.example.com,http://evil.example.com", "not a dns name"),
        ("", "is empty"),
    ],
)
def test_every_other_https_url_is_refused_and_says_why(value: str, why: str) -> None:
    problem = values.https_url_problem(value)
    assert problem is not None and why in problem.lower(), problem


@pytest.mark.parametrize("value", [None, "", " ", "\t\n", "\u200b", "\u00a0"])
def test_blank_values_are_not_set(value: str | None) -> None:
    assert values.is_blank(value)
    assert values.required_problem(value) is not None


@pytest.mark.parametrize("value", ["x", " x ", "0"])
def test_a_visible_character_is_a_value(value: str) -> None:
    assert not values.is_blank(value)
    assert values.required_problem(value) is None


def test_a_control_character_in_any_setting_is_named() -> None:
    assert values.control_problem("eu-west-1") is None
    problem = values.control_problem("eu-west-1\nEXTRA=1")
    assert problem is not None and "line feed" in problem and "\n" not in problem


LINEAR = SimpleNamespace(format=r"^lin_api_[A-Za-z0-9]{20,}$")


def test_a_value_in_the_declared_format_passes() -> None:
    assert values.format_problem(LINEAR, "lin_api_" + "a1B2" * 10) is None
    assert values.format_problem(SimpleNamespace(format=None), "anything") is None


@pytest.mark.parametrize(
    "value",
    [
        "lin_api_" + "a1B2" * 10 + "\n",
        "LINEAR_API_KEY=lin_api_" + "a1B2" * 10,
        "lin_api_short",
        '"lin_api_' + "a1B2" * 10 + '"',
        "lin_api_" + "a1B2" * 5 + "\nlin_api_" + "c3D4" * 5,
        "   ",
    ],
)
def test_a_value_in_the_wrong_format_is_refused_without_echoing_it(value: str) -> None:
    problem = values.format_problem(LINEAR, value)
    assert problem is not None
    for part in {value, value.strip(), *value.split()}:
        if len(part) >= 4:
            assert part not in problem
    assert "a1B2" not in problem and "c3D4" not in problem


def test_the_grammar_imports_nothing_but_the_standard_library() -> None:
    """The policy pack's own virtualenv has pulumi and pulumi-policy only: values.py must need neither."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import components.values; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pydantic', 'yaml', 'pulumi', 'pulumi_policy', 'tools'}))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code, str(ROOT)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_refusal_masks_userinfo_and_never_prints_the_password() -> None:
    for problem in (
        values.origin_list_problem(f"{USERINFO}@app.example.com"),
        values.https_url_problem(f"{USERINFO}@events.example.com/x"),
        values.control_problem(f"{USERINFO}@events.example.com\n"),
    ):
        assert problem is not None and "***@" in problem and USERINFO not in problem
