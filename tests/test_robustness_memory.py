"""Memory held by an idle established connection (docs/robustness.md).

tracemalloc over a few hundred server connections after their handshakes:
what an idle connection keeps is its traffic secrets, two AEAD objects and
empty buffers.  The handshake's transcript, key schedule stages and
certificate work are gone.  The AEAD objects' native memory is outside
tracemalloc's view; docs/robustness.md gives resident-memory figures too.
"""

from __future__ import annotations

import functools
import gc
import tracemalloc

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.handshake.server13 import ServerTraffic
from puretls.transcript import Transcript
from robustness_helpers import client_config, server_config

N = 300


@functools.cache
def _configs() -> tuple[TLSConfig, TLSConfig]:
    # One config for all connections, as a server shares its context.
    return client_config(verifier=None), server_config()


def _established_server() -> Connection:
    client_cfg, server_cfg = _configs()
    client = Connection(client_cfg)
    server = Connection(server_cfg)
    client.start_handshake()
    for _ in range(6):
        if data := client.data_to_send():
            server.receive_data(data)
        if data := server.data_to_send():
            client.receive_data(data)
    while server.next_event() is not None:
        pass
    assert server.handshake_complete
    return server


def test_idle_server_connection_holds_under_4_kib() -> None:
    _established_server()  # warm caches (certificate parsing, imports)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        servers = [_established_server() for _ in range(N)]
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / N
    assert len(servers) == N
    # Measured 2.9 KB; 4.6 KB while the event queue was a deque and the
    # handshake transcript was kept for every connection.
    assert held < 4 * 1024, f"{held:.0f} bytes per idle connection"


def test_idle_connection_keeps_no_handshake_state() -> None:
    server = _established_server()
    assert isinstance(server._state, ServerTraffic)
    assert server._records.buffered == 0
    assert server._reassembler.buffered == 0
    assert not server._flight and not server._outgoing
    gc.collect()
    reachable = gc.get_referents(*gc.get_referents(server, *vars(server).values()))
    assert not any(isinstance(obj, Transcript) for obj in reachable)


def test_idle_client_keeps_no_transcript_without_post_handshake_auth() -> None:
    from puretls.handshake.client13 import ClientTraffic

    client_cfg, server_cfg = _configs()
    client, server = Connection(client_cfg), Connection(server_cfg)
    client.start_handshake()
    for _ in range(6):
        if data := client.data_to_send():
            server.receive_data(data)
        if data := server.data_to_send():
            client.receive_data(data)
    assert isinstance(client._state, ClientTraffic)
    assert client._state.transcript is None
