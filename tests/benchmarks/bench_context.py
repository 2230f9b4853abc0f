"""Context-engine benchmark on a large real project: Django's sdist (about 2,800 Python files).

    python tests/benchmarks/bench_context.py [--runs 3] [--cache ~/.cache/autogen-hook-bench]

Downloads the sdist once with ``pip download django --no-deps --no-binary :all:``
into the cache directory and reuses it. Measures, as ratios where the issue
sets a target (issue 3):

* cold index (empty cache: list, read, parse, tag, store) / a bare loop that
  only reads and tree-sitter-parses the same files  -> target <= 1.5
* warm re-index after touching one file / cold index  -> target <= 5%
* peak memory of a cold index (tracemalloc, Python allocations; separate run)
* building the context for one request on Django: cold (empty cache, includes
  indexing), warm in this process, and warm as a fresh interpreter sees it
  (first collect() in a new process, index on disk)  -> target < 100 ms warm

Runs alternate (bare, cold, bare, cold, ...) and the medians are compared.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from pathlib import Path

from autogen_hook._request import CallerSite, Request
from autogen_hook._settings import Settings, resolve
from autogen_hook.context import collect
from autogen_hook.context._files import source_files
from autogen_hook.context._grammars import extensions, grammar_for
from autogen_hook.context._index import Index, connect

CALLER = '''"""A report built on Django's auth models."""
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet

from autogen.reports import active_users_report


def weekly(users: QuerySet, admin: User, staff: Group) -> str:
    return active_users_report(users, admin, staff, limit=10)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/autogen-hook-bench"))
    args = parser.parse_args()
    root = _django(Path(args.cache))
    (root / "bench_caller.py").write_text(CALLER)
    work = Path(tempfile.mkdtemp(prefix="bench-context-"))
    try:
        _report(root, work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _django(cache: Path) -> Path:
    """The extracted Django sdist, downloaded on first use."""
    cache.mkdir(parents=True, exist_ok=True)
    archives = glob.glob(str(cache / "[dD]jango-*.tar.gz"))
    if not archives:
        print("downloading Django's sdist (once) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "django", "--no-deps", "--no-binary", ":all:",
             "-d", str(cache)],
            check=True, stdout=subprocess.DEVNULL,
        )
        archives = glob.glob(str(cache / "[dD]jango-*.tar.gz"))
    archive = Path(sorted(archives)[-1])
    target = cache / archive.name.removesuffix(".tar.gz")
    if not target.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(cache, filter="data")
    return target


def _bare(root: Path) -> float:
    """Read and parse every file the index would read; nothing else."""
    files = source_files(str(root), extensions())[0]
    start = time.perf_counter()
    for file in files:
        grammar = grammar_for(file.path)
        with open(root / file.path, "rb") as f:
            grammar.parser().parse(f.read())  # type: ignore[union-attr]
    return time.perf_counter() - start


def _cold(root: Path, database: Path) -> tuple[float, int]:
    for leftover in database.parent.glob(database.name + "*"):
        leftover.unlink()
    start = time.perf_counter()
    db = connect(str(database))
    stats = Index(db, str(root)).update(excluded=())
    db.close()
    return time.perf_counter() - start, stats.parsed


def _warm(root: Path, database: Path, touched: Path) -> tuple[float, int]:
    os.utime(touched)
    start = time.perf_counter()
    db = connect(str(database))
    stats = Index(db, str(root)).update(excluded=())
    db.close()
    return time.perf_counter() - start, stats.parsed


def _request(root: Path) -> Request:
    site = CallerSite(str(root / "bench_caller.py"), 5, "from autogen.reports import active_users_report",
                      CALLER)
    return Request("autogen.reports", ("active_users_report",), caller=site)


def _settings(root: Path, store: Path) -> Settings:
    return resolve(str(root), {"cache_dir": str(store)})


def _fresh_interpreter_collect(root: Path, store: Path) -> float:
    code = (
        "import sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from bench_context import _request, _settings\n"
        "from pathlib import Path\n"
        "from autogen_hook.context import collect\n"
        "root, store = Path(sys.argv[2]), Path(sys.argv[3])\n"
        "request, settings = _request(root), _settings(root, store)\n"
        "start = time.perf_counter(); collect(request, settings)\n"
        "print(time.perf_counter() - start)\n"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", code, here, str(root), str(store)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _report(root: Path, work: Path, runs: int) -> None:
    database = work / "index" / "tags.sqlite3"
    files = source_files(str(root), extensions())[0]
    megabytes = sum(f.size for f in files) / 1e6
    print(f"project: {root.name}, {len(files)} files, {megabytes:.1f} MB ({sys.version.split()[0]})")
    _bare(root)  # warm the OS page cache for both sides
    bare, cold = [], []
    for _ in range(runs):
        bare.append(_bare(root))
        seconds, parsed = _cold(root, database)
        cold.append(seconds)
    warm = [_warm(root, database, root / "django" / "db" / "models" / "base.py") for _ in range(runs)]
    assert all(parsed == 1 for _, parsed in warm), warm
    tracemalloc.start()
    _cold(root, database)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    store = work / "store"
    start = time.perf_counter()
    context = collect(_request(root), _settings(root, store))
    context_cold = time.perf_counter() - start
    context_warm = []
    for _ in range(max(runs, 5)):
        start = time.perf_counter()
        collect(_request(root), _settings(root, store))
        context_warm.append(time.perf_counter() - start)
    fresh = [_fresh_interpreter_collect(root, store) for _ in range(max(runs, 3))]

    b, c, w = statistics.median(bare), statistics.median(cold), statistics.median(x for x, _ in warm)
    print(f"bare read+parse          {b:8.3f} s")
    print(f"cold index               {c:8.3f} s   cold / bare = {c / b:.2f}   (target <= 1.5)")
    print(f"warm re-index, 1 touched {w:8.3f} s   warm / cold = {w / c:.1%}  (target <= 5%)")
    print(f"peak memory, cold index  {peak / 1e6:8.1f} MB (tracemalloc)")
    print(f"context, cold (indexes)  {context_cold * 1000:8.0f} ms")
    print(f"context, warm in-process {statistics.median(context_warm) * 1000:8.1f} ms  (target < 100 ms)")
    print(f"context, warm new process{statistics.median(fresh) * 1000:8.1f} ms  (first collect() call)")
    print(f"context: ~{context.tokens} tokens, files: {', '.join(context.files[:6])}")


if __name__ == "__main__":
    main()
