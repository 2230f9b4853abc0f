"""The last check: import the candidate in a fresh interpreter and look for the names.

Static checks cannot see a NameError in a default argument or a missing
transitive dependency. Running the module in a separate process finds those
without touching the importing process. The child gets this process's
``sys.path`` and skips ``site`` (so the hook is not active inside it).
"""

from __future__ import annotations

import asyncio
import json
import sys

from ._static import Problem

TIMEOUT = 30.0
_MARK = "\x00autogen-hook-smoke:"
_CHILD = f"""
import json, linecache, sys, traceback, types
job = json.loads(sys.stdin.read())
sys.path[:] = job["path"]
source, filename = job["source"], job["filename"]
linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
module = types.ModuleType(job["module"])
module.__file__ = filename
sys.modules[job["module"]] = module
try:
    exec(compile(source, filename, "exec"), module.__dict__)
    result = {{"missing": [n for n in job["names"] if n not in module.__dict__]}}
except BaseException:
    result = {{"error": "".join(traceback.format_exc().splitlines(True)[-12:])}}
sys.stdout.write({_MARK!r} + json.dumps(result) + "\\n")
"""


async def smoke_import(source: str, module: str, names: tuple[str, ...], filename: str) -> None:
    """Raise a Problem if importing ``source`` fails or leaves a requested name undefined."""
    job = json.dumps(
        {"source": source, "filename": filename, "module": module, "names": names,
         "path": sys.path}
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-S", "-c", _CHILD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_env(),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(job.encode()), TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise Problem(
            f"importing the module did not finish within {TIMEOUT:g} s; "
            "module-level code must not block or loop"
        ) from None
    result = _result(stdout.decode(errors="replace"))
    if result is None:
        tail = stderr.decode(errors="replace").strip()[-600:]
        raise Problem(f"importing the module crashed the interpreter: {tail or 'no output'}")
    if result.get("error"):
        raise Problem(f"importing the module raised an exception:\n{result['error']}")
    if result.get("missing"):
        raise Problem(
            "after importing, these names are not defined: " + ", ".join(result["missing"])
        )


def _result(stdout: str) -> dict[str, object] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARK):
            try:
                value = json.loads(line[len(_MARK) :])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _child_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["AUTOGEN_HOOK_DISABLE"] = "1"
    env.pop("PYTHONSTARTUP", None)
    return env
