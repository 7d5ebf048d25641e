"""The prod grammar of a CI binding: which external tokens may act as a tooling identity.

Plain Python, no Pulumi: used by the settings (before anything registers) and by the policy pack (on what was
registered), so that both say the same thing in the same words.

GitHub's OIDC token carries ``sub`` (by default ``repo:<owner>/<repo>:environment:<name>`` for a job that
targets an environment, else ``repo:<owner>/<repo>:ref:<ref>`` or ``repo:<owner>/<repo>:pull_request``), and
claims such as ``repository``, ``repository_id`` (immutable), ``environment``, ``ref`` and ``event_name``. A
binding on the repository or a ref is satisfied by a workflow that any branch or pull request can add or change;
a binding on an ``environment`` is satisfied only by a job the environment's protection rules (deployment
branches, required reviewers) let in. So in prod a CI binding names a protected deployment environment, and,
where the binding can express it (Vault's ``bound_claims``), the repository by its immutable id. Azure and GCP
match the token's ``sub`` exactly; GitHub's default ``sub`` names the repository by name only (a customised
subject template can add ``repository_id``; an id in the subject must then be digits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

BRANCH_BINDING = (
    "a workflow of any branch or pull request could satisfy it: in prod a CI binding names a protected "
    "deployment environment (the `environment` claim, or the subject "
    "`repo:<owner>/<repo>:environment:<name>`)"
)
"""The one message, on every store, for a prod CI binding that does not name a deployment environment."""

REPOSITORY_BY_ID = (
    "names the repository by name only: in prod bind `repository_id` too (the immutable id GitHub's token "
    "carries: a repository deleted and re-created, or renamed, under the name would match)"
)
GITHUB_ISSUER = re.compile(r"https://token\.actions\.githubusercontent\.com(/[\w.-]+)?/?")
"""GitHub Actions' OIDC issuer (an enterprise's own ends with its slug)."""
_DIGITS = re.compile(r"\d+")
_PAIR_KEY = re.compile(r"[a-z_]+")


def subject_pairs(subject: str) -> dict[str, str] | None:
    """GitHub's ``sub`` as its ``key:value`` pairs (``repo:acme/x:environment:prod``), or None if it is not one.

    A git ref cannot hold ``:`` (git check-ref-format), so a ``ref:`` pair never hides another pair.
    """
    parts = subject.split(":")
    if len(parts) % 2 or not all(parts):
        return None
    pairs = dict(zip(parts[::2], parts[1::2], strict=True))
    if len(pairs) != len(parts) // 2 or not all(_PAIR_KEY.fullmatch(key) for key in pairs):
        return None
    return pairs


def subject_problem(subject: str, issuer: str | None = None) -> str | None:
    """Why a prod CI token subject (Azure federated credential, GCP ``principal://`` subject) is refused.

    Judged: every subject of GitHub's issuer or GitHub's shape (``repo:…``, a ``principal://`` subject names no
    issuer), and every ``key:value`` subject of another issuer (GitLab's
    ``project_path:…:ref_type:branch:ref:main`` is as branch-bound as GitHub's). Not judged here: a Kubernetes
    ServiceAccount (``system:serviceaccount:…``, the adapters' own rules) and an opaque id (an Entra object id),
    which no workflow file chooses.
    """
    if subject.startswith("system:serviceaccount:"):
        return None
    pairs = subject_pairs(subject)
    github = subject.startswith("repo:") or bool(issuer and GITHUB_ISSUER.fullmatch(issuer))
    if pairs is None and not github:
        return None
    if pairs is None or not pairs.get("environment"):
        return BRANCH_BINDING
    if "repo" not in pairs and "repository_id" not in pairs:
        return "names no repository (`repo:<owner>/<repo>` or `repository_id:<id>`)"
    if "repository_id" in pairs and not _DIGITS.fullmatch(pairs["repository_id"]):
        return "has a `repository_id` that is not a number (GitHub's id is)"
    return None


def claims_problems(claims: Mapping[str, object]) -> list[str]:
    """Why prod Vault ``bound_claims`` of a CI role are refused (empty: accepted)."""
    values = {key: str(value) for key, value in claims.items()}
    environment = values.get("environment") or (
        (subject_pairs(values.get("sub", "")) or {}).get("environment")
    )
    problems = []
    if not environment:
        problems.append(BRANCH_BINDING)
    if not _DIGITS.fullmatch(values.get("repository_id", "")):
        problems.append(REPOSITORY_BY_ID)
    return problems
