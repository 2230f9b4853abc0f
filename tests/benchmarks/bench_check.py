"""``autogen-hook check`` benchmark on a large real project: Django's sdist with 20 namespace
imports planted.

    python tests/benchmarks/bench_check.py [--runs 5] [--cache ~/.cache/autogen-hook-bench]

Uses the sdist ``bench_context.py`` downloads (once, with pip) and copies it to a temporary
directory, appends ``from autogen.plantedN import fN`` (and a call) to 20 of its modules
spread over the tree, and stores those 20 modules as generations would (with records). Then,
in alternating order:

* ``python -m autogen_hook check`` in a new process: the whole command a CI job runs
  (start-up, imports, listing, scan, 20 validations with their sandboxed import checks);
* ``check()`` in this process (modules already imported), and its scan alone;
* a bare loop that reads and tree-sitter-parses every Python file check lists (listed
  before the clock starts; a new parser, nothing cached): what a check that parsed the
  whole tree could not avoid.

``check`` keeps no cache, so its first run and later ones do the same work (the OS's page
cache aside): it lists the files (git's view, or a walk with the .gitignore rules), reads
each, and parses only those whose bytes name the namespace. Reported: medians, the target
(the command under 2 s), and check / bare parse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from bench_context import _django  # noqa: E402

PLANTED = 20
MODULE = '''
def f{i}(x: int) -> int:
    """Twice x."""
    return 2 * x
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/autogen-hook-bench"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        root = work / "django"
        shutil.copytree(_django(Path(args.cache)), root)
        (root / "bench_caller.py").unlink(missing_ok=True)  # bench_context's own caller
        _report(root, _plant(root), args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _plant(root: Path) -> list[str]:
    """20 Django modules import a name from the namespace; the store holds the 20 modules."""
    from autogen_hook._store import Store, header, source_hash

    candidates = sorted(p for p in (root / "django").rglob("*.py") if p.name != "__init__.py" and p.stat().st_size > 2000)
    chosen = candidates[:: max(1, len(candidates) // PLANTED)][:PLANTED]
    store = Store(str(root / ".autogen"))
    for i, path in enumerate(chosen):
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"\n\nfrom autogen.planted{i} import f{i}  # noqa: E402\n\nPLANTED = f{i}(1)\n")
        source = header(f"autogen.planted{i}", "openai", "bench", "2026-01-01") + MODULE.format(i=i).lstrip()
        store.write(f"autogen.planted{i}", source, {
            "module": f"autogen.planted{i}", "names": [f"f{i}"], "provider": "openai", "model": "bench",
            "attempts": 1, "problems": [], "written_at": "2026-01-01T00:00:00+00:00", "prompt_sha256": "0" * 64,
            "description_sha256": None, "source_sha256": source_hash(source),
        })
    return [str(p.relative_to(root)) for p in chosen]


def _report(root: Path, planted: list[str], runs: int) -> None:
    from autogen_hook._check import check
    from autogen_hook._settings import resolve
    from autogen_hook.context._usage import scan

    os.chdir(root)
    for name in [n for n in os.environ if n.startswith("AUTOGEN_HOOK_") or n == "CI"]:
        del os.environ[name]
    settings = resolve(str(root))
    first = check(settings)
    assert first.ok, [f.message for f in first.findings]
    assert len({u.module for u in first.scanned.uses}) == PLANTED
    from autogen_hook.context._files import source_files

    files = [root / f.path for f in source_files(str(root), frozenset({".py"}), (settings.store_dir,))[0]]
    commands, in_process, scans, bares = [], [], [], []
    for _ in range(runs):
        commands.append(_timed(lambda: _command(root)))
        bares.append(_timed(lambda: _bare(files)))
        in_process.append(_timed(lambda: check(settings)))
        scans.append(_timed(lambda: scan(str(root), settings.namespace, (settings.store_dir,))))
    scanned = first.scanned
    print(f"{sys.version.split()[0]}: Django sdist, {scanned.files} Python files listed, {scanned.parsed} parsed "
          f"(they name the namespace), {PLANTED} planted imports, {first.stored} stored modules; "
          f"medians of {runs} runs")
    command, bare = statistics.median(commands), statistics.median(bares)
    print(f"`autogen-hook check`, whole command (new process): {command:.2f} s  (target < 2 s)")
    print(f"check() in-process: {statistics.median(in_process):.3f} s, of which the scan {statistics.median(scans):.3f} s")
    print(f"bare read + tree-sitter parse of the same {scanned.files} files: {bare:.2f} s")
    print(f"check command / bare parse: {command / bare:.2f}; check() in-process / bare parse: "
          f"{statistics.median(in_process) / bare:.2f}")


def _command(root: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "autogen_hook", "check"], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"check failed:\n{result.stdout}{result.stderr}")


def _bare(files: list[Path]) -> None:
    """Read and parse each file with a new parser: no listing, nothing else."""
    import tree_sitter_python
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_python.language()))
    for path in files:
        with open(path, "rb") as f:
            parser.parse(f.read())


def _timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
