"""Redaction benchmark: secrets caught on the corpora, false redactions on Django's sdist.

    python tests/benchmarks/bench_redaction.py [--cache ~/.cache/autogen-hook-bench] [--list]

* recall on ``tests/secrets_corpus.py``: the shared corpus (secrets given to secret-looking
  names, key formats) and the corpus beyond names (comments, docstrings, innocuous names,
  templates, credential arguments, returns, bare ``Basic``, high entropy): every secret must
  be gone and its placeholder kind shown; the ordinary code must be left as it is;
* the entropy rule on random keys (seeded draws of each length and alphabet): the share it
  catches, which is what its thresholds were set from;
* Django's sdist (the one bench_context.py downloads), every file the repo map may index
  redacted whole: redactions per 1,000 lines in its non-test code (``django/``) and in its
  tests (``tests/``, which hold test passwords and keys on purpose), and each redaction of the
  non-test code by file, line and rule (``--list`` lists the tests' too).
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import secrets_corpus  # noqa: E402
from bench_context import _django  # noqa: E402

from autogen_hook.context._files import source_files  # noqa: E402
from autogen_hook.context._grammars import extensions  # noqa: E402
from autogen_hook.context._redact import _high_entropy, explain, redact  # noqa: E402

ALPHABETS = {
    "base62": string.ascii_letters + string.digits,
    "base64": string.ascii_letters + string.digits + "+/",
    "base64url": string.ascii_letters + string.digits + "-_",
    "hex": string.hexdigits[:16],
    "lower+digits": string.ascii_lowercase + string.digits,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/autogen-hook-bench"))
    parser.add_argument("--list", action="store_true", help="list the redactions of Django's tests too")
    args = parser.parse_args()
    _corpus("shared corpus (names, key formats)", secrets_corpus.python_module(), secrets_corpus.EXPECTED)
    _corpus("corpus beyond names", secrets_corpus.helpers_module(), secrets_corpus.EXPECTED_BEYOND_NAMES)
    kept = redact(secrets_corpus.ORDINARY) == secrets_corpus.ORDINARY
    print(f"ordinary code left as it is: {'yes' if kept else 'NO'}")
    _entropy_recall()
    _django_figures(_django(Path(args.cache)), args.list)


def _corpus(name: str, module: str, expected: dict[str, str]) -> None:
    text = redact(module)
    leaked = [value for value in expected if value in text]
    kinds = [kind for kind in set(expected.values()) if f"[REDACTED {kind}]" not in text]
    caught = len(expected) - len(leaked)
    print(f"{name}: {caught}/{len(expected)} secrets caught, leaked: {leaked or 'none'}, "
          f"placeholder kinds missing: {kinds or 'none'}")


def _entropy_recall() -> None:
    """The share of random keys the entropy rule alone catches, by alphabet and length."""
    draw = random.Random(9)
    lengths = (20, 24, 32, 40, 64)
    print("entropy rule alone, share of 1,000 random keys caught:")
    print("  alphabet       " + "".join(f"{n:>7}" for n in lengths))
    for alphabet, characters in ALPHABETS.items():
        shares = []
        for length in lengths:
            keys = ["".join(draw.choice(characters) for _ in range(length)) for _ in range(1000)]
            shares.append(sum(_high_entropy(k) for k in keys) / len(keys))
        print(f"  {alphabet:<14} " + "".join(f"{s:>7.1%}" for s in shares))


def _django_figures(root: Path, listing: bool) -> None:
    files = source_files(str(root), extensions())[0]
    totals: Counter[str] = Counter()
    found: dict[str, list[tuple[str, int, str]]] = {"django": [], "tests": []}
    seconds = 0.0
    size = 0
    for file in files:
        part = file.path.split(os.sep, 1)[0]
        if part not in found:
            continue
        text = (root / file.path).read_text(encoding="utf-8", errors="replace")
        size += len(text)
        start = time.perf_counter()
        redactions = explain(text)
        seconds += time.perf_counter() - start
        totals[part] += text.count("\n")
        found[part] += [(file.path, line, rule) for line, _, rule in redactions]
    print(f"{root.name}: {len(files)} files the repo map may index; redaction takes "
          f"{seconds:.2f} s for {size / 1e6:.1f} MB ({seconds / size * 1e9:.0f} ms a MB)")
    for part, what in (("django", "non-test code (django/)"), ("tests", "tests (tests/)")):
        count = len(found[part])
        print(f"  {what}: {totals[part]:,} lines, {count} redactions, "
              f"{count / totals[part] * 1000:.3f} per 1,000 lines")
        rules = Counter(rule.split(" (")[0].split(" of ")[0].split(" after ")[0] for _, _, rule in found[part])
        if rules:
            print("    by rule: " + ", ".join(f"{rule}: {n}" for rule, n in rules.most_common()))
        if part == "django" or listing:
            for path, line, rule in found[part]:
                print(f"    {path}:{line}  {rule}")


if __name__ == "__main__":
    main()
