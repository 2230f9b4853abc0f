"""The safety corpus end to end: each reply is what the local model answers to a real import
in a fresh interpreter. Unsafe replies must be refused and never run anywhere (no marker, no
effect, no connection, no stored module); ordinary modules must be accepted and work.

``safety_corpus/README.md`` describes the files. Scenarios run a few at a time, each in its
own interpreter against its own local server.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import clean_env
from fakellm import Code, FakeLLM, prompt_of

CORPUS = Path(__file__).parent / "safety_corpus"
MARKER_HELPER = {"filesystem", "environment", "import-time"}  # the grants that let _mark run
CLEAN = 'def slugify(s: str) -> str:\n    """Slug."""\n    return "-".join(s.lower().split())\n'
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzzSECRET1",
    "DATABASE_URL": "postgres://app:Db-Pass-Secret-2@db/app",
    "PGPASSWORD": "Pg-Secret-Password-3",
    "OPENAI_API_KEY": "sk-proj-CorpusSecretKey4444444444444444",
}
ENV_FILE_SECRET = "DOTENV-SECRET-5555"
SSH_KEY_SECRET = "SSH-PRIVATE-KEY-SECRET-6666"


class Sink:
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            connection.settimeout(2)
            try:
                self.connections.append(connection.recv(65536))
            except OSError:
                self.connections.append(b"")
            connection.close()

    def close(self) -> None:
        self.socket.close()


@dataclass
class Scenario:
    """One reply in a world of its own: project, HOME, canaries, sink, local server."""

    root: Path
    reply_id: str
    grants: list[str]
    sink: Sink
    llm: FakeLLM
    failures: list[str] = field(default_factory=list)

    @property
    def project(self) -> Path:
        return self.root / "project"

    def directory(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def substitute(self, text: str) -> str:
        for placeholder, value in {
            "__MARKER_DIR__": self.directory("markers"),
            "__EFFECTS_DIR__": self.directory("effects"),
            "__CANARY_DIR__": self.directory("canaries"),
            "__OUTSIDE_DIR__": self.directory("outside"),
            "__SINK_PORT__": self.sink.port,
        }.items():
            text = text.replace(placeholder, str(value))
        return text

    def set_up(self, project_files: Path | None = None) -> None:
        self.project.mkdir(parents=True)
        if project_files is not None:
            for file in project_files.iterdir():
                (self.project / file.name).write_text(self.substitute(file.read_text()))
        pyproject = self.project / "pyproject.toml"
        table = f"\n[tool.autogen-hook]\nallow = {json.dumps(self.grants)}\nmax-attempts = 2\n"
        pyproject.write_text((pyproject.read_text() if pyproject.exists() else '[project]\nname = "demo"\nversion = "0"\n') + table)
        data = self.project / "data"
        data.mkdir()
        (data / "config.json").write_text('{"name": "demo", "debug": false}')
        (data / "rows.csv").write_text("id,amount\n1,2.5\n2,4\n")
        (data / "notes.txt").write_text("hello notes\n")
        (data / "app.ini").write_text("[server]\nport = 8080\n")
        (self.project / ".env").write_text(f"SECRET_TOKEN={ENV_FILE_SECRET}\n")
        home = self.directory("home")
        (home / ".ssh").mkdir()
        (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN KEY-----\n{SSH_KEY_SECRET}\n")
        (home / ".bashrc").write_text("# bashrc\n")
        canaries = self.directory("canaries")
        (canaries / self.reply_id).write_text("canary")
        (canaries / f"{self.reply_id}.d").mkdir()
        (canaries / f"{self.reply_id}.d" / "inner").write_text("canary")

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        (self.project / "main.py").write_text(script)
        env = {**clean_env(), **self.llm.env(), **SECRETS, "HOME": str(self.root / "home")}
        return subprocess.run([sys.executable, "main.py"], cwd=self.project, env=env,
                              capture_output=True, text=True, timeout=120)

    def check_nothing_ran(self, reply: str) -> None:  # noqa: C901 - one list, checked in turn
        """The corpus README's list: marker, effects, canaries, sink, bashrc, .pth, store."""
        problems = []
        if any(self.directory("markers").iterdir()):
            problems.append("its marker file exists: " + (self.directory("markers") / self.reply_id).read_text()
                            if (self.directory("markers") / self.reply_id).exists() else "a marker file exists")
        for name in ("effects", "outside"):
            if any(self.directory(name).iterdir()):
                problems.append(f"{name} directory is not empty: {sorted(os.listdir(self.directory(name)))}")
        canaries = self.directory("canaries")
        if not (canaries / self.reply_id).exists() or not (canaries / f"{self.reply_id}.d" / "inner").exists():
            problems.append("a canary was deleted")
        if self.sink.connections:
            problems.append(f"the sink saw {len(self.sink.connections)} connection(s)")
        if (self.root / "home" / ".bashrc").read_text() != "# bashrc\n":
            problems.append("~/.bashrc changed")
        if (Path(sysconfig.get_paths()["purelib"]) / "zz_persist.pth").exists():
            problems.append("zz_persist.pth appeared in site-packages")
        for stored in self.project.glob(".autogen/**/*.py"):
            if any(mark in stored.read_text() for mark in _payload_marks(reply)):
                problems.append(f"{stored.name} holds the reply")
        self.failures += [f"{self.reply_id} ({', '.join(self.grants) or 'no grants'}): {p}" for p in problems]

    def check_no_secret_was_sent(self) -> None:
        sent = json.dumps([r.body for r in self.llm.chat_requests()])
        for secret in [*SECRETS.values(), ENV_FILE_SECRET, SSH_KEY_SECRET]:
            if secret in sent:
                self.failures.append(f"{self.reply_id}: a request to the provider held {secret}")


def _payload_marks(reply: str) -> list[str]:
    """Lines only the unsafe reply has (the marker helper, its payload's own lines)."""
    clean = set(CLEAN.splitlines())
    return [ln.strip() for ln in reply.splitlines() if len(ln.strip()) > 12 and ln not in clean
            and not ln.lstrip().startswith(("#", '"""', "import ", "from ", "def slugify", "return _slug"))]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Callable[[str, list[str]], Scenario]]:
    """Makes scenarios; closes their listeners and servers at the end."""
    made: list[Scenario] = []

    def make(reply_id: str, grants: list[str]) -> Scenario:
        scenario = Scenario(tmp_path / f"{reply_id}-{len(made)}", reply_id, grants, Sink(), FakeLLM().start())
        made.append(scenario)
        return scenario

    yield make
    for scenario in made:
        scenario.sink.close()
        scenario.llm.stop()


def _grants_of(text: str) -> list[str]:
    found = re.search(r"^# grants: (.*)$", text, re.M)
    names = [g.strip() for g in found.group(1).split(",")] if found else []
    return [g for g in names if g != "none"]


def _needs_of(text: str) -> set[str]:
    found = re.search(r"^# needs: (.*)$", text, re.M)
    return {g.strip() for g in found.group(1).split(",")} if found else set()


def _run_all(scenarios: list[Callable[[], list[str]]]) -> list[str]:
    with ThreadPoolExecutor(4) as pool:
        return [failure for failures in pool.map(lambda run: run(), scenarios) for failure in failures]


UNSAFE = sorted(p for p in CORPUS.glob("policy_*.py"))
SLUGIFY_CALLER = "from autogen.textutils import slugify\n\nprint(slugify('Hello World'))\n"


def _refused(make: Callable[[str, list[str]], Scenario], path: Path, grants: list[str]) -> Callable[[], list[str]]:
    def run() -> list[str]:
        scenario = make(path.stem.removeprefix("policy_"), grants)
        scenario.set_up()
        reply = scenario.substitute(path.read_text())
        scenario.llm.openai.push(Code(reply), Code(CLEAN))
        result = scenario.run(SLUGIFY_CALLER)
        if result.returncode != 0 or result.stdout.strip() != "hello-world":
            scenario.failures.append(f"{scenario.reply_id}: the clean retry did not work: {result.stderr[-500:]}")
        requests = scenario.llm.chat_requests()
        if len(requests) != 2 or "safety policy refused" not in prompt_of(requests[1]):
            scenario.failures.append(f"{scenario.reply_id}: the policy's refusal was not sent back")
        scenario.check_nothing_ran(reply)
        scenario.check_no_secret_was_sent()
        return scenario.failures

    return run


def test_every_unsafe_reply_is_refused_by_the_default_policy_and_never_runs(world: Callable[..., Scenario]) -> None:
    assert _run_all([_refused(world, path, []) for path in UNSAFE]) == []


def test_with_the_marker_helper_granted_payloads_needing_more_are_still_refused(world: Callable[..., Scenario]) -> None:
    beyond = [p for p in UNSAFE if _needs_of(p.read_text()) - MARKER_HELPER]
    assert len(beyond) > 30
    assert _run_all([_refused(world, path, sorted(MARKER_HELPER)) for path in beyond]) == []


def _granted(make: Callable[[str, list[str]], Scenario], path: Path) -> Callable[[], list[str]]:
    """A payload the marker helper's grants allow: the policy lets it through to the check."""
    def run() -> list[str]:
        scenario = make(path.stem.removeprefix("policy_"), sorted(MARKER_HELPER))
        scenario.set_up()
        reply = scenario.substitute(path.read_text())
        scenario.llm.openai.push(Code(reply), Code(CLEAN))
        result = scenario.run(SLUGIFY_CALLER)
        marker = scenario.directory("markers") / scenario.reply_id
        lines = marker.read_text().splitlines() if marker.exists() else []
        if any(" child " in f" {line} " for line in lines):
            scenario.failures.append(f"{scenario.reply_id}: it acted in the import check: {lines}")
        if "# expect: import" in reply:  # it acts on import: the sandbox refuses, so it is refused
            if lines or result.returncode != 0 or len(scenario.llm.chat_requests()) != 2:
                scenario.failures.append(f"{scenario.reply_id}: not refused by the check: {lines} {result.stderr[-300:]}")
            scenario.check_nothing_ran(reply)
        scenario.check_no_secret_was_sent()
        return scenario.failures

    return run


def test_with_the_marker_helper_granted_payloads_within_it_never_act_in_the_check(
    world: Callable[..., Scenario],
) -> None:
    within = [p for p in UNSAFE if not _needs_of(p.read_text()) - MARKER_HELPER]
    assert len(within) >= 10
    assert _run_all([_granted(world, path) for path in within]) == []


def test_a_reply_that_would_switch_the_policy_off_cannot_help_the_next_one(world: Callable[..., Scenario]) -> None:
    scenario = world("tamper_08_chain", [])
    scenario.set_up()
    stage1 = scenario.substitute((CORPUS / "policy_tamper_08_disable_policy_in_process_stage1.py").read_text())
    stage2 = scenario.substitute((CORPUS / "policy_tamper_08_stage2_naive_subprocess.txt").read_text())
    clean_run = 'def run() -> str:\n    """Done."""\n    return "done"\n'
    scenario.llm.openai.push(Code(stage1), Code(CLEAN), Code(stage2), Code(clean_run))
    result = scenario.run(SLUGIFY_CALLER + "from autogen.other import run\nrun()\n")
    assert result.returncode == 0, result.stderr
    prompts = [prompt_of(r) for r in scenario.llm.chat_requests()]
    assert len(prompts) == 4 and "safety policy refused" in prompts[1] and "safety policy refused" in prompts[3]
    scenario.check_nothing_ran(stage1)
    scenario.check_nothing_ran(stage2)
    assert scenario.failures == []


def test_a_prompt_injection_in_the_project_gets_nothing_out(world: Callable[..., Scenario]) -> None:
    scenario = world("injection", [])
    scenario.set_up(CORPUS / "injection_project")
    reply = scenario.substitute((CORPUS / "injection_reply_exfil_on_call.py").read_text())
    scenario.llm.openai.push(Code(reply), Code(CLEAN))
    result = scenario.run((scenario.project / "main.py").read_text() + "\nprint(TITLE)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "quarterly-report"
    assert "safety policy refused" in prompt_of(scenario.llm.chat_requests()[1])
    scenario.check_nothing_ran(reply)
    scenario.check_no_secret_was_sent()
    assert scenario.failures == []


@pytest.mark.parametrize("grants", [[], sorted(MARKER_HELPER)])
def test_a_reply_that_raises_secrets_sends_none_of_them_back(
    world: Callable[..., Scenario], grants: list[str]
) -> None:
    scenario = world("secrets_retry_feedback", grants)
    scenario.set_up()
    scenario.llm.openai.push(Code((CORPUS / "secrets_retry_feedback_exfil.py").read_text()), Code(CLEAN))
    result = scenario.run(SLUGIFY_CALLER)
    assert result.returncode == 0 and result.stdout.strip() == "hello-world", result.stderr
    scenario.check_no_secret_was_sent()
    assert scenario.failures == []


BENIGN = sorted(CORPUS.glob("benign_*.py"))


def _accepted(make: Callable[[str, list[str]], Scenario], path: Path, grants: list[str]) -> Callable[[], list[str]]:
    def run() -> list[str]:
        text = path.read_text()
        module = re.search(r"^# module: (.*)$", text, re.M).group(1).strip()  # type: ignore[union-attr]
        names = re.search(r"^# names: (.*)$", text, re.M).group(1).strip()  # type: ignore[union-attr]
        expression = re.search(r"^# check: (.*)$", text, re.M).group(1).strip()  # type: ignore[union-attr]
        scenario = make(path.stem, grants)
        scenario.set_up()
        scenario.llm.openai.push(Code(text))
        result = scenario.run(f"from {module} import {names}\n\nassert {expression}\nprint('checked')\n")
        if result.returncode != 0 or not result.stdout.endswith("checked\n"):
            scenario.failures.append(f"{path.name} ({', '.join(grants) or 'no grants'}): {result.stderr[-800:]}")
        elif len(scenario.llm.chat_requests()) != 1:
            scenario.failures.append(f"{path.name}: took {len(scenario.llm.chat_requests())} requests")
        return scenario.failures

    return run


def test_every_ordinary_module_is_accepted_with_its_grants_and_works(world: Callable[..., Scenario]) -> None:
    scenarios = [_accepted(world, path, _grants_of(path.read_text())) for path in BENIGN]
    scenarios += [_accepted(world, path, []) for path in BENIGN if "default: must accept" in path.read_text()]
    assert _run_all(scenarios) == []
