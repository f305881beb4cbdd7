"""Where one puretls handshake spends its time, client and server apart.

N in-memory handshakes between two :class:`~puretls.connection.Connection`
objects; one cProfile profiler is switched on only around the client's calls
and another only around the server's, so each side is profiled alone.
Three views per side, in microseconds per handshake:

* steps: cumulative time of each handshake state's ``handle`` (the
  remainder is record handling, decoding and writing around them);
* components: every function's own time (tottime) summed by where it lives,
  so the rows add up to the total and the "primitive" rows (calls into
  pyca/cryptography and hashlib/hmac) split from the protocol code;
* the top functions by cumulative time.

cProfile slows Python code more than C calls, so the unprofiled time per
side is measured too and printed beside the profiled total.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable
from typing import Any

from bench.common import Material, table
from bench.memory import _configs

Key = tuple[str, int, str]
WAITING = "socket calls, incl. blocking until the peer answers"


def _pump(
    client: Any, server: Any, run_client: Callable[..., Any], run_server: Callable[..., Any]
) -> None:
    run_client(client.start_handshake)
    for _ in range(8):
        moved = False
        if data := run_client(client.data_to_send):
            run_server(server.receive_data, data)
            moved = True
        if data := run_server(server.data_to_send):
            run_client(client.receive_data, data)
            moved = True
        if not moved:
            break
    run_client(client.send_data, b"c")
    run_server(server.receive_data, run_client(client.data_to_send))
    run_server(server.send_data, b"s")
    run_client(client.receive_data, run_server(server.data_to_send))
    while run_server(server.next_event) is not None:
        pass
    while run_client(client.next_event) is not None:
        pass
    if not (client.handshake_complete and server.handshake_complete):
        raise RuntimeError("in-memory handshake did not complete")


def _handshakes(count: int, configs: tuple[Any, Any], run_client: Any, run_server: Any) -> None:
    from puretls.connection import Connection

    client_config, server_config = configs
    for _ in range(count):
        client = run_client(Connection, client_config)
        server = run_server(Connection, server_config)
        _pump(client, server, run_client, run_server)


def _under(profiler: cProfile.Profile) -> Callable[..., Any]:
    def call(fn: Callable[..., Any], *args: Any) -> Any:
        profiler.enable()
        try:
            return fn(*args)
        finally:
            profiler.disable()

    return call


def _timed(totals: list[float]) -> Callable[..., Any]:
    def call(fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            totals[0] += time.perf_counter() - t0

    return call


def _component(key: Key) -> str:
    filename, _line, name = key
    if filename == "~":
        return _builtin_component(name)
    path = filename.replace("\\", "/")
    for part, label in (
        ("puretls/record/", "puretls record layer"),
        ("puretls/messages/", "puretls message codecs"),
        ("puretls/_codec.py", "puretls Reader/Writer"),
        ("puretls/handshake/", "puretls handshake states"),
        ("puretls/crypto/", "puretls crypto wrappers"),
        ("puretls/verify.py", "puretls verify.py"),
        ("puretls/transcript.py", "puretls transcript"),
        ("puretls/connection.py", "puretls connection"),
        ("puretls/sslcompat/", "puretls sslcompat (SSLSocket/SSLObject)"),
        ("puretls/", "puretls other"),
        ("cryptography/", "cryptography Python glue"),
        ("/enum.py", "stdlib enum"),
        ("/hmac.py", "stdlib hmac (Python part)"),
        ("/ssl.py", "stdlib ssl.py (Python part)"),
        ("/socket.py", "stdlib socket.py"),
    ):
        if part in path:
            return label
    return "other Python (stdlib, dataclasses...)"


def _builtin_component(name: str) -> str:
    lowered = name.lower()
    if "hashlib" in lowered or "hmac" in lowered or "_hashlib" in lowered:
        return "PRIMITIVE hash / HMAC"
    if "cryptography" not in lowered:
        if any(f"{call}" in lowered for call in ("recv", "send", "accept", "connect", "close")):
            return WAITING
        if "digest" in lowered or "sha" in lowered:
            return "PRIMITIVE hash / HMAC"
        return "builtins (bytes, int, containers)"
    if "verification" in lowered or "verifier" in lowered or "policy" in lowered:
        return "PRIMITIVE X.509 chain verification"
    if "encrypt" in lowered or "decrypt" in lowered or "aesgcm" in lowered or "chacha" in lowered:
        return "PRIMITIVE AEAD"
    if "x509" in lowered or "certificate" in lowered:
        return "PRIMITIVE X.509 parse / fields"
    if "sign" in lowered or "verify" in lowered:
        return "PRIMITIVE signature"
    if "exchange" in lowered or "generate" in lowered or "public" in lowered or "x25519" in lowered:
        return "PRIMITIVE key exchange"
    return "PRIMITIVE other cryptography"


def _steps(stats: pstats.Stats, count: int) -> list[tuple[str, float]]:
    raw: dict[Key, tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    steps: dict[str, float] = {}
    for key, (_cc, _nc, _tt, ct, _callers) in raw.items():
        filename, _line, name = key
        if "puretls/handshake/" not in filename.replace("\\", "/"):
            continue
        if name in ("start", "handle", "update_write_key"):
            # Cumulative time counted once per state class: the qualified
            # name is not in pstats, so take the line to find the class.
            label = f"{_state_name(filename, key[1])}.{name}"
            steps[label] = steps.get(label, 0.0) + ct
    return sorted(((k, v / count) for k, v in steps.items()), key=lambda kv: -kv[1])


def _state_name(filename: str, line: int) -> str:
    try:
        with open(filename, encoding="utf-8") as handle:
            lines = handle.readlines()[:line]
    except OSError:
        return "?"
    for text in reversed(lines):
        if text.startswith("class "):
            return text[6:].split("(")[0].split(":")[0].strip()
        if text.startswith("def "):
            return "module"
    return "module"


def _components(stats: pstats.Stats, count: int) -> list[tuple[str, float]]:
    raw: dict[Key, tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for key, (_cc, _nc, tt, _ct, _callers) in raw.items():
        label = _component(key)
        totals[label] = totals.get(label, 0.0) + tt
    return sorted(((k, v / count) for k, v in totals.items()), key=lambda kv: -kv[1])


def _top(stats: pstats.Stats, count: int, limit: int) -> list[tuple[str, int, float, float]]:
    raw: dict[Key, tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for key, (_cc, nc, tt, ct, _callers) in raw.items():
        filename, line, name = key
        where = name if filename == "~" else f"{_short(filename)}:{line}({name})"
        rows.append((where, nc // count, tt / count, ct / count))
    rows.sort(key=lambda r: -r[3])
    return rows[:limit]


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for anchor in ("/puretls/", "/cryptography/", "/python3."):
        if anchor in path:
            return path[path.index(anchor) + 1 :]
    return path.rsplit("/", 1)[-1]


def run(material: Material, count: int, top: int = 25) -> dict[str, Any]:
    configs = _configs(material)
    _handshakes(3, configs, _timed([0.0]), _timed([0.0]))  # warm up caches
    # Unprofiled time per side: the fastest of 5 batches, so that other
    # load on a shared machine disturbs the figure as little as possible.
    batch = max(1, count // 5)
    client_best, server_best = float("inf"), float("inf")
    for _ in range(5):
        client_time, server_time = [0.0], [0.0]
        _handshakes(batch, configs, _timed(client_time), _timed(server_time))
        client_best = min(client_best, client_time[0] / batch)
        server_best = min(server_best, server_time[0] / batch)
    profilers = {"client": cProfile.Profile(), "server": cProfile.Profile()}
    _handshakes(count, configs, _under(profilers["client"]), _under(profilers["server"]))
    result: dict[str, Any] = {"handshakes": count}
    for side, profiler in profilers.items():
        stats = pstats.Stats(profiler)
        total = sum(v[2] for v in stats.stats.values()) / count  # type: ignore[attr-defined]
        unprofiled = client_best if side == "client" else server_best
        listing = io.StringIO()
        pstats.Stats(profiler, stream=listing).sort_stats("cumulative").print_stats(top)
        result[side] = {
            "unprofiled_us": unprofiled * 1e6,
            "profiled_us": total * 1e6,
            "steps_us": {k: v * 1e6 for k, v in _steps(stats, count)},
            "components_us": {k: v * 1e6 for k, v in _components(stats, count)},
            "top": [
                {"function": w, "calls": c, "tottime_us": t * 1e6, "cumtime_us": ct * 1e6}
                for w, c, t, ct in _top(stats, count, top)
            ],
        }
    return result


def report(result: dict[str, Any], top: int = 15) -> str:
    out = []
    for side in ("client", "server"):
        data = result[side]
        scale = data["unprofiled_us"] / data["profiled_us"] if data["profiled_us"] else 1.0
        out.append(
            f"{side}: {data['unprofiled_us']:.0f} us per handshake unprofiled (best batch), "
            f"{data['profiled_us']:.0f} us under cProfile ({result['handshakes']} handshakes)"
        )
        rows = [[k, f"{v:.0f}"] for k, v in data["steps_us"].items()]
        out.append(table([f"{side} step (cumulative, profiled)", "us/hs"], rows))
        primitive = sum(v for k, v in data["components_us"].items() if k.startswith("PRIMITIVE"))
        rows = [
            [k, f"{v:.0f}", f"{100 * v / data['profiled_us']:.0f}%"]
            for k, v in data["components_us"].items()
        ]
        rows.append(
            [
                "= primitives / protocol code",
                f"{primitive:.0f} / {data['profiled_us'] - primitive:.0f}",
                f"~{primitive * scale:.0f} / ~{(data['profiled_us'] - primitive) * scale:.0f}"
                " unprofiled",
            ]
        )
        out.append(table([f"{side} component (own time)", "us/hs", "share"], rows))
        rows = [
            [
                t["function"][:78],
                str(t["calls"]),
                f"{t['tottime_us']:.0f}",
                f"{t['cumtime_us']:.0f}",
            ]
            for t in data["top"][:top]
        ]
        out.append(
            table(
                [f"{side} top functions by cumulative time", "calls/hs", "own us", "cum us"], rows
            )
        )
    return "\n\n".join(out)


# -- the same handshake through puretls's ssl-compatible sockets ------------------


def _side_summary(profiler: cProfile.Profile, count: int, top: int) -> dict[str, Any]:
    stats = pstats.Stats(profiler)
    total = sum(v[2] for v in stats.stats.values()) / count  # type: ignore[attr-defined]
    return {
        "profiled_us": total * 1e6,
        "components_us": {k: v * 1e6 for k, v in _components(stats, count)},
        "top": [
            {"function": w, "calls": c, "tottime_us": t * 1e6, "cumtime_us": ct * 1e6}
            for w, c, t, ct in _top(stats, count, top)
        ],
    }


def _socket_server(material: Material, count: int, top: int) -> Any:
    from bench.stacks import Case, Server

    def body(listen: Any, stop: Any, _pipe: Any) -> dict[str, Any]:
        server = Server("puretls", material, Case())
        listen.settimeout(0.1)
        # Wall time (a CPU-time timer costs a system call per event and
        # distorts everything); blocking socket calls show up as their own row.
        profiler = cProfile.Profile()
        done = 0
        while done < count + 3 and not stop.is_set():
            try:
                raw, _ = listen.accept()
            except TimeoutError:
                continue
            raw.setblocking(True)
            if done == 3:
                profiler.enable()
            conn = server.wrap(raw)
            conn.recv(1)
            conn.sendall(b"s")
            conn.close()
            raw.close()
            done += 1
        profiler.disable()
        return _side_summary(profiler, max(1, done - 3), top)

    return body


def _socket_client(material: Material, count: int, top: int) -> Any:
    from bench.stacks import Case, Client

    def body(port: int) -> dict[str, Any]:
        client = Client("puretls", material, Case())
        profiler = cProfile.Profile()
        for i in range(count + 3):
            if i == 3:
                profiler.enable()
            conn = client.connect(port)
            conn.sendall(b"c")
            conn.recv(1)
            conn.close()
        profiler.disable()
        return _side_summary(profiler, count, top)

    return body


def socket_profile(material: Material, count: int, top: int = 25) -> dict[str, Any]:
    """cProfile of puretls client and server over loopback sockets (separate processes)."""
    from bench.procs import run_pair

    server, client = run_pair(
        _socket_server(material, count, top), _socket_client(material, count, top), 120
    )
    return {"handshakes": count, "client": client, "server": server}


def socket_report(result: dict[str, Any], top: int = 20) -> str:
    out = []
    for side in ("client", "server"):
        data = result[side]
        if "error" in data:
            out.append(f"{side}: {data['error']}")
            continue
        out.append(
            f"{side} over sockets: {data['profiled_us']:.0f} us wall per handshake under "
            f"cProfile, {data['profiled_us'] - data['components_us'].get(WAITING, 0):.0f} us "
            f"outside socket calls ({result['handshakes']} handshakes, connect/accept and "
            "close included)"
        )
        rows = [[k, f"{v:.0f}"] for k, v in data["components_us"].items()]
        out.append(table([f"{side} component (own time)", "us/hs"], rows))
        rows = [
            [
                t["function"][:78],
                str(t["calls"]),
                f"{t['tottime_us']:.0f}",
                f"{t['cumtime_us']:.0f}",
            ]
            for t in data["top"][:top]
        ]
        out.append(table([f"{side} top functions (sockets)", "calls/hs", "own us", "cum us"], rows))
    return "\n\n".join(out)


# -- the record path: bulk data through two Connection objects -------------------


def record_profile(material: Material, megabytes: int, write_size: int = 16384) -> dict[str, Any]:
    """Per-record cost of sealing (sender) and opening (receiver), in memory.

    ``megabytes`` MB of application data in ``write_size`` writes from the
    client Connection to the server Connection; each side timed apart and
    then profiled apart, like the handshake profile.
    """
    from bench.memory import in_memory_pair

    configs = _configs(material)
    client, server = in_memory_pair(*configs)
    block = b"\xa5" * write_size
    writes = max(1, megabytes * 1_000_000 // write_size)

    def send(run_client: Any, run_server: Any, count: int) -> None:
        for _ in range(count):
            run_client(client.send_data, block)
            run_server(server.receive_data, run_client(client.data_to_send))
            while run_server(server.next_event) is not None:
                pass

    send(_timed([0.0]), _timed([0.0]), 50)  # warm up
    sender, receiver = [0.0], [0.0]
    send(_timed(sender), _timed(receiver), writes)
    profilers = {"sender": cProfile.Profile(), "receiver": cProfile.Profile()}
    send(_under(profilers["sender"]), _under(profilers["receiver"]), writes)
    result: dict[str, Any] = {"writes": writes, "write_size": write_size}
    for side, seconds in (("sender", sender[0]), ("receiver", receiver[0])):
        summary = _side_summary(profilers[side], writes, 12)
        summary["unprofiled_us"] = seconds / writes * 1e6
        summary["mb_per_s"] = writes * write_size / seconds / 1e6
        result[side] = summary
    return result


def record_report(result: dict[str, Any], top: int = 12) -> str:
    out = []
    for side in ("sender", "receiver"):
        data = result[side]
        out.append(
            f"{side}: {data['unprofiled_us']:.1f} us per {result['write_size']}-byte write "
            f"unprofiled ({data['mb_per_s']:.0f} MB/s of one core), "
            f"{data['profiled_us']:.1f} us under cProfile"
        )
        rows = [[k, f"{v:.1f}"] for k, v in data["components_us"].items()]
        out.append(table([f"{side} component (own time)", "us/write"], rows))
        rows = [
            [
                t["function"][:78],
                str(t["calls"]),
                f"{t['tottime_us']:.1f}",
                f"{t['cumtime_us']:.1f}",
            ]
            for t in data["top"][:top]
        ]
        out.append(table([f"{side} top functions", "calls/write", "own us", "cum us"], rows))
    return "\n\n".join(out)
