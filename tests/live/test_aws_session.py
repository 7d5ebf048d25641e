"""``platform_secrets.live.aws_session``: sessions share botocore's model reader, never credentials or region."""

from __future__ import annotations

import pytest

from platform_secrets.live.aws_session import new_session


def test_two_sessions_share_the_model_loader_but_not_their_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMTHEENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    first = new_session()
    first._session.set_credentials("AKIDSETONTHEFIRST", "first")
    second = new_session()
    loaders = {id(s._session.get_component("data_loader")) for s in (first, second)}
    assert len(loaders) == 1, "one parsed copy of the service models for the process"
    first_key = first.get_credentials().access_key  # type: ignore[union-attr]
    second_key = second.get_credentials().access_key  # type: ignore[union-attr]
    assert (first_key, second_key) == ("AKIDSETONTHEFIRST", "AKIDFROMTHEENVIRONMENT")
    assert first.region_name == second.region_name == "eu-west-1"


def test_a_client_from_a_shared_session_speaks_its_own_region() -> None:
    session = new_session()
    client = session.client("sts", region_name="ap-south-1")
    assert client.meta.region_name == "ap-south-1"
