"""IAM policy evaluation over plain documents: what a statement says about a read, and which ARNs it reaches.

``aws_verdict`` answers for one document, one action, one ARN and one principal, as AWS evaluates it (an explicit
deny wins, unknown conditions over-report readers). The reach functions answer the same question for every ARN of
a derivation at once (``ArnIndex``, ``identity_reach``, ``allow_names``), so that ``platform_secrets.access.matrix``
judges a role on the entries its documents can speak of, not on every entry of the environment: the derivation
stays linear in the catalog (a role per service, entries per service) instead of quadratic.
"""

from __future__ import annotations

import bisect
import fnmatch
from collections.abc import Iterable
from typing import Any

READ_VALUE = "secretsmanager:GetSecretValue"
"""The action that reads a value: an entry is readable by whoever may perform it on its ARN."""


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    statements = doc.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, *, case: bool) -> bool:
    """IAM matching with ``*`` and ``?`` (actions case-insensitive, ARNs case-sensitive)."""
    for pattern in _as_list(patterns):
        pattern, subject = (str(pattern), value) if case else (str(pattern).lower(), value.lower())
        if fnmatch.fnmatchcase(subject, pattern.replace("[", "[[]")):
            return True
    return False


def _principal_matches(principal_block: Any, principal: str | None, *, by_account: bool) -> bool:
    """Whether a statement's ``Principal`` covers ``principal`` (None: an unnamed one).

    ``by_account`` False: naming the principal's account (its root or bare id) does not count. A principal
    that is no ARN (a bare account id, a service name) has no account: only its own name covers it.
    """
    if principal_block == "*":
        return True
    if not isinstance(principal_block, dict):
        return False
    named = [str(p) for p in _as_list(principal_block.get("AWS") or [])]
    if "*" in named:
        return True
    if principal is None:
        return False
    if not by_account or principal.count(":") < 5:
        return principal in named
    account = principal.split(":")[4]
    return principal in named or account in named or f"arn:aws:iam::{account}:root" in named


_NEGATED = {"StringNotEquals", "ArnNotEquals", "StringNotLike", "ArnNotLike"}
_POSITIVE = {"StringEquals", "ArnEquals", "StringLike", "ArnLike"}


def _conditions_hold(condition: dict[str, Any], principal: str | None) -> bool | None:
    """Whether a statement's aws:PrincipalArn conditions hold for ``principal``.

    True or False when every condition is on ``aws:PrincipalArn`` (None: an unnamed principal,
    which no list names); None when another condition decides (unknown here).
    """
    result = True
    for operator, block in (condition or {}).items():
        op = operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:")
        op = op.removesuffix("IfExists")
        for key, values in (block or {}).items():
            if key.lower() != "aws:principalarn" or op not in _NEGATED | _POSITIVE:
                return None
            listed = principal is not None and (
                _matches(values, principal, case=True)
                if op.endswith("Like")
                else principal in _as_list(values)
            )
            result = result and (not listed if op in _NEGATED else listed)
    return result


def aws_verdict(
    doc: dict[str, Any] | None,
    action: str,
    arn: str,
    principal: str | None,
    *,
    by_account: bool = True,
) -> str | None:
    """ "Deny", "Allow" or None: what ``doc`` says about ``principal`` doing ``action`` on ``arn``.

    ``principal`` None evaluates an identity policy (no Principal element), or, for a resource
    policy, a principal that no statement names. A statement whose conditions are unknown here
    counts as allowing (it may) and not as denying (it may not): readers are over-reported, never
    hidden. ``by_account`` False: an Allow that names only the principal's account (its root) does
    not count (a deny naming the account still does).
    """
    if doc is None:
        return None
    verdict = None
    for st in _statements(doc):
        if "Action" in st and not _matches(st["Action"], action, case=False):
            continue
        if "NotAction" in st and _matches(st["NotAction"], action, case=False):
            continue
        if "Resource" in st and not _matches(st["Resource"], arn, case=True):
            continue
        if "NotResource" in st and _matches(st["NotResource"], arn, case=True):
            continue
        if "Principal" in st and not _principal_matches(
            st["Principal"], principal, by_account=by_account or st.get("Effect") == "Deny"
        ):
            continue
        holds = _conditions_hold(st.get("Condition", {}), principal)
        if st.get("Effect") == "Deny" and holds:
            return "Deny"
        if st.get("Effect") == "Allow" and holds is not False:
            verdict = "Allow"
    return verdict


def _named_principals(doc: dict[str, Any]) -> set[str]:
    """Principals a resource policy names (in Principal or an aws:PrincipalArn condition)."""
    found: set[str] = set()
    for st in _statements(doc):
        for block in (st.get("Condition") or {}).values():
            for key, values in (block or {}).items():
                if key.lower() == "aws:principalarn":
                    found.update(str(v) for v in _as_list(values) if "*" not in str(v))
        principal = st.get("Principal")
        if isinstance(principal, dict):
            found.update(str(p) for p in _as_list(principal.get("AWS") or []) if p != "*")
    return found


# --- reach: the ARNs a document speaks of, every ARN at once ---


def _wildcard_at(pattern: str) -> int:
    """Where the first ``*`` or ``?`` of an IAM pattern is; -1 when it has none (one literal ARN)."""
    cuts = [i for i in (pattern.find("*"), pattern.find("?")) if i >= 0]
    return min(cuts) if cuts else -1


class ArnIndex:
    """The regional ARNs of one derivation, searchable by ``Resource`` pattern without trying each one.

    ``matching(patterns)`` is the set of ARNs ``arn`` for which ``_matches(patterns, arn, case=True)`` holds: a
    literal pattern is one lookup, a pattern with ``*`` or ``?`` is tried only on the ARNs that begin with its
    literal part (the sorted ARNs, bisected).
    """

    def __init__(self, arns: Iterable[str]) -> None:
        self.all = frozenset(arns)
        self._sorted = sorted(self.all)

    def matching(self, patterns: Any) -> set[str]:
        found: set[str] = set()
        for pattern in map(str, _as_list(patterns)):
            cut = _wildcard_at(pattern)
            if cut < 0:
                found.update(self.all & {pattern})
                continue
            prefix = pattern[:cut]
            for i in range(bisect.bisect_left(self._sorted, prefix), len(self._sorted)):
                arn = self._sorted[i]
                if not arn.startswith(prefix):
                    break
                if _matches(pattern, arn, case=True):
                    found.add(arn)
        return found


def identity_reach(doc: dict[str, Any], action: str, index: ArnIndex) -> tuple[set[str], set[str]]:
    """(ARNs of ``index`` on which identity policy ``doc`` denies ``action``, those on which it allows it).

    ``aws_verdict(doc, action, arn, None)`` for every ARN at once: "Deny" for the first set, "Allow" for the
    second (which holds no denied ARN), None for the rest.
    """
    deny: set[str] = set()
    allow: set[str] = set()
    for st in _statements(doc):
        if "Action" in st and not _matches(st["Action"], action, case=False):
            continue
        if "NotAction" in st and _matches(st["NotAction"], action, case=False):
            continue
        if "Principal" in st and not _principal_matches(st["Principal"], None, by_account=True):
            continue
        holds = _conditions_hold(st.get("Condition", {}), None)
        if st.get("Effect") == "Deny" and holds:
            target = deny
        elif st.get("Effect") == "Allow" and holds is not False:
            target = allow
        else:
            continue
        reach = index.matching(st["Resource"]) if "Resource" in st else set(index.all)
        if "NotResource" in st:
            reach -= index.matching(st["NotResource"])
        target |= reach
    return deny, allow - deny


def allow_names(doc: dict[str, Any] | None) -> frozenset[str] | None:
    """The principals an Allow of resource policy ``doc`` may grant by their own name; None: it may grant anyone.

    As ``aws_verdict(..., by_account=False)`` reads an Allow: only a principal its ``Principal.AWS`` lists (an
    account's root grants a role nothing by name), or anyone when the Allow names ``*`` or has no ``Principal``.
    Conditions only narrow an Allow, so a principal outside this set is never allowed by name.
    """
    names: set[str] = set()
    for st in _statements(doc or {}):
        if st.get("Effect") != "Allow":
            continue
        if "Principal" not in st or st["Principal"] == "*":
            return None
        block = st["Principal"]
        if isinstance(block, dict):
            named = {str(p) for p in _as_list(block.get("AWS") or [])}
            if "*" in named:
                return None
            names |= named
    return frozenset(names)
