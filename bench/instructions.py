"""Instructions per handshake, counted by valgrind's callgrind.

Timings on a shared 2-core machine move by 20-40% from minute to minute;
instruction counts do not. This runs N in-memory TLS 1.3 handshakes (ECDSA
P-256, X25519, AES-128-GCM, client verifying the chain, 2 tickets) under
``valgrind --tool=callgrind`` for two values of N and reports

    (instructions at N_high - instructions at N_low) / (N_high - N_low)

so interpreter start-up, imports and warm-up cancel out. Both sides run in
the one process, so the figure is for a client and a server together.

    python -m bench.instructions                 # core and sslcompat paths
    python -m bench.instructions --path core     # Connection objects only
    python -m bench.instructions --path sslcompat  # SSLContext.wrap_bio
    python -m bench.instructions --path ssl      # Python's ssl, same wrap_bio code

``core`` drives two :class:`~puretls.connection.Connection` objects (what
the bench profile section does); ``sslcompat`` drives two ``SSLObject``
through ``wrap_bio``, i.e. what code written for Python's ``ssl`` pays;
``ssl`` runs the very same code on Python's ``ssl`` module (OpenSSL in C),
the yardstick.  ``sockets`` and ``sockets-ssl`` run what the handshake
benchmark runs (blocking ``wrap_socket``, a server process forked from the
client's, 1 byte each way over loopback, close) and report each side; they
include the socket layer and ``Connection.prepare`` (counted, as CPU, wherever
it runs) and the kernel's work is not counted.

    python -m bench.instructions --path sockets     # puretls over loopback
    python -m bench.instructions --path sockets-ssl # Python's ssl, same code
The certificates are generated once into ``bench/results/material`` and
reused, so runs compare like with like (a fresh RSA key per run would move
the count by millions).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MATERIAL = Path(__file__).resolve().parent / "results" / "material"
PATHS = ("core", "sslcompat", "ssl")
SOCKET_PATHS = ("sockets", "sockets-ssl")


def _material(directory: Path) -> Any:
    from bench.common import KEY_TYPES, Material, make_material

    ca_file = directory / "ca.pem"
    if ca_file.exists():
        leaves = {
            short: (str(directory / f"{short}.pem"), str(directory / f"{short}.key"))
            for short in KEY_TYPES
        }
        if all(Path(cert).exists() and Path(key).exists() for cert, key in leaves.values()):
            return Material(directory=str(directory), ca_file=str(ca_file), leaves=leaves)
    directory.mkdir(parents=True, exist_ok=True)
    return make_material(str(directory))


def _core_pair(material: Any) -> Any:
    from bench.memory import _configs, in_memory_pair

    client_config, server_config = _configs(material)
    return lambda: in_memory_pair(client_config, server_config)


def _bio_pair(material: Any, module: Any) -> Any:
    from bench.stacks import Case, _std_context

    case = Case()
    server_context = _std_context(module, True, material, case)
    client_context = _std_context(module, False, material, case)

    def step(obj: Any) -> bool:
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def one() -> None:
        c_in, c_out = module.MemoryBIO(), module.MemoryBIO()
        s_in, s_out = module.MemoryBIO(), module.MemoryBIO()
        client = client_context.wrap_bio(c_in, c_out, server_hostname="localhost")
        server = server_context.wrap_bio(s_in, s_out, server_side=True)
        client_done = server_done = False
        for _ in range(8):
            client_done = client_done or step(client)
            s_in.write(c_out.read())
            server_done = server_done or step(server)
            c_in.write(s_out.read())
            if client_done and server_done:
                break
        client.write(b"c")
        s_in.write(c_out.read())
        server.read(1)
        server.write(b"s")
        c_in.write(s_out.read())
        if client.read(1) != b"s":
            raise RuntimeError("wrap_bio handshake did not complete")

    return one


def _socket_pair(material: Any, stack: str, count: int) -> None:
    """``count`` + 3 handshakes as bench.handshake runs them; the server is a forked child."""
    import socket

    from bench.stacks import Case, Client, Server

    case = Case()
    listen = socket.create_server(("127.0.0.1", 0))
    port = listen.getsockname()[1]
    total = count + 3  # the first three warm up, as in _child
    pid = os.fork()
    if pid == 0:  # the server; callgrind follows the fork into its own file
        code = 1
        try:
            server = Server(stack, material, case)
            for _ in range(total):
                raw, _ = listen.accept()
                with raw:
                    conn = server.wrap(raw)
                    conn.recv(1)
                    conn.sendall(b"s")
                    conn.close()
            code = 0
        finally:
            os._exit(code)
    listen.close()
    client = Client(stack, material, case)
    for _ in range(total):
        conn = client.connect(port)
        conn.sendall(b"c")
        if conn.recv(1) != b"s":
            raise RuntimeError("the server did not answer")
        conn.close()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"the server process failed (wait status {status})")


def _child(path: str, count: int, directory: Path) -> None:
    material = _material(directory)
    if path in SOCKET_PATHS:
        _socket_pair(material, "ssl" if path == "sockets-ssl" else "puretls", count)
        return
    if path == "core":
        one = _core_pair(material)
    else:
        import puretls

        one = _bio_pair(material, ssl if path == "ssl" else puretls)
    for _ in range(3):  # warm-up: caches, first-use imports
        one()
    for _ in range(count):
        one()


def _group(obj: str) -> str:
    name = obj.rsplit("/", 1)[-1]
    if "libpython" in name or name.startswith("python"):
        return "Python interpreter"
    if name.startswith(("_rust", "libcrypto", "libssl", "_hashlib", "_ssl")):
        return "OpenSSL / pyca (C, Rust)"
    if name.startswith(("libc.", "libc-", "ld-linux", "libm.")):
        return "libc"
    return "other"


def _self_cost_by_group(text: str) -> dict[str, int]:
    """Sum each function's own (exclusive) cost by the object it lives in.

    In callgrind's format a ``calls=`` line is followed by one line with the
    callee's inclusive cost; those are skipped so nothing counts twice.
    """
    names: dict[str, str] = {}
    totals: dict[str, int] = {}
    current = "other"
    skip_next = False
    for line in text.splitlines():
        if line.startswith(("ob=", "cob=")):
            # An object's name is given once, at its first mention (either
            # kind of line); later mentions use the "(id)" alone.
            kind, _, spec = line.partition("=")
            key, _, name = spec.partition(" ")
            if name:
                names[key] = name
            if kind == "ob":
                current = _group(names.get(key, spec))
        elif line.startswith("calls="):
            skip_next = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                totals[current] = totals.get(current, 0) + int(parts[1])
    return totals


Count = tuple[int, dict[str, int]]  # total instructions, self cost by object group


def _read_count(out: Path) -> Count:
    text = out.read_text(encoding="utf-8", errors="replace")
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError("no instruction total in the callgrind output")
    return int(match.group(1)), _self_cost_by_group(text)


def _instructions(path: str, count: int, directory: Path) -> dict[str, Count]:
    """The count per role: ``both`` in one process, or ``client`` and ``server``."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--compress-strings=yes",
            "--trace-children=yes",
            # %p: one file per process, so a forked server gets its own
            f"--callgrind-out-file={tmp}/callgrind.%p",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            path,
            str(count),
            "--material",
            str(directory),
        ]
        env = dict(os.environ, PYTHONHASHSEED="0")
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as process:
            _, errors = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"callgrind run failed: {errors.decode(errors='replace')[-2000:]}")
        files = sorted(Path(tmp).glob("callgrind.*"))
        if path not in SOCKET_PATHS:
            if len(files) != 1:
                raise RuntimeError(f"expected one callgrind file, found {len(files)}")
            return {"both": _read_count(files[0])}
        # valgrind runs the program in its own process: the client has its
        # pid, the forked server any other.
        client = Path(tmp) / f"callgrind.{process.pid}"
        others = [f for f in files if f != client]
        if not client.exists() or len(others) != 1:
            raise RuntimeError(f"expected a client and a server file, found {len(files)}")
        return {"client": _read_count(client), "server": _read_count(others[0])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--path", choices=(*PATHS, *SOCKET_PATHS, "both"), default="both")
    parser.add_argument("--low", type=int, default=10)
    parser.add_argument("--high", type=int, default=40)
    parser.add_argument("--material", type=Path, default=MATERIAL)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]), args.material)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 2
    if args.high <= args.low:
        parser.error("--high must be above --low")
    _material(args.material)  # generate once, outside valgrind
    paths = PATHS if args.path == "both" else (args.path,)
    span = args.high - args.low
    for path in paths:
        low = _instructions(path, args.low, args.material)
        high = _instructions(path, args.high, args.material)
        for role in high:
            print(_report(path, role, low[role], high[role], span))
    return 0


def _report(path: str, role: str, low: Count, high: Count, span: int) -> str:
    """The per-handshake difference of two counts, in total and by object group."""
    who = "client + server" if role == "both" else role
    label = path if role == "both" else f"{path} {role}"
    lines = [
        f"{label:18s} {(high[0] - low[0]) / span / 1e6:8.3f} M instructions per handshake ({who})"
    ]
    for group in sorted(high[1], key=lambda g: -high[1][g]):
        share = (high[1][group] - low[1].get(group, 0)) / span
        lines.append(f"  {group:28s} {share / 1e6:8.3f} M")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
