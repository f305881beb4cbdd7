"""Run every fuzz target for a bounded time; fail on any finding.

    python fuzz/run.py --seconds 60          # each target for 60 s (make fuzz)
    python fuzz/run.py --seconds 600 --jobs 4 --only server

Builds the seed corpora first (fuzz/build_corpus.py), runs the targets in
parallel, prints libFuzzer's execution counts, and exits non-zero if any
target crashed: a crash is an exception that is not puretls's TLSError, or
a broken promise (two fatal alerts, a failed connection left open).  Crash
inputs land in .fuzz/artifacts/ and can be replayed with
``python fuzz/fuzz_<target>.py <file>``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from build_corpus import build
from common import ARTIFACTS, CORPUS, HERE

COMMANDS = {
    "record": [str(HERE / "fuzz_record.py")],
    "messages": [str(HERE / "fuzz_messages.py")],
    "server": [str(HERE / "fuzz_connection.py"), "server"],
    "client": [str(HERE / "fuzz_connection.py"), "client"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=45, help="per target (default 45)")
    parser.add_argument("--only", action="append", choices=sorted(COMMANDS))
    parser.add_argument("--jobs", type=int, default=2, help="targets run at once")
    args = parser.parse_args()
    build()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    targets = args.only or list(COMMANDS)
    total, failed = 0, []
    pending = list(targets)
    running: list[tuple[str, subprocess.Popen[str], float]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            cmd = [
                sys.executable,
                *COMMANDS[name],
                str(CORPUS / name),
                f"-max_total_time={args.seconds}",
                f"-artifact_prefix={ARTIFACTS}/{name}-",
                "-print_final_stats=1",
                "-rss_limit_mb=2048",
                "-max_len=20000",
            ]
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE
            )
            running.append((name, proc, time.monotonic()))
        name, proc, started = running.pop(0)
        try:
            out, _ = proc.communicate(timeout=args.seconds + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            failed.append(name)
            print(f"{name}: did not stop in time")
            continue
        match = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
        runs = int(match.group(1)) if match else 0
        total += runs
        elapsed = time.monotonic() - started
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"{name}: {runs:,} executions in {elapsed:.0f} s ({runs / elapsed:,.0f}/s) {status}")
        if proc.returncode != 0:
            failed.append(name)
            print("\n".join(out.splitlines()[-40:]))
    print(f"total: {total:,} executions across {len(targets)} targets")
    if failed:
        print(f"findings in: {', '.join(failed)} (inputs in {ARTIFACTS})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
