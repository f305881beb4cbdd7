"""Fuzz target: the record deframer and plaintext record rules.

python fuzz/fuzz_record.py .fuzz/corpus/record -max_total_time=60
"""

from __future__ import annotations

import contextlib
import sys

try:
    import atheris
except ImportError:  # the test suite replays the seeds without atheris
    atheris = None

with atheris.instrument_imports(include=["puretls"]) if atheris else contextlib.nullcontext():
    from puretls.errors import TLSError
    from puretls.record.layer import RecordLayer


def test_one_input(data: bytes) -> None:
    layer = RecordLayer()
    try:
        for piece in _pieces(data):
            layer.feed(piece)
            while layer.read() is not None:
                pass
    except TLSError:
        return


def _pieces(data: bytes) -> list[bytes]:
    if not data or data[0] < 0x80:
        return [data[1:]]
    size = (data[0] & 0x7F) + 1
    return [data[i : i + size] for i in range(1, len(data), size)]


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
