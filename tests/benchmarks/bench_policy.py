"""The capability policy on the safety corpus: time per module, refusals, false rejects.

    .venv/bin/python tests/benchmarks/bench_policy.py [--rounds 20]

Unsafe replies must be refused by the default policy (and, with the corpus's marker helper
granted, every one whose payload needs more); ordinary modules must be accepted with the
grants their header names, and the idioms marked "must accept" with none. Time is the median
over rounds of checking every file once (parse included, as validation does), per module.
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autogen_hook._validate import Grants, Problem  # noqa: E402
from autogen_hook._validate._capabilities import CAPABILITIES  # noqa: E402
from autogen_hook._validate._policy import check_policy  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "safety_corpus"
HELPER = ("filesystem", "environment", "import-time")


def grants(names: list[str] | tuple[str, ...]) -> Grants:
    return Grants(frozenset(n for n in names if n in CAPABILITIES), frozenset(n for n in names if n not in CAPABILITIES))


def header(text: str, key: str) -> list[str]:
    found = re.search(rf"^# {key}: (.*)$", text, re.M)
    return [n.strip() for n in found.group(1).split(",") if n.strip() != "none"] if found else []


def refused(text: str, given: Grants) -> bool:
    try:
        check_policy(ast.parse(text), given, text)
    except Problem:
        return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    files = sorted(CORPUS.glob("*.py")) + [CORPUS / "policy_tamper_08_stage2_naive_subprocess.txt"]
    texts = {path.name: path.read_text() for path in files}
    unsafe = {n: t for n, t in texts.items() if n.startswith("policy_")}
    benign = {n: t for n, t in texts.items() if n.startswith("benign_")}

    caught = sum(refused(t, Grants()) for t in unsafe.values())
    beyond = {n: t for n, t in unsafe.items() if set(header(t, "needs")) - set(HELPER)}
    caught_granted = sum(refused(t, grants(HELPER)) for t in beyond.values())
    false_rejects = [n for n, t in benign.items() if refused(t, grants(header(t, "grants")))]
    idioms = {n: t for n, t in benign.items() if "default: must accept" in t}
    idiom_rejects = [n for n, t in idioms.items() if refused(t, Grants())]
    default_rejects = sum(refused(t, Grants()) for t in benign.values())

    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts.values():
            refused(text, Grants())
        timings.append((time.perf_counter() - started) / len(texts))

    print(f"unsafe replies refused by the default policy: {caught}/{len(unsafe)}")
    print(f"with {', '.join(HELPER)} granted, payloads needing more refused: {caught_granted}/{len(beyond)}")
    print(f"ordinary modules refused with their grants (false rejects): {len(false_rejects)}/{len(benign)}"
          + (f" {false_rejects}" if false_rejects else ""))
    print(f"named idioms refused by the default policy: {len(idiom_rejects)}/{len(idioms)}")
    print(f"ordinary modules that need a grant under the default policy: {default_rejects}/{len(benign)}")
    print(f"policy time per module: median {statistics.median(timings) * 1e3:.2f} ms "
          f"(min {min(timings) * 1e3:.2f}, max {max(timings) * 1e3:.2f}) over {rounds} rounds of {len(texts)} files")


if __name__ == "__main__":
    main()
