"""Shared helpers: statistics, tables, resource readings and test certificates."""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from puretls.testing import CertificateAuthority

STACKS = ("puretls", "ssl", "tlslite")
HOST = "127.0.0.1"
SERVER_NAME = "localhost"
KEY_TYPES = {"ecdsa": "ecdsa-p256", "rsa": "rsa2048", "ed25519": "ed25519"}


@dataclass(frozen=True, slots=True)
class Material:
    """Files for one benchmark run: a CA and one leaf per key type."""

    directory: str
    ca_file: str
    # key type ("ecdsa", "rsa", "ed25519") -> (chain file, key file)
    leaves: dict[str, tuple[str, str]]


def make_material(directory: str | None = None) -> Material:
    """One ECDSA P-256 CA issuing an ECDSA P-256, an RSA-2048 and an Ed25519 leaf.

    The Ed25519 leaf is signed by the ECDSA CA: pyca/cryptography's verifier
    refuses Ed25519 CAs, and the client side of the handshake should verify
    the same kind of chain for every leaf type.
    """
    base = directory or tempfile.mkdtemp(prefix="puretls-bench-")
    ca = CertificateAuthority(key_type="ecdsa-p256")
    ca_file = Path(base) / "ca.pem"
    ca_file.write_bytes(ca.cert_pem())
    leaves = {}
    for short, key_type in KEY_TYPES.items():
        cert, key = ca.issue([SERVER_NAME, HOST], key_type=key_type).write(base, short)
        leaves[short] = (str(cert), str(key))
    return Material(directory=base, ca_file=str(ca_file), leaves=leaves)


def cpu_seconds() -> float:
    """User + system CPU of this process so far (getrusage RUSAGE_SELF)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sys_seconds() -> float:
    """System (kernel) CPU of this process so far: sockets, scheduling, page faults."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def rss_bytes() -> int:
    """Current resident set size from /proc/self/status (VmRSS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # Not Linux: fall back to the peak (ru_maxrss is KiB on Linux, bytes on macOS).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def raise_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards ``wanted``; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass(frozen=True, slots=True)
class Summary:
    median: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}


def summarize(values: Sequence[float]) -> Summary | None:
    if not values:
        return None
    return Summary(statistics.median(values), min(values), max(values), len(values))


def fmt(summary: Summary | None, scale: float = 1.0, digits: int = 0) -> str:
    """``median [min-max]`` scaled, or ``n/a``."""
    if summary is None:
        return "n/a"
    if summary.n == 1:
        return f"{summary.median * scale:.{digits}f}"
    return (
        f"{summary.median * scale:.{digits}f} "
        f"[{summary.low * scale:.{digits}f}-{summary.high * scale:.{digits}f}]"
    )


def ratio(a: Summary | None, b: Summary | None) -> float | None:
    if a is None or b is None or b.median == 0:
        return None
    return a.median / b.median


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with left-aligned first column, right-aligned rest."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def rotated(items: Sequence[str], turn: int) -> list[str]:
    """The stacks in a different order on every repeat, so none always goes first."""
    k = turn % len(items)
    return [*items[k:], *items[:k]]


def available_stacks() -> list[str]:
    stacks = ["puretls", "ssl"]
    try:
        import tlslite.api  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return stacks
    return [*stacks, "tlslite"]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
