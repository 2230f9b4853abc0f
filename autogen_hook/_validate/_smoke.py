"""The last check: import the candidate in a sandboxed process and look for the names.

Static checks cannot see a NameError in a default argument or a missing transitive
dependency. Running the module in a separate process finds those without touching the
importing process. The process is forked by a check server (``_forkserver.py``) that holds
only built-in modules, so it starts as a fresh interpreter would, for the price of a fork;
where there is no fork, or the server is gone, a fresh interpreter runs the check instead.
Either way the check runs in a sandbox (``_sandbox.py``): an environment built from
nothing, a fresh temporary directory as cwd, ``HOME`` and ``TMPDIR``, no network, reads of
the interpreter and the importable code only (``_readable.py``), writes in that directory
only, no new processes, limits on CPU, memory, file size and time, and nothing of it left
when the check ends. The server itself starts with that environment, so no credential is
even in its memory. It skips ``site``, unless a ``.pth`` file installed an import finder
here, as setuptools' editable installs do: the module may import through it.

What comes back is data, not a channel: the exception text and the end of the output are
redacted with the prompt's rules and capped (``Problem``) before they reach a retry prompt
or an error message.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import marshal
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from .._runtime import arun
from .._state import STATE
from ..context._redact import redact
from . import _readable
from ._static import Problem

TIMEOUT = 30.0  # seconds of wall and of CPU time
MEMORY = 2 << 30  # bytes of address space
FILE_SIZE = 16 << 20  # bytes a file may grow to
OPEN_FILES = 256
TASKS = 128  # threads (no new process is allowed at all); not applied to root
OUTPUT_LINES = 10  # of the end of the output, in a problem
ENVIRONMENT = {  # HOME and TMPDIR: the check's own directory
    "PATH": "/usr/bin:/bin" if os.name == "posix" else os.defpath,
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "AUTOGEN_HOOK_DISABLE": "1",
    "PYTHONDONTWRITEBYTECODE": "1",  # the check writes nothing where the module is
}
_PASSED = ("LD_LIBRARY_PATH", "SYSTEMROOT")  # where extension modules' libraries are; Windows needs it
_RESULT_MAX = 1 << 20  # bytes: a result is an error text or a list of names
_SERVER = os.path.join(os.path.dirname(__file__), "_forkserver.py")
_SANDBOX_NOTE = (
    "(the import check runs in a sandbox: an empty temporary directory as working directory, "
    "no network, no reads outside the interpreter and the importable code, no writes outside "
    "that directory, no new processes, {memory} GiB of memory; importing must not act on the "
    "outside world)"
)
log = logging.getLogger("autogen_hook")


@dataclass(frozen=True)
class Outcome:
    """What one check gave: the child's result (None if it died), how it ended, its output."""

    result: dict[str, Any] | None
    ending: str  # "timeout", "exit status N" or "killed by SIGNAME"
    output: str  # the end of what it printed


async def smoke_import(
    source: str, module: str, names: tuple[str, ...], filename: str, trials: list[dict[str, Any]] | None = None
) -> list[Any]:
    """Raise a Problem if importing ``source`` fails or leaves a requested name undefined;
    else return what the ``trials`` (examples, ``_examples.trials``) gave, unchecked."""
    outcome = await run_check(check_job(source, module, names, filename, trials))
    result = outcome.result
    doing = "importing the module and running its examples" if trials else "importing the module"
    if result is None:
        if outcome.ending == "timeout":
            what = "the module's code" if trials else "module-level code"
            raise _problem(f"{doing} did not finish within {TIMEOUT:g} s; {what} must not block or loop", outcome.output)
        raise _problem(f"{doing} crashed the interpreter ({outcome.ending})", outcome.output)
    _warn_missing(result.get("layers", {}))
    if result.get("error"):
        note = "\n" + _SANDBOX_NOTE.format(memory=MEMORY >> 30) if result.get("refused") else ""
        raise _problem(
            f"importing the module raised an exception: {result.get('summary', '')}{note}\n{result['error']}",
            outcome.output,
        )
    if result.get("missing"):
        raise Problem(
            "after importing, these names are not defined: " + ", ".join(result["missing"])
        )
    return list(result.get("trials", []))


def check_job(
    source: str, module: str, names: tuple[str, ...], filename: str, trials: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Everything the check's process gets, as of now: it inherits nothing else."""
    path = [os.path.abspath(p) for p in sys.path if isinstance(p, str)]  # "" is this cwd
    return {
        "source": source, "filename": filename, "module": module, "names": list(names), "trials": trials or [],
        "path": path, "environ": environment(), "temp": tempfile.gettempdir(),
        "rules": _readable.rules(path, source if _custom_finders() else None),
        "limits": {
            "seconds": max(1, int(TIMEOUT)),  # alarm(0) would cancel the alarm
            "memory": MEMORY, "file_size": FILE_SIZE, "files": OPEN_FILES, "tasks": TASKS,
        },
    }


def environment() -> dict[str, str]:
    """Built from nothing: no credential, no setting of the user's reaches generated code."""
    return {**ENVIRONMENT, **{name: os.environ[name] for name in _PASSED if name in os.environ}}


def _problem(message: str, output: str) -> Problem:
    """Redacted with the prompt's rules, then capped by Problem: the model reads this."""
    lines = output.rstrip("\n").splitlines()[-OUTPUT_LINES:]
    if lines:
        message += "\noutput of the import (last lines):\n" + "\n".join(lines)
    return Problem(redact(message))


def _warn_missing(layers: dict[str, list[Any]]) -> None:
    """Once per process: which of the sandbox's layers this platform does not offer."""
    missing = [f"{key} ({detail})" for key, (active, detail) in layers.items() if not active]
    if missing and not STATE.sandbox_warned:
        STATE.sandbox_warned = True
        log.warning(
            "autogen-hook: the import check's sandbox runs without %s here; "
            "`autogen-hook doctor` shows what it enforces", ", ".join(missing)
        )


async def run_check(job: dict[str, Any]) -> Outcome:
    """Run one check: forked from the process's check server, or, where there is no fork or
    the server is gone, in a fresh interpreter."""
    if hasattr(os, "fork"):
        return await arun(_forked(job))  # on the background loop, which the server belongs to
    return await _fresh_interpreter(job)


async def _forked(job: dict[str, Any]) -> Outcome:
    server: _ForkServer | None = STATE.check_server
    if server is None:
        server = STATE.check_server = _ForkServer(asyncio.get_running_loop())
    try:
        return await server.check(job)
    except (OSError, EOFError, asyncio.IncompleteReadError):
        STATE.check_server = None  # started again by the next check
    return await _fresh_interpreter(job)


class _ForkServer:
    """One ``_forkserver.py`` process per process (``STATE.check_server``), started on first
    use on the background loop; checks run in children it forks, so a check costs a fork
    instead of an interpreter's start-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._process: asyncio.subprocess.Process | None = None
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = 0
        self._starting = asyncio.Lock()

    async def check(self, job: dict[str, Any]) -> Outcome:
        process = await self._started()
        assert process.stdin is not None
        self._ids += 1
        ident = self._ids
        reply = self._replies[ident] = self.loop.create_future()
        try:
            payload = marshal.dumps({"id": ident, "job": job})
            process.stdin.write(len(payload).to_bytes(4, "little") + payload)
            await process.stdin.drain()
            answer = await asyncio.wait_for(reply, TIMEOUT + 10)  # the server's deadline comes first
        except asyncio.TimeoutError:
            return Outcome(None, "timeout", "")
        finally:
            self._replies.pop(ident, None)
        status, output = answer["status"], answer["output"].decode("utf-8", "replace")
        if answer["timeout"] or (os.WIFSIGNALED(status) and os.WTERMSIG(status) in _TIME_SIGNALS):
            return Outcome(None, "timeout", output)
        return Outcome(_result(answer["result"]), _ending(os.waitstatus_to_exitcode(status)), output)

    async def aclose(self) -> None:
        """End the server, on its loop (``STATE.close``); its children die with it."""
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def _started(self) -> asyncio.subprocess.Process:
        async with self._starting:
            if self._process is None:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable, *_site_flags(), _SERVER,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                    env=environment(),
                )
                self.loop.create_task(self._read(self._process))
            return self._process

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        """Hand each reply to its waiting check; if the server goes away, fail them all."""
        assert process.stdout is not None
        try:
            while True:
                size = int.from_bytes(await process.stdout.readexactly(4), "little")
                answer = marshal.loads(await process.stdout.readexactly(size))
                waiting = self._replies.get(answer["id"])
                if waiting is not None and not waiting.done():
                    waiting.set_result(answer)
        except (asyncio.IncompleteReadError, OSError, ValueError, EOFError) as exc:
            for waiting in self._replies.values():
                if not waiting.done():
                    waiting.set_exception(EOFError(f"the check server ended ({exc})"))


_TIME_SIGNALS = (signal.SIGALRM, getattr(signal, "SIGXCPU", signal.SIGALRM))  # alarm, CPU limit


async def _fresh_interpreter(job: dict[str, Any]) -> Outcome:
    """One check in a new interpreter of its own (``_forkserver.py --once``), in a directory
    this process makes and removes, its output in a capture file only this process reads."""
    directory = tempfile.mkdtemp(prefix="autogen-check-")
    try:
        with tempfile.TemporaryFile(dir=directory) as capture:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *_site_flags(), _SERVER, "--once",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=capture,
                env=environment(),
                start_new_session=os.name == "posix",  # its own group, killed whole
            )
            try:
                stdout = await asyncio.wait_for(_exchange(process, {**job, "directory": directory}), TIMEOUT)
            except asyncio.TimeoutError:
                _kill(process)
                await process.wait()
                return Outcome(None, "timeout", _tail(capture))
            assert process.returncode is not None
            if process.returncode < 0 and -process.returncode in _TIME_SIGNALS:
                return Outcome(None, "timeout", _tail(capture))
            return Outcome(_result(stdout), _ending(process.returncode), _tail(capture))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _exchange(process: asyncio.subprocess.Process, job: dict[str, Any]) -> bytes:
    """Send the job, read the result (capped, the rest drained), wait for the end."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(marshal.dumps(job))
    await process.stdin.drain()
    process.stdin.close()
    stdout = b""
    while chunk := await process.stdout.read(1 << 16):
        if len(stdout) < _RESULT_MAX:
            stdout += chunk
    await process.wait()
    return stdout


def _kill(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL) if os.name == "posix" else process.kill()
    except ProcessLookupError:
        pass


def _tail(capture: Any) -> str:
    capture.seek(0, os.SEEK_END)
    capture.seek(max(0, capture.tell() - (64 << 10)))
    return capture.read().decode("utf-8", "replace")


def _ending(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


_RESULT_TYPES = {"missing": list, "error": str, "summary": str, "refused": bool, "layers": dict, "trials": list}


def _result(raw: bytes) -> dict[str, Any] | None:
    """The child's result, read as data (it ran the candidate: its bytes are untrusted);
    None if it died before writing one, or wrote something else."""
    try:
        value = ast.literal_eval(raw.decode("ascii"))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or not all(
        isinstance(value.get(key, kind()), kind) for key, kind in _RESULT_TYPES.items()
    ):
        return None
    if not all(isinstance(n, str) for n in value.get("missing", [])) or not all(
        isinstance(k, str) and isinstance(v, list) and len(v) == 2 for k, v in value.get("layers", {}).items()
    ):
        return None
    return value


_STANDARD_FINDERS = ("_frozen_importlib", "_frozen_importlib_external", "importlib", "_distutils_hack",
                     "autogen_hook", "site")


def _custom_finders() -> bool:
    """Whether an import finder that ``site`` installed (an editable install's) is here."""
    modules = {str(getattr(finder, "__module__", "")).partition(".")[0] for finder in sys.meta_path}
    return bool(modules.difference(_STANDARD_FINDERS))


def _site_flags() -> tuple[str, ...]:
    """``-S`` unless a finder that ``site`` installed may be needed."""
    return () if _custom_finders() else ("-S",)
