"""Grants: where they come from (allow, the grants table, declared dependencies), how a bad
entry is reported, and what a refusal sends back to the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Project, import_failure, ok
from fakellm import Code, FakeLLM, prompt_of

from autogen_hook import SettingsError
from autogen_hook._grants import grants_for
from autogen_hook._settings import resolve

READER = (
    'def read(path: str) -> str:\n    """The file\'s text."""\n'
    "    with open(path, encoding='utf-8') as f:\n        return f.read()\n"
)


def settings_with(root: Path, table: str, **overrides: object) -> object:
    (root / "pyproject.toml").write_text(f"[project]\nname='x'\n{table}\n")
    return resolve(str(root), overrides)


def test_allow_and_every_matching_glob_add_up(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        '[tool.autogen-hook]\nallow = ["environment"]\n'
        '[tool.autogen-hook.grants]\n"autogen.io.*" = ["filesystem"]\n"autogen.io.net" = ["network", "httpx"]\n',
    )
    net = grants_for("autogen.io.net", settings)  # type: ignore[arg-type]
    assert net.capabilities == {"environment", "filesystem", "network"} and net.names == {"httpx"}
    assert grants_for("autogen.text", settings).capabilities == {"environment"}  # type: ignore[arg-type]


def test_declared_dependencies_are_the_importable_packages(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        'dependencies = ["httpx>=0.27", "Not-Installed-Xyz", "pydantic ; python_version >= \'3.8\'"]\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\n',
    )
    packages = grants_for("autogen.x", settings).packages  # type: ignore[arg-type]
    assert {"httpx", "pydantic"} <= packages and "pytest" not in packages and "black" not in packages


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("filesytem", "unknown capability 'filesytem'; did you mean 'filesystem'?"),
        ("network!", "'network!' is neither a capability nor a module name"),
    ],
)
def test_a_bad_entry_is_a_settings_error_naming_where_it_is(tmp_path: Path, entry: str, message: str) -> None:
    settings = settings_with(tmp_path, f"[tool.autogen-hook.grants]\n\"autogen.*\" = [{json.dumps(entry)}]\n")
    with pytest.raises(SettingsError, match="grants 'autogen.[*]'") as info:
        grants_for("autogen.x", settings)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_a_grants_table_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="a table of module globs"):
        settings_with(tmp_path, '[tool.autogen-hook]\ngrants = "filesystem"\n')


def test_a_per_glob_grant_lets_only_those_modules_read_files(project: Project, llm: FakeLLM) -> None:
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook.grants]\n"autogen.io.*" = ["filesystem"]\n')
    project.write("notes.txt", "hello notes")
    llm.openai.push(Code(READER), Code(READER), Code(READER))
    out = import_failure(project, "from autogen.io.files import read\n    print(read('notes.txt'))\n    from autogen.text import read",
                         AUTOGEN_HOOK_MAX_ATTEMPTS="2")
    assert out.splitlines()[0] == "hello notes"
    assert "ValidationFailedError autogen.text" in out and "needs 'filesystem'" in out
    assert (project.store / "io" / "files.py").exists() and not (project.store / "text.py").exists()
    first, second, _ = llm.chat_requests()
    assert "Granted to this module: filesystem." in first.body["messages"][0]["content"]
    assert "Nothing is granted." in second.body["messages"][0]["content"]


def test_three_violations_come_back_in_one_message(project: Project, llm: FakeLLM) -> None:
    bad = (
        "import os\n\n\ndef f() -> str:\n"
        '    """Three uses."""\n    print(os.environ)\n    os.system("id")\n    return open("x").read()\n'
    )
    llm.openai.push(Code(bad), Code('def f() -> str:\n    """Fine."""\n    return "ok"\n'))
    assert ok(project.run("from autogen.t import f\nprint(f())\n")).strip() == "ok"
    feedback = prompt_of(llm.chat_requests()[1])
    assert "refused 3 uses" in feedback
    for expected in (
        "line 6: `os.environ` uses os.environ (needs 'environment')",
        "line 7: `os.system(\"id\")` uses os.system (needs 'process')",
        "line 8: `open(\"x\").read()` uses open (needs 'filesystem')",
    ):
        assert expected in feedback


def test_a_retry_carries_only_the_last_reply_capped(project: Project, llm: FakeLLM) -> None:
    huge = "def f(:\n" + "x = 1\n" * 400_000  # 2.4 MB that does not parse
    llm.openai.push(Code(huge), Code(huge), Code('def f() -> int:\n    """One."""\n    return 1\n'))
    # max-tokens high enough that a 2.4 MB answer is read at all (16 characters a token)
    env = {"AUTOGEN_HOOK_MAX_ATTEMPTS": "3", "AUTOGEN_HOOK_MAX_TOKENS": "200000"}
    ok(project.run("from autogen.t import f\n", env=env))
    first, second, third = (len(json.dumps(r.body)) for r in llm.chat_requests())
    assert second - first < 30_000 and abs(third - second) < 2_000  # not 2.4 MB, then 4.8 MB
    assert len(llm.chat_requests()[2].body["messages"]) == 4  # system, user, last reply, problem
