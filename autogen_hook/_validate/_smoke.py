"""The last check: import the candidate in a fresh interpreter and look for the names.

Static checks cannot see a NameError in a default argument or a missing
transitive dependency. Running the module in a separate process finds those
without touching the importing process. The child gets this process's
``sys.path``, no provider credentials, the hook switched off, and a time limit of
its own (it must not outlive a killed parent). It skips ``site``, most of its
start-up cost, unless a ``.pth`` file installed an import finder here, as
setuptools' editable installs do: the module may import through it.
"""

from __future__ import annotations

import asyncio
import marshal
import os
import sys
from typing import Any

from ._static import Problem

TIMEOUT = 30.0
# The child imports only built-in modules (marshal, sys) unless it has a traceback to
# format: its start-up is most of the check's cost. The module's own prints go to
# stderr; stdout carries the marshalled result.
_CHILD = """
import _signal, marshal, sys
job = marshal.loads(sys.stdin.buffer.read())
hasattr(_signal, "alarm") and _signal.alarm(job["limit"])  # POSIX: end even if orphaned
sys.path[:] = job["path"]
out, sys.stdout = sys.stdout, sys.stderr
module = type(sys)(job["module"])
module.__file__ = job["filename"]
sys.modules[job["module"]] = module
try:
    exec(compile(job["source"], job["filename"], "exec"), module.__dict__)
    result = {"missing": [n for n in job["names"] if n not in module.__dict__]}
except BaseException:
    import linecache, traceback
    lines = job["source"].splitlines(True)
    linecache.cache[job["filename"]] = (len(job["source"]), None, lines, job["filename"])
    result = {"error": "".join(traceback.format_exc().splitlines(True)[-12:])}
out.buffer.write(marshal.dumps(result))
"""


async def smoke_import(source: str, module: str, names: tuple[str, ...], filename: str) -> None:
    """Raise a Problem if importing ``source`` fails or leaves a requested name undefined."""
    job = {"source": source, "filename": filename, "module": module, "names": list(names),
           "path": sys.path, "limit": int(TIMEOUT) + 5}
    process = await asyncio.create_subprocess_exec(
        sys.executable, *_site_flags(), "-c", _CHILD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_env(),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(marshal.dumps(job)), TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise Problem(
            f"importing the module did not finish within {TIMEOUT:g} s; "
            "module-level code must not block or loop"
        ) from None
    result = _result(stdout)
    if result is None:
        tail = stderr.decode(errors="replace").strip()[-600:]
        raise Problem(f"importing the module crashed the interpreter: {tail or 'no output'}")
    if result.get("error"):
        raise Problem(f"importing the module raised an exception:\n{result['error']}")
    if result.get("missing"):
        raise Problem(
            "after importing, these names are not defined: " + ", ".join(result["missing"])
        )


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
