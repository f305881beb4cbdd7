"""Bulk throughput over one TLS 1.3 connection on loopback, each direction.

The client process drives: for upload it writes ``volume`` bytes in writes
of ``write_size`` and waits for a one-byte acknowledgement; for download it
sends a request and reads until ``volume`` bytes have arrived.  The volume
is calibrated per stack with a short trial so that each measurement lasts
about ``seconds`` (and never more than ``MAX_VOLUME``).  MB/s is 10^6 bytes
of application data per second of client wall time.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    Material,
    Summary,
    cpu_seconds,
    fmt,
    fmt_ratio,
    ratio,
    rotated,
    summarize,
    table,
)
from bench.procs import run_pair
from bench.stacks import Case, Client, Server, check_negotiated

SUITES = ("aes128gcm", "aes256gcm", "chacha20")
WRITE_SIZES = (16384, 1024)
DIRECTIONS = ("c2s", "s2c")
MAX_VOLUME = 512 << 20
_REQUEST = struct.Struct("!cQI")  # op, volume, write size
_READ = 1 << 18


@dataclass(frozen=True, slots=True)
class BulkCase:
    suite: str
    direction: str
    write_size: int

    @property
    def label(self) -> str:
        return f"{self.suite} {self.direction} {self.write_size // 1024}KiB"


def _read_exact(conn: Any, count: int) -> bytes:
    parts = []
    while count > 0:
        data = conn.recv(min(count, _READ))
        if not data:
            raise EOFError("peer closed early")
        parts.append(data)
        count -= len(data)
    return b"".join(parts)


def _drain(conn: Any, count: int) -> None:
    while count > 0:
        data = conn.recv(min(count, _READ))
        if not data:
            raise EOFError("peer closed early")
        count -= len(data)


def _write(conn: Any, volume: int, write_size: int) -> None:
    block = b"\xa5" * write_size
    full, rest = divmod(volume, write_size)
    for _ in range(full):
        conn.sendall(block)
    if rest:
        conn.sendall(block[:rest])


def _serve(stack: str, material: Material, case: Case) -> Any:
    def body(listen: socket.socket, stop: Any, _pipe: Any) -> dict[str, Any]:
        listen.settimeout(30)
        raw, _ = listen.accept()
        raw.setblocking(True)
        conn = Server(stack, material, case).wrap(raw)
        cpu_per_command: list[float] = []
        try:
            while True:
                op, volume, write_size = _REQUEST.unpack(_read_exact(conn, _REQUEST.size))
                cpu0 = cpu_seconds()
                if op == b"U":
                    _drain(conn, volume)
                    conn.sendall(b"k")
                elif op == b"D":
                    _write(conn, volume, write_size)
                else:
                    return {"cpu_per_command": cpu_per_command}
                cpu_per_command.append(cpu_seconds() - cpu0)
        finally:
            raw.close()

    return body


def _transfer(conn: Any, bulk: BulkCase, volume: int) -> float:
    t0 = time.perf_counter()
    if bulk.direction == "c2s":
        conn.sendall(_REQUEST.pack(b"U", volume, bulk.write_size))
        _write(conn, volume, bulk.write_size)
        if _read_exact(conn, 1) != b"k":
            raise RuntimeError("bad acknowledgement")
    else:
        conn.sendall(_REQUEST.pack(b"D", volume, bulk.write_size))
        _drain(conn, volume)
    return time.perf_counter() - t0


def _drive(stack: str, material: Material, bulk: BulkCase, seconds: float) -> Any:
    def body(port: int) -> dict[str, Any]:
        case = Case("ecdsa", "x25519", bulk.suite)
        conn = Client(stack, material, case).connect(port)
        mismatch = check_negotiated(stack, conn, case)
        # Trial: small enough for tlslite-ng (~0.4 MB/s), big enough to warm up.
        trial = 16 << 10 if stack == "tlslite" else 4 << 20
        elapsed = _transfer(conn, bulk, trial)
        volume = int(min(MAX_VOLUME, max(trial, trial / elapsed * seconds)))
        cpu0 = cpu_seconds()
        elapsed = _transfer(conn, bulk, volume)
        cpu = cpu_seconds() - cpu0
        conn.sendall(_REQUEST.pack(b"Q", 0, 0))
        conn.close()
        return {
            "mbps": volume / elapsed / 1e6,
            "volume": volume,
            "client_cpu": cpu,
            "mismatch": mismatch,
        }

    return body


def measure_once(stack: str, material: Material, bulk: BulkCase, seconds: float) -> dict[str, Any]:
    case = Case("ecdsa", "x25519", bulk.suite)
    server, client = run_pair(
        _serve(stack, material, case), _drive(stack, material, bulk, seconds), seconds * 6 + 30
    )
    volume = client.get("volume")
    server_cpus = server.get("cpu_per_command") or []
    busiest = None
    if volume and client.get("client_cpu") is not None and len(server_cpus) >= 2:
        # MB per CPU-second of the busier side: what one core could carry,
        # much less disturbed than wall-clock MB/s when the machine is shared.
        busiest = volume / max(client["client_cpu"], server_cpus[1], 1e-9) / 1e6
    return {
        "stack": stack,
        "case": bulk.label,
        "error": client.get("error") or server.get("error"),
        "mismatch": client.get("mismatch"),
        "mbps": client.get("mbps"),
        "mb_per_cpu_s": busiest,
        "volume": volume,
        "client_cpu": client.get("client_cpu"),
        "server_cpu": server_cpus[1] if len(server_cpus) >= 2 else None,
    }


@dataclass
class BulkResult:
    bulk: BulkCase
    runs: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, stack: str, key: str = "mbps") -> Summary | None:
        return summarize(
            [
                r[key]
                for r in self.runs
                if r["stack"] == stack and r[key] and not r["error"] and not r["mismatch"]
            ]
        )

    def problems(self, stack: str) -> list[str]:
        return sorted(
            {
                r["error"] or f"negotiated something else: {r['mismatch']}"
                for r in self.runs
                if r["stack"] == stack and (r["error"] or r["mismatch"])
            }
        )


def default_cases(full: bool) -> list[BulkCase]:
    return [
        BulkCase(suite, direction, size)
        for suite in SUITES
        for size in WRITE_SIZES
        for direction in DIRECTIONS
    ]


def run(
    material: Material,
    stacks: list[str],
    cases: list[BulkCase],
    repeats: int,
    seconds: float,
    progress: Any = print,
) -> list[BulkResult]:
    results = []
    for bulk in cases:
        result = BulkResult(bulk)
        for turn in range(repeats):
            for stack in rotated(stacks, turn):
                # tlslite-ng's pure-Python AES runs at well under 1 MB/s: one
                # repeat of it is enough to place it three orders of magnitude down.
                if stack == "tlslite" and turn > 0:
                    continue
                record = measure_once(stack, material, bulk, seconds)
                result.runs.append(record)
                progress(
                    f"  bulk {bulk.label:<22} {stack:<8} "
                    + (
                        f"{record['mbps']:.2f} MB/s"
                        if record["mbps"] and not record["error"]
                        else str(record["error"] or record["mismatch"])
                    )
                )
        results.append(result)
    return results


def report(results: list[BulkResult], stacks: list[str]) -> str:
    headers = ["suite direction write", *[f"{s} MB/s" for s in stacks], "puretls/ssl"]
    if "tlslite" in stacks:
        headers.append("puretls/tlslite")
    headers += ["MB/CPU-s puretls", "ssl", "/ssl"]
    rows = []
    notes = []
    for result in results:
        row = [result.bulk.label]
        for stack in stacks:
            digits = 2 if stack == "tlslite" else 0
            row.append(fmt(result.summary(stack), digits=digits))
            notes += [f"{result.bulk.label} {stack}: {p}" for p in result.problems(stack)]
        row.append(fmt_ratio(ratio(result.summary("puretls"), result.summary("ssl"))))
        if "tlslite" in stacks:
            row.append(fmt_ratio(ratio(result.summary("puretls"), result.summary("tlslite"))))
        per_cpu = [result.summary(s, "mb_per_cpu_s") for s in ("puretls", "ssl")]
        row += [fmt(per_cpu[0]), fmt(per_cpu[1]), fmt_ratio(ratio(per_cpu[0], per_cpu[1]))]
        rows.append(row)
    text = table(headers, rows)
    return text + "".join(f"\nnote: {n}" for n in notes)


def to_json(results: list[BulkResult], stacks: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "case": r.bulk.label,
            "runs": r.runs,
            "summary": {s: (x.as_dict() if (x := r.summary(s)) else None) for s in stacks},
            "summary_mb_per_cpu_s": {
                s: (x.as_dict() if (x := r.summary(s, "mb_per_cpu_s")) else None) for s in stacks
            },
        }
        for r in results
    ]
