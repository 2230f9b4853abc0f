"""The import check's server: forks a fresh child per candidate module.

Run as a script (``python -S path/to/_forkserver.py``), never imported by the
package: it uses only built-in modules, so each forked child starts with what a
fresh interpreter has, without paying an interpreter's start-up (~10 ms of CPU)
for every check. Frames on stdin and stdout are a 4-byte little-endian length
and a marshalled dict: ``{"id", "job"}`` in, ``{"id", "result", "status"}`` out.

A child sets an alarm for the job's time limit, so it ends even if nobody waits
for it; the server ends when its stdin closes or its parent is gone. With
``--once`` it runs one check itself instead (no fork on this platform).
"""

import marshal
import os
import select
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Job = dict[str, Any]
    Children = dict[int, tuple[int, int, list[bytes]]]  # result pipe -> (id, pid, chunks)


def check(job: "Job") -> "dict[str, Any]":
    """Run the candidate as its module; report an exception, or which names are missing."""
    import _signal  # type: ignore[import-not-found]  # signal would import enum

    if hasattr(_signal, "alarm"):  # POSIX: end even if orphaned
        _signal.alarm(job["limit"])
    os.environ.clear()  # the importing process's, as of this check (the server's are older)
    os.environ.update(job["environ"])
    os.chdir(job["cwd"])
    sys.path[:] = job["path"]
    module = type(sys)(job["module"])
    module.__file__ = job["filename"]
    sys.modules[job["module"]] = module
    try:
        exec(compile(job["source"], job["filename"], "exec"), module.__dict__)
        return {"missing": [n for n in job["names"] if n not in module.__dict__]}
    except BaseException:
        import linecache
        import traceback

        lines = job["source"].splitlines(True)
        linecache.cache[job["filename"]] = (len(job["source"]), None, lines, job["filename"])
        return {"error": "".join(traceback.format_exc().splitlines(True)[-12:])}


def start(request: "Job", poll: "select.poll", children: "Children") -> None:
    """Fork a child for the request; its result arrives on a pipe of its own."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its output goes nowhere, its result into the pipe
        os.close(read)
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        try:
            result = check(request["job"])
            os.write(write, marshal.dumps(result))
        finally:
            os._exit(0)
    os.close(write)
    poll.register(read, select.POLLIN)
    children[read] = (request["id"], pid, [])


def finish(read: int, poll: "select.poll", children: "Children") -> None:
    """The child's pipe closed: collect it and reply."""
    poll.unregister(read)
    os.close(read)
    ident, pid, chunks = children.pop(read)
    _, status = os.waitpid(pid, 0)
    try:
        result = marshal.loads(b"".join(chunks))
    except (EOFError, ValueError, TypeError):
        result = None  # the child died before writing its result
    reply = marshal.dumps({"id": ident, "result": result, "status": status})
    frame = len(reply).to_bytes(4, "little") + reply
    while frame:
        frame = frame[os.write(1, frame) :]


def serve() -> None:
    poll = select.poll()
    poll.register(0, select.POLLIN)
    children: "Children" = {}
    pending = b""
    parent = os.getppid()
    while os.getppid() == parent:  # a process the parent forked may hold our stdin open
        for fd, _ in poll.poll(1000):
            data = os.read(fd, 1 << 16)
            if fd != 0:
                if data:
                    children[fd][2].append(data)
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


def once() -> None:
    """One check in this interpreter: the job on stdin, the result on stdout."""
    job = marshal.loads(sys.stdin.buffer.read())
    out, sys.stdout = sys.stdout, sys.stderr  # the module's prints must not mix with the result
    out.buffer.write(marshal.dumps(check(job)))


if __name__ == "__main__":
    once() if sys.argv[1:] == ["--once"] else serve()
