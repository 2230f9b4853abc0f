"""The import check's sandbox: what a candidate's import may not do, seen from outside.

Each scenario runs the check from a fresh interpreter whose environment holds planted
credentials and whose HOME holds a planted SSH key, in a project with a planted ``.env``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Project, clean_env, import_failure, ok
from fakellm import Code, FakeLLM

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the guarantees tested here need Linux's layers")

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-aws-canary-K7MDENG",
    "DATABASE_URL": "postgres://app:db-canary-hunter2@db.internal:5432/app",
    "PGPASSWORD": "pg-canary-4242",
    "OPENAI_API_KEY": "sk-proj-openai-canary-0123456789abcdef",
    "SSH_AUTH_SOCK": "/tmp/ssh-canary-agent/agent.1",
}
ID_RSA = "-----BEGIN OPENSSH PRIVATE KEY-----\nid-rsa-canary-b3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n"
DOTENV = "STRIPE_KEY=dotenv-canary-777\n"
CANARIES = ("aws-canary", "db-canary", "pg-canary", "openai-canary", "ssh-canary", "id-rsa-canary", "dotenv-canary")
GOOD = 'def f() -> int:\n    """Two."""\n    return 2\n'
REFUSED = "the import check runs in a sandbox"

CHECK = """
import asyncio, json, os, sys
from autogen_hook._validate import _smoke
from autogen_hook._validate._static import Problem

_smoke.TIMEOUT = float(sys.argv[2])
if sys.argv[4:] == ["once"]:
    del os.fork  # as where there is no fork: a fresh interpreter per check
try:
    asyncio.run(_smoke.smoke_import(open(sys.argv[1]).read(), "autogen.t", ("f",), sys.argv[3]))
    print(json.dumps(None))
except Problem as problem:
    print(json.dumps(str(problem)))
"""


@dataclass
class Scene:
    """A project, a HOME and a directory outside both, with secrets planted in each."""

    root: Path
    home: Path
    outside: Path
    temp: Path  # TMPDIR: where the check's own directories are made

    @property
    def env(self) -> dict[str, str]:
        return {**clean_env(), **SECRETS, "HOME": str(self.home), "TMPDIR": str(self.temp)}

    def check(self, source: str, *, timeout: float = 30, once: bool = False) -> str | None:
        """The Problem the check raised for ``source`` (None if it passed), from a fresh interpreter;
        ``once``: the check runs in an interpreter of its own instead of a forked child."""
        (self.root / "candidate.txt").write_text(textwrap.dedent(source).lstrip("\n"))
        (self.root / "check.py").write_text(CHECK)
        result = subprocess.run(
            [sys.executable, "check.py", "candidate.txt", str(timeout), str(self.root / ".autogen" / "t.py"),
             *(["once"] if once else [])],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120,
        )
        problem: str | None = json.loads(ok(result))
        assert not any(canary in (problem or "") for canary in CANARIES), problem
        assert not list(self.temp.iterdir()), "the check's directory was left behind"
        return problem


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    root, home, outside, temp = (tmp_path / name for name in ("project", "home", "outside", "temp"))
    for directory in (root, home / ".ssh", outside, temp):
        directory.mkdir(parents=True)
    (root / ".env").write_text(DOTENV)
    (root / "helper.py").write_text("VALUE = 7\n")
    (home / ".ssh" / "id_rsa").write_text(ID_RSA)
    (home / "notes.txt").write_text("id-rsa-canary in a plain file\n")
    return Scene(root, home, outside, temp)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that the candidate tries to reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def connections(server: socket.socket) -> int:
    """How many connections the listener got (accepting them now)."""
    count = 0
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


def processes_with(argument: str) -> list[str]:
    """Command lines of the live processes that have ``argument``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in words:
            found.append(b" ".join(words).decode(errors="replace"))
    return found


@pytest.mark.parametrize("where", ["root", "outside", "home"])
def test_writes_outside_the_check_directory_are_refused(scene: Scene, where: str) -> None:
    target = getattr(scene, where) / "written.txt"
    problem = scene.check(f"_w = open({str(target)!r}, 'w').write('x')\n{GOOD}")
    assert problem is not None and "PermissionError: [Errno 13] Permission denied" in problem
    assert REFUSED in problem
    assert not target.exists()


def test_writes_in_its_own_directory_work_and_are_removed_after(scene: Scene) -> None:
    source = f"""
    import os, tempfile
    os.makedirs("a/b")
    _w = open("a/b/scratch.txt", "w").write("x")
    _t = tempfile.mkstemp()
    os.symlink({str(scene.outside / "keep.txt")!r}, "a/link")
    """
    (scene.outside / "keep.txt").write_text("kept")
    assert scene.check(textwrap.dedent(source) + GOOD) is None  # and check() saw the directory removed
    assert (scene.outside / "keep.txt").read_text() == "kept"


def test_modes_owners_and_times_of_files_cannot_be_changed(scene: Scene) -> None:
    helper = scene.root / "helper.py"
    before = helper.stat()
    for change in ("os.chmod({path!r}, 0o777)", "os.utime({path!r}, (0, 0))", "os.chown({path!r}, 0, 0)"):
        problem = scene.check(f"import os\n_x = {change.format(path=str(helper))}\n{GOOD}")
        assert problem is not None and "PermissionError: [Errno 1] Operation not permitted" in problem
    after = helper.stat()
    assert (after.st_mode, after.st_mtime_ns, after.st_uid) == (before.st_mode, before.st_mtime_ns, before.st_uid)


def test_a_connection_to_a_local_listener_is_refused(scene: Scene, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    problem = scene.check(f"import socket\n_c = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n{GOOD}")
    assert problem is not None and "PermissionError" in problem and REFUSED in problem
    assert connections(listener) == 0


def test_the_environment_holds_no_credential(scene: Scene) -> None:
    source = "import os\n_p = print(dict(os.environ))\nraise RuntimeError(repr(dict(os.environ)))\n"
    problem = scene.check(source + GOOD)
    assert problem is not None  # check() asserted that no planted value is in it
    assert "RuntimeError: {" in problem and "'AUTOGEN_HOOK_DISABLE': '1'" in problem
    assert "output of the import (last lines):\n{" in problem  # what it printed came back too
    assert not any(name in problem for name in SECRETS)


def test_the_check_server_itself_holds_no_credential(scene: Scene) -> None:
    script = f"""
    import asyncio
    from autogen_hook._state import STATE
    from autogen_hook._validate import _smoke

    asyncio.run(_smoke.smoke_import({GOOD!r}, "autogen.t", ("f",), "/x/t.py"))
    print(open(f"/proc/{{STATE.check_server._process.pid}}/environ", "rb").read().decode())
    """
    (scene.root / "server.py").write_text(textwrap.dedent(script))
    result = subprocess.run([sys.executable, "server.py"], cwd=scene.root, env=scene.env,
                            capture_output=True, text=True, timeout=60)
    names = {item.partition("=")[0] for item in ok(result).strip().split("\0") if item}
    assert names <= {"PATH", "LANG", "LC_ALL", "AUTOGEN_HOOK_DISABLE", "PYTHONDONTWRITEBYTECODE"}
    assert "PATH" in names


@pytest.mark.parametrize(
    "path",
    ["{home}/.ssh/id_rsa", "{home}/notes.txt", "{root}/.env"],
)
def test_home_and_project_secrets_cannot_be_read(scene: Scene, path: str) -> None:
    target = path.format(home=scene.home, root=scene.root)
    problem = scene.check(f"_loot = open({target!r}).read()\nraise RuntimeError(_loot)\n{GOOD}")
    assert problem is not None and "PermissionError: [Errno 13] Permission denied" in problem
    assert REFUSED in problem


def test_home_and_dotenv_by_their_usual_names_are_the_check_s_own_empty_directory(scene: Scene) -> None:
    problem = scene.check(f"import pathlib\n_loot = (pathlib.Path.home() / '.ssh' / 'id_rsa').read_text()\n{GOOD}")
    assert problem is not None and "FileNotFoundError" in problem and REFUSED in problem
    problem = scene.check(f"import pathlib\n_loot = pathlib.Path('.env').read_text()\n{GOOD}")
    assert problem is not None and "FileNotFoundError: [Errno 2] No such file or directory: '.env'" in problem


def test_the_importable_code_beside_the_script_is_still_readable(scene: Scene) -> None:
    assert scene.check(f"import helper\n\nVALUE = helper.VALUE\n{GOOD}") is None


def test_a_package_beside_the_script_is_readable_but_not_the_secret_in_it(scene: Scene) -> None:
    package = scene.root / "shop"
    (package / "conf").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import json, pathlib\n\nPRICES = json.loads((pathlib.Path(__file__).parent / 'conf' / 'prices.json').read_text())\n"
    )
    (package / "conf" / "prices.json").write_text('{"tea": 3}')
    (package / "conf" / ".env").write_text(DOTENV)
    (scene.root / "notes.txt").write_text("not code\n")
    assert scene.check(f"import shop\n\nTEA = shop.PRICES['tea']\n{GOOD}") is None
    for secret in (package / "conf" / ".env", scene.root / "notes.txt"):
        problem = scene.check(f"_loot = open({str(secret)!r}).read()\n{GOOD}")
        assert problem is not None and "PermissionError: [Errno 13] Permission denied" in problem


@pytest.mark.parametrize(
    "spawn",
    [
        "import os\n_pid = os.fork()\n",
        "import subprocess\n_p = subprocess.Popen(['sleep', '30.123'])\n",
        "import os\n_p = os.posix_spawnp('sleep', ['sleep', '30.123'], {})\n",
    ],
)
def test_no_new_process_is_started_and_none_survives(scene: Scene, spawn: str) -> None:
    problem = scene.check(spawn + GOOD)
    assert problem is not None and "PermissionError: [Errno 1] Operation not permitted" in problem
    assert REFUSED in problem and "no new processes" in problem
    assert processes_with("30.123") == []


@pytest.mark.parametrize("forged", [b"{'missing': [{}]}", b"\x00\xffnot a result", b"[" * 100_000])
def test_a_result_the_module_forged_is_read_as_data(scene: Scene, forged: bytes) -> None:
    problem = scene.check(f"import os\n_w = os.write(3, {forged!r})\n_x = os._exit(0)\n{GOOD}")
    assert problem == "importing the module crashed the interpreter (exit status 0)"


def test_threads_and_ordinary_modules_work(scene: Scene) -> None:
    source = '''
    import dataclasses
    import datetime
    import json
    import logging
    import re
    import threading
    import zoneinfo

    log = logging.getLogger(__name__)
    log.addHandler(logging.NullHandler())
    PATTERN = re.compile(r"\\d+")
    LOCK = threading.Lock()
    _done = []
    _worker = threading.Thread(target=lambda: _done.append(json.dumps({"ok": True})))
    _start = _worker.start()
    _join = _worker.join()
    assert _done == ['{"ok": true}']
    PARIS = datetime.datetime(2024, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    UTC = PARIS.astimezone(datetime.timezone.utc)
    assert UTC.hour == 10


    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int


    def f() -> int:
        """Two."""
        return 2
    '''
    assert scene.check(source) is None


def test_an_endless_loop_is_stopped_at_the_time_limit(scene: Scene) -> None:
    problem = scene.check(f"while True:\n    pass\n{GOOD}", timeout=1)
    assert problem is not None and "did not finish within 1 s" in problem


def test_a_module_that_ignores_its_alarm_is_stopped_all_the_same(scene: Scene) -> None:
    source = f"import signal, time\n_i = signal.signal(signal.SIGALRM, signal.SIG_IGN)\n_s = time.sleep(120)\n{GOOD}"
    problem = scene.check(source, timeout=1)
    assert problem is not None and "did not finish within 1 s" in problem


def test_memory_is_limited(scene: Scene) -> None:
    problem = scene.check(f"DATA = bytearray(10 << 30)\n{GOOD}")
    assert problem is not None and "MemoryError" in problem and "2 GiB of memory" in problem


def test_the_check_in_an_interpreter_of_its_own_is_sandboxed_too(scene: Scene, listener: socket.socket) -> None:
    source = f"""
    import os, socket

    _done = []
    try:
        _w = open({str(scene.root / "written.txt")!r}, "w").write("x")
    except OSError as exc:
        _done += [f"write: {{exc!r}}"]
    try:
        _c = socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=5)
    except OSError as exc:
        _done += [f"connect: {{exc!r}}"]
    try:
        _f = os.fork()
    except OSError as exc:
        _done += [f"fork: {{exc!r}}"]
    raise RuntimeError("; ".join(_done) + " | " + repr(sorted(os.environ)))
    """
    problem = scene.check(textwrap.dedent(source) + GOOD, once=True)
    assert problem is not None
    assert "write: PermissionError(13, 'Permission denied')" in problem
    assert "connect: PermissionError(1, 'Operation not permitted')" in problem
    assert "fork: PermissionError(1, 'Operation not permitted')" in problem
    names = "['AUTOGEN_HOOK_DISABLE', 'HOME', 'LANG', 'LC_ALL', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'TMPDIR']"
    assert f"| {names}" in problem
    assert not (scene.root / "written.txt").exists() and connections(listener) == 0


def test_a_layer_the_platform_lacks_is_logged_once_per_process(scene: Scene) -> None:
    script = """
    import logging
    from autogen_hook._validate import _smoke

    logging.basicConfig(format="%(levelname)s %(name)s %(message)s")
    for _ in range(3):
        _smoke._warn_missing({"namespaces": [True, ""], "landlock": [False, "not enabled in this kernel"],
                              "seccomp": [False, "Linux only"]})
    """
    (scene.root / "warn.py").write_text(textwrap.dedent(script))
    result = subprocess.run([sys.executable, "warn.py"], cwd=scene.root, env=scene.env,
                            capture_output=True, text=True, timeout=60)
    ok(result)
    [line] = result.stderr.splitlines()
    assert line.startswith("WARNING autogen_hook ")
    assert "landlock (not enabled in this kernel), seccomp (Linux only)" in line and "namespaces" not in line
    assert "autogen-hook doctor" in line


def test_doctor_shows_the_layers_and_every_guarantee_enforced(scene: Scene) -> None:
    result = subprocess.run([sys.executable, "-m", "autogen_hook", "doctor", "--json"], cwd=scene.root,
                            env=scene.env, capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["enforced"] else 1)
    assert set(report["guarantees"]) == {"network", "writes", "home", "credentials", "processes", "limits"}
    assert all(set(g) == {"enforced", "detail", "what"} for g in report["guarantees"].values())
    assert all(set(layer) == {"active", "detail", "what"} for layer in report["layers"].values())
    assert result.returncode == 0, result.stdout  # every layer is there on the Linux this is tested on
    assert {"namespaces", "landlock", "seccomp"} <= {k for k, v in report["layers"].items() if v["active"]}
    text = subprocess.run([sys.executable, "-m", "autogen_hook", "doctor"], cwd=scene.root,
                          env=scene.env, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0
    assert "guarantees (probed by a real sandboxed check):" in text.stdout
    assert text.stdout.count("\n  enforced ") == 6 and "all guarantees enforced" in text.stdout


# --- through the whole pipeline: the module the model wrote is granted what it needs ------

def grants(*capabilities: str) -> str:
    """``AUTOGEN_HOOK_ALLOW`` granting these capabilities."""
    return ",".join(capabilities)


EXFIL = (Path(__file__).parent / "safety_corpus" / "secrets_retry_feedback_exfil.py").read_text()
SLUGIFY = 'def slugify(text: str) -> str:\n    """Slug."""\n    return text.lower().replace(" ", "-")\n'


@pytest.fixture
def planted(project: Project, tmp_path: Path) -> dict[str, str]:
    """The user's environment and files hold secrets: a HOME with a key, a .env, credentials."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(ID_RSA)
    project.write(".env", DOTENV)
    return {**{k: v for k, v in SECRETS.items() if k != "OPENAI_API_KEY"}, "HOME": str(home)}


def test_secrets_never_reach_the_model_in_retry_feedback(
    project: Project, llm: FakeLLM, planted: dict[str, str]
) -> None:
    llm.openai.push(Code(EXFIL), Code(SLUGIFY))
    env = {**planted, "AUTOGEN_HOOK_ALLOW": grants("filesystem", "environment", "import-time")}
    out = ok(project.run("from autogen.textutils import slugify\nprint(slugify('A B'))\n", env=env))
    assert out.strip() == "a-b"
    _, second = llm.chat_requests()
    feedback = second.body["messages"][-1]["content"]
    assert "FileNotFoundError" in feedback and REFUSED in feedback
    sent = json.dumps([request.body for request in llm.requests])
    assert not any(canary in sent for canary in CANARIES)
    assert llm.env()["OPENAI_API_KEY"] not in sent  # the provider's own key, in the user's environment


def test_a_module_whose_import_acts_is_stopped_at_each_act_and_not_stored(
    project: Project, llm: FakeLLM, planted: dict[str, str], listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    acting = f'''
    import os
    import socket
    import subprocess

    _done = []
    try:
        _w = open({str(project.root / "written.txt")!r}, "w").write("x")
    except OSError as exc:
        _done += [f"write: {{exc!r}}"]
    try:
        _c = socket.create_connection(("127.0.0.1", {port}), timeout=5)
    except OSError as exc:
        _done += [f"connect: {{exc!r}}"]
    _env = os.environ.get("PGPASSWORD", "no PGPASSWORD")
    try:
        _s = subprocess.Popen(["sleep", "30.456"])
    except OSError as exc:
        _done += [f"spawn: {{exc!r}}"]
    raise PermissionError("; ".join(_done) + " | " + _env)


    def slugify(text: str) -> str:
        """Slug."""
        return text
    '''
    llm.openai.push(Code(textwrap.dedent(acting)))
    env = {**planted, "AUTOGEN_HOOK_MAX_ATTEMPTS": "1",
           "AUTOGEN_HOOK_ALLOW": grants("import-time", "filesystem", "network", "process", "environment")}
    out = import_failure(project, "from autogen.textutils import slugify", **env)
    assert out.startswith("ValidationFailedError autogen.textutils")
    assert "write: PermissionError(13, 'Permission denied')" in out
    assert "connect: PermissionError(1, 'Operation not permitted')" in out
    assert "spawn: PermissionError(1, 'Operation not permitted')" in out
    assert "| no PGPASSWORD" in out and REFUSED in out
    assert not (project.root / "written.txt").exists()
    assert connections(listener) == 0
    assert processes_with("30.456") == []
    assert not list(project.store.rglob("*.py"))
    assert len(llm.chat_requests()) == 1
