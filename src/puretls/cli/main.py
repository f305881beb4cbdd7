"""The ``puretls`` command: ``client``, ``server``, ``demo`` and ``selfcheck``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import puretls
from puretls.cli import certs, client, demo, selfcheck, server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="puretls",
        description="TLS 1.3 in pure Python: a client, a server, and a guided demo.",
    )
    parser.add_argument("--version", action="version", version=f"puretls {puretls.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    client.add_parser(commands)
    server.add_parser(commands)
    demo.add_parser(commands)
    certs.add_parser(commands)
    check = commands.add_parser(
        "selfcheck",
        help="derive the RFC 8448 key schedule and compare it with the RFC",
        description="Derive the RFC 8448 section 3 key schedule from its inputs and print "
        "each value next to the RFC's, with OK or MISMATCH.",
    )
    check.set_defaults(run=lambda args: selfcheck.run_selfcheck(sys.stdout))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (``puretls`` and ``python -m puretls``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
