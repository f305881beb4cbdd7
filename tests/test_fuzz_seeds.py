"""The fuzz targets (fuzz/) replayed on their seed corpora, without atheris.

Keeps the targets and the corpus builder working in every `make test`, and
makes every seed a regression input: real conversations (RFC 8448 traces
and recorded puretls handshakes cut at each record) through the record
layer, every message decoder, and a server and a client connection.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    os.environ["PURETLS_FUZZ_WORK"] = str(tmp_path_factory.mktemp("fuzz"))
    sys.path.insert(0, str(FUZZ))
    try:
        names = ("common", "build_corpus", "fuzz_record", "fuzz_messages", "fuzz_connection")
        return {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(str(FUZZ))
        del os.environ["PURETLS_FUZZ_WORK"]


def seeds(fuzz: dict[str, ModuleType], target: str) -> list[bytes]:
    folder = fuzz["common"].CORPUS / target
    if not folder.exists():
        fuzz["build_corpus"].build()
    return [path.read_bytes() for path in sorted(folder.iterdir())]


def test_corpus_has_seeds_for_every_target(fuzz: dict[str, ModuleType]) -> None:
    counts = fuzz["build_corpus"].build()
    assert set(counts) == {"record", "messages", "server", "client"}
    assert all(count >= 10 for count in counts.values()), counts


@pytest.mark.parametrize(
    ("target", "function"),
    [
        ("record", ("fuzz_record", "test_one_input")),
        ("messages", ("fuzz_messages", "test_one_input")),
        ("server", ("fuzz_connection", "server_input")),
        ("client", ("fuzz_connection", "client_input")),
    ],
)
def test_seeds_pass_the_target(
    fuzz: dict[str, ModuleType], target: str, function: tuple[str, str]
) -> None:
    run = getattr(fuzz[function[0]], function[1])
    for seed in seeds(fuzz, target):
        run(seed)


def test_recorded_seeds_reach_the_end_of_the_handshake(fuzz: dict[str, ModuleType]) -> None:
    """The configs are deterministic, so recorded conversations replay."""
    from puretls.connection import Connection

    common = fuzz["common"]
    completed = 0
    for seed in seeds(fuzz, "server"):
        conn = Connection(common.server_config())
        try:
            for piece in common.chunks(seed):
                conn.receive_data(piece)
                conn.data_to_send()
        except Exception:
            continue
        completed += conn.handshake_complete
    assert completed >= 3
