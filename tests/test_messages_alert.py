"""Tests for puretls.messages.alert."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.enums import AlertDescription, AlertLevel
from puretls.errors import DecodeError
from puretls.messages import Alert


def test_close_notify_encodes_to_two_bytes() -> None:
    alert = Alert(level=AlertLevel.warning, description=AlertDescription.close_notify)
    assert alert.encode() == b"\x01\x00"


def test_fatal_alert_decodes() -> None:
    alert = Alert.decode(b"\x02\x28")
    assert alert == Alert(level=AlertLevel.fatal, description=AlertDescription.handshake_failure)


@pytest.mark.parametrize("data", [b"", b"\x02", b"\x02\x28\x00", b"\x02\x28\x02\x28"])
def test_alert_of_wrong_length_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        Alert.decode(data)
    assert info.value.alert == AlertDescription.decode_error


@given(st.integers(0, 255), st.integers(0, 255))
def test_alert_round_trips(level: int, description: int) -> None:
    alert = Alert(level=level, description=description)
    assert Alert.decode(alert.encode()) == alert
