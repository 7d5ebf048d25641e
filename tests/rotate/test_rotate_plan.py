"""Which values the rotate command bumps, and how it edits the stack file (pure: built inputs, no store)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml

from platform_secrets.audit.checks import LiveEntry, LiveView
from platform_secrets.audit.declared import DeclaredEntry
from platform_secrets.rotate.plan import due
from platform_secrets.rotate.stackfile import KEY, OVERLAPS, StackEditRefused, bumped, edited

AS_OF = date(2027, 3, 1)


def entry(
    owner: str, key: str, source: str = "generated", days: int | None = 90, keep: bool = False
) -> DeclaredEntry:
    return DeclaredEntry(
        f"p/dev/{owner}/{key}",
        owner,
        key,
        source,
        False,
        days,
        resource=None,  # type: ignore[arg-type]
        keep_previous=keep,
    )


def view(ages: dict[str, int], versions: dict[str, str | None] | None = None) -> LiveView:
    entries = {
        name: LiveEntry(
            name,
            True,
            datetime.combine(AS_OF - timedelta(days=age), datetime.min.time(), UTC),
            current_version=(versions or {}).get(name, "7"),
        )
        for name, age in ages.items()
    }
    return LiveView(scope="p/dev/", entries=entries, matrix={})


def test_a_value_100_days_old_bumps_exactly_its_epoch() -> None:
    old, young = entry("shared", "JWT_SECRET"), entry("backend", "OTP_PEPPER")
    plan = due(
        {old.name: old, young.name: young},
        view({old.name: 100, young.name: 10}),
        AS_OF,
        timedelta(days=14),
    )
    assert plan.bump == {"shared.JWT_SECRET": "2027-03-01"}


def test_a_value_within_due_within_is_bumped_and_one_outside_is_not() -> None:
    near, far = entry("a", "K1"), entry("a", "K2")
    plan = due(
        {near.name: near, far.name: far},
        view({near.name: 80, far.name: 70}),
        AS_OF,
        timedelta(days=14),
    )
    assert set(plan.bump) == {"a.K1"}


def test_a_value_without_a_rotation_period_is_never_due() -> None:
    e = entry("a", "K", days=None)
    assert due({e.name: e}, view({e.name: 1000}), AS_OF, timedelta(days=14)).due == ()


def test_config_and_external_secrets_become_tickets_not_edits() -> None:
    c, x = (
        entry("media", "S3_SECRET_ACCESS_KEY", "config"),
        entry("linear", "LINEAR_API_KEY", "external"),
    )
    plan = due({c.name: c, x.name: x}, view({c.name: 100, x.name: 100}), AS_OF, timedelta(days=14))
    assert plan.bump == {}
    assert {t.config_key: t.runbook for t in plan.tickets} == {
        "media.S3_SECRET_ACCESS_KEY": "runbooks/rotate-secrets.md#config-secrets-redis_url-"
        "s3_access_key_id--s3_secret_access_key-typesense_api_key-events_database_url",
        "linear.LINEAR_API_KEY": "runbooks/rotate-secrets.md#external-secret-linear_api_key",
    }


WITHIN = timedelta(days=14)


def test_bumping_a_keep_previous_value_records_its_current_version_as_previous() -> None:
    jwt, otp = entry("shared", "JWT_SECRET", keep=True), entry("backend", "OTP_PEPPER")
    plan = due({jwt.name: jwt, otp.name: otp}, view({jwt.name: 100, otp.name: 100}), AS_OF, WITHIN)
    assert plan.bump == {"shared.JWT_SECRET": "2027-03-01", "backend.OTP_PEPPER": "2027-03-01"}
    assert plan.overlaps_set == {"shared.JWT_SECRET": "7"}


def test_a_keep_previous_value_whose_version_cannot_be_read_is_held_not_bumped() -> None:
    """Bumping it without recording its version would sign every reader out (no previous value)."""
    jwt = entry("shared", "JWT_SECRET", keep=True)
    plan = due({jwt.name: jwt}, view({jwt.name: 100}, {jwt.name: None}), AS_OF, WITHIN)
    assert plan.bump == {} and plan.overlaps_set == {}
    assert [d.config_key for d in plan.held] == ["shared.JWT_SECRET"]


def test_an_overlap_ends_when_the_new_value_is_older_than_overlap_days() -> None:
    jwt = entry("shared", "JWT_SECRET", keep=True)
    recorded = {"shared.JWT_SECRET": "6"}  # the live current is 7: the rotation was deployed
    assert due({jwt.name: jwt}, view({jwt.name: 14}), AS_OF, WITHIN, recorded).overlaps_ended == (
        "shared.JWT_SECRET",
    )
    assert due({jwt.name: jwt}, view({jwt.name: 13}), AS_OF, WITHIN, recorded).overlaps_ended == ()


def test_an_overlap_whose_rotation_is_not_deployed_yet_is_kept() -> None:
    """The recorded version is still the live current one: the bump is not merged or not deployed."""
    jwt = entry("shared", "JWT_SECRET", keep=True, days=None)
    plan = due({jwt.name: jwt}, view({jwt.name: 200}), AS_OF, WITHIN, {"shared.JWT_SECRET": "7"})
    assert plan.overlaps_ended == ()


def test_an_overlap_of_an_entry_that_no_longer_keeps_its_previous_value_ends() -> None:
    otp = entry("backend", "OTP_PEPPER", days=None)
    plan = due({otp.name: otp}, view({otp.name: 1}), AS_OF, WITHIN, {"backend.OTP_PEPPER": "6"})
    assert plan.overlaps_ended == ("backend.OTP_PEPPER",)


STACK = """\
# a comment that must stay
config:
  platform-secrets:environment: dev  # inline comment
  platform-secrets:rotationEpochs:
    # why OTP was rotated
    backend.OTP_PEPPER: "2026-01-01"
  backend:REDIS_URL:
    secure: v1:AAAABBBBCCCC
  platform-secrets:refreshInterval: 1h
"""


def _config(text: str) -> dict[str, Any]:
    return dict(yaml.safe_load(text)["config"])


def test_the_stack_file_edit_keeps_comments_and_secure_lines_byte_identical() -> None:
    new = bumped(STACK, {"shared.JWT_SECRET": "2027-03-01", "backend.OTP_PEPPER": "2027-03-01"})
    old_lines, new_lines = STACK.splitlines(), new.splitlines()
    assert [line for line in old_lines if "OTP_PEPPER" not in line] == [
        line for line in new_lines if "2027-03-01" not in line
    ]
    assert _config(new)[KEY] == {
        "backend.OTP_PEPPER": "2027-03-01",
        "shared.JWT_SECRET": "2027-03-01",
    }
    assert {k: v for k, v in _config(new).items() if k != KEY} == {
        k: v for k, v in _config(STACK).items() if k != KEY
    }


def test_a_stack_file_without_epochs_gains_the_block_at_the_end_of_config() -> None:
    text = "config:\n  platform-secrets:environment: dev\n\n# trailing comment\n"
    new = bumped(text, {"a.K": "2027-03-01"})
    assert _config(new) == {"platform-secrets:environment": "dev", KEY: {"a.K": "2027-03-01"}}
    assert new.endswith("\n# trailing comment\n")


def test_rotate_is_idempotent() -> None:
    once = bumped(STACK, {"shared.JWT_SECRET": "2027-03-01"})
    assert bumped(once, {"shared.JWT_SECRET": "2027-03-01"}) == once


@pytest.mark.parametrize(
    "text",
    [
        # a flow mapping: the block cannot be edited line by line
        'config:\n  platform-secrets:rotationEpochs: {a.K: "x"}\n',
        # a nested line the editor does not understand
        "config:\n  platform-secrets:rotationEpochs:\n    a.K:\n      nested: 1\n",
    ],
)
def test_an_edit_it_cannot_make_exactly_is_refused_and_writes_nothing(text: str) -> None:
    with pytest.raises(StackEditRefused):
        bumped(text, {"a.K": "2027-03-01"})


def test_overlaps_are_set_and_removed_and_the_block_goes_when_empty() -> None:
    once = edited(STACK, {OVERLAPS: ({"shared.JWT_SECRET": "7"}, ())})
    assert _config(once)[OVERLAPS] == {"shared.JWT_SECRET": "7"}
    assert _config(once)[KEY] == _config(STACK)[KEY]
    twice = edited(once, {OVERLAPS: ({"a.K": "3"}, ("shared.JWT_SECRET",))})
    assert _config(twice)[OVERLAPS] == {"a.K": "3"}
    gone = edited(twice, {OVERLAPS: ({}, ("a.K",))})
    assert gone == STACK


def test_an_overlap_version_that_would_inject_yaml_is_refused() -> None:
    with pytest.raises(StackEditRefused, match="not a version"):
        edited(STACK, {OVERLAPS: ({"a.K": '7"\n  platform-secrets:cloud: gcp'}, ())})


def test_an_epoch_that_would_inject_yaml_is_refused() -> None:
    with pytest.raises(StackEditRefused, match="not an epoch"):
        bumped(STACK, {"a.K": '1"\n  platform-secrets:cloud: gcp'})
