"""Run a benchmark server and client in two separate processes, bounded in time.

The server child binds 127.0.0.1 on a free port, reports it over a pipe and
serves until the parent sets ``stop``; the client child runs its loop and
reports.  Every child is joined with a timeout and killed by its own PID if
it overstays, so no run can leave a process behind.
"""

from __future__ import annotations

import multiprocessing
import socket
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection as Pipe
from typing import Any

from bench.common import HOST

_CTX = multiprocessing.get_context("fork")

ServerBody = Callable[[socket.socket, Any, Any], dict[str, Any]]
ClientBody = Callable[[int], dict[str, Any]]


def listener(backlog: int = 512) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(backlog)
    return sock


def _server_main(body: ServerBody, pipe: Pipe, stop: Any) -> None:
    try:
        sock = listener()
        pipe.send(sock.getsockname()[1])
        result = body(sock, stop, pipe)
    except BaseException as exc:
        result = {"error": f"server: {exc!r}", "traceback": traceback.format_exc()}
    pipe.send(result)


def _client_main(body: ClientBody, port: int, pipe: Pipe) -> None:
    try:
        result = body(port)
    except BaseException as exc:
        result = {"error": f"client: {exc!r}", "traceback": traceback.format_exc()}
    pipe.send(result)


def _finish(process: Any, grace: float) -> None:
    process.join(grace)
    if process.is_alive():
        process.kill()  # by this child's PID only
        process.join(5)


def run_pair(
    server_body: ServerBody, client_body: ClientBody, timeout: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one server/client pair; return (server result, client result)."""
    stop = _CTX.Event()
    server_pipe, server_end = _CTX.Pipe()
    server = _CTX.Process(target=_server_main, args=(server_body, server_end, stop), daemon=True)
    server.start()
    client_result: dict[str, Any] = {"error": "client did not run"}
    server_result: dict[str, Any] = {"error": "server did not report"}
    try:
        if not server_pipe.poll(30):
            return {"error": "server did not start"}, client_result
        port = server_pipe.recv()
        if isinstance(port, dict):  # the server failed before listening
            return port, client_result
        client_pipe, client_end = _CTX.Pipe()
        client = _CTX.Process(
            target=_client_main, args=(client_body, port, client_end), daemon=True
        )
        client.start()
        if client_pipe.poll(timeout):
            client_result = client_pipe.recv()
        else:
            client_result = {"error": f"client exceeded {timeout:.0f} s"}
        _finish(client, 5)
        stop.set()
        if server_pipe.poll(max(10.0, timeout / 4)):
            server_result = server_pipe.recv()
    finally:
        stop.set()
        _finish(server, 5)
    return server_result, client_result
