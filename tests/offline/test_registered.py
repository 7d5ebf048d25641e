"""The plain shape of registrations knows the SDK's secret wire format without loading the engine."""

from pulumi.runtime import rpc

from platform_secrets.offline import registered


def test_the_secret_wire_format_is_the_sdks() -> None:
    assert (
        rpc._special_sig_key,
        rpc._special_secret_sig,
    ) == (registered.SIG_KEY, registered.SECRET_SIG)


def test_a_serialised_secret_is_unwrapped_and_anything_else_is_left_alone() -> None:
    wrapped = {rpc._special_sig_key: rpc._special_secret_sig, "value": "v"}
    assert registered.unwrap_secret(wrapped) == "v"
    assert registered.unwrap_secret({"value": "v"}) == {"value": "v"}
    assert registered.unwrap_secret("v") == "v"
