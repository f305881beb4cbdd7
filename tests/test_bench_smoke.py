"""The benchmark suite (bench/) runs on tiny settings and produces numbers.

No timing assertions: these only prove the code paths work (processes start,
stacks negotiate the requested parameters, results reach the JSON file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import memory  # noqa: E402
from bench.common import make_material  # noqa: E402


def test_quick_handshake_run_reports_rates_and_cpu(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "handshake", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "handshakes/s" in proc.stdout
    results = json.loads(out.read_text())
    entry = results["handshake"][0]
    assert entry["case"] == "ecdsa/x25519/aes128gcm"
    for stack in ("puretls", "ssl"):
        summary = entry["summary"][stack]
        assert summary["rate"]["median"] > 0
        assert summary["client_cpu"]["median"] > 0
        assert summary["server_cpu"]["median"] > 0
    assert all(not run["error"] and not run["mismatch"] for run in entry["runs"])
    assert results["floor"]["floors"][0]["client"] > 0


@pytest.mark.parametrize("stack", ["puretls", "ssl"])
def test_memory_holds_twenty_socket_connections(tmp_path: Path, stack: str) -> None:
    result = memory.sockets(stack, make_material(str(tmp_path)), [20], seconds=20)
    assert result["error"] is None
    assert result["points"][-1]["connections"] == 20
    assert result["points"][-1]["rss"] > 0


def test_memory_holds_twenty_sansio_connections(tmp_path: Path) -> None:
    result = memory.sansio(make_material(str(tmp_path)), [20], seconds=20)
    assert "error" not in result
    assert result["points"][-1]["connections"] == 20
    assert result["traced_per_connection"] > 0
