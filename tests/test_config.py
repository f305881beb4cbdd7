"""TLSConfig: the frozen configuration and its cheap copy-with-changes."""

from __future__ import annotations

import dataclasses

import pytest

from puretls.config import TLSConfig


def test_replace_gives_what_dataclasses_replace_gives() -> None:
    config = TLSConfig(is_server=False, server_name="example.com", alpn_protocols=(b"h2",))
    changed = config.replace(server_name="other.example", early_data=True)
    assert changed == dataclasses.replace(config, server_name="other.example", early_data=True)
    assert changed.server_name == "other.example" and changed.early_data
    assert config.server_name == "example.com" and not config.early_data


def test_replace_keeps_shared_objects_shared() -> None:
    # ticket_keys and replay_cache are compare=False and per config by
    # default: a copy must keep using the same ones.
    config = TLSConfig(is_server=True)
    copy = config.replace(session_tickets=0)
    assert copy.ticket_keys is config.ticket_keys
    assert copy.replay_cache is config.replay_cache


def test_replace_rejects_an_unknown_field() -> None:
    with pytest.raises(TypeError):
        TLSConfig(is_server=True).replace(no_such_setting=1)
