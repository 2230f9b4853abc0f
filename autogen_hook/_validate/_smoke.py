"""The last check: import the candidate in a separate process and look for the names.

Static checks cannot see a NameError in a default argument or a missing
transitive dependency. Running the module in a separate process finds those
without touching the importing process. The process is forked by a check server
(``_forkserver.py``) that holds only built-in modules, so it starts as a fresh
interpreter would, for the price of a fork. It gets this process's ``sys.path``,
no provider credentials, the hook switched off, and a time limit of its own (it
must not outlive a killed parent). The server skips ``site``, unless a ``.pth``
file installed an import finder here, as setuptools' editable installs do: the
module may import through it.
"""

from __future__ import annotations

import asyncio
import marshal
import os
import sys
from typing import Any

from ._static import Problem

TIMEOUT = 30.0
_SERVER = os.path.join(os.path.dirname(__file__), "_forkserver.py")


async def smoke_import(source: str, module: str, names: tuple[str, ...], filename: str) -> None:
    """Raise a Problem if importing ``source`` fails or leaves a requested name undefined."""
    job = {
        "source": source, "filename": filename, "module": module, "names": list(names),
        "path": sys.path, "environ": _child_env(), "cwd": os.getcwd(),  # as of this check
        "limit": max(1, int(TIMEOUT)),  # seconds; alarm(0) would cancel the alarm
    }
    result, ending = await _check(job)
    if result is None:
        if ending == "timeout":
            raise Problem(
                f"importing the module did not finish within {TIMEOUT:g} s; "
                "module-level code must not block or loop"
            )
        raise Problem(f"importing the module crashed the interpreter ({ending})")
    if result.get("error"):
        raise Problem(f"importing the module raised an exception:\n{result['error']}")
    if result.get("missing"):
        raise Problem(
            "after importing, these names are not defined: " + ", ".join(result["missing"])
        )


async def _check(job: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The child's result (None if it died) and how it ended: forked from the process's
    check server, or, where there is no fork or the server is gone, a fresh interpreter."""
    if hasattr(os, "fork"):
        global _server
        loop = asyncio.get_running_loop()
        if _server is None or _server.loop is not loop:  # it belongs to one event loop
            _server = _ForkServer(loop)
        try:
            return await _server.check(job)
        except (OSError, EOFError, asyncio.IncompleteReadError):
            _server = None  # started again by the next check
    return await _fresh_interpreter(job)


class _ForkServer:
    """One ``_forkserver.py`` process per process, started on first use; checks run in
    children it forks, so a check costs a fork instead of an interpreter's start-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._process: asyncio.subprocess.Process | None = None
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = 0
        self._starting = asyncio.Lock()

    async def check(self, job: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        process = await self._started()
        assert process.stdin is not None
        self._ids += 1
        ident = self._ids
        reply = self._replies[ident] = self.loop.create_future()
        try:
            payload = marshal.dumps({"id": ident, "job": job})
            process.stdin.write(len(payload).to_bytes(4, "little") + payload)
            await process.stdin.drain()
            answer = await asyncio.wait_for(reply, TIMEOUT + 10)  # the child's alarm comes first
        except asyncio.TimeoutError:
            return None, "timeout"
        finally:
            self._replies.pop(ident, None)
        status = answer["status"]
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 14:  # SIGALRM: the time limit
            return None, "timeout"
        return answer["result"], f"exit status {os.waitstatus_to_exitcode(status)}"

    async def _started(self) -> asyncio.subprocess.Process:
        async with self._starting:
            if self._process is None:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable, *_site_flags(), _SERVER,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                    env=_child_env(),
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


_server: _ForkServer | None = None


def _forget_server() -> None:
    """A forked child must not share its parent's check server."""
    global _server
    _server = None


os.register_at_fork(after_in_child=_forget_server)


async def _fresh_interpreter(job: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """One check in a new interpreter of its own (``_forkserver.py --once``)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, *_site_flags(), _SERVER, "--once",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=_child_env(),
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(marshal.dumps(job)), TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        return None, "timeout"
    return _result(stdout), f"exit status {process.returncode}"


def _result(stdout: bytes) -> dict[str, Any] | None:
    try:
        value = marshal.loads(stdout)
    except (EOFError, ValueError, TypeError):
        return None  # the child died before writing its result
    return value if isinstance(value, dict) else None


_STANDARD_FINDERS = ("_frozen_importlib", "_frozen_importlib_external", "importlib", "_distutils_hack",
                     "autogen_hook", "site")


def _site_flags() -> tuple[str, ...]:
    """``-S`` unless a finder that ``site`` installed (an editable install's) may be needed."""
    modules = {str(getattr(finder, "__module__", "")).partition(".")[0] for finder in sys.meta_path}
    return () if modules.difference(_STANDARD_FINDERS) else ("-S",)


_CREDENTIALS = ("_API_KEY", "_API_TOKEN", "_TOKEN", "_SECRET", "_PASSWORD")


def _child_env() -> dict[str, str]:
    """This environment without credentials: generated code runs in the child."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith(_CREDENTIALS)}
    env["AUTOGEN_HOOK_DISABLE"] = "1"
    env.pop("PYTHONSTARTUP", None)
    return env
