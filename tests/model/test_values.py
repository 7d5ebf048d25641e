"""Tier 1: the value grammar of the prod rules (``platform_secrets/model/values.py``), pure and standard-library only."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from platform_secrets.model import values
from platform_secrets.paths import PROJECT_ROOT

USERINFO = "https://user:" + "pw"
"""A fake password in a URL, assembled so that the secret scanners do not flag the attack's own value."""
ROOT = PROJECT_ROOT


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
        "import sys; sys.path.insert(0, sys.argv[1]); import platform_secrets.model.values; "
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


@pytest.mark.parametrize("value", ["https://[::1", "https://[2001:db8::1"])
def test_an_ipv6_host_without_its_closing_bracket_is_refused(value: str) -> None:
    for problem in (values.origin_list_problem(value), values.https_url_problem(value)):
        assert problem is not None and "closing ']'" in problem, problem


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "is empty; list the exact https origins, comma separated"),
        ("https://a.example.com,", "an empty origin (a stray comma?)"),
        ("https://a.example.com;x", "has a ';'; an origin is https://host[:port] and nothing else"),
        ("https://a.example.com?x", "has a query; an origin is"),
        ("https://a.example.com#x", "has a fragment; an origin is"),
        ("https://a.example.com/x", "has a path; an origin is"),
        ("https://[::1]]", "has characters after the IPv6 address"),
        ("https://", "has no host"),
        (
            f"{USERINFO}@a.example.com",
            "carries userinfo (user:password@); credentials never go in a URL setting",
        ),
    ],
)
def test_an_origin_refusal_says_why_in_the_words_the_pack_prints(value: str, words: str) -> None:
    """The program and the policy pack print the same sentence: an operator greps for it in the runbooks."""
    problem = values.origin_list_problem(value)
    assert problem is not None and words in problem, problem


def test_an_https_url_refusal_says_why_in_the_words_the_pack_prints() -> None:
    assert values.https_url_problem("") == "is empty; an https:// URL is required"
    assert values.required_problem(None) == "not set"
    assert values.required_problem(" ") == "empty (blank after trimming)"
    assert values.https_protocol_problem("http") == "'http' must be 'https'"
    assert values.https_protocol_problem("https") is None


def test_every_bad_origin_is_named_one_after_the_other() -> None:
    assert values.origin_list_problem("http://a,http://b") == (
        "'http://a' is not an https:// origin; 'http://b' is not an https:// origin"
    )


def test_a_blank_item_between_commas_is_an_empty_origin() -> None:
    problem = values.origin_list_problem("https://a.example.com,\u200b")
    assert problem == "an empty origin (a stray comma?)"


def test_characters_after_an_ipv6_address_are_refused() -> None:
    for value in ("https://[::1]]", "https://[::1]x"):
        problem = values.origin_list_problem(value)
        assert problem is not None and problem.endswith("has characters after the IPv6 address")


@pytest.mark.parametrize("port", ["0", "65536", "99999", "", "1x"])
def test_a_port_out_of_range_after_an_ipv6_address_is_refused(port: str) -> None:
    for problem in (
        values.origin_list_problem(f"https://[::1]:{port}"),
        values.https_url_problem(f"https://[::1]:{port}/x"),
    ):
        assert problem is not None and f"port {port!r} is not a number from 1 to 65535" in problem


def test_the_highest_port_passes_and_one_more_is_refused() -> None:
    assert values.origin_list_problem("https://a.example.com:65535") is None
    assert values.origin_list_problem("https://[::1]:65535") is None
    assert values.https_url_problem("https://a.example.com:65536") is not None


def test_a_host_of_253_characters_passes_and_a_longer_one_is_refused() -> None:
    label = "a" * 62
    host = ".".join([label] * 4) + ".a"  # 4 * 63 + 1 = 253 characters
    assert len(host) == 253
    assert values.https_url_problem(f"https://{host}") is None
    problem = values.https_url_problem(f"https://a{host}")
    assert problem is not None and "is not a DNS name" in problem


def test_an_https_url_may_have_an_uppercase_host() -> None:
    """Only origins must be lowercase (browsers send them so); a URL's host is case-insensitive."""
    assert values.https_url_problem("https://Events.Example.com/x") is None


def test_a_userinfo_mask_keeps_the_rest_of_the_url_readable() -> None:
    assert values.shown(f"{USERINFO}@events.example.com/x") == "'https://***@events.example.com/x'"


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "a zero width space ('\\u200b')"),
        ("\u2028", "a line separator ('\\u2028')"),
        ("\u2029", "a paragraph separator ('\\u2029')"),
        ("\x01", "a u+0001 ('\\x01')"),
        ("\x00", "a null ('\\x00')"),
    ],
)
def test_a_control_format_or_line_separator_character_in_a_setting_is_named(
    char: str, name: str
) -> None:
    problem = values.control_problem(f"eu-west-1{char}")
    assert problem is not None and problem.endswith(
        f"contains a control character, {name} at position 9"
    )


def test_a_value_with_trailing_whitespace_gets_that_hint() -> None:
    problem = values.format_problem(LINEAR, "lin_api_short\n")
    assert (
        problem is not None and "(it has leading or trailing whitespace, e.g. a newline" in problem
    )


def test_a_value_with_inner_whitespace_gets_that_hint() -> None:
    problem = values.format_problem(LINEAR, "lin_api_ short")
    assert problem is not None and "(it contains whitespace or a control character)" in problem


def test_a_plain_mismatch_gets_no_whitespace_hint() -> None:
    assert values.format_problem(LINEAR, "lin_api_short") == (
        f"the value does not match the catalog's format {LINEAR.format!r}; the value is not shown"
    )
    assert values.format_problem(LINEAR, " ") == "the value is empty"


def test_each_refusal_is_exactly_its_sentence_with_nothing_around_it() -> None:
    """A refusal reads as one plain sentence after the quoted value: nothing added before or after it."""
    assert values.origin_list_problem("https://") == "'https://' has no host"
    assert (
        values.origin_list_problem("") == "is empty; list the exact https origins, comma separated"
    )
    assert values.origin_list_problem("https://[::1") == (
        "'https://[::1' has an IPv6 address without its closing ']'"
    )
    assert values.https_url_problem("https://a@b.example.com") == (
        "'https://***@b.example.com' carries userinfo (user:password@); "
        "credentials never go in a URL setting"
    )
    assert values.format_problem(LINEAR, "lin_api_short\n") == (
        f"the value does not match the catalog's format {LINEAR.format!r} (it has leading or trailing "
        "whitespace, e.g. a newline at the end of the file); the value is not shown"
    )
    assert values.format_problem(LINEAR, "lin_api_ short") == (
        f"the value does not match the catalog's format {LINEAR.format!r} (it contains whitespace or a "
        "control character); the value is not shown"
    )


def test_an_ipv6_host_without_a_port_passes() -> None:
    assert values.origin_list_problem("https://[::1]") is None
    assert values.https_url_problem("https://[2001:db8::1]/x") is None
