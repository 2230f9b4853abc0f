"""Shared fixtures: a local LLM server, a throwaway project, and a fresh interpreter per scenario."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fakellm import FakeLLM  # noqa: E402

from autogen_hook._state import STATE  # noqa: E402
from autogen_hook.providers import (  # noqa: E402
    Completion,
    CompletionRequest,
    Message,
    Progress,
    Provider,
)
from autogen_hook.providers._ratelimit import Clock  # noqa: E402

_PROVIDER_VARIABLES = ("OPENAI_", "ANTHROPIC_", "CODEGEN_", "AUTOGEN_HOOK_")


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    """Each test leaves the process as a fresh interpreter would be: ``STATE.reset()`` closes
    what the test opened and forgets what it injected (a clock, windows)."""
    yield
    STATE.reset()


@pytest.fixture(autouse=True)
def not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CI`` turns offline mode on (see _settings); the suite's own CI must not."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    """A fresh local server for each test, stopped afterwards."""
    with FakeLLM() as server:
        yield server


@pytest.fixture
def provider_env(llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> FakeLLM:
    """This process's environment points every provider at ``llm`` (in-process provider tests)."""
    for name in list(os.environ):
        if name.startswith(_PROVIDER_VARIABLES):
            monkeypatch.delenv(name)
    for name, value in llm.env().items():
        monkeypatch.setenv(name, value)
    return llm


def ask(
    provider: Provider,
    *messages: Message,
    progress: list[Progress] | None = None,
    **fields: object,
) -> Completion:
    """Run one ``provider.complete`` on a fresh event loop and close the provider's client there."""
    request = CompletionRequest(
        messages=messages or (Message("system", "Write modules."), Message("user", "Write autogen.t.")),
        module="autogen.t",
        **fields,  # type: ignore[arg-type]
    )

    async def complete() -> Completion:
        try:
            return await provider.complete(request, None if progress is None else progress.append)
        finally:
            await provider.aclose()

    return asyncio.run(complete())


class FakeClock(Clock):
    """A clock that moves only when something sleeps on it (at once) or the test moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.time = now
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds
        await asyncio.sleep(0)


@dataclass
class Project:
    """A temporary project directory whose scripts run in fresh interpreters."""

    root: Path
    env: dict[str, str]

    @property
    def store(self) -> Path:
        return self.root / ".autogen"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def run(
        self, script: str, *, env: dict[str, str] | None = None, timeout: float = 60, name: str = "main.py"
    ) -> subprocess.CompletedProcess[str]:
        """Write ``script`` to ``name`` and run it with this project's environment."""
        self.write(name, script)
        return self.run_file(name, env=env, timeout=timeout)

    def run_file(
        self, name: str, *, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, name],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, name: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, name],
            cwd=self.root,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def cli(
    project: Project, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``autogen-hook ARGS`` in a fresh interpreter, in the project (or ``cwd``); stdin is no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "autogen_hook", *args], cwd=cwd or project.root, env={**project.env, **(env or {})},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )


def on_terminal(
    project: Project, *args: str, answer: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """``autogen-hook ARGS`` on a pseudo-terminal, typing ``answer`` once it asks; (status, what it showed)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "autogen_hook", *args], cwd=project.root,
        env={**project.env, "TERM": "xterm", **(env or {})}, stdin=slave, stdout=slave, stderr=slave,
    )
    os.close(slave)
    shown = b""
    ends = time.monotonic() + 120
    try:
        while (chunk := read_terminal(master, 5)) is not None and time.monotonic() < ends:
            shown += chunk
            if answer is not None and b"[y/N]" in shown:
                os.write(master, answer)
                answer = None
    finally:
        os.close(master)
    return process.wait(timeout=60), shown.decode(errors="replace")


def clean_env() -> dict[str, str]:
    """The test runner's environment without any provider or autogen-hook variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROVIDER_VARIABLES)}
    for name in ("PYTHONDONTWRITEBYTECODE", "CI"):  # CI would silence the status line
        env.pop(name, None)
    env["AUTOGEN_HOOK_RETRIES"] = "0"  # tests that want retries say so
    return env


@pytest.fixture
def project(tmp_path: Path, llm: FakeLLM) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    return Project(root=root, env={**clean_env(), **llm.env()})


REPORT = """
try:
    from autogen.t import f
    print("ok", f())
except ImportError as exc:
    print(type(exc).__name__, "|", exc)
"""


def report(project: Project, script: str = REPORT, **env: str) -> str:
    """What importing ``autogen.t.f`` gave: ``ok <f()>`` or ``<error type> | <message>``."""
    return ok(project.run(script, env=env)).strip()


def import_failure(project: Project, statement: str, **env: str) -> str:
    """Run ``statement`` in a fresh interpreter; return "<error type> <exc.name>" and the message."""
    script = (
        f"try:\n    {statement}\nexcept ImportError as exc:\n"
        "    print(type(exc).__name__, exc.name)\n    print(exc)\n"
    )
    return ok(project.run(script, env=env))


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The script's stdout, failing the test with its stderr if it did not exit 0."""
    assert result.returncode == 0, f"exit {result.returncode}\n--- stderr ---\n{result.stderr}"
    return result.stdout


def read_terminal(fd: int, wait: float) -> bytes | None:
    """What the pseudo-terminal ``fd`` shows within ``wait`` seconds; None once the other side
    has closed it."""
    data = b""
    while select.select([fd], [], [], wait)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child exited
            return data or None
        if not chunk:
            return data or None
        data += chunk
        wait = 0.05
    return data


def store_module(project: Project, module: str, source: str, **record: object) -> Path:
    """Put ``source`` in the project's store as a generation would (header, metadata, history)."""
    from autogen_hook._store import Store, header

    metadata = {
        "module": module, "names": [], "provider": "openai", "model": "fake-model", "attempts": 1, "problems": [],
        "input_tokens": 100, "output_tokens": 50, "written_at": "2026-01-01T00:00:00+00:00", "seconds": 0.5,
        "prompt_sha256": "0" * 64, "description_sha256": None, **record,
    }
    full = header(module, "openai", "fake-model", "2026-01-01") + textwrap.dedent(source).lstrip("\n")
    return Path(Store(str(project.store)).write(module, full, metadata))
