"""``python -m bench``: run the suite, print tables, write JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import ssl
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import bulk, floor, handshake, memory, profile
from bench.common import available_stacks, make_material
from bench.stacks import Case

SECTIONS = ("handshake", "bulk", "memory", "floor", "profile")
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "cryptography": version("cryptography"),
        "tlslite-ng": version("tlslite-ng"),
        "puretls": version("puretls"),
        "loadavg_start": os.getloadavg(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="puretls vs Python's ssl vs tlslite-ng: handshakes, bulk, memory, "
        "primitive floor and a per-step profile.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings (< 20 s)")
    parser.add_argument("--full", action="store_true", help="full handshake matrix")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable)",
    )
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write results")
    parser.add_argument("--stacks", help="comma list of puretls,ssl,tlslite")
    parser.add_argument("--repeats", type=int, help="repeats per stack and case")
    parser.add_argument("--seconds", type=float, help="time bound per handshake measurement")
    parser.add_argument("--count", type=int, help="handshake bound per measurement")
    parser.add_argument("--bulk-seconds", type=float, help="target seconds per bulk transfer")
    parser.add_argument(
        "--connections", help="memory checkpoints, comma separated (default 1000,10000)"
    )
    parser.add_argument(
        "--memory-seconds", type=float, help="time bound per memory run (default 60)"
    )
    parser.add_argument("--profile-handshakes", type=int, help="handshakes to profile")
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    conf: dict[str, Any] = {
        "repeats": 1 if quick else 3,
        "seconds": 0.3 if quick else 0.8,
        "count": 5 if quick else 400,
        "bulk_repeats": 1 if quick else 2,
        "bulk_seconds": 0.1 if quick else 0.3,
        "connections": [20] if quick else [1000, 10000],
        "memory_seconds": 20 if quick else 60,
        "profile_handshakes": 10 if quick else 200,
        "floor_budget": 0.005 if quick else 0.05,
        "record_megabytes": 2 if quick else 50,
    }
    names = ("repeats", "seconds", "count", "bulk_seconds", "memory_seconds", "profile_handshakes")
    for name in names:
        if getattr(args, name) is not None:
            conf[name] = getattr(args, name)
    if args.repeats is not None:
        conf["bulk_repeats"] = args.repeats
    if args.connections:
        conf["connections"] = sorted(int(c) for c in args.connections.split(","))
    return conf


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    conf = settings(args)
    sections = args.only or list(SECTIONS)
    stacks = available_stacks()
    if args.stacks:
        stacks = [s for s in args.stacks.split(",") if s in stacks]
    started = time.perf_counter()
    info = machine()
    print(
        f"puretls bench: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"{info['openssl']}, cryptography {info['cryptography']}, "
        f"tlslite-ng {info['tlslite-ng'] or 'not installed'}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in info['loadavg_start'])}")
    if "tlslite" not in stacks:
        print("note: tlslite-ng not installed: `make bench` installs it (the bench extra)")
    material = make_material()
    results: dict[str, Any] = {"machine": info, "settings": conf, "stacks": stacks}

    if args.quick:
        cases = [handshake.DEFAULT_CASES[0]]
    else:
        cases = handshake.full_cases() if args.full else list(handshake.DEFAULT_CASES)

    floors: dict[str, Any] = {}
    if "floor" in sections:
        _section("Primitive floor per handshake (pyca/cryptography + hashlib/hmac, in-process)")
    if "floor" in sections or "handshake" in sections:
        floor_list = [floor.measure(material, c, conf["floor_budget"]) for c in cases]
        floors = {f["case"]: f for f in floor_list}
        counts = floor.count_key_schedule(material)
        results["floor"] = {"floors": floor_list, "puretls_calls": counts}
        if "floor" in sections:
            print(floor.report(floor_list, counts))

    if "handshake" in sections:
        _section("Full TLS 1.3 handshakes, client and server in separate processes")
        limits = handshake.Limits(conf["count"], conf["seconds"])
        hs = handshake.run(material, stacks, cases, conf["repeats"], limits, progress=_progress)
        results["handshake"] = handshake.to_json(hs, stacks)
        print(handshake.report(hs, stacks, floors))

    if "bulk" in sections:
        _section("Bulk throughput over one connection (MB/s = 10^6 bytes of data per second)")
        cases_b = bulk.default_cases(args.full)
        if args.quick:
            cases_b = [bulk.BulkCase("aes128gcm", "c2s", 16384)]
        bk = bulk.run(
            material,
            stacks,
            cases_b,
            conf["bulk_repeats"],
            conf["bulk_seconds"],
            progress=_progress,
        )
        results["bulk"] = bulk.to_json(bk, stacks)
        print(bulk.report(bk, stacks))

    if "memory" in sections:
        _section("Resident memory per idle established connection (server process)")
        mem = memory.run(
            material, stacks, conf["connections"], conf["memory_seconds"], progress=_progress
        )
        results["memory"] = mem
        print(memory.report(mem))

    if "profile" in sections:
        _section("Per-step profile of one in-memory puretls handshake (ecdsa/x25519/aes128gcm)")
        prof = profile.run(material, conf["profile_handshakes"])
        results["profile"] = prof
        print(profile.report(prof))
        _section("Profile of the puretls handshake over loopback sockets (sslcompat path)")
        sock_prof = profile.socket_profile(material, conf["profile_handshakes"])
        results["socket_profile"] = sock_prof
        print(profile.socket_report(sock_prof))
        _section("Profile of the puretls record path (in memory, client -> server, 16 KiB writes)")
        rec_prof = profile.record_profile(material, conf["record_megabytes"])
        results["record_profile"] = rec_prof
        print(profile.record_report(rec_prof))

    if _SECTION_START[0]:
        print(f"(section took {time.perf_counter() - _SECTION_START[0]:.0f} s)")
    results["loadavg_end"] = os.getloadavg()
    results["elapsed_seconds"] = time.perf_counter() - started
    print(
        f"\nload average at end: {' '.join(f'{x:.2f}' for x in results['loadavg_end'])}; "
        f"elapsed {results['elapsed_seconds']:.0f} s"
    )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=_jsonable))
    print(f"results written to {path}")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, Case):
        return value.label
    return str(value)


_SECTION_START = [0.0]


def _section(title: str) -> None:
    now = time.perf_counter()
    if _SECTION_START[0]:
        print(f"(section took {now - _SECTION_START[0]:.0f} s)")
    _SECTION_START[0] = now
    print(f"\n== {title}")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
