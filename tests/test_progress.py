"""The live status line: on an interactive terminal only, never in CI or when disabled."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from conftest import Project
from fakellm import Code, FakeLLM, Run, Slow

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
SCRIPT = "from autogen.t import f\nprint(f())\n"


def run_with_terminal_stderr(project: Project, env: dict[str, str]) -> str:
    """Run the script with stderr on a pseudo-terminal; return what the terminal showed."""
    project.write("main.py", SCRIPT)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "main.py"], cwd=project.root, env={**project.env, **env},
        stdout=subprocess.PIPE, stderr=slave,
    )
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert process.wait(timeout=60) == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


def test_terminal_shows_module_provider_time_and_tokens(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Slow(0.8, Code(GOOD)))
    shown = run_with_terminal_stderr(project, {"TERM": "xterm"})
    assert "autogen-hook: generating autogen.t · openai · " in shown
    assert " tokens" in shown and "s · " in shown
    assert shown.endswith("\r\x1b[2K")  # the line is cleared when generation ends


def test_an_agent_runs_page_is_printed_whole_on_a_line_of_its_own(project: Project, llm: FakeLLM) -> None:
    llm.codegen.push(Run(["ACTIVE", "COMPLETE"], result=f"Done.\n\n```python\n{GOOD}```\n"))
    url = f"{llm.url}/agent/trace/1001"
    shown = run_with_terminal_stderr(
        project, {"TERM": "xterm", "COLUMNS": "40", "AUTOGEN_HOOK_PROVIDER": "codegen"}
    )
    note = f"autogen-hook: autogen.t is being written by a codegen agent; watch it at {url}"
    assert f"\r\x1b[2K{note}\r\n" in shown  # whole, though the terminal is narrow (pty: \r\n)
    assert shown.count("watch it at") == 1


def test_log_records_start_on_a_cleared_line(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Slow(0.5, Code(GOOD)))
    shown = run_with_terminal_stderr(
        project,
        {"TERM": "xterm", "AUTOGEN_HOOK_PROVIDER": "openai,anthropic",
         "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "AUTOGEN_HOOK_RETRIES": "0"},
    )
    assert "\r\x1b[2Kautogen-hook: openai is unavailable, trying the next provider" in shown
    assert "autogen-hook: generating autogen.t · anthropic · " in shown


def test_nothing_is_printed_in_ci_or_when_disabled(project: Project, llm: FakeLLM) -> None:
    llm.openai.responder = lambda request: Slow(0.3, Code(GOOD))
    # CI implies offline unless the project says otherwise; here it generates, and shows nothing
    for env in ({"CI": "true", "AUTOGEN_HOOK_OFFLINE": "0", "TERM": "xterm"}, {"AUTOGEN_HOOK_PROGRESS": "0", "TERM": "xterm"},
                {"TERM": "dumb"}):
        (project.store / "t.py").unlink(missing_ok=True)
        assert "generating" not in run_with_terminal_stderr(project, env)


def test_nothing_is_printed_when_stderr_is_not_a_terminal(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Slow(0.3, Code(GOOD)))
    result = project.run(SCRIPT, env={"TERM": "xterm"})
    assert result.returncode == 0 and result.stderr == ""


def test_concurrent_generations_share_one_line() -> None:
    import asyncio
    import io

    from autogen_hook._progress import StatusLine
    from autogen_hook.providers import Progress

    async def draw() -> str:
        line = StatusLine(io.StringIO())
        jobs = [line.start(f"autogen.m{i}").using("openai") for i in range(4)]
        jobs[0](Progress(tokens=10))
        jobs[1](Progress(tokens=5))
        shown = line.render(jobs[0].started + 2.0)
        for job in jobs:
            job.finish()
        return shown

    assert asyncio.run(draw()) == (
        "autogen-hook: generating 4 modules (autogen.m0, autogen.m1, autogen.m2, …) · 2.0s · 15 tokens"
    )
