"""Examples and the caller's own calls as the specification a module must meet before it is stored.

Each source of examples, the retry that carries the failing example's expected and actual values,
the time limits, the static check of the caller's calls and the sandboxed call with literal
arguments, the user's own errors (reported as such, without a wasted request), the metadata and
the offline re-run of a stored module's examples.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from conftest import Project, import_failure, ok
from fakellm import Code, FakeLLM, prompt_of

from autogen_hook import ExampleError
from autogen_hook._recheck import check_examples
from autogen_hook._spec_sources import caller_spec, examples_from_test
from autogen_hook._store import Store
from autogen_hook._validate import Behaviour, Grants, Problem, Spec, validate
from autogen_hook._validate._calls import check_calls
from autogen_hook._validate._examples import applicable, parse_example

WRONG = 'def slugify(text: str) -> str:\n    """A slug."""\n    return text.replace(" ", "-")\n'
RIGHT = 'def slugify(text: str) -> str:\n    """A slug."""\n    return text.lower().replace(" ", "-")\n'
DOUBLE_WRONG = 'def f(x: int) -> int:\n    """Twice."""\n    return x + 2\n'
DOUBLE = 'def f(x: int) -> int:\n    """Twice."""\n    return 2 * x\n'
SECTION = "Examples the module must satisfy"


def pyproject(project: Project, table: str) -> None:
    project.write("pyproject.toml", f'[project]\nname = "demo"\nversion = "0"\n\n{table}')


def meta(project: Project, module: str) -> dict[str, object]:
    found = Store(str(project.store)).metadata(module)
    assert found is not None
    return found


def test_describe_examples_send_wrong_code_back_with_expected_and_actual(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(WRONG), Code(RIGHT))
    out = ok(project.run(
        """
        import autogen_hook
        autogen_hook.describe("autogen.text", "URL slugs.", examples=["slugify('A B') == 'a-b'"])
        from autogen.text import slugify
        print(slugify("Hello World"))
        """
    ))
    assert out.strip() == "hello-world"
    first, second = llm.chat_requests()
    assert SECTION in prompt_of(first) and "slugify('A B') == 'a-b'" in prompt_of(first)
    feedback = second.body["messages"][-1]["content"]
    assert "`slugify('A B') == 'a-b'` (describe(examples=...) or install(examples=...)): expected 'a-b', got 'A-B'" in feedback
    record = meta(project, "autogen.text")
    assert record["examples_passed"] is True and record["attempts"] == 2
    examples = [(e["text"], e["op"]) for e in record["examples"]]  # type: ignore[attr-defined]
    assert examples == [("slugify('A B') == 'a-b'", "compare"), ('slugify("Hello World")', "call")]


def test_pyproject_examples_and_describe_examples_combine(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.t" = ["f(3) == 6"]\n')
    llm.openai.push(Code(DOUBLE_WRONG), Code(DOUBLE))
    ok(project.run(
        """
        import autogen_hook
        autogen_hook.describe("autogen.t", examples=["f(0) == 0"])
        from autogen.t import f
        """
    ))
    first, second = llm.chat_requests()
    assert "f(3) == 6" in prompt_of(first) and "f(0) == 0" in prompt_of(first)
    feedback = second.body["messages"][-1]["content"]
    assert "2 of 2 failed" in feedback and "expected 6, got 5" in feedback and "expected 0, got 2" in feedback
    assert f"[tool.autogen-hook.examples] of {project.root / 'pyproject.toml'}" in feedback


def test_doctest_lines_in_a_description_are_examples(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.descriptions]\n"autogen.t" = """Doubles.\n\n>>> f(3)\n6\n>>> [f(n) for n in (1, 2)]\n[2,4]\n"""\n')
    llm.openai.push(Code(DOUBLE_WRONG), Code(DOUBLE))
    ok(project.run("from autogen.t import f\n"))
    feedback = llm.chat_requests()[1].body["messages"][-1]["content"]
    assert "`>>> f(3)` (the description of autogen.t, line 3): expected 6, got 5" in feedback
    assert "`>>> [f(n) for n in (1, 2)]` (the description of autogen.t, line 5): expected [2,4], got [3, 4]" in feedback
    assert len(llm.chat_requests()) == 2  # [2,4] matches [2, 4]: a literal is compared as a value


def test_the_callers_asserts_are_examples_when_they_stand_alone(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(DOUBLE_WRONG), Code(DOUBLE))
    ok(project.run(
        """
        import math
        from autogen.t import f as double

        assert double(3) == 6


        def check(n: int) -> None:
            assert math.isclose(double(4), 8.0)
            assert double(n) == 2 * n  # uses the caller's own variable: not an example


        check(5)
        """
    ))
    first, second = llm.chat_requests()
    assert "f(3) == 6" in prompt_of(first) and "math.isclose(f(4), 8.0)" in prompt_of(first)
    assert "2 * n" not in prompt_of(first).split(SECTION)[1]
    feedback = second.body["messages"][-1]["content"]
    assert "`f(3) == 6` (main.py, line 4): expected 6, got 5" in feedback
    assert "`math.isclose(f(4), 8.0)` (main.py, line 8): is false (the value: False)" in feedback


def test_every_attempt_failing_lists_the_failed_examples_of_each(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.t" = ["f(3) == 6", "f(0) == 0"]\n')
    llm.openai.push(Code(DOUBLE_WRONG), Code(DOUBLE.replace("2 * x", "x * x")), Code(DOUBLE_WRONG))
    out = import_failure(project, "from autogen.t import f")
    assert out.startswith("ValidationFailedError autogen.t")
    attempts = out.split("  attempt ")[1:]
    assert "1: the module does not do what its examples say: 2 of 2 failed" in attempts[0]
    assert "`f(3) == 6`" in attempts[1] and "expected 6, got 9" in attempts[1] and "`f(0) == 0`" not in attempts[1]
    assert "expected 0, got 2" in attempts[2]
    assert "did not do what the examples or the calls in your code say" in out
    assert not (project.store / "t.py").exists()


def test_failing_values_are_redacted_before_the_model_sees_them(project: Project, llm: FakeLLM) -> None:
    key = "sk-proj-" + "a1B2" * 10
    leaky = f'def token() -> str:\n    """A token."""\n    return "{key}"\n'
    llm.openai.push(Code(leaky), Code('def token() -> str:\n    """A token."""\n    return "x"\n'))
    ok(project.run("import autogen_hook\nautogen_hook.describe('autogen.t', examples=['token() == \"x\"'])\n"
                   "from autogen.t import token\n"))
    feedback = llm.chat_requests()[1].body["messages"][-1]["content"]
    assert "expected 'x', got" in feedback and key not in feedback and "REDACTED" in feedback


def test_the_callers_call_that_does_not_fit_is_refused_with_its_line(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code("def add():\n    return 2, 3\n"), Code("def add(a: int, b: int) -> int:\n    return a + b\n"))
    out = ok(project.run("from autogen.calc import add\nprint(add(2, 3))\n"))
    assert out.strip() == "5"
    feedback = llm.chat_requests()[1].body["messages"][-1]["content"]
    assert "the caller's calls do not fit the module's signatures" in feedback
    assert "main.py, line 2: `add(2, 3)`: add() takes 0 positional arguments but 2 were given" in feedback


def test_a_call_with_literal_arguments_is_made_in_the_sandbox(project: Project, llm: FakeLLM) -> None:
    cached = "import functools\n\n\n@functools.lru_cache\ndef add() -> int:\n    return 5\n"  # no signature to read
    llm.openai.push(Code(cached), Code("def add(a: int, b: int) -> int:\n    return a + b\n"))
    ok(project.run("from autogen.calc import add\nprint(add(2, 3))\n"))
    feedback = llm.chat_requests()[1].body["messages"][-1]["content"]
    assert "`add(2, 3)` (main.py, line 2): this call of the caller's raised TypeError:" in feedback
    assert [e["op"] for e in meta(project, "autogen.calc")["examples"]] == ["call"]  # type: ignore[attr-defined]


def test_a_syntax_error_in_an_example_is_the_users_and_costs_no_request(project: Project, llm: FakeLLM) -> None:
    out = import_failure(project, "import autogen_hook; autogen_hook.describe('autogen.t', examples=['f(1 == 2']); "
                                  "from autogen.t import f")
    assert out.startswith("ExampleError autogen.t")
    assert "the example 'f(1 == 2' (describe(examples=...) or install(examples=...)) is not valid Python" in out
    assert "Examples are yours" in out
    assert llm.chat_requests() == []


def test_a_broken_example_in_pyproject_names_the_file(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.t" = ["x = f(1)"]\n')
    out = import_failure(project, "from autogen.t import f")
    assert out.startswith("ExampleError autogen.t") and "must be one expression or assert statement" in out
    assert str(project.root / "pyproject.toml") in out
    assert llm.chat_requests() == []


def test_an_expected_value_that_cannot_be_computed_is_the_users(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.t" = ["f(1) == 1 / 0"]\n')
    llm.openai.push(Code(DOUBLE), Code(DOUBLE))
    out = import_failure(project, "from autogen.t import f")
    assert out.startswith("ExampleError autogen.t") and "raised ZeroDivisionError: division by zero whatever the module does" in out
    assert len(llm.chat_requests()) == 1  # found in the check: no further attempt is asked for


def test_examples_about_names_not_asked_for_wait_for_their_generation(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.text" = ["shout(\'a\') == \'A!\'"]\n')
    llm.openai.push(Code(RIGHT))
    ok(project.run("from autogen.text import slugify\nassert slugify('A B') == 'a-b'\n"))
    record = meta(project, "autogen.text")
    assert [e["text"] for e in record["examples_pending"]] == ["shout('a') == 'A!'"]  # type: ignore[attr-defined]
    shout = RIGHT + '\n\ndef shout(text: str) -> str:\n    """Loud."""\n    return text.upper()\n'
    llm.openai.push(Code(shout.replace(".lower()", "")), Code(shout), Code(shout.replace("upper()", "upper() + '!'")))
    ok(project.run("from autogen.text import shout\n"))
    feedbacks = [r.body["messages"][-1]["content"] for r in llm.chat_requests()[2:]]
    # an extension must still pass the examples recorded with what it keeps
    assert "`slugify('A B') == 'a-b'` (main.py, line 2): expected 'a-b', got 'A-B'" in feedbacks[0]
    assert "`shout('a') == 'A!'`" in feedbacks[1] and "expected 'A!', got 'A'" in feedbacks[1]
    assert "slugify" not in feedbacks[1]
    assert meta(project, "autogen.text")["examples_pending"] == []


def test_a_stored_module_is_imported_again_without_its_examples(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(DOUBLE))
    ok(project.run("from autogen.t import f\nassert f(3) == 6\n"))
    out = ok(project.run("import sys\nfrom autogen.t import f\nassert f(3) == 6\n"
                         "print([m for m in sys.modules if m.endswith(('_spec_sources', '_examples', '_calls'))])\n"))
    assert out.strip() == "[]" and len(llm.chat_requests()) == 1


def test_check_examples_reruns_them_offline_and_fails_after_a_hand_edit(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.t" = ["f(3) == 6"]\n')
    llm.openai.push(Code(DOUBLE))
    ok(project.run("from autogen.t import f\nassert f(0) == 0\n"))
    before = check_examples("autogen.t", project=str(project.root))
    assert before.passed and before.examples == ("f(3) == 6", "f(0) == 0", "f(0)")  # f(0): the call itself
    stored = project.store / "t.py"
    stored.write_text(stored.read_text().replace("2 * x", "x + 1"))
    after = check_examples("autogen.t", project=str(project.root))
    assert not after.passed and after.problem is not None
    assert "`f(3) == 6` ([tool.autogen-hook.examples] of" in after.problem and "expected 6, got 4" in after.problem
    assert "`f(0) == 0` (main.py, line 2): expected 0, got 1" in after.problem
    pyproject(project, '[tool.autogen-hook.examples]\n"autogen.t" = ["f(3) == 7"]\n')  # a changed example
    stored.write_text(stored.read_text().replace("x + 1", "2 * x"))
    changed = check_examples("autogen.t", project=str(project.root))
    assert not changed.passed and "`f(3) == 7`" in (changed.problem or "") and "f(0) == 0" not in (changed.problem or "")
    assert len(llm.chat_requests()) == 1


# In-process: validate() with a behaviour, the time limits, the static call check, the test source.


def spec(examples: tuple[str, ...] = (), caller: str | None = None, names: tuple[str, ...] = ("f",)) -> Spec:
    found = [e for text in examples for e in parse_example(text, "test", "autogen.t")]
    calls: list = []
    if caller is not None:
        asserts, calls, trials = caller_spec(caller, "main.py", "autogen.t", names)
        found += asserts + trials
    now, _ = applicable(found, set(names), "autogen.t")
    return Spec("autogen.t", names, frozenset(), "/tmp/autogen-t.py", "autogen", Grants(), Behaviour(now, tuple(calls)))


def problem(code: str, behaviour: Spec) -> str:
    with pytest.raises(Problem) as info:
        asyncio.run(validate(f"```python\n{code}\n```", behaviour))
    return str(info.value)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    from autogen_hook._validate import _examples

    monkeypatch.setattr(_examples, "TIME_LIMIT", 0.5)


def test_an_example_that_loops_forever_is_stopped_at_its_time_limit(quick: None) -> None:
    code = 'def f(x: int) -> int:\n    """Never ends."""\n    while True:\n        x += 1\n'
    message = problem(code, spec(("f(1) == 2", "f(2) == 4")))
    assert "`f(1) == 2` (test): did not finish within 0.5 s" in message
    assert "`f(2) == 4` (test): did not finish within 0.5 s" in message


def test_an_example_that_swallows_its_time_limit_ends_at_the_checks(quick: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from autogen_hook._validate import _smoke

    monkeypatch.setattr(_smoke, "TIMEOUT", 2.0)
    code = (
        'def f(x: int) -> int:\n    """Never ends, and ignores every interruption."""\n    while True:\n'
        "        try:\n            while True:\n                x += 1\n        except BaseException:\n            pass\n"
    )
    message = problem(code, spec(("f(1) == 2",)))
    assert "importing the module and running its examples did not finish within 2 s" in message


def test_doctest_outputs_exceptions_and_comparisons() -> None:
    code = 'def f(x: int) -> int:\n    """Twice; no negatives."""\n    if x < 0:\n        raise ValueError(x)\n    print("half", x)\n    return 2 * x\n'
    good = (">>> f(2)\nhalf 2\n4", ">>> f(-1)\nTraceback (most recent call last):\nValueError: -1", "f(2) >= 4",
            "assert f(1) in (2, 3)", "f(0) is not None", ">>> y = f(1)\n>>> y + 1\n3")
    assert "def f" in asyncio.run(validate(f"```python\n{code}\n```", spec(good)))
    message = problem(code, spec((">>> f(3)\nhalf 3\n7", ">>> f(1)\nTraceback (most recent call last):\nValueError: 1", "f(1) < 2")))
    assert "`>>> f(3)` (test, line 1): expected half 3\n7, got half 3\n6" in message
    assert "`>>> f(1)` (test, line 1): expected ValueError to be raised, nothing was raised" in message
    assert "`f(1) < 2` (test): expected a value < 2, got 2" in message


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("f(1 == 2", "is not valid Python"),
        ("import os", "must be one expression or assert statement"),
        ("f(1); f(2)", "must be one expression or assert statement"),
        (">>> f(1)", "has no expected output"),
        ("_helper(1) == 2", "uses _helper: examples may use the module's public names"),
        ("len('ab') == 2", "uses no name of autogen.t, so it checks nothing"),
    ],
)
def test_examples_that_can_never_be_evaluated_are_the_users_error(text: str, error: str) -> None:
    with pytest.raises(ExampleError, match="Examples are yours") as info:
        applicable(parse_example(text, "describe(examples=...)", "autogen.t"), {"f"}, "autogen.t")
    assert error in str(info.value) and "describe(examples=...)" in str(info.value)


CALLER = """
import asyncio
import autogen.t as t
from autogen.t import add, fetch, rows, stream, Point, pair, spread

print(add(2, 3))
t.pair(1)
p = Point(1, 2, z=3)
spread(*[1, 2, 3])


async def main() -> None:
    data = await fetch("u")
    async for item in stream():
        print(item)
    for row in rows():
        print(row)
    asyncio.run(fetch("u"))
    print(len(rows()) + 1)
"""
NAMES = ("add", "fetch", "rows", "stream", "Point", "pair", "spread")


@pytest.mark.parametrize(
    ("module", "misfit"),
    [
        ("def add():\n    return 2, 3", "line 6: `add(2, 3)`: add() takes 0 positional arguments but 2 were given"),
        ("def add(a, /, *, b):\n    return a", "line 6: `add(2, 3)`: add() takes 1 positional argument but 2 were given"),
        ("pair = lambda a, b: (a, b)", "line 7: `t.pair(1)`: pair() missing 1 required positional argument: 'b'"),
        ("class Point:\n    def __init__(self, x, y):\n        pass", "line 8: `Point(1, 2, z=3)`: Point() got an unexpected keyword argument 'z'"),
        ("class Point:\n    pass", "`Point(1, 2, z=3)`: Point() got an unexpected keyword argument 'z'"),
        ("def fetch(u):\n    return u", "line 13: `fetch(\"u\")`: it awaits fetch(), so fetch must be an `async def`"),
        ("async def stream():\n    return []", "line 14: `stream()`: it iterates stream() with `async for`, so stream must be an async generator"),
        ("def stream():\n    yield 1", "it iterates stream() with `async for`"),
        ("async def rows():\n    return []", "line 16: `rows()`: it iterates rows() with a plain `for`, but rows is `async def`"),
        ("async def fetch(u):\n    yield u", "it awaits fetch(), so fetch must be an `async def` without `yield`"),
        ("def rows():\n    yield 1", "line 19: `rows()`: it uses the result of rows() as a sequence (len() or an index), but rows is a generator"),
    ],
)
def test_the_callers_calls_must_fit_the_signature(module: str, misfit: str) -> None:
    _, calls, _ = caller_spec(CALLER, "main.py", "autogen.t", NAMES)
    with pytest.raises(Problem) as info:
        check_calls(ast.parse(module), calls)
    assert f"main.py, {misfit}" in str(info.value) or misfit in str(info.value)


@pytest.mark.parametrize(
    "module",
    [
        "def add(*numbers):\n    return sum(numbers)",
        "def add(a, b=0, **options):\n    return a + b",
        "class Point:\n    def __init__(self, x, y, *, z=0):\n        pass",
        "class Point(tuple):\n    pass",  # a base may take anything: left to the sandbox
        "import functools\n@functools.cache\ndef add():\n    return 5",  # decorated: left to the sandbox
        "from operator import add",
        "def spread():\n    return 0",  # spread(*[...]): how many arguments is unknown
        "async def fetch(u):\n    return u",
        "def rows():\n    return [1]",
        "async def stream():\n    yield 1",
        "def stream():\n    return _Items()",  # a plain function may return an async iterable
    ],
)
def test_calls_that_fit_or_cannot_be_judged_statically_pass(module: str) -> None:
    _, calls, _ = caller_spec(CALLER, "main.py", "autogen.t", NAMES)
    check_calls(ast.parse(module), calls)


def test_a_coroutine_whose_result_is_used_as_a_value_is_refused() -> None:
    caller = "from autogen.t import fetch\nfetch('u')\nprint(fetch('u') + 1)\ntask = fetch('u')\n"
    _, calls, _ = caller_spec(caller, "main.py", "autogen.t", ("fetch",))
    with pytest.raises(Problem) as info:
        check_calls(ast.parse("async def fetch(u):\n    return 1"), calls)
    message = str(info.value)
    assert "line 2: `fetch('u')`: it calls fetch() without `await` and discards its result" in message
    assert "line 3: `fetch('u')`: it calls fetch() without `await` and uses its result as a value" in message
    assert "line 4" not in message  # a coroutine kept for later (asyncio.gather, create_task) is fine


def test_a_caller_that_does_not_parse_gives_nothing() -> None:
    assert caller_spec("from autogen.t import f\nf(1\n", "main.py", "autogen.t", ("f",)) == ([], [], [])


def test_the_asserts_of_a_pytest_test_are_examples(tmp_path: Path) -> None:
    test_file = tmp_path / "test_text.py"
    test_file.write_text(
        "from autogen.text import slugify\nimport autogen.text as text\n\n\n"
        "def test_slugify():\n    assert slugify('A B') == 'a-b'\n    assert text.slugify('C') == 'c'\n\n\n"
        "def test_other():\n    assert slugify('x') == 'x'\n\n\n"
        "class TestSlugs:\n    def test_spaces(self):\n        assert slugify(' ') == '-'\n"
    )
    found = examples_from_test(f"{test_file}::test_slugify", "autogen.text", ("slugify",))
    assert [(e.expression, e.expected, e.origin) for e in found] == [
        ("slugify('A B')", "'a-b'", f"{test_file}, line 6"), ("slugify('C')", "'c'", f"{test_file}, line 7")
    ]
    assert [e.text for e in examples_from_test(f"{test_file}::TestSlugs::test_spaces", "autogen.text", ("slugify",))] == [
        "slugify(' ') == '-'"
    ]
    assert len(examples_from_test(str(test_file), "autogen.text", ("slugify",))) == 4
    with pytest.raises(ExampleError, match="defines no 'test_missing'"):
        examples_from_test(f"{test_file}::test_missing", "autogen.text", ("slugify",))


def test_an_example_needing_what_the_module_is_granted_is_recorded_unchecked(project: Project, llm: FakeLLM) -> None:
    pyproject(project, '[tool.autogen-hook]\nallow = ["filesystem"]\n')
    project.write("data/name.txt", "demo\n")
    reader = 'def read_name(path: str) -> str:\n    """The first line."""\n    with open(path) as f:\n        return f.readline().strip()\n'
    llm.openai.push(Code(reader))
    result = project.run("from autogen.files import read_name\nassert read_name('data/name.txt') == 'demo'\nprint('ok')\n")
    assert ok(result).strip() == "ok" and len(llm.chat_requests()) == 1
    assert "1 example(s) could not be checked" in result.stderr and "read_name('data/name.txt') == 'demo'" in result.stderr
    record = meta(project, "autogen.files")
    assert [e["text"] for e in record["examples_unchecked"]] == ["read_name('data/name.txt') == 'demo'"]  # type: ignore[attr-defined]


def test_without_grants_an_oserror_is_the_modules_failure() -> None:
    code = 'def f(x: int) -> int:\n    """Fails."""\n    raise PermissionError("no")\n'
    assert "`f(1) == 2` (test): raised PermissionError: no (the check's sandbox refuses" in problem(code, spec(("f(1) == 2",)))


def test_a_caller_the_context_engine_never_reads_gives_no_examples(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(DOUBLE_WRONG))
    ok(project.run("from autogen.t import f\nassert f(3) == 5\nTOKEN = 'x'\n", name="credentials_check.py"))
    assert SECTION not in prompt_of(llm.chat_requests()[0]) and len(llm.chat_requests()) == 1
