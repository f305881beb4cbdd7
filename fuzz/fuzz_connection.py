"""Fuzz targets: a server or a client Connection fed arbitrary bytes.

    python fuzz/fuzz_connection.py server .fuzz/corpus/server -max_total_time=60
    python fuzz/fuzz_connection.py client .fuzz/corpus/client -max_total_time=60

Configs are deterministic (fuzz/common.py), so seeds recorded from real
conversations replay exactly and mutations reach the encrypted handshake and
the traffic states.  Promise checked: only TLSError escapes, at most one
fatal alert is queued, and a failed connection stays closed.
"""

from __future__ import annotations

import contextlib
import sys

try:
    import atheris
except ImportError:  # the test suite replays the seeds without atheris
    atheris = None

with atheris.instrument_imports(include=["puretls"]) if atheris else contextlib.nullcontext():
    from common import chunks, client_config, server_config

    from puretls.connection import Connection
    from puretls.errors import ConnectionClosed, TLSError


class _Counting(Connection):
    fatal_alerts = 0

    def _send_alert(self, level, description):  # type: ignore[no-untyped-def]
        if int(level) == 2:
            self.fatal_alerts += 1
        super()._send_alert(level, description)


def _drive(conn: _Counting, data: bytes) -> None:
    try:
        for piece in chunks(data):
            conn.receive_data(piece)
            conn.data_to_send()
            while conn.next_event() is not None:
                pass
            if conn.handshake_complete and not conn.closed:
                conn.send_data(b"ping")
                conn.data_to_send()
        conn.receive_data(b"")
    except TLSError:
        pass
    if conn.fatal_alerts > 1:
        raise AssertionError(f"{conn.fatal_alerts} fatal alerts queued")
    if conn.error is not None:
        if not conn.closed:
            raise AssertionError("failed connection is not closed")
        try:
            conn.receive_data(b"\x17\x03\x03\x00\x00")
        except ConnectionClosed:
            pass
        else:
            raise AssertionError("failed connection accepted more input")


def server_input(data: bytes) -> None:
    _drive(_Counting(server_config()), data)


def client_input(data: bytes) -> None:
    conn = _Counting(client_config())
    conn.start_handshake()
    conn.data_to_send()
    _drive(conn, data)


if __name__ == "__main__":
    role = sys.argv.pop(1)
    atheris.Setup(sys.argv, server_input if role == "server" else client_input)
    atheris.Fuzz()
