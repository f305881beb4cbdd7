"""Resident memory per idle established connection in one server process.

(a) ``sansio``: puretls :class:`~puretls.connection.Connection` server objects
    after an in-memory handshake with a client object (the client is dropped
    at once), no sockets at all.  RSS growth includes allocator slack, so a
    ``tracemalloc`` sample of the same objects is reported beside it.
(b) ``sockets``: a server process (puretls or ssl) accepting N TLS 1.3
    connections from a client process and holding them, each after a
    1-byte exchange in both directions.

Per-connection figure = (RSS at N - RSS before the first connection) / N,
measured at each checkpoint (e.g. 1,000 and 10,000) of the same run.
"""

from __future__ import annotations

import gc
import resource
import socket
import time
import tracemalloc
from typing import Any

from bench.common import Material, cpu_seconds, raise_nofile, rss_bytes, table
from bench.procs import _CTX, _finish, run_pair
from bench.stacks import Case, Client, Server

SPARE_FDS = 64


def fd_budget(wanted: int) -> tuple[int, str | None]:
    """How many connections one process can hold; a note when fewer than wanted."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= wanted + SPARE_FDS:
        return wanted, None
    usable = max(0, hard - SPARE_FDS)
    return usable, f"RLIMIT_NOFILE hard limit {hard}: scaled {wanted} down to {usable}"


def _snapshot(count: int, rss0: int) -> dict[str, Any]:
    gc.collect()
    rss = rss_bytes()
    return {
        "connections": count,
        "rss": rss,
        "rss_delta": rss - rss0,
        "per_connection": (rss - rss0) / count if count else None,
    }


# -- (b) real sockets -------------------------------------------------------------


def _hold_server(stack: str, material: Material, checkpoints: list[int], seconds: float) -> Any:
    def body(listen: socket.socket, stop: Any, _pipe: Any) -> dict[str, Any]:
        total = checkpoints[-1]
        raise_nofile(total + SPARE_FDS)
        server = Server(stack, material, Case())
        listen.settimeout(0.1)
        held: list[Any] = []
        gc.collect()
        rss0 = rss_bytes()
        points = []
        deadline = time.monotonic() + seconds + 30
        while len(held) < total and not stop.is_set() and time.monotonic() < deadline:
            try:
                raw, _ = listen.accept()
            except TimeoutError:
                continue
            raw.setblocking(True)
            conn = server.wrap(raw)
            conn.recv(1)
            conn.sendall(b"s")
            held.append(conn)
            if len(held) in checkpoints:
                points.append(_snapshot(len(held), rss0))
        if held and (not points or points[-1]["connections"] != len(held)):
            points.append(_snapshot(len(held), rss0))
        return {"baseline_rss": rss0, "points": points}

    return body


def _hold_client(stack: str, material: Material, total: int, seconds: float) -> Any:
    def body(port: int) -> dict[str, Any]:
        raise_nofile(total + SPARE_FDS)
        client = Client(stack, material, Case())
        held: list[Any] = []
        t0 = time.perf_counter()
        while len(held) < total and time.perf_counter() - t0 < seconds:
            conn = client.connect(port)
            conn.sendall(b"c")
            conn.recv(1)
            held.append(conn)
        return {"connections": len(held), "seconds": time.perf_counter() - t0}

    return body


def sockets(
    stack: str, material: Material, checkpoints: list[int], seconds: float
) -> dict[str, Any]:
    server, client = run_pair(
        _hold_server(stack, material, checkpoints, seconds),
        _hold_client(stack, material, checkpoints[-1], seconds),
        seconds + 60,
    )
    return {
        "kind": "sockets",
        "stack": stack,
        "error": server.get("error") or client.get("error"),
        "points": server.get("points", []),
        "baseline_rss": server.get("baseline_rss"),
        "client_seconds": client.get("seconds"),
    }


# -- (a) sans-I/O Connection objects --------------------------------------------


def _configs(material: Material) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from puretls.config import CertifiedKey, TLSConfig
    from puretls.enums import CipherSuite, NamedGroup
    from puretls.verify import CertificateVerifier, TrustStore

    certfile, keyfile = material.leaves["ecdsa"]
    with open(certfile, "rb") as handle:
        chain = x509.load_pem_x509_certificates(handle.read())
    with open(keyfile, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    der = tuple(c.public_bytes(serialization.Encoding.DER) for c in chain)
    store = TrustStore()
    with open(material.ca_file, "rb") as handle:
        store.add_pem(handle.read())
    common = {
        "cipher_suites": (CipherSuite.TLS_AES_128_GCM_SHA256,),
        "groups": (NamedGroup.x25519,),
    }
    server = TLSConfig(is_server=True, certificates=(CertifiedKey(der, key),), **common)  # type: ignore[arg-type]
    client = TLSConfig(
        is_server=False,
        server_name="localhost",
        verifier=CertificateVerifier(store),
        **common,  # type: ignore[arg-type]
    )
    return client, server


def in_memory_pair(client_config: Any, server_config: Any) -> tuple[Any, Any]:
    """A completed handshake between two Connection objects, 1 byte each way."""
    from puretls.connection import Connection

    client, server = Connection(client_config), Connection(server_config)
    client.start_handshake()
    for _ in range(8):
        moved = False
        if data := client.data_to_send():
            server.receive_data(data)
            moved = True
        if data := server.data_to_send():
            client.receive_data(data)
            moved = True
        if not moved:
            break
    if not (client.handshake_complete and server.handshake_complete):
        raise RuntimeError("in-memory handshake did not complete")
    client.send_data(b"c")
    server.receive_data(client.data_to_send())
    server.send_data(b"s")
    client.receive_data(server.data_to_send())
    while server.next_event() is not None:
        pass
    return client, server


def _sansio_child(material: Material, checkpoints: list[int], seconds: float, pipe: Any) -> None:
    try:
        client_config, server_config = _configs(material)
        in_memory_pair(client_config, server_config)  # warm caches before the baseline
        # tracemalloc sample: bytes the held server objects keep alive.
        sample = min(200, checkpoints[0])
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        kept = [in_memory_pair(client_config, server_config)[1] for _ in range(sample)]
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        traced = sum(s.size_diff for s in after.compare_to(before, "filename")) / sample
        del kept, before, after
        gc.collect()
        rss0 = rss_bytes()
        held: list[Any] = []
        points = []
        t0 = time.perf_counter()
        cpu0 = cpu_seconds()
        while len(held) < checkpoints[-1] and time.perf_counter() - t0 < seconds:
            held.append(in_memory_pair(client_config, server_config)[1])
            if len(held) in checkpoints:
                points.append(_snapshot(len(held), rss0))
        if held and (not points or points[-1]["connections"] != len(held)):
            points.append(_snapshot(len(held), rss0))
        pipe.send(
            {
                "points": points,
                "baseline_rss": rss0,
                "traced_per_connection": traced,
                "pair_cpu": (cpu_seconds() - cpu0) / max(1, len(held)),
            }
        )
    except BaseException as exc:
        pipe.send({"error": f"sansio: {exc!r}"})


def sansio(material: Material, checkpoints: list[int], seconds: float) -> dict[str, Any]:
    """Run in a fresh child so that the baseline RSS is not the parent's heap."""
    parent, child = _CTX.Pipe()
    process = _CTX.Process(
        target=_sansio_child, args=(material, checkpoints, seconds, child), daemon=True
    )
    process.start()
    result: dict[str, Any] = {"error": f"sansio exceeded {seconds + 60:.0f} s"}
    if parent.poll(seconds + 60):
        result = parent.recv()
    _finish(process, 5)
    return {"kind": "sansio", "stack": "puretls", **result}


def run(
    material: Material,
    stacks: list[str],
    checkpoints: list[int],
    seconds: float,
    progress: Any = print,
) -> dict[str, Any]:
    total, note = fd_budget(checkpoints[-1])
    socket_points = sorted({min(c, total) for c in checkpoints if c > 0})
    results = [sansio(material, checkpoints, seconds)]
    progress(f"  memory sansio puretls {_last(results[-1])}")
    for stack in [s for s in stacks if s in ("puretls", "ssl")]:
        results.append(sockets(stack, material, socket_points, seconds))
        progress(f"  memory sockets {stack} {_last(results[-1])}")
    return {"results": results, "note": note}


def _last(result: dict[str, Any]) -> str:
    if result.get("error"):
        return str(result["error"])
    points = result.get("points") or []
    if not points:
        return "no connections"
    p = points[-1]
    return f"{p['connections']} conns, {p['per_connection'] / 1024:.1f} KiB each"


def report(memory: dict[str, Any]) -> str:
    headers = ["kind", "stack", "connections", "process RSS MB", "RSS growth MB", "KiB/conn"]
    rows = []
    notes = []
    for result in memory["results"]:
        if result.get("error"):
            notes.append(f"{result['kind']} {result['stack']}: {result['error']}")
            continue
        for point in result.get("points", []):
            rows.append(
                [
                    result["kind"],
                    result["stack"],
                    f"{point['connections']:,}",
                    f"{point['rss'] / 1e6:.1f}",
                    f"{point['rss_delta'] / 1e6:.1f}",
                    f"{point['per_connection'] / 1024:.1f}",
                ]
            )
        if "traced_per_connection" in result:
            notes.append(
                f"sansio: tracemalloc says one held server Connection keeps "
                f"{result['traced_per_connection'] / 1024:.1f} KiB of Python objects alive"
            )
    if memory.get("note"):
        notes.append(memory["note"])
    return table(headers, rows) + "".join(f"\nnote: {n}" for n in notes)
