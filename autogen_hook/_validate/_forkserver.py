"""The import check's server: forks a fresh, sandboxed child per candidate module.

Run as a script (``python -S path/to/_forkserver.py``), never imported by the package: it
loads what a fresh interpreter has plus the sandbox (``_sandbox.py`` beside it, dropped from
each child's ``sys.modules`` once the child's layers are on), so each forked child starts
as a fresh interpreter would, without paying an interpreter's start-up (~10 ms of CPU) for
every check. Frames on stdin and stdout are a 4-byte little-endian length and a marshalled
dict: ``{"id", "job"}`` in, ``{"id", "result", "status", "output", "timeout"}`` out. The
result is the child's bytes as it wrote them (``ascii()`` of a dict): the server never
parses what a sandboxed process wrote; the package reads it with ``ast.literal_eval``.

Per check the server makes a fresh directory under the job's ``temp`` and an unlinked
capture file in it for the child's output. When the child's result pipe closes, or its
deadline (the time limit and a second) passes, the server kills the child's process group,
reaps the child, reads back the end of its output and removes the directory. The server
ends when its stdin closes or its parent is gone; its children die with it. With
``--once`` it runs one check itself, under the same sandbox (no fork on this platform, or
no server).
"""

import _signal  # type: ignore[import-not-found]  # signal would import enum
import marshal
import os
import select
import sys
import time

_FRESH = set(sys.modules)  # what a child keeps: the sandbox's own imports are dropped
import _sandbox  # type: ignore[import-not-found]  # noqa: E402
import _trial  # type: ignore[import-not-found]  # noqa: E402

OUTPUT = 64 * 1024  # bytes of the child's output read back (its end)
RESULT = 1 << 20  # bytes of a result kept: an error text or a list of names is far smaller
LINE = 1000  # characters of an error's line sent back

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Job = dict[str, Any]


class Child:
    """A running check: its request, process, directory, capture file and deadline."""

    def __init__(self, ident: int, pid: int, directory: str, output: int, deadline: float) -> None:
        self.ident, self.pid, self.directory, self.output = ident, pid, directory, output
        self.deadline = deadline
        self.chunks: "list[bytes]" = []
        self.size = 0


def run(job: "Job", directory: str, result_fd: int, output_fd: int, parent: int) -> None:
    """In the check's process: put the sandbox on, check, write the result to its pipe."""
    layers = _sandbox.enter(job, directory, result_fd, output_fd, parent)
    for name in set(sys.modules) - _FRESH:
        del sys.modules[name]
    result = check(job)
    result["layers"] = layers
    for stream in (sys.stdout, sys.stderr):  # os._exit() follows: the server reads the output
        try:
            stream.flush()
        except BaseException:
            pass  # the module closed or replaced it
    os.write(_sandbox.RESULT_FD, ascii(result).encode())


def check(job: "Job") -> "dict[str, Any]":
    """Run the candidate as its module; report an exception, or which names are missing;
    then, if none is, the result of each of the job's trials (its examples, ``_trial.py``)."""
    if hasattr(_signal, "alarm"):  # POSIX: end even if orphaned
        _signal.alarm(job["limits"]["seconds"])
    sys.path[:] = job["path"]
    module = type(sys)(job["module"])
    module.__file__ = job["filename"]
    sys.modules[job["module"]] = module
    try:
        exec(compile(job["source"], job["filename"], "exec"), module.__dict__)
        missing = [n for n in job["names"] if n not in module.__dict__]
    except BaseException as exc:
        import linecache
        import traceback

        lines = job["source"].splitlines(True)
        linecache.cache[job["filename"]] = (len(job["source"]), None, lines, job["filename"])
        return {
            "error": "".join(line[:LINE] for line in traceback.format_exc().splitlines(True)[-12:]),
            "summary": traceback.format_exception_only(type(exc), exc)[-1].strip()[:LINE],
            "refused": isinstance(exc, (OSError, MemoryError)),  # what the sandbox refuses
        }
    if missing or not job.get("trials"):
        return {"missing": missing}
    return {"missing": missing, "trials": _trial.run(module.__dict__, job["trials"])}


def start(request: "dict[str, Any]", poll: "select.poll", children: "dict[int, Child]") -> None:
    """Fork a sandboxed child for the request; its result arrives on a pipe of its own."""
    job = request["job"]
    directory = _sandbox.make_directory(job["temp"])
    capture = os.path.join(directory, "output")
    output = os.open(capture, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.unlink(capture)  # only this process can read it back
    read, write = os.pipe()
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            run(job, directory, write, output, server)
        finally:
            os._exit(0)
    os.close(write)
    try:
        os.setpgid(pid, pid)  # so that a kill right after the fork reaches the group
    except OSError:
        pass  # the child did it first, or is gone
    poll.register(read, select.POLLIN)
    children[read] = Child(request["id"], pid, directory, output, time.monotonic() + job["limits"]["seconds"] + 1)


def end(child: Child) -> "tuple[int, bytes]":
    """Kill the child's process group, reap it, read back its output, remove its directory."""
    for kill in (os.killpg, os.kill):
        try:
            kill(child.pid, _signal.SIGKILL)
        except OSError:
            pass  # already gone
    _, status = os.waitpid(child.pid, 0)
    size = os.fstat(child.output).st_size
    output = os.pread(child.output, OUTPUT, max(0, size - OUTPUT))
    os.close(child.output)
    _sandbox.remove_tree(child.directory)
    return status, output


def finish(read: int, poll: "select.poll", children: "dict[int, Child]", timeout: bool = False) -> None:
    """The child's pipe closed or its time is up: end it and reply."""
    poll.unregister(read)
    os.close(read)
    child = children.pop(read)
    status, output = end(child)
    reply = marshal.dumps({"id": child.ident, "result": b"".join(child.chunks), "status": status,
                           "output": output, "timeout": timeout})
    frame = len(reply).to_bytes(4, "little") + reply
    while frame:
        frame = frame[os.write(1, frame) :]


def serve() -> None:
    poll = select.poll()
    poll.register(0, select.POLLIN)
    children: "dict[int, Child]" = {}
    pending = b""
    parent = os.getppid()
    try:
        while os.getppid() == parent:  # a process the parent forked may hold our stdin open
            now = time.monotonic()
            for read in [r for r, child in children.items() if child.deadline <= now]:
                finish(read, poll, children, timeout=True)
            wait = min([1.0, *(child.deadline - now for child in children.values())])
            for fd, _ in poll.poll(max(wait, 0.0) * 1000):
                data = os.read(fd, 1 << 16)
                if fd != 0:
                    child = children[fd]
                    if data:
                        if child.size < RESULT:  # beyond: drained, dropped
                            child.chunks.append(data)
                            child.size += len(data)
                    else:
                        finish(fd, poll, children)
                    continue
                if not data:
                    return  # the parent is gone
                pending += data
                while len(pending) >= 4 and len(pending) >= 4 + int.from_bytes(pending[:4], "little"):
                    size = int.from_bytes(pending[:4], "little")
                    start(marshal.loads(pending[4 : 4 + size]), poll, children)
                    pending = pending[4 + size :]
    finally:
        for child in children.values():
            end(child)


def once() -> None:
    """One check in this interpreter: the job on stdin, the result on stdout, output on stderr
    (the caller's capture file); the caller made the job's directory and removes it."""
    job = marshal.loads(sys.stdin.buffer.read())
    run(job, job["directory"], os.dup(1), 2, os.getppid())


if __name__ == "__main__":
    once() if sys.argv[1:] == ["--once"] else serve()
