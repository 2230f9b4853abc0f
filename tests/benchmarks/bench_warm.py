"""``autogen-hook warm`` benchmark: a fixture codebase that uses 60 distinct missing modules.

    python tests/benchmarks/bench_warm.py [--modules 60] [--concurrency 8] [--latency 0.3] [--rounds 3]

A local OpenAI-compatible server (tests/fakellm.py, in its own process) answers each request
after ``--latency`` seconds with a module defining what was asked. The codebase has one file
per module, each importing two names from its module and calling them, plus files that use
nothing from the namespace. Each round empties the store and runs warm in two ways:

* the whole command, ``python -m autogen_hook warm``, in a new process on an empty store
  (no context index either): what a user waits for, interpreter start-up, the cold path's
  imports and indexing the project included;
* ``warm()`` in this process with the cold path already imported and the project's index
  open (the steady state, as ``bench_generate.py`` measures generation): scan, context,
  requests, validation, store.

Reported: each one's wall time as a ratio to the ideal ``ceil(modules / concurrency) x
latency`` (target <= 1.3), and the medians.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SERVER = """
import sys
sys.path.insert(0, {tests!r})
from fakellm import FakeLLM, Slow, obliging

server = FakeLLM()
server.openai.responder = lambda request: Slow({latency}, obliging(request))
server.start()
print(server.openai_url, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
"""
CALLER = '''"""Orders of kind {i}."""
from dataclasses import dataclass

from autogen.kind{i} import price{i}, label{i}


@dataclass
class Order{i}:
    quantity: int


def handle{i}(order: Order{i}) -> str:
    return f"{{label{i}(order.quantity)}}: {{price{i}(order.quantity)}}"
'''


def codebase(root: Path, modules: int) -> None:
    (root / "pyproject.toml").write_text('[project]\nname = "bench-warm"\nversion = "0"\n')
    package = root / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for i in range(modules):
        (package / f"kind{i}.py").write_text(CALLER.format(i=i))
    for i in range(modules):  # as many files again that never mention the namespace
        (package / f"plain{i}.py").write_text(f"def plain{i}(x: int) -> int:\n    return x + {i}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(tests=str(TESTS), latency=args.latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    url = server.stdout.readline().strip() if server.stdout else ""
    root = Path(tempfile.mkdtemp(prefix="bench-warm-"))
    codebase(root, args.modules)
    for name in [n for n in os.environ if n.startswith("AUTOGEN_HOOK_")]:
        del os.environ[name]
    os.environ.update({"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-bench",
                       "AUTOGEN_HOOK_CONCURRENCY": str(args.concurrency), "AUTOGEN_HOOK_RETRIES": "0"})
    os.environ.pop("CI", None)
    os.chdir(root)
    ideal = math.ceil(args.modules / args.concurrency) * args.latency
    commands, steady = [], []
    try:
        for _ in range(args.rounds):
            commands.append(_command(root, args.modules))
            steady.append(_in_process(root, args.modules))
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root.parent / f"{root.name}-command-store", ignore_errors=True)
    print(f"{sys.version.split()[0]}: warm of {args.modules} missing modules ({args.modules * 2} files), "
          f"concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms, ideal {ideal:.2f} s")
    for label, walls in (("whole command (new process)", commands), ("warm() in-process, steady", steady)):
        ratios = ", ".join(f"{w / ideal:.3f}" for w in walls)
        wall = statistics.median(walls)
        print(f"{label}: {ratios}; median {wall:.2f} s / {ideal:.2f} s = {wall / ideal:.3f}  (target <= 1.3)")


def _command(root: Path, modules: int) -> float:
    store = root.parent / f"{root.name}-command-store"  # not the store (and index) this process holds open
    shutil.rmtree(store, ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "autogen_hook", "warm", "--json"], capture_output=True, text=True,
                            env={**os.environ, "AUTOGEN_HOOK_CACHE_DIR": str(store)})
    wall = time.perf_counter() - start
    _generated(result.stdout, modules, result.stderr)
    return wall


def _in_process(root: Path, modules: int) -> float:
    import json

    from autogen_hook import _runtime
    from autogen_hook._settings import resolve
    from autogen_hook._warm import warm
    from autogen_hook.context._usage import scan

    for entry in (root / ".autogen").glob("*"):  # the modules go; the index this process holds open stays
        if entry.name != ".index":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    start = time.perf_counter()
    settings = resolve(str(root), {"progress": False})
    uses = scan(str(root), settings.namespace, (settings.store_dir,)).by_module()
    results = _runtime.run(warm(settings, uses, {}, lambda warmed: None))
    wall = time.perf_counter() - start
    _generated(json.dumps({"counts": {"generated": sum(r.outcome == "generated" for r in results)}}), modules, "")
    return wall


def _generated(output: str, modules: int, errors: str) -> None:
    import json

    generated = json.loads(output)["counts"]["generated"] if output else 0
    if generated != modules:
        raise SystemExit(f"only {generated} of {modules} modules were generated\n{errors[-2000:]}")


if __name__ == "__main__":
    main()
