"""``autogen-hook doctor``: which layers of the import check's sandbox are on here, and a real
sandboxed check that tries what each guarantee forbids.

The probe is a module run exactly as a candidate is (same job, same server, same layers).
Each guarantee is judged by what this process sees afterwards where it can be (the
listener accepted nothing, the file outside was not written), and by what the probe
reports otherwise (its read of a file in your home failed, its fork failed).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import tempfile
from dataclasses import dataclass
from typing import Any

from ._validate import _smoke
from ._validate._sandbox import LAYERS

_VARIABLE = "AUTOGEN_HOOK_DOCTOR_TOKEN"  # a credential this process holds, planted for the probe
GUARANTEES = {
    "network": "no network (a listener on 127.0.0.1 gets no connection)",
    "writes": "no file writes outside its temporary directory",
    "home": "no reads of your home directory",
    "credentials": "no credentials in its environment",
    "processes": "no new processes (none survives the check)",
    "limits": "bounded CPU, memory and time",
}
PROBE = '''
import json, os, socket

try:
    import resource
except ImportError:  # Windows
    resource = None

found = {{}}


def attempt(name, act):
    try:
        found[name] = [True, repr(act())[:200]]
    except BaseException as exc:
        found[name] = [False, f"{{type(exc).__name__}}: {{exc}}"[:300]]


def connect():
    with socket.create_connection(("127.0.0.1", {port}), timeout=2):
        return "connected"


def write():
    with open({outside!r}, "w") as f:
        return f.write("written by the sandboxed check")


def read_home():
    with open({canary!r}) as f:
        return f.read()


def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return os.waitpid(pid, 0)


def allocate():
    return len(bytearray({memory} + (1 << 20)))


attempt("connect", connect)
attempt("write", write)
attempt("read_home", read_home)
attempt("fork", fork)
attempt("allocate", allocate)
cpu = resource.getrlimit(resource.RLIMIT_CPU)[0] if resource else -1
print(json.dumps({{"found": found, "environ": sorted(os.environ), "credential": os.environ.get({variable!r}),
                  "cpu": cpu}}))
'''


@dataclass(frozen=True)
class Diagnosis:
    """The layers the check ran with, and each guarantee with whether it held and why."""

    platform: str
    layers: dict[str, tuple[bool, str]]
    guarantees: dict[str, tuple[bool, str]]

    @property
    def enforced(self) -> bool:
        return all(held for held, _ in self.guarantees.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "layers": {
                k: {"active": a, "detail": d, "what": LAYERS.get(k, k)} for k, (a, d) in self.layers.items()
            },
            "guarantees": {
                k: {"enforced": e, "detail": d, "what": GUARANTEES[k]} for k, (e, d) in self.guarantees.items()
            },
            "enforced": self.enforced,
        }

    def text(self) -> str:
        lines = [f"autogen-hook doctor: the import check's sandbox on {self.platform}", "", "layers:"]
        for key, (active, detail) in self.layers.items():
            state = "active" if active else "MISSING"
            lines.append(f"  {state:8} {LAYERS.get(key, key)}" + (f" ({detail})" if detail else ""))
        lines += ["", "guarantees (probed by a real sandboxed check):"]
        for key, (held, detail) in self.guarantees.items():
            lines.append(f"  {'enforced' if held else 'NOT ENFORCED':12} {GUARANTEES[key]}: {detail}")
        lines += ["", "all guarantees enforced" if self.enforced else "some guarantees are not enforced here"]
        return "\n".join(lines)


def diagnose() -> Diagnosis:
    """Run the probe in the sandbox (a check server of its own) and judge each guarantee."""
    outside = tempfile.mkdtemp(prefix="autogen-hook-doctor-")
    token = secrets.token_hex(16)
    os.environ[_VARIABLE] = token  # before the check server starts: it must not inherit it
    listener = socket.socket()
    canary = _canary(token)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        source = PROBE.format(port=listener.getsockname()[1], outside=os.path.join(outside, "written"),
                              canary=canary or os.path.expanduser("~"), memory=_smoke.MEMORY, variable=_VARIABLE)
        outcome = asyncio.run(_smoke.run_check(_smoke.check_job(source, "autogen_hook_doctor_probe", (), "<probe>")))
        probe = _report(outcome.output)
        accepted = _accepted(listener)
        written = os.path.exists(os.path.join(outside, "written"))
    finally:
        listener.close()
        os.environ.pop(_VARIABLE, None)
        if canary:
            os.unlink(canary)
        for name in os.listdir(outside):
            os.unlink(os.path.join(outside, name))
        os.rmdir(outside)
    layers = {k: (bool(a), str(d)) for k, (a, d) in ((outcome.result or {}).get("layers") or {}).items()}
    uname = os.uname() if hasattr(os, "uname") else None
    system = f"{uname.sysname} {uname.release} {uname.machine}" if uname else os.name
    return Diagnosis(system, layers, _judge(probe, outcome, accepted, written, token, canary))


def _canary(token: str) -> str | None:
    """A file in your home holding the token, for the probe to try to read (removed after)."""
    try:
        fd, path = tempfile.mkstemp(prefix=".autogen-hook-doctor-", dir=os.path.expanduser("~"))
    except OSError:
        return None
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return path


def _report(output: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "found" in value:
            return value
    return {}


def _accepted(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def _judge(
    probe: dict[str, Any], outcome: _smoke.Outcome, accepted: bool, written: bool, token: str, canary: str | None
) -> dict[str, tuple[bool, str]]:
    if not probe:
        reason = f"the probe did not report ({outcome.ending})"
        return {key: (False, reason) for key in GUARANTEES}
    found = probe["found"]

    def attempt(name: str) -> tuple[bool, str]:
        """(refused, what happened) for one of the probe's attempts."""
        worked, detail = found.get(name, [True, "not tried"])
        return not worked, f"{'it worked' if worked else 'refused'}: {detail}"

    connect, write, read, fork, allocate = map(attempt, ("connect", "write", "read_home", "fork", "allocate"))
    network = (False, "the listener got a connection") if accepted else connect
    writes = (False, "the file was written") if written else write
    if canary is None:
        home = (False, "not probed: no file could be made in your home")
    else:
        home = (read[0] and token not in json.dumps(probe), read[1])
    leaked = probe.get("credential") is not None
    extra = sorted(set(probe.get("environ", [])) - set(_smoke.environment()) - {"HOME", "TMPDIR"})
    credentials = (
        not leaked and not extra,
        "this process's credential reached it" if leaked
        else f"variables beyond the check's own: {', '.join(extra)}" if extra
        else f"its environment: {', '.join(probe.get('environ', []))}",
    )
    cpu = probe.get("cpu", -1)
    cpu_limit = f"{cpu} s" if cpu != -1 else "unlimited"
    limits = (
        allocate[0] and cpu != -1,
        f"{_smoke.MEMORY >> 30} GiB of memory (allocating more {allocate[1]}), CPU {cpu_limit}, "
        f"{_smoke.TIMEOUT:g} s of time (the check server's deadline)",
    )
    return {"network": network, "writes": writes, "home": home, "credentials": credentials,
            "processes": fork, "limits": limits}
