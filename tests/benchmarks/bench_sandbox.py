"""Sandbox cost benchmark: import checks forked as the check server forks them, sandboxed and bare.

    python tests/benchmarks/bench_sandbox.py [--checks 200] [--rounds 5]

The job is built as the library builds it (this process's sys.path and Landlock rules)
and run in a ``python -S`` process that imports ``_forkserver.py`` as a module, as the
check server runs. Sandboxed checks go through the server's own ``start`` and ``finish``
(a fresh directory and capture file, every layer of ``_sandbox.enter``, the group kill,
the directory's removal); bare ones through a plain fork that runs the same ``check()``
with its output to /dev/null, which is what a check cost before the sandbox. Each round
times one batch of each, in alternating order. Reported per check, medians of the rounds:
wall time, the children's CPU time, and the whole machine's busy CPU time from /proc/stat,
which includes kernel work no process is charged for (tearing down a network namespace).
"""

from __future__ import annotations

import argparse
import ast
import marshal
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VALIDATE = Path(__file__).resolve().parents[2] / "autogen_hook" / "_validate"
MODULE = 'import re\n\nWORD = re.compile(r"\\w+")\n\n\ndef f(x: int) -> int:\n    """Add one."""\n    return x + 1\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200, help="checks per batch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return inner(args.checks, args.rounds)
    from autogen_hook._validate import _smoke

    job = _smoke.check_job(MODULE, "autogen.bench", ("f",), "/tmp/autogen-bench.py")
    result = subprocess.run(
        [sys.executable, "-S", __file__, "--inner", "--checks", str(args.checks), "--rounds", str(args.rounds)],
        input=marshal.dumps(job), stdout=subprocess.PIPE, env=_smoke.environment(), check=True,
    )
    print(result.stdout.decode(), end="")


def inner(checks: int, rounds: int) -> None:
    sys.path.insert(0, str(VALIDATE))
    import _forkserver  # type: ignore[import-not-found]

    job = marshal.loads(sys.stdin.buffer.read())
    report = os.fdopen(os.dup(1), "w")
    reply_read, reply_write = os.pipe()
    os.dup2(reply_write, 1)  # finish() writes its reply frame to fd 1
    sandboxed(_forkserver, job)
    reply = marshal.loads(os.read(reply_read, 1 << 20)[4:])
    result = ast.literal_eval(reply["result"].decode())
    off = [k for k, (active, _) in result["layers"].items() if not active]
    assert result["missing"] == [], result
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    figures: dict[str, list[tuple[float, float, float]]] = {"bare": [], "sandboxed": []}
    for round_ in range(rounds):
        order = [("bare", bare), ("sandboxed", sandboxed)]
        for name, run in order if round_ % 2 == 0 else order[::-1]:
            figures[name].append(batch(run, _forkserver, job, checks))
    medians = {name: [statistics.median(f[i] for f in values) for i in range(3)] for name, values in figures.items()}
    print(f"{sys.version.split()[0]}, {os.uname().sysname} {os.uname().release} {os.uname().machine}: "
          f"{checks} checks a batch, {rounds} rounds; layers off here: {', '.join(off) or 'none'}", file=report)
    print(f"{'per check (ms)':16} {'wall':>8} {'children CPU':>13} {'machine CPU':>12}", file=report)
    for name, (wall, cpu, machine) in medians.items():
        print(f"{name:16} {wall:8.2f} {cpu:13.2f} {machine:12.2f}", file=report)
    cost = [s - b for s, b in zip(medians["sandboxed"], medians["bare"])]
    print(f"{'sandbox costs':16} {cost[0]:8.2f} {cost[1]:13.2f} {cost[2]:12.2f}", file=report)
    report.flush()


def batch(
    run: Callable[[Any, dict[str, Any]], None], server: Any, job: dict[str, Any], checks: int
) -> tuple[float, float, float]:
    """Milliseconds per check: wall, children's CPU, the machine's busy CPU."""
    busy, times, start = machine_busy(), os.times(), time.perf_counter()
    for _ in range(checks):
        run(server, job)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = after.children_user + after.children_system - times.children_user - times.children_system
    return wall / checks * 1000, cpu / checks * 1000, (machine_busy() - busy) / checks * 1000


def machine_busy() -> float:
    """Seconds all CPUs spent on anything but idling, since boot (0 where /proc/stat is absent)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def sandboxed(server: Any, job: dict[str, Any]) -> None:
    """One check as the server runs it: start(), the pipe read to its end, finish()."""
    poll: Any = select.poll()
    children: dict[int, Any] = {}
    server.start({"id": 1, "job": job}, poll, children)
    while children:
        for fd, _ in poll.poll():
            data = os.read(fd, 1 << 16)
            if data:
                children[fd].chunks.append(data)
            else:
                server.finish(fd, poll, children)


def bare(server: Any, job: dict[str, Any]) -> None:
    """One check as it ran before the sandbox: fork, output to /dev/null, check, report."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            quiet = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(quiet, fd)
            os.write(write, ascii(server.check(job)).encode())
        finally:
            os._exit(0)
    os.close(write)
    while os.read(read, 1 << 16):
        pass
    os.close(read)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
