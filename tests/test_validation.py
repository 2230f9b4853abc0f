"""Validation: each check on its own, and the retry loop that feeds problems back to the model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, import_failure, ok
from fakellm import Code, FakeLLM, Text, prompt_of

from autogen_hook._validate import Grants, Problem, Spec, validate
from autogen_hook._validate._capabilities import CAPABILITIES
from autogen_hook._validate._extract import extract_code

GOOD = 'def f(x: int) -> int:\n    """Twice."""\n    return 2 * x\n'


def grants(*allow: str) -> Grants:
    """What ``allow = [...]`` grants: capability names, and modules or names."""
    return Grants(frozenset(a for a in allow if a in CAPABILITIES), frozenset(a for a in allow if a not in CAPABILITIES))


def check(code: str, names: tuple[str, ...] = ("f",), allow: tuple[str, ...] = ()) -> str:
    spec = Spec("autogen.t", names, frozenset(), "/tmp/autogen-t.py", "autogen", grants(*allow))
    return asyncio.run(validate(f"```python\n{code}\n```", spec))


def problem(code: str, **kwargs: object) -> str:
    with pytest.raises(Problem) as info:
        check(code, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize(
    "reply",
    [
        f"```python\n{GOOD}```",
        f"Sure!\n```py\n{GOOD}```\nUse it like `f(2)`.",
        GOOD,
        f"<think>maybe ```python\nbad(\n```</think>\n```python\n{GOOD}```",
        f"```python\n{GOOD}",  # truncated: fence never closed
        f"Example:\n```python\nprint(f(2))\n```\nModule:\n```python\n{GOOD}```",
    ],
)
def test_extracts_the_module_from_replies(reply: str) -> None:
    assert extract_code(reply, ("f",)).strip() == GOOD.strip()


def test_good_code_is_returned_black_formatted() -> None:
    assert check("def f(x:int)->int:\n  '''Twice.'''\n  return 2*x") == (
        'def f(x: int) -> int:\n    """Twice."""\n    return 2 * x\n'
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def f(:\n    pass", "line 1"),
        ("def g():\n    return 1", "not defined at module level: f"),
        ("import not_a_real_package_xyz\n" + GOOD, "'not_a_real_package_xyz', which is not installed"),
        ("from autogen.other import helper\n" + GOOD, "generated namespace 'autogen'"),
        ("from . import sibling\n" + GOOD, "relative imports"),
        ("import os\nos.system('rm -rf /')\n" + GOOD, "runs on import and calls os.system"),
        (GOOD + "def g():\n    import subprocess\n    subprocess.run(['ls'])\n", "safety policy"),
        (GOOD + "def g(s):\n    return eval(s)\n", "uses eval (needs 'dynamic')"),
        (GOOD + "for i in range(3):\n    print(i)\n", "runs on import and calls print"),
        ("import os\n_gone = os.remove('victim.txt')\n" + GOOD, "runs on import and calls os.remove"),
        ("import os\n_r = getattr(os, 'sys' + 'tem')('x')\n" + GOOD, "uses getattr, os (needs 'dynamic'"),
        ("from shutil import rmtree as r\nif True:\n    _x = r('d')\n" + GOOD, "calls shutil.rmtree"),
        ("DATA = open('secrets.txt').read()\n" + GOOD, "runs on import and calls open"),
        ("import os\ndef f(x=os.remove('v')):\n    return x\n", "calls os.remove"),
        ("import os\nclass A:\n    gone = os.unlink('v')\n" + GOOD, "calls os.unlink"),
        ("x = 'y' * 3_000_000\n" + "def f(:\n", "line 2"),
        ("raise RuntimeError('boom at import')\n" + GOOD, "RuntimeError: boom at import"),
        ("def f(x=undefined_name):\n    return x\n", "NameError"),
    ],
)
def test_each_check_names_the_problem(code: str, expected: str) -> None:
    assert expected in problem(code)


def test_problems_are_kept_short_whatever_the_reply() -> None:
    assert len(problem("x = '" + "y" * 3_000_000 + "'\ndef f(:\n")) < 2_000


def test_module_level_values_that_only_compute_are_fine() -> None:
    code = (
        "import logging, os, re, sys\n"
        "log = logging.getLogger(__name__)\nPATTERN = re.compile('a+')\n"
        "SEP = os.sep\nJOINED = os.path.join('a', 'b')\nPS1 = getattr(sys, 'ps1', None)\n"
        "SQUARES = {n: n * n for n in range(10)}\n"
    )
    assert "PATTERN = re.compile" in check(code + GOOD)


def test_granted_capabilities_still_may_not_act_on_import() -> None:
    code = "import os\nREADERS = {'.txt': lambda p: open(p).read()}\nHOME = os.environ.get('HOME', '')\n"
    message = problem(code + GOOD, allow=("filesystem", "environment"))
    assert "line 3" in message and "calls os.environ.get" in message and "import-time" in message
    assert "line 2" not in message  # the lambda opens nothing on import
    assert "HOME = os.environ" in check(code + GOOD, allow=("filesystem", "environment", "import-time"))


def test_optional_imports_and_main_guard_are_allowed() -> None:
    code = (
        "try:\n    import not_a_real_package_xyz as fast\nexcept ImportError:\n    fast = None\n"
        + GOOD
        + "if __name__ == '__main__':\n    print(f(2))\n"
    )
    assert "def f" in check(code, allow=("not_a_real_package_xyz",))
    assert "a third-party package the project does not declare" in problem(code)


def test_allow_setting_lifts_a_policy_rule() -> None:
    code = GOOD + "def g():\n    import subprocess\n    return subprocess.run(['true']).returncode\n"
    assert "subprocess.run" in check(code, allow=("subprocess",))
    assert "subprocess.run" in check(code, allow=("process",))


def test_own_function_named_like_a_builtin_is_not_the_builtin() -> None:
    assert "def compile" in check("def compile(x):\n    return x\n" + GOOD)


def test_invalid_then_valid_code_is_retried_with_the_exact_problem(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code("def f(:\n    pass"), Code(GOOD))
    assert ok(project.run("from autogen.t import f\nprint(f(4))\n")).strip() == "8"
    first, second = llm.chat_requests()
    assert len(second.body["messages"]) == len(first.body["messages"]) + 2
    assistant, feedback = second.body["messages"][-2:]
    assert assistant["role"] == "assistant" and "def f(:" in assistant["content"]
    assert "That module was rejected" in feedback["content"] and "line 1" in feedback["content"]


def test_every_attempt_failing_raises_with_each_problem_and_stores_nothing(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Text("I cannot help with that."), Code("def g():\n    pass"), Code("def f(:"))
    out = import_failure(project, "from autogen.t import f")
    assert out.startswith("ValidationFailedError autogen.t")
    assert "all 3 attempts failed" in out
    assert "attempt 1:" in out and "attempt 2: these requested names are not defined" in out
    assert "attempt 3: line 1" in out
    assert len(llm.chat_requests()) == 3
    assert not (project.store / "t.py").exists()
    assert not [p for p in project.store.rglob("*.py")]


def test_max_attempts_setting_limits_the_attempts(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code("def f(:"), Code("def f(:"))
    result = project.run(
        "from autogen.t import f\n", env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "2"}
    )
    assert "ValidationFailedError" in result.stderr and "all 2 attempts" in result.stderr
    assert len(llm.chat_requests()) == 2


def test_policy_problem_is_sent_back(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(
        Code("import os\n\ndef f(x: int) -> int:\n    os.system('echo hi')\n    return x\n"),
        Code(GOOD),
    )
    ok(project.run("from autogen.t import f\n"))
    assert "safety policy" in prompt_of(llm.chat_requests()[1])


SHOP_FINDER = '''
"""Serves ``shop`` from outside sys.path, as setuptools' editable finders do."""
import importlib.util
import sys

SOURCE = {source!r}


class ShopFinder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "shop":
            return importlib.util.spec_from_file_location(name, SOURCE)
        return None


sys.meta_path.append(ShopFinder)
'''


def test_a_module_may_import_through_a_finder_a_pth_file_installed(
    project: Project, llm: FakeLLM, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "outer.pth").write_text("".join(f"{p}\n" for p in sys.path if p and Path(p).is_dir()))
    shop = project.write("src/shop.py", "class Order:\n    amount = 3\n")
    (site / "shop_finder.py").write_text(SHOP_FINDER.format(source=str(shop)))
    (site / "shop_finder.pth").write_text("import shop_finder\n")
    llm.openai.push(Code('from shop import Order\n\n\ndef total(order: Order) -> int:\n    """Amount."""\n'
                         "    return order.amount\n"))
    project.write("main.py", "import autogen_hook\nfrom shop import Order\nfrom autogen.pricing import total\n"
                             "print(total(Order()))\n")
    result = subprocess.run([str(venv / "bin" / "python"), "main.py"], cwd=project.root,
                            env={**project.env, "AUTOGEN_HOOK_ALLOW": "shop"},
                            capture_output=True, text=True, timeout=60)
    assert ok(result).strip() == "3"
    assert len(llm.chat_requests()) == 1


def test_generated_code_is_checked_in_an_environment_built_from_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from autogen_hook._validate._smoke import environment

    for name in ("OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "PGPASSWORD", "SSH_AUTH_SOCK"):
        monkeypatch.setenv(name, "secret")
    monkeypatch.setenv("MY_SETTING", "not passed either")
    env = environment()
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "AUTOGEN_HOOK_DISABLE", "PYTHONDONTWRITEBYTECODE", "LD_LIBRARY_PATH"}
    assert env["AUTOGEN_HOOK_DISABLE"] == "1" and env["PATH"] == "/usr/bin:/bin"


@pytest.fixture
def quick_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from autogen_hook._validate import _smoke

    monkeypatch.setattr(_smoke, "TIMEOUT", 1.0)


def test_an_import_that_hangs_is_stopped_at_the_time_limit(quick_limit: None) -> None:
    code = "import time\n\n\ndef f(x: int = time.sleep(30)) -> int:\n    return 2\n"
    assert "did not finish within 1 s" in problem(code, allow=("import-time",))


def test_an_import_that_ends_the_interpreter_is_reported(quick_limit: None) -> None:
    code = "import os\n\n\ndef f(x: int = os._exit(3)) -> int:\n    return 2\n"
    assert "crashed the interpreter (exit status 3)" in problem(code, allow=("process", "import-time"))


def test_checks_go_on_when_the_server_is_gone_or_there_is_no_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    from autogen_hook._runtime import arun
    from autogen_hook._state import STATE

    async def kill_the_server_between_checks() -> list[str]:
        spec = Spec("autogen.t", ("f",), frozenset(), "/tmp/autogen-t.py", "autogen", Grants())
        first = await validate(f"```python\n{GOOD}```", spec)
        server = STATE.check_server._process
        server.kill()
        await arun(server.wait())  # on the background loop, which the server belongs to
        second = await validate(f"```python\n{GOOD}```", spec)
        return [first, second]

    assert asyncio.run(kill_the_server_between_checks()) == [GOOD, GOOD]
    monkeypatch.delattr(os, "fork")  # as on Windows: a fresh interpreter per check
    assert check(GOOD) == GOOD
    assert "NameError: name 'undefined_name' is not defined" in problem("def f(x=undefined_name):\n    return x\n")


def test_each_check_sees_the_sys_path_and_directory_of_its_moment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "helper_for_check.py").write_text("SEVEN = 7\n")
    later = "import helper_for_check\n\n\ndef f() -> int:\n    return helper_for_check.SEVEN\n"

    async def two_checks() -> str:
        spec = Spec("autogen.t", ("f",), frozenset(), "/tmp/autogen-t.py", "autogen", grants("environment", "helper_for_check", "import-time"))
        await validate(f"```python\n{GOOD}```", spec)  # the check server starts here
        monkeypatch.chdir(tmp_path)
        monkeypatch.syspath_prepend("")  # "" is the working directory of this process, not the check's
        return await validate(f"```python\n{later}```", spec)

    assert "helper_for_check.SEVEN" in asyncio.run(two_checks())
