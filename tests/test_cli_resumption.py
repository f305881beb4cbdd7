"""``puretls client --reconnect / --early-data`` against ``puretls server --early-data``."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import puretls_server, run_puretls


def test_client_reconnect_reports_resumption() -> None:
    with puretls_server("--echo") as server:
        assert server.ca_file is not None
        done = run_puretls(
            "client",
            "--cafile",
            str(server.ca_file),
            "--reconnect",
            "--quiet",
            f"localhost:{server.port}",
            stdin=b"hi\n",
        )
    assert done.returncode == 0, done.stderr
    assert b"resumed: yes" in done.stderr
    assert done.stdout == b"hi\n"


def test_client_early_data_is_accepted_and_shown_as_early(tmp_path: Path) -> None:
    request = tmp_path / "request.txt"
    # HTTP/1.1: the server keeps the connection until our close_notify.
    request.write_bytes(b"GET /early HTTP/1.1\r\nHost: localhost\r\n\r\n")
    with puretls_server("--early-data") as server:
        assert server.ca_file is not None
        done = run_puretls(
            "client",
            "--cafile",
            str(server.ca_file),
            "--early-data",
            str(request),
            "--quiet",
            f"localhost:{server.port}",
        )
        line = server.wait_for("EARLY DATA")
    assert done.returncode == 0, done.stderr
    assert b"early data: accepted (40 bytes as 0-RTT)" in done.stderr
    assert b"early data:        40 bytes accepted as 0-RTT" in done.stdout
    assert "GET /early" in line


def test_early_data_refused_by_server_without_the_option_is_resent(tmp_path: Path) -> None:
    request = tmp_path / "request.txt"
    request.write_bytes(b"GET /late HTTP/1.1\r\nHost: localhost\r\n\r\n")
    with puretls_server() as server:
        assert server.ca_file is not None
        done = run_puretls(
            "client",
            "--cafile",
            str(server.ca_file),
            "--early-data",
            str(request),
            "--quiet",
            f"localhost:{server.port}",
        )
    assert done.returncode == 0, done.stderr
    assert b"resumed: yes" in done.stderr
    assert b"sent after the handshake" in done.stderr
    assert b"request:           GET /late" in done.stdout
