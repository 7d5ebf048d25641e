"""The value grammar of the prod rules: origin lists, https URLs, "required", a secret's declared format.

One module, standard library only, used by the stack model (``platform_secrets.model.stack_model``), by the policy pack
(``policy/``, whose own virtualenv has no pydantic or PyYAML) and by the env tool's ``push``: a value the
program refuses is refused by the pack too, for the same reason, in the same words.

Every ``*_problem`` function returns why a value breaks the rule, or None. Messages quote a plain setting
with ``repr`` (so a newline or a tab shows as ``\\n``/``\\t`` and cannot forge a line of the report) and
with any userinfo masked (``shown``); a secret's value is never quoted (``format_problem``).

- An **origin list** is one or more ``https://host[:port]`` items separated by single commas, and nothing
  else: no path (not even ``/``), query, fragment, userinfo, whitespace, control character, ``*`` or empty
  item. Hosts are lowercase, as browsers send them in the ``Origin`` header.
- An **https URL** is absolute, starts with ``https://``, has a host (a DNS name, an IPv4 address or a
  bracketed IPv6 address, with an optional port), no userinfo, and no whitespace or control character
  anywhere. A path, query or fragment may follow.
- **Required** means present and not blank: a value made only of whitespace, control or format characters
  (a zero-width space) counts as absent.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Protocol

HTTPS = "https://"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PORT = re.compile(r"[1-9][0-9]{0,4}")


_NAMES = {"\t": "tab", "\n": "line feed", "\r": "carriage return", " ": "space", "\x00": "null"}


def _name(char: str) -> str:
    return _NAMES.get(char) or unicodedata.name(char, f"U+{ord(char):04X}").lower()


def _invisible(char: str) -> bool:
    # isspace() covers the line and paragraph separators (Zl, Zp) too.
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


_USERINFO = re.compile(r"(//)[^/?#@\\]*@")


def shown(value: str) -> str:
    """A plain setting quoted for a message: ``repr`` (control characters visible), any userinfo masked.

    A password in a URL setting is exactly what the grammar refuses; the refusal must not print it.
    """
    return repr(_USERINFO.sub(r"\1***@", value))


def is_blank(value: str | None) -> bool:
    """Whether a value counts as absent: None, empty, or only whitespace, control or format characters."""
    return value is None or all(_invisible(char) for char in value)


def _control_or_space(value: str) -> str | None:
    """The first whitespace or control/format character of ``value``, named, or None."""
    for index, char in enumerate(value):
        if _invisible(char):
            return f"a {_name(char)} ({char!r}) at position {index}"
    return None


def control_problem(value: str) -> str | None:
    """Why a plain setting may not be delivered as is: a control or line-break character in it, or None.

    A newline in a setting lands in the ConfigMap and in generated ``.env`` files, where it starts a new
    variable; no setting needs one.
    """
    for index, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"{shown(value)} contains a control character, a {_name(char)} ({char!r}) at position {index}"
    return None


def _host_port_problem(hostport: str, *, lowercase: bool) -> str | None:
    """Why ``host[:port]`` is not a host with an optional port, or None."""
    if not hostport:
        return "has no host"
    if "@" in hostport:
        return "carries userinfo (user:password@); credentials never go in a URL setting"
    if hostport.startswith("["):
        if "]" not in hostport:
            return "has an IPv6 address without its closing ']'"
        end = hostport.index("]")
        host, rest = hostport[1:end], hostport[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"host [{host}] is not an IPv6 address"
        if rest and not rest.startswith(":"):
            return "has characters after the IPv6 address"
        port = rest[1:] if rest else None
    else:
        host, sep, port_text = hostport.partition(":")
        port = port_text if sep else None
        if not _DNS_NAME.fullmatch(host) or len(host) > 253:
            return f"host {host!r} is not a DNS name or an IP address"
        if lowercase and host != host.lower():
            return f"host {host!r} is not lowercase (browsers send origins in lowercase)"
    if port is not None and (not _PORT.fullmatch(port) or int(port) > 65535):
        return f"port {port!r} is not a number from 1 to 65535"
    return None


def origin_problem(origin: str) -> str | None:
    """Why one item of an origin list is not ``https://host[:port]``, or None."""
    if is_blank(origin):
        return "an empty origin (a stray comma?)"
    if "*" in origin:
        return f"{shown(origin)} allows any origin; list the exact https origins"
    if (bad := _control_or_space(origin)) is not None:
        return f"{shown(origin)} contains {bad}; origins are separated by commas only"
    if not origin.startswith(HTTPS):
        return f"{shown(origin)} is not an https:// origin"
    rest = origin[len(HTTPS) :]
    for mark, what in ((";", "a ';'"), ("?", "a query"), ("#", "a fragment"), ("/", "a path")):
        if mark in rest:
            return f"{shown(origin)} has {what}; an origin is https://host[:port] and nothing else"
    problem = _host_port_problem(rest, lowercase=True)
    return f"{shown(origin)} {problem}" if problem else None


def origin_list_problem(value: str) -> str | None:
    """Why ``value`` is not a comma-separated list of ``https://host[:port]`` origins, or None."""
    if is_blank(value):
        return "is empty; list the exact https origins, comma separated"
    problems = [p for item in value.split(",") if (p := origin_problem(item))]
    return "; ".join(problems) if problems else None


def https_url_problem(value: str) -> str | None:
    """Why ``value`` is not one absolute https URL with a host and no userinfo or whitespace, or None."""
    if is_blank(value):
        return "is empty; an https:// URL is required"
    if (bad := _control_or_space(value)) is not None:
        return f"{shown(value)} contains {bad}"
    if not value.startswith(HTTPS):
        return f"{shown(value)} is not an https:// URL"
    rest = value[len(HTTPS) :]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "\\" in authority:
        return f"{shown(value)} has a backslash in its host (browsers read it as a path separator)"
    problem = _host_port_problem(authority, lowercase=False)
    return f"{shown(value)} {problem}" if problem else None


def https_protocol_problem(value: str) -> str | None:
    """Why ``value`` is not exactly ``https``, or None."""
    return None if value == "https" else f"{shown(value)} must be 'https'"


def required_problem(value: str | None) -> str | None:
    """Why a required value counts as absent, or None. The value itself is never quoted."""
    if value is None:
        return "not set"
    if is_blank(value):
        return "empty (blank after trimming)"
    return None


class HasFormat(Protocol):
    """Anything that declares a secret's format: the catalog's ``SecretSpec``."""

    @property
    def format(self) -> str | None: ...


def format_problem(spec: HasFormat, value: str) -> str | None:
    """Why a secret's value does not match its catalog ``format`` (a regex, whole value), or None.

    Never echoes the value, not even in part: the message says which rule failed and, where it helps, where
    whitespace is (a trailing newline from a file is the usual mistake).
    """
    if is_blank(value):
        return "the value is empty"
    pattern = spec.format
    if pattern is None or re.fullmatch(pattern, value):
        return None
    hint = ""
    if value != value.strip():
        hint = " (it has leading or trailing whitespace, e.g. a newline at the end of the file)"
    elif any(_invisible(char) for char in value):
        hint = " (it contains whitespace or a control character)"
    return (
        f"the value does not match the catalog's format {pattern!r}{hint}; the value is not shown"
    )
