"""Tests as the spec: ``regenerate MODULE --until-pass TEST`` and ``warm --tests PATH``, against
the local server, each command in a fresh interpreter and the user's tests in a pytest subprocess
of its own (offline, through the plugin)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import Project, cli, ok, store_module
from fakellm import Code, FakeLLM, Recorded, Text, prompt_of

from autogen_hook._store import Store

OLD = 'def slugify(text: str) -> str:\n    """A slug."""\n    return text\n'
FIRST_SPACE = 'def slugify(text: str) -> str:\n    """A slug."""\n    return text.lower().replace(" ", "-", 1)\n'
RIGHT = 'def slugify(text: str) -> str:\n    """A slug."""\n    return text.lower().replace(" ", "-")\n'
# the expected value is computed in a loop: no example can be extracted from it, so pytest's
# run is what catches a wrong module
LOOPED = """
    from autogen.text import slugify


    def test_slugify():
        for words in (["Hello", "World"], ["A", "B", "C"]):
            assert slugify(" ".join(words)) == "-".join(w.lower() for w in words)
    """
SIMPLE = """
    from autogen.text import slugify


    def test_simple():
        assert slugify("A B") == "a-b"
    """
SECTION = "Examples the module must satisfy"


@pytest.fixture
def texts(project: Project) -> Project:
    project.write("tests/test_text.py", LOOPED)
    store_module(project, "autogen.text", OLD)
    return project


def offline_pytest(project: Project, *tests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=project.root,
                          env={**project.env, "AUTOGEN_HOOK_OFFLINE": "1"}, capture_output=True, text=True, timeout=120)


def history(project: Project, module: str) -> list[dict[str, object]]:
    return json.loads(ok(cli(project, "history", module, "--json")))["versions"]  # type: ignore[no-any-return]


def test_a_wrong_module_that_passes_validation_is_caught_by_the_test_and_regenerated(texts: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(FIRST_SPACE), Code(RIGHT))
    result = cli(texts, "regenerate", "autogen.text", "--until-pass", "tests/test_text.py::test_slugify")
    assert result.returncode == 0, result.stderr
    assert "regenerated autogen.text: the tests pass (2 round(s)): .autogen/text.py" in result.stdout
    first, second = llm.chat_requests()
    assert "fail with the current module" not in prompt_of(first)
    reason = prompt_of(second).partition("Why it is written again:\n")[2]
    assert "The tests tests/test_text.py::test_slugify fail with the current module" in reason
    assert "AssertionError" in reason and "'a-b c' == 'a-b-c'" in reason  # pytest's own assertion lines
    assert "FAILED tests/test_text.py::test_slugify" in reason  # and its short summary
    assert FIRST_SPACE in prompt_of(second).rpartition("```python\n")[2]  # the current source is the wrong one
    assert RIGHT in (texts.store / "text.py").read_text()
    assert offline_pytest(texts, "tests/test_text.py").returncode == 0
    why = [v["replaced_because"] for v in history(texts, "autogen.text")]
    assert why[0] == "regenerated: asked for on purpose (autogen-hook regenerate), without a reason"
    assert why[1].startswith("regenerated: The tests tests/test_text.py::test_slugify fail")  # the failed candidate


def test_tests_that_never_pass_restore_the_old_version_and_keep_the_candidates(texts: Project, llm: FakeLLM) -> None:
    before = (texts.store / "text.py").read_text()
    llm.openai.push(Code(FIRST_SPACE), Code(FIRST_SPACE.replace("1)", "1)  # again")))
    result = cli(texts, "regenerate", "autogen.text", "--until-pass", "tests/test_text.py", "--json",
                 env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "2"})
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is False and report["rounds"] == 2 and report["restored"] is True
    assert report["replaced_version"] == 1 and report["tests"] == ["tests/test_text.py"]
    assert "'a-b c' == 'a-b-c'" in report["failures"]
    assert len(llm.chat_requests()) == 2
    assert (texts.store / "text.py").read_text() == before
    assert Store(str(texts.store)).metadata("autogen.text")["restored_from"] == 1  # type: ignore[index]
    kept = history(texts, "autogen.text")
    assert len(kept) == 3 and kept[-1]["replaced_because"] == "rolled back to version 1"
    assert "# again" in (texts.store / ".history" / "text" / "3.py").read_text()  # the last candidate
    assert "# again" not in (texts.store / ".history" / "text" / "2.py").read_text()  # the first one

    llm.openai.push(Code(FIRST_SPACE))
    failed = cli(texts, "regenerate", "autogen.text", "--until-pass", "tests/test_text.py",
                 env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "1"})
    assert failed.returncode == 1
    assert "autogen.text: the tests tests/test_text.py still fail after 1 round(s); version 4, stored before, is restored" in failed.stderr
    assert "What failed in the last round:" in failed.stderr and "'a-b c' == 'a-b-c'" in failed.stderr


def test_a_test_that_does_not_exist_is_a_usage_error_and_nothing_is_asked(texts: Project, llm: FakeLLM) -> None:
    for test in ("tests/test_text.py::test_nothing", "tests/test_none.py::test_slugify", "tests/test_text.py::T::t"):
        result = cli(texts, "regenerate", "autogen.text", "--until-pass", test)
        assert result.returncode == 2, result.stderr
        assert "error: --until-pass: " in result.stderr and repr(test) in result.stderr, result.stderr
    texts.write("tests/test_empty.py", "from autogen.text import slugify\n")
    llm.openai.push(Code(RIGHT))
    empty = cli(texts, "regenerate", "autogen.text", "--until-pass", "tests/test_empty.py")
    assert empty.returncode == 2 and "collected no test" in empty.stderr
    assert (texts.store / "text.py").read_text().endswith(OLD)  # the one round is undone
    assert len(llm.chat_requests()) == 1  # the ids above never reached the model
    for command in (["regenerate", "autogen.text", "--until-pass", "tests/test_text.py"], ["warm", "--tests", "tests"]):
        reviewed = cli(texts, *command, env={"AUTOGEN_HOOK_REVIEW": "new"})  # candidates would run unaccepted
        assert reviewed.returncode == 1 and "the review setting is 'new'" in reviewed.stderr
    assert len(llm.chat_requests()) == 1


def test_a_tests_extractable_asserts_are_examples_of_the_first_prompt_and_checked_in_the_sandbox(
    project: Project, llm: FakeLLM
) -> None:
    project.write("tests/test_text.py", SIMPLE)
    llm.openai.push(Code(OLD), Code(RIGHT))  # OLD fails the example: a validation retry, no pytest round
    # not stored yet, and no --names: the names the test uses are generated
    result = cli(project, "regenerate", "autogen.text", "--until-pass", "tests/test_text.py::test_simple")
    assert result.returncode == 0, result.stderr
    assert "the tests pass (1 round(s))" in result.stdout
    first, second = llm.chat_requests()
    examples = prompt_of(first).partition(SECTION)[2]
    assert "slugify('A B') == 'a-b'" in examples
    feedback = second.body["messages"][-1]["content"]
    assert "(tests/test_text.py, line 5): expected 'a-b', got 'A B'" in feedback
    record = Store(str(project.store)).metadata("autogen.text")
    assert record is not None and record["examples_passed"] is True
    assert [(e["text"], e["origin"]) for e in record["examples"] if e["op"] != "call"] == [
        ("slugify('A B') == 'a-b'", "tests/test_text.py, line 5")]


def _scripted(request: Recorded) -> Text:
    """autogen.text: the wrong slug first, then the right one; autogen.maths: right at once."""
    prompt = prompt_of(request)
    if "`autogen.maths`" in prompt:
        return Code('def double(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n')
    return Code(RIGHT if "fail with the current module" in prompt else FIRST_SPACE)


def test_warm_tests_generates_what_the_tests_use_until_they_pass(project: Project, llm: FakeLLM) -> None:
    project.write("tests/test_text.py", LOOPED)
    project.write("tests/test_maths.py", """
        import autogen.maths as m


        def test_double():
            assert m.double(2) == 4
        """)
    project.write("tests/test_more_maths.py", "from autogen.maths import double\n\n\ndef test_more():\n    assert double(5) == 10\n")
    project.write("tests/helpers.py", "from autogen.other import thing\n")  # not a test file: not warmed
    llm.openai.responder = _scripted
    result = cli(project, "warm", "--tests", "tests", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    modules = {m["module"]: m for m in report["modules"]}
    assert set(modules) == {"autogen.maths", "autogen.text"}
    assert modules["autogen.maths"]["rounds"] == 1 and modules["autogen.maths"]["passed"] is True
    assert modules["autogen.text"]["rounds"] == 2 and modules["autogen.text"]["tests"] == ["tests/test_text.py"]
    assert report["counts"] == {"passed": 2, "failed": 0}
    maths = next(prompt_of(r) for r in llm.chat_requests() if "`autogen.maths`" in prompt_of(r))
    examples = maths.partition(SECTION)[2]
    assert "m.double(2) == 4" not in examples  # the asserts of every file that uses it, as examples
    assert "double(2) == 4" in examples and "double(5) == 10" in examples
    assert modules["autogen.maths"]["tests"] == ["tests/test_maths.py", "tests/test_more_maths.py"]
    assert len(llm.chat_requests()) == 3
    assert offline_pytest(project, "tests").returncode == 0
    again = cli(project, "warm", "--tests", "tests")  # both pass as stored: nothing is asked
    assert again.returncode == 0 and len(llm.chat_requests()) == 3
    assert re.search(r"autogen.text\s+passes\s+0", again.stdout)
    assert "2 module(s) pass their tests, 0 fail" in again.stdout
    assert cli(project, "warm", "app", "--tests", "tests").returncode == 2


def test_warm_tests_removes_a_module_whose_tests_never_pass_and_keeps_the_others(project: Project, llm: FakeLLM) -> None:
    project.write("tests/test_text.py", LOOPED)
    project.write("tests/test_maths.py", "from autogen.maths import double\n\n\ndef test_double():\n    assert double(2) == 4\n")
    llm.openai.responder = lambda request: (
        _scripted(request) if "`autogen.maths`" in prompt_of(request) else Code(FIRST_SPACE))
    result = cli(project, "warm", "--tests", "tests/test_text.py", "tests/test_maths.py",
                 env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "2"})
    assert result.returncode == 1
    assert re.search(r"autogen.maths\s+passes\s+1", result.stdout) and re.search(r"autogen.text\s+fails\s+2", result.stdout)
    assert "failed: autogen.text: the tests tests/test_text.py still fail after 2 round(s); the module, not stored " \
           "before, is removed again" in result.stdout
    assert not (project.store / "text.py").exists() and (project.store / "maths.py").exists()
    assert len(history(project, "autogen.text")) == 2  # both candidates


PYTEST_OUTPUT = """\
F.                                                                       [100%]
=================================== FAILURES ===================================
_________________________________ test_login _________________________________

    def test_login():
        config = load()
>       assert connect(config) == "ok"
E       AssertionError: assert 'refused: password: hunter2-Xy7' == 'ok'

tests/test_login.py:9: AssertionError
----------------------------- Captured stdout call -----------------------------
noise the report leaves out
=========================== short test summary info ============================
FAILED tests/test_login.py::test_login - AssertionError: assert 'refused: ...
1 failed, 1 passed in 0.03s
"""


def test_the_failure_report_keeps_what_says_why_redacted_and_capped() -> None:
    from autogen_hook._until_pass import REPORT_CAP, failure_report

    report = failure_report(PYTEST_OUTPUT)
    assert report.splitlines()[0].startswith("___") and "test_login" in report.splitlines()[0]
    assert '>       assert connect(config) == "ok"' in report and "tests/test_login.py:9: AssertionError" in report
    assert "FAILED tests/test_login.py::test_login" in report and "1 failed, 1 passed" in report
    assert "config = load()" not in report and "noise" not in report  # the test's other lines, its output
    assert "hunter2-Xy7" not in report  # prose redaction: a secret word, then a value
    long = failure_report(PYTEST_OUTPUT.replace("E       Assert", "E       " + "x" * 9000 + "\nE       Assert"))
    assert len(long) < REPORT_CAP + 100 and long.endswith("more characters cut]")


def test_a_parametrized_id_names_its_function_and_a_file_all_its_asserts(project: Project) -> None:
    from autogen_hook._settings import resolve
    from autogen_hook._until_pass import test_examples

    project.write("tests/test_text.py", SIMPLE + """

    @pytest.mark.parametrize("n", [1, 2])
    def test_more(n):
        assert slugify("X") == "x"
    """)
    settings = resolve(str(project.root), {})
    found = test_examples(settings, ["tests/test_text.py::test_more[1]"], "autogen.text", ["slugify"])
    assert [e.text for e in found] == ["slugify('X') == 'x'"]
    whole = test_examples(settings, ["tests/test_text.py", "tests/test_text.py::test_simple"], "autogen.text", ["slugify"])
    assert [e.text for e in whole] == ["slugify('A B') == 'a-b'", "slugify('X') == 'x'"]  # once each
