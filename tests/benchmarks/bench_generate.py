"""Concurrent generation benchmark: 100 distinct modules through agenerate().

    python tests/benchmarks/bench_generate.py [--modules 100] [--concurrency 16] [--latency 0.2]
                                              [--rounds 3] [--no-stream]

A local OpenAI-compatible server (tests/fakellm.py, in its own process so it
does not share this process's GIL) answers every request after ``--latency``
seconds with a module defining the requested name. The whole pipeline runs
for real: context, prompt, HTTP (streamed if the provider streams), validation
including black and the import check in a separate process, atomic store.

The cold path's modules are imported before the clock starts (a process pays
that once, ~0.3 s). Each of ``--rounds`` rounds generates its own ``--modules``
new modules in one process; the first also pays each process's first uses (the
HTTP client, the check server, the project's index). Reported: every round's
wall time as a ratio to the ideal ``ceil(modules / concurrency) x latency``, their
median (target <= 1.25; a shared two-core VM drifts by several percent from run
to run), and this process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SERVER = """
import re, sys, time
sys.path.insert(0, {tests!r})
from fakellm import Code, FakeLLM, Slow, prompt_of

def module_for(request):
    name = re.search(r"Requested names: (\\w+)", prompt_of(request)).group(1)
    return Slow({latency}, Code(f'def {{name}}(x: int) -> int:\\n    \\"\\"\\"Add one.\\"\\"\\"\\n    return x + 1\\n'))

server = FakeLLM()
server.openai.responder = module_for
server.start()
print(server.openai_url, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
"""


async def run_all(modules: int, round_: int) -> list[object]:
    import autogen_hook

    return await asyncio.gather(
        *(autogen_hook.agenerate(f"autogen.bench{round_}_{i}", [f"f{i}"]) for i in range(modules))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--no-stream", action="store_true", help="ask for whole answers, not SSE")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(tests=str(TESTS), latency=args.latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    url = server.stdout.readline().strip() if server.stdout else ""
    project = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    (project / "pyproject.toml").write_text('[project]\nname = "bench"\n')
    os.chdir(project)
    for name in [n for n in os.environ if n.startswith("AUTOGEN_HOOK_")]:
        del os.environ[name]
    os.environ.update({"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-bench",
                       "AUTOGEN_HOOK_CACHE_DIR": str(project / ".autogen"),
                       "AUTOGEN_HOOK_CONCURRENCY": str(args.concurrency), "AUTOGEN_HOOK_PROGRESS": "0",
                       "AUTOGEN_HOOK_STREAM": "0" if args.no_stream else "1"})
    try:
        # steady state: import the cold path (httpx, pydantic, black, tree-sitter) before timing
        import autogen_hook._pipeline  # noqa: F401
        import autogen_hook.providers._openai  # noqa: F401
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        walls, results = [], []
        for round_ in range(args.rounds):
            start = time.perf_counter()
            results = asyncio.run(run_all(args.modules, round_))
            walls.append(time.perf_counter() - start)
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
    generated = sum(not r.from_store for r in results)  # type: ignore[attr-defined]
    ideal = math.ceil(args.modules / args.concurrency) * args.latency
    stages = {k: sum(r.timings.get(k, 0.0) for r in results) / len(results)  # type: ignore[attr-defined]
              for k in ("context", "provider", "validation", "total")}
    print(f"{sys.version.split()[0]}: {generated}/{args.modules} modules generated, "
          f"concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms, "
          f"{'whole answers' if args.no_stream else 'streamed (SSE)'}")
    ratios = ", ".join(f"{w / ideal:.3f}" for w in walls)
    wall = statistics.median(walls)
    print(f"wall time per round / ideal {ideal:.2f} s: {ratios}")
    print(f"median {wall:.2f} s / ideal {ideal:.2f} s = {wall / ideal:.3f}  (target <= 1.25)")
    print(f"peak memory (max RSS) {rss_peak / 1024:.0f} MiB, {(rss_peak - rss_before) / 1024:.0f} MiB "
          "more than before the run")
    print("mean seconds per module, last round: " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))


if __name__ == "__main__":
    main()
