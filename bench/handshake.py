"""Full TLS 1.3 handshakes per second and CPU per handshake on each side.

Each connection: TCP connect, full handshake (client verifies the chain),
1 byte client->server, 1 byte server->client, close.  Client and server run
in separate processes; each reads its own CPU time with getrusage and
divides by the handshakes it completed after the warm-up.
"""

from __future__ import annotations

import socket
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
    sys_seconds,
    table,
)
from bench.procs import run_pair
from bench.stacks import VERIFIES, Case, Client, Server, check_negotiated

WARMUP = 3

DEFAULT_CASES = (
    Case("ecdsa", "x25519", "aes128gcm"),  # the headline case
    Case("rsa", "x25519", "aes128gcm"),
    Case("ed25519", "x25519", "aes128gcm"),
    Case("ecdsa", "secp256r1", "aes128gcm"),
    Case("ecdsa", "x25519", "chacha20"),
)


def full_cases() -> list[Case]:
    return [
        Case(key, group, suite)
        for key in ("ecdsa", "rsa", "ed25519")
        for group in ("x25519", "secp256r1")
        for suite in ("aes128gcm", "chacha20")
    ]


@dataclass(frozen=True, slots=True)
class Limits:
    count: int  # handshakes per measurement, at most
    seconds: float  # wall time per measurement, at most


def _serve(stack: str, material: Material, case: Case) -> Any:
    def body(listen: socket.socket, stop: Any, _pipe: Any) -> dict[str, Any]:
        server = Server(stack, material, case)
        listen.settimeout(0.1)
        done = 0
        cpu_start = cpu_end = cpu_seconds()
        sys_start = sys_end = sys_seconds()
        mismatch: str | None = None
        while not stop.is_set():
            try:
                raw, _ = listen.accept()
            except TimeoutError:
                continue
            raw.setblocking(True)
            try:
                conn = server.wrap(raw)
                conn.recv(1)
                conn.sendall(b"s")
                if done == 0:
                    mismatch = check_negotiated(stack, conn, case)
                conn.close()
            finally:
                raw.close()
            done += 1
            if done == WARMUP:
                cpu_start, sys_start = cpu_seconds(), sys_seconds()
            cpu_end, sys_end = cpu_seconds(), sys_seconds()
        measured = done - WARMUP
        return {
            "handshakes": measured,
            "cpu_per_handshake": (cpu_end - cpu_start) / measured if measured > 0 else None,
            "sys_per_handshake": (sys_end - sys_start) / measured if measured > 0 else None,
            "mismatch": mismatch,
        }

    return body


def _connect(stack: str, material: Material, case: Case, limits: Limits) -> Any:
    def body(port: int) -> dict[str, Any]:
        client = Client(stack, material, case)

        def one(check: bool = False) -> str | None:
            conn = client.connect(port)
            conn.sendall(b"c")
            if conn.recv(1) != b"s":
                raise RuntimeError("server did not answer")
            problem = check_negotiated(stack, conn, case) if check else None
            conn.close()
            return problem

        mismatch = None
        for i in range(WARMUP):
            mismatch = one(check=i == 0) or mismatch
        cpu0, sys0, t0 = cpu_seconds(), sys_seconds(), time.perf_counter()
        n = 0
        deadline = t0 + limits.seconds
        while n < limits.count and (n == 0 or time.perf_counter() < deadline):
            one()
            n += 1
        wall = time.perf_counter() - t0
        return {
            "handshakes": n,
            "wall": wall,
            "rate": n / wall,
            "cpu_per_handshake": (cpu_seconds() - cpu0) / n,
            "sys_per_handshake": (sys_seconds() - sys0) / n,
            "mismatch": mismatch,
        }

    return body


def measure_once(stack: str, material: Material, case: Case, limits: Limits) -> dict[str, Any]:
    timeout = limits.seconds * 3 + 30
    server, client = run_pair(
        _serve(stack, material, case), _connect(stack, material, case, limits), timeout
    )
    error = client.get("error") or server.get("error")
    mismatch = client.get("mismatch") or server.get("mismatch")
    return {
        "stack": stack,
        "case": case.label,
        "error": error,
        "mismatch": mismatch,
        "rate": client.get("rate"),
        "handshakes": client.get("handshakes"),
        "client_cpu": client.get("cpu_per_handshake"),
        "server_cpu": server.get("cpu_per_handshake"),
        "client_sys": client.get("sys_per_handshake"),
        "server_sys": server.get("sys_per_handshake"),
        "server_handshakes": server.get("handshakes"),
    }


@dataclass
class CaseResult:
    case: Case
    runs: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, stack: str, key: str) -> Summary | None:
        values = [
            r[key]
            for r in self.runs
            if r["stack"] == stack and r[key] is not None and not r["error"] and not r["mismatch"]
        ]
        return summarize(values)

    def problems(self, stack: str) -> list[str]:
        out = []
        for r in self.runs:
            if r["stack"] == stack and (r["error"] or r["mismatch"]):
                out.append(r["error"] or f"negotiated something else: {r['mismatch']}")
        return sorted(set(out))


def run(
    material: Material,
    stacks: list[str],
    cases: list[Case],
    repeats: int,
    limits: Limits,
    progress: Any = print,
) -> list[CaseResult]:
    results = []
    for case in cases:
        result = CaseResult(case)
        for turn in range(repeats):
            for stack in rotated(stacks, turn):
                run_limits = limits
                if stack == "tlslite":
                    # ~40/s: fewer handshakes, same time bound.
                    run_limits = Limits(max(2, limits.count // 10), limits.seconds)
                record = measure_once(stack, material, case, run_limits)
                result.runs.append(record)
                progress(
                    f"  handshake {case.label:<28} {stack:<8} "
                    + (
                        f"{record['rate']:.0f}/s"
                        if record["rate"] and not record["error"]
                        else str(record["error"] or record["mismatch"])
                    )
                )
        results.append(result)
    return results


def report(results: list[CaseResult], stacks: list[str], floors: dict[str, Any]) -> str:
    headers = [
        "case",
        "stack",
        "handshakes/s",
        "client CPU ms",
        "server CPU ms",
        "of which sys c/s",
        "CPU-bound hs/s",
        "/ssl",
        "/tlslite",
        "client/floor",
        "server/floor",
    ]
    rows = []
    notes = []
    for result in results:
        ssl_rate = result.summary("ssl", "rate")
        tl_rate = result.summary("tlslite", "rate")
        floor = floors.get(result.case.label)
        for stack in stacks:
            rate = result.summary(stack, "rate")
            ccpu = result.summary(stack, "client_cpu")
            scpu = result.summary(stack, "server_cpu")
            cf = sf = "-"
            if floor and ccpu and scpu:
                cf = fmt_ratio(ccpu.median / floor["client"])
                sf = fmt_ratio(scpu.median / floor["server"])
            rows.append(
                [
                    result.case.label,
                    stack,
                    fmt(rate),
                    fmt(ccpu, 1e3, 2),
                    fmt(scpu, 1e3, 2),
                    f"{_median_ms(result.summary(stack, 'client_sys'))}"
                    f" / {_median_ms(result.summary(stack, 'server_sys'))}",
                    _cpu_rate_text(result, stack),
                    _ratio_text(rate, ssl_rate, result, stack) if stack == "puretls" else "",
                    fmt_ratio(ratio(rate, tl_rate)) if stack == "puretls" else "",
                    cf,
                    sf,
                ]
            )
            for problem in result.problems(stack):
                notes.append(f"{result.case.label} {stack}: {problem}")
    text = table(headers, rows)
    if "tlslite" in stacks and not VERIFIES["tlslite"]:
        notes.append(
            "tlslite-ng cannot verify X.509 chains: its client skips the verification "
            "the other two stacks do (its numbers are flattered by that)."
        )
    if notes:
        text += "\n" + "\n".join(f"note: {n}" for n in notes)
    return text


def _cpu_rate(result: CaseResult, stack: str) -> float | None:
    """Handshakes per second one core pair could do: 1 / (client + server CPU)."""
    client = result.summary(stack, "client_cpu")
    server = result.summary(stack, "server_cpu")
    if client is None or server is None:
        return None
    return 1.0 / (client.median + server.median)


def _cpu_rate_text(result: CaseResult, stack: str) -> str:
    value = _cpu_rate(result, stack)
    return "n/a" if value is None else f"{value:.0f}"


def _ratio_text(
    rate: Summary | None, ssl_rate: Summary | None, result: CaseResult, stack: str
) -> str:
    """Wall-clock ratio, then the CPU-bound ratio in parentheses."""
    wall = fmt_ratio(ratio(rate, ssl_rate))
    mine, theirs = _cpu_rate(result, stack), _cpu_rate(result, "ssl")
    if mine is None or theirs is None:
        return wall
    return f"{wall} ({mine / theirs:.2f}x)"


def _median_ms(summary: Summary | None) -> str:
    return "n/a" if summary is None else f"{summary.median * 1e3:.2f}"


def to_json(results: list[CaseResult], stacks: list[str]) -> list[dict[str, Any]]:
    out = []
    for result in results:
        entry: dict[str, Any] = {"case": result.case.label, "runs": result.runs, "summary": {}}
        for stack in stacks:
            entry["summary"][stack] = {
                key: (s.as_dict() if (s := result.summary(stack, key)) else None)
                for key in ("rate", "client_cpu", "server_cpu", "client_sys", "server_sys")
            }
        out.append(entry)
    return out
