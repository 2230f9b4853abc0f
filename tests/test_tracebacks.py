"""What the user sees when an import through the hook fails: the message, at most the one frame
of the library that Python itself called, and a terminal without the status line on it."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import Project, read_terminal
from fakellm import Code, FakeLLM, Slow, Status, Text

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
CLEAR = "\r\x1b[2K"  # how the status line is wiped


def library_frames(traceback: str) -> list[str]:
    """The frames of the printed traceback that are this package's code, or of the machinery
    that waits for it (concurrent.futures, threading)."""
    frames = re.findall(r'^  File "([^"]+)", line \d+, in (\S+)', traceback, re.M)
    return [
        f"{os.path.basename(path)}:{function}"
        for path, function in frames
        if f"{os.sep}autogen_hook{os.sep}" in path or "concurrent" in path or path.endswith("threading.py")
    ]


def failed_import(project: Project, script: str, **env: str) -> str:
    """Run ``script``, which must fail; return the traceback it printed."""
    result = project.run(script, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Traceback (most recent call last):"), result.stderr
    return result.stderr


def only_the_entry_frame(traceback: str, entry: str) -> None:
    """At most one library frame, and that one is ``entry`` (the function Python called)."""
    frames = library_frames(traceback)
    assert frames in ([], [entry]), traceback


def test_a_bad_setting_shows_the_setting_not_the_library(project: Project) -> None:
    traceback = failed_import(project, "from autogen.t import f\n", AUTOGEN_HOOK_MAX_ATTEMPTS="0")
    only_the_entry_frame(traceback, "_finder.py:find_spec")
    assert traceback.rstrip().endswith(
        "autogen_hook.SettingsError: AUTOGEN_HOOK_MAX_ATTEMPTS: expected a whole number >= 1, got '0'"
    )


def test_a_bad_grant_is_reported_from_the_attribute_python_asked_for(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook]\nallow = ["filesytem"]\n')
    traceback = failed_import(project, "from autogen.t import f\n")
    only_the_entry_frame(traceback, "_finder.py:__getattr__")
    assert "did you mean 'filesystem'?" in traceback


def test_failed_validation_shows_one_frame(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code("def g() -> int:\n    return 1\n"))
    traceback = failed_import(project, "from autogen.t import f\n", AUTOGEN_HOOK_MAX_ATTEMPTS="1")
    only_the_entry_frame(traceback, "_finder.py:__getattr__")
    assert "autogen_hook.ValidationFailedError: could not generate a valid autogen.t" in traceback


def test_a_provider_error_shows_one_frame(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(401, "Incorrect API key provided"))
    traceback = failed_import(project, "import autogen.t as t\nt.f()\n")  # an attribute, not an import
    only_the_entry_frame(traceback, "_finder.py:__getattr__")
    assert "autogen_hook.AuthenticationError: " in traceback and "check OPENAI_API_KEY" in traceback
    assert "During handling" not in traceback  # no chained httpx error either


def test_offline_and_not_stored_shows_one_frame(project: Project, llm: FakeLLM) -> None:
    traceback = failed_import(project, "from autogen.t import f\n", AUTOGEN_HOOK_OFFLINE="1")
    only_the_entry_frame(traceback, "_finder.py:__getattr__")
    assert "autogen_hook.NotGeneratedError: autogen.t has no stored source for f" in traceback


def test_a_refused_review_shows_one_frame_and_a_failing_module_its_lines(project: Project) -> None:
    project.write(".autogen/t.py", "def f() -> int:\n    return 1\n")
    traceback = failed_import(project, "import autogen.t\n", AUTOGEN_HOOK_REVIEW="always")
    only_the_entry_frame(traceback, "_finder.py:exec_module")
    assert "autogen_hook.NotAcceptedError: autogen.t does not run until it is accepted" in traceback
    project.write(".autogen/t.py", "# autogen-hook: generated module autogen.t (openai, m, 2026-01-01).\nX = 1\n")
    project.write(".autogen/u.py", "import autogen.t\n")  # yours: it runs, and imports the model's
    traceback = failed_import(project, "import autogen.u\n", AUTOGEN_HOOK_REVIEW="new")
    assert f'File "{project.store / "u.py"}", line 1' in traceback  # where u imports it
    assert "autogen_hook.NotAcceptedError: autogen.t does not run" in traceback


def test_a_keyword_module_name_shows_one_frame(project: Project, llm: FakeLLM) -> None:
    traceback = failed_import(project, "import importlib\nimportlib.import_module('autogen.class')\n")
    only_the_entry_frame(traceback, "_finder.py:find_spec")
    assert "autogen_hook.InvalidNameError: cannot generate 'autogen.class'" in traceback


def _until(fd: int, marker: bytes, shown: bytes, start: int | None = None, timeout: float = 30) -> bytes:
    """Read the terminal until ``marker`` appears past ``start`` (by default, after what was
    ``shown`` so far); return all that was shown."""
    deadline, start = time.monotonic() + timeout, len(shown) if start is None else start
    while marker not in shown[start:]:
        assert time.monotonic() < deadline, f"{marker!r} never appeared in {shown!r}"
        chunk = read_terminal(fd, 0.2)
        if chunk is None:
            break
        shown += chunk
    return shown


def _interrupted(shown: str) -> str:
    """The traceback of the KeyboardInterrupt, checked to follow a cleared status line."""
    before, _, after = shown.partition("Traceback (most recent call last):")
    assert "autogen-hook: generating autogen.t" in before, shown
    assert before.endswith(CLEAR), repr(before[-200:])  # the line was wiped before the traceback
    assert "generating" not in after, repr(after)  # and not drawn again
    assert "KeyboardInterrupt" in after, repr(after)
    return after.replace("\r\n", "\n")


def test_ctrl_c_in_a_script_clears_the_line_and_shows_one_frame(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Slow(30, Code(GOOD)))
    project.write("main.py", "from autogen.t import f\n")
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "main.py"], cwd=project.root, env={**project.env, "TERM": "xterm"},
        stdin=slave, stdout=slave, stderr=slave,
    )
    os.close(slave)
    try:
        shown = _until(master, b"generating autogen.t", b"")
        process.send_signal(signal.SIGINT)  # Ctrl-C
        while (chunk := read_terminal(master, 2)) is not None:
            shown += chunk
    finally:
        os.close(master)
    assert process.wait(timeout=30) != 0
    traceback = _interrupted(shown.decode(errors="replace"))
    only_the_entry_frame(traceback, "_finder.py:__getattr__")


def test_ctrl_c_in_the_repl_clears_the_line_and_shows_one_frame(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Slow(30, Code(GOOD)), Code(GOOD))
    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive interpreter in the project, on this terminal
        os.chdir(project.root)
        os.execve(sys.executable, [sys.executable, "-q"], {**project.env, "TERM": "xterm"})
    try:
        started = _until(fd, b">>> ", b"")
        os.write(fd, b"from autogen.t import f\n")
        shown = _until(fd, b"generating autogen.t", started)
        os.write(fd, b"\x03")  # Ctrl-C, as typed
        shown = _until(fd, b"KeyboardInterrupt", shown)
        interrupted = _until(fd, b">>> ", shown, start=shown.rindex(b"KeyboardInterrupt"))
        os.write(fd, b"from autogen.t import f; print('again', f())\n")  # the session goes on
        _until(fd, b"again 1", interrupted)
        os.write(fd, b"exit()\n")
        while read_terminal(fd, 1) is not None:
            pass
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    session = interrupted[len(started) :].decode(errors="replace").rpartition(">>> ")[0]
    traceback = _interrupted(session)
    only_the_entry_frame(traceback, "_finder.py:__getattr__")
