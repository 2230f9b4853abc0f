"""Repair: an exception escaping a stored module's function asks for a fixed version.

End to end against the local server, each scenario in fresh interpreters: the exception goes on
unchanged, one line says what happened, the prompt carries the traceback and the arguments
(redacted), the fix is stored with the old version in the history and used from the next import,
never in the running process; off by default; a fix that never passes keeps the old module; the
failing call as an example (the caller's assert); ``autogen-hook repair MODULE --traceback FILE``.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Project, cli, ok
from fakellm import Code, FakeLLM, prompt_of

from autogen_hook._store import Store

BROKEN = '''
def scale(token: str, n: int) -> float:
    """The token's length over n."""
    return len(token) / n
'''
FIXED = '''
def scale(token: str, n: int) -> float:
    """The token's length over n (0.0 when n is 0)."""
    return len(token) / n if n else 0.0
'''
KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV"
FAILING = f"""
import traceback
from autogen.maths import scale
print(scale("abcd", 2))
try:
    scale({KEY[:8]!r} + {KEY[8:]!r}, 0)
except ZeroDivisionError as exc:
    print("caught", type(exc).__name__, exc)
    print("".join(traceback.format_tb(exc.__traceback__)))
try:
    scale("ab", 0)  # the running function is still the old one, and no second repair is asked for
except ZeroDivisionError as exc:
    print("still the old function")
    print("".join(traceback.format_tb(exc.__traceback__)))  # its lines, not the fix's
"""
RELOADED = """
import autogen_hook
autogen_hook.reload("autogen.maths")  # the stored fix, without asking again
from autogen.maths import scale
print("reloaded", scale("ab", 0))
"""
ON = {"AUTOGEN_HOOK_REPAIR": "1"}


def repair_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("autogen-hook: ")]


def test_an_escaping_exception_is_repaired_for_the_next_import(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(BROKEN), Code(FIXED))
    result = project.run(FAILING + RELOADED, env=ON)
    out = ok(result)
    assert out.startswith("2.0\ncaught ZeroDivisionError division by zero\n")
    assert "maths.py" in out and "return len(token) / n" in out  # the module's own line in the traceback
    assert "still the old function" in out and "if n else 0.0" not in out
    assert out.endswith("reloaded 0.0\n")
    assert repair_lines(result.stderr) == [
        "autogen-hook: autogen.maths.scale raised ZeroDivisionError: division by zero; repaired: stored a fixed "
        "version (openai, fake-model, 1 attempt); the old one is version 1 of the history; it is used from the "
        "next import or autogen_hook.reload('autogen.maths')"
    ]
    first, second = llm.chat_requests()
    prompt = prompt_of(second)
    assert "A repair: autogen.maths.scale raised ZeroDivisionError: division by zero" in prompt
    assert "scale('[REDACTED openai-key]', 0)" in prompt and KEY not in prompt
    assert "Traceback (most recent call last)" in prompt and "return len(token) / n" in prompt
    assert "The current module follows" in prompt  # the module's source
    store = Store(str(project.store))
    assert "if n else 0.0" in (store.read("autogen.maths") or "")
    kept = json.loads((project.store / ".history" / "maths" / "1.json").read_text())
    assert kept["replaced_because"].startswith("repaired: autogen.maths.scale raised ZeroDivisionError")
    assert "return len(token) / n\n" in (project.store / ".history" / "maths" / "1.py").read_text()
    assert "repaired: autogen.maths.scale" in ok(cli(project, "history", "autogen.maths"))
    audit = [json.loads(line) for line in (project.store / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["decision"] == "stored" and audit[-1]["repair"].startswith("autogen.maths.scale raised")
    assert ok(project.run("from autogen.maths import scale\nprint(scale('ab', 0))\n", name="again.py")) == "0.0\n"
    assert len(llm.chat_requests()) == 2


def test_repair_is_off_by_default(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(BROKEN))
    result = project.run(FAILING)
    assert "caught ZeroDivisionError" in ok(result)
    assert repair_lines(result.stderr) == [] and len(llm.chat_requests()) == 1


def test_a_fix_that_never_passes_keeps_the_module_and_the_exception(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(BROKEN), Code(BROKEN), Code(BROKEN))
    result = project.run("from autogen.maths import scale\nscale('ab', 0)\n",
                         env={**ON, "AUTOGEN_HOOK_MAX_ATTEMPTS": "2"})
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")  # the user's own exception
    assert 'main.py", line 2' in result.stderr and "return len(token) / n" in result.stderr
    assert repair_lines(result.stderr) == [
        "autogen-hook: autogen.maths.scale raised ZeroDivisionError: division by zero; repair failed: could not "
        "generate a valid autogen.maths: all 2 attempts failed validation (each attempt's problem is in the "
        "audit log: autogen-hook audit); the stored version stays"
    ]
    retry = llm.chat_requests()[-1].body["messages"][-1]["content"]
    assert "`scale('ab', 0)` (the call that raised ZeroDivisionError (main.py, line 2)): raised " \
           "ZeroDivisionError: division by zero; it must not raise ZeroDivisionError" in retry
    assert (Store(str(project.store)).read("autogen.maths") or "").endswith(BROKEN.lstrip())
    assert not (project.store / ".history").exists()


MEAN = '''
def mean(values: list[float]) -> float:
    """The average of values."""
    return sum(values) / len(values)
'''


def test_the_callers_assert_on_the_failing_call_is_an_example(project: Project, llm: FakeLLM) -> None:
    wrong = MEAN.replace("return sum", "return 1.0 if not values else sum")
    right = MEAN.replace("return sum", "return 0.0 if not values else sum")
    llm.openai.push(Code(MEAN), Code(wrong), Code(right))
    ok(project.run("from autogen.stats import mean\n", name="first.py"))
    result = project.run(
        """
        from autogen.stats import mean

        def check(items):
            assert mean(items) == 0.0, "empty"

        check([])
        """,
        env=ON,
    )
    assert result.returncode == 1 and result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "repaired: stored a fixed version (openai, fake-model, 2 attempts)" in result.stderr
    retry = llm.chat_requests()[-1]
    assert "`mean([]) == 0.0` (the call that raised ZeroDivisionError (main.py, line 4)): expected 0.0, got 1.0" \
        in retry.body["messages"][-1]["content"]
    record = Store(str(project.store)).metadata("autogen.stats") or {}
    assert [e["text"] for e in record["examples"]] == ["mean([]) == 0.0"]
    assert ok(project.run("from autogen.stats import mean\nprint(mean([]))\n", name="again.py")) == "0.0\n"


def test_the_repair_command_takes_a_traceback_file(project: Project, llm: FakeLLM, tmp_path: Path) -> None:
    llm.openai.push(Code(BROKEN), Code(FIXED))
    ok(project.run("from autogen.maths import scale\n"))
    trace = tmp_path / "tb.txt"
    trace.write_text(
        "Traceback (most recent call last):\n  File \"main.py\", line 2, in <module>\n"
        f"    scale({KEY!r}, 0)\n  File \".autogen/maths.py\", line 4, in scale\n    return len(token) / n\n"
        "ZeroDivisionError: division by zero\n"
    )
    result = cli(project, "repair", "autogen.maths", "--traceback", str(trace), "--hint", "0 gives 0.0")
    assert ok(result).startswith("autogen.maths: repaired: stored a fixed version (openai, fake-model, 1 attempt); "
                                 "the old one is version 1 of the history")
    prompt = prompt_of(llm.chat_requests()[-1])
    assert "A repair asked for by hand (autogen-hook repair): autogen.maths: ZeroDivisionError: division by zero" \
        in prompt
    assert "return len(token) / n" in prompt and KEY not in prompt and "What to change besides: 0 gives 0.0" in prompt
    kept = json.loads((project.store / ".history" / "maths" / "1.json").read_text())
    assert kept["replaced_because"].startswith("repaired: autogen.maths: ZeroDivisionError")
    llm.openai.push(Code(FIXED))
    again = json.loads(ok(cli(project, "repair", "autogen.maths", "--traceback", str(trace), "--json")))
    assert again["replaced_version"] == 2 and again["attempts"] == 1
    assert again["repair"] == "autogen.maths: ZeroDivisionError: division by zero (a traceback given by hand)"
    missing = cli(project, "repair", "autogen.maths", "--traceback", str(tmp_path / "none.txt"))
    assert missing.returncode == 2 and "--traceback: cannot read" in missing.stderr
    unstored = cli(project, "repair", "autogen.other", "--traceback", str(trace))
    assert unstored.returncode == 1 and "autogen.other is not stored" in unstored.stderr
    assert len(llm.chat_requests()) == 3


ASYNC_AND_OWN = '''
import math
from math import sqrt


async def ratio(a: int, b: int) -> float:
    """a over b."""
    return a / b


def check(n: int) -> int:
    """n, which must not be negative."""
    if n < 0:
        raise ValueError("n must not be negative")
    return n
'''


def test_coroutines_are_watched_and_the_modules_own_raise_is_its_answer(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(ASYNC_AND_OWN), Code(ASYNC_AND_OWN.replace("return a / b", "return a / b if b else 0.0")))
    out = ok(project.run(
        """
        import asyncio, inspect, math
        from autogen.calc import check, ratio, sqrt
        print(inspect.iscoroutinefunction(ratio), inspect.signature(ratio), sqrt is math.sqrt)
        try:
            check(-1)
        except ValueError as exc:
            print("answer:", exc)
        try:
            asyncio.run(ratio(1, 0))
        except ZeroDivisionError as exc:
            print("raised:", exc)
        """,
        env=ON,
    ))
    assert out == ("True (a: int, b: int) -> float True\nanswer: n must not be negative\n"
                   "raised: division by zero\n")
    assert len(llm.chat_requests()) == 2  # the ValueError asked for nothing
    assert "A repair: autogen.calc.ratio raised ZeroDivisionError" in prompt_of(llm.chat_requests()[1])
    again = ok(project.run("import asyncio\nfrom autogen.calc import ratio\nprint(asyncio.run(ratio(1, 0)))\n",
                           name="again.py"))
    assert again == "0.0\n"


def test_offline_nothing_is_watched(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(BROKEN))
    ok(project.run("from autogen.maths import scale\n", name="first.py"))
    result = project.run(FAILING, env={**ON, "AUTOGEN_HOOK_OFFLINE": "1"})
    assert "caught ZeroDivisionError" in ok(result)
    assert repair_lines(result.stderr) == [] and len(llm.chat_requests()) == 1


def test_under_review_the_repaired_version_waits_to_be_accepted(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(BROKEN), Code(FIXED))
    ok(project.run("from autogen.maths import scale\n", name="first.py"))
    review = {"AUTOGEN_HOOK_REVIEW": "new"}
    ok(cli(project, "accept", "autogen.maths", "--yes", env=review))
    result = project.run("from autogen.maths import scale\nscale('ab', 0)\n", env={**ON, **review})
    assert result.returncode == 1 and "repaired: stored a fixed version" in result.stderr
    refused = project.run(
        "try:\n    from autogen.maths import scale\nexcept ImportError as exc:\n    print(type(exc).__name__)\n",
        env=review, name="again.py",
    )
    assert ok(refused) == "NotAcceptedError\n"


def test_watching_a_stored_module_imports_nothing_heavy(project: Project) -> None:
    project.write(".autogen/t.py", 'def f() -> int:\n    """One."""\n    return 1\n')
    script = (
        "import sys\nbefore = set(sys.modules)\nfrom autogen.t import f\n"
        "new = set(sys.modules) - before\n"
        "print(f(), hasattr(f, '__wrapped__'), 'autogen_hook._repair' in new,"
        " sorted(new & {'ast', 'dataclasses', 'typing', 'inspect', 'traceback', 'httpx', 'black', 'asyncio'}))\n"
    )
    assert ok(project.run(script, env=ON)).strip() == "1 True True []"
    assert ok(project.run(script)).strip() == "1 False False []"


def test_the_users_call_is_the_one_repaired_not_the_modules_inner_one(project: Project, llm: FakeLLM) -> None:
    inner = MEAN + '''

def report(values: list[float]) -> str:
    """The average, to one decimal."""
    return f"{mean(values):.1f}"
'''
    llm.openai.push(Code(inner), Code(inner.replace("return sum", "return 0.0 if not values else sum")))
    result = project.run("from autogen.stats import report\nreport([])\n", env=ON)
    assert result.returncode == 1
    assert repair_lines(result.stderr)[0].startswith(
        "autogen-hook: autogen.stats.report raised ZeroDivisionError: division by zero; repaired:")
    assert "report([])" in prompt_of(llm.chat_requests()[1])


def test_a_pytest_tests_assert_is_the_failing_calls_outcome(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(MEAN), Code(MEAN.replace("return sum", "return 0.0 if not values else sum")))
    ok(project.run("from autogen.stats import mean\n", name="first.py"))
    project.write("test_stats.py", """
        from autogen.stats import mean


        def test_empty():
            items = []
            assert mean(items) == 0.0
        """)
    result = project.run("import sys, pytest\nsys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'test_stats.py']))\n",
                         env=ON)
    assert result.returncode == 1 and "ZeroDivisionError" in result.stdout
    record = Store(str(project.store)).metadata("autogen.stats") or {}
    assert [(e["text"], e["origin"]) for e in record["examples"]] == [
        ("mean([]) == 0.0", "the call that raised ZeroDivisionError (test_stats.py, line 6)")]
