"""``puretls selfcheck``: RFC 8448 section 3's key schedule side by side."""

from __future__ import annotations

import io
from typing import Any

import pytest

from cli_helpers import run_puretls
from puretls.cli import selfcheck


def test_every_derived_value_matches_rfc8448() -> None:
    checks = selfcheck.derive_checks(selfcheck.load_vector())
    assert len(checks) == 20
    assert all(check.ok for check in checks), [c.name for c in checks if not c.ok]


def test_selfcheck_prints_each_value_next_to_the_rfc_value() -> None:
    out = io.StringIO()
    assert selfcheck.run_selfcheck(out) == 0
    text = out.getvalue()
    assert "MISMATCH" not in text
    # The RFC 8448 section 3 master secret, as printed by the RFC.
    master = "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919"
    assert f"puretls   {master}" in text
    assert f"RFC 8448  {master}  OK" in text


def test_selfcheck_reports_a_mismatch_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    vector = selfcheck.load_vector()
    tampered: dict[str, Any] = {**vector, "key_schedule": dict(vector["key_schedule"])}
    tampered["key_schedule"]["master_secret"] = "00" * 32
    monkeypatch.setattr(selfcheck, "load_vector", lambda: tampered)
    out = io.StringIO()
    assert selfcheck.run_selfcheck(out) == 1
    assert "MISMATCH" in out.getvalue()
    assert "1 of 20 values MISMATCH" in out.getvalue()


def test_selfcheck_command_exits_zero() -> None:
    result = run_puretls("selfcheck")
    assert result.returncode == 0, result.stderr
    assert b"MISMATCH" not in result.stdout
