"""pytest start-up with autogen-hook's plugin installed / without it, on a suite that never
imports the namespace (target: ratio <= 1.02; issue 11).

    python tests/benchmarks/bench_pytest.py [--runs 30] [--tests 200] [--instructions]

The suite is ``--tests`` trivial tests in files of ten, in a project of its own; each side
is a whole ``python -m pytest -q`` process, the plugin loaded or turned off with
``-p no:autogen_hook``, in ABBA order with the medians compared (``bench_import``'s method),
and with ``--instructions`` the instructions each executes (callgrind, fixed hash seed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench_import import _env, compare, count


def suite(root: Path, tests: int) -> None:
    """A project whose tests import nothing of the namespace."""
    (root / "pyproject.toml").write_text('[project]\nname = "plain"\nversion = "0"\n')
    folder = root / "tests"
    folder.mkdir()
    for start in range(0, tests, 10):
        body = "".join(f"def test_{n}():\n    assert {n} + 1 == {n + 1}\n\n\n" for n in range(start, min(start + 10, tests)))
        (folder / f"test_plain_{start // 10}.py").write_text(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with valgrind (slow, deterministic)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite(root, args.tests)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
        env = {k: v for k, v in _env().items() if k != "CI"}
        plugin = (command, root, env)
        without = ([*command, "-p", "no:autogen_hook"], root, env)
        print(f"{sys.version.split()[0]}, {args.runs} alternating runs, {args.tests} tests\n")
        compare("pytest start-up: plugin / -p no:autogen_hook", plugin, without, args.runs, 1.02)
        if args.instructions:
            count("pytest start-up: plugin / -p no:autogen_hook", plugin, without)


if __name__ == "__main__":
    main()
