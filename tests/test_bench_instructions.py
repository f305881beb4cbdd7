"""bench.instructions: the callgrind reading and the handshake drivers it counts.

valgrind itself is not needed here: the parser is fed a small file in
callgrind's format, and the two puretls drivers run their handshakes plainly.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import instructions  # noqa: E402

# Two objects named once (one of them on a cob= line), self costs on plain
# cost lines, and a call whose inclusive cost must not be counted again.
CALLGRIND = """\
# callgrind format
events: Ir
summary: 1175
ob=(1) /usr/lib/libpython3.11.so.1.0
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 100
+2 50
cob=(2) /site-packages/cryptography/hazmat/bindings/_rust.abi3.so
cfi=(2) ???
cfn=(2) hmac
calls=3 0
* 1000
ob=(2)
fl=(2)
fn=(2)
0 1000
ob=(3) /lib/x86_64-linux-gnu/libc.so.6
fl=(3) memcpy.c
fn=(3) memcpy
0 25
"""


def test_self_costs_are_summed_by_object_group_without_call_costs() -> None:
    groups = instructions._self_cost_by_group(CALLGRIND)
    assert groups == {
        "Python interpreter": 150,
        "OpenSSL / pyca (C, Rust)": 1000,
        "libc": 25,
    }
    assert sum(groups.values()) == 1175  # equals the summary line


def test_objects_are_grouped_by_file_name() -> None:
    assert instructions._group("/x/bin/python3.11") == "Python interpreter"
    assert instructions._group("/x/lib/libcrypto.so.3") == "OpenSSL / pyca (C, Rust)"
    assert instructions._group("/x/lib-dynload/_hashlib.cpython-311.so") == (
        "OpenSSL / pyca (C, Rust)"
    )
    assert instructions._group("/x/lib-dynload/_struct.cpython-311.so") == "other"


def test_both_puretls_drivers_complete_handshakes(tmp_path: Path) -> None:
    material = instructions._material(tmp_path)
    instructions._core_pair(material)()
    import puretls

    instructions._bio_pair(material, puretls)()
    # The material is reused on the next call, not made again.
    again = instructions._material(tmp_path)
    assert again.ca_file == material.ca_file
    assert (
        Path(again.leaves["ecdsa"][0]).read_bytes()
        == Path(material.leaves["ecdsa"][0]).read_bytes()
    )


def test_socket_driver_runs_the_benchmark_handshakes_in_two_processes(tmp_path: Path) -> None:
    material = instructions._material(tmp_path)
    # count 1 (+3 warm-up) handshakes; raises if the forked server fails
    instructions._socket_pair(material, "puretls", 1)


def test_report_is_the_difference_per_handshake_by_role() -> None:
    low = (1_000_000, {"Python interpreter": 400_000, "libc": 10_000})
    high = (4_000_000, {"Python interpreter": 1_900_000, "libc": 25_000})
    text = instructions._report("sockets", "server", low, high, 30)
    lines = text.splitlines()
    assert lines[0].startswith("sockets server")
    assert "0.100 M instructions per handshake (server)" in lines[0]
    assert lines[1].split() == ["Python", "interpreter", "0.050", "M"]
    assert lines[2].split() == ["libc", "0.001", "M"]
    both = instructions._report("core", "both", low, high, 30)
    assert "(client + server)" in both.splitlines()[0]
