"""The audit log: a line per decision, never the prompt, whole lines from racing processes,
rotation, and ``autogen-hook audit``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import Project, ok
from fakellm import Code, FakeLLM, Recorded, Status, Text

from autogen_hook import _audit
from autogen_hook._store import source_hash

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'
UNSAFE = "import os\n\n\ndef f() -> int:\n    os.system('id')\n    return 1\n"
RAISES = "X = int('nope')\n\n\ndef f() -> int:\n    return 1\n"
SCHEMA = {"time", "event", "decision", "module", "names", "provider", "model", "prompt_sha256",
          "source_sha256", "problems"}
REPORT = "try:\n    from autogen.t import f\n    print(f())\nexcept ImportError as exc:\n    print(type(exc).__name__)\n"


def lines(project: Project) -> list[dict[str, object]]:
    return list(_audit.read(str(project.store)))


def test_each_attempt_and_the_outcome_is_a_line_without_the_prompt(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(UNSAFE), Code(RAISES), Code(GOOD))
    project.write("main.py", '"""caller-marker-31337: only the prompt holds this."""\nfrom autogen.t import f\nprint(f())\n')
    assert ok(project.run_file("main.py")).strip() == "1"
    log = lines(project)
    assert [(line["event"], line["decision"], line["attempts"]) for line in log] == [
        ("rejected", "refused-policy", 1), ("rejected", "refused-check", 2), ("generated", "stored", 3),
    ]
    assert all(SCHEMA <= set(line) for line in log)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(line["time"])) for line in log)
    assert all(line["module"] == "autogen.t" and line["names"] == ["f"] for line in log)
    assert all(line["provider"] == "openai" and line["model"] == "fake-model" for line in log)
    digests = {line["prompt_sha256"] for line in log}
    assert len(digests) == 1 and re.fullmatch("[0-9a-f]{64}", str(digests.pop()))
    assert "os.system" in log[0]["problems"][0] and "ValueError" in log[1]["problems"][0]  # type: ignore[index]
    stored = log[-1]
    assert stored["source_sha256"] == source_hash((project.store / "t.py").read_text())
    assert len(stored["problems"]) == 2 and stored["input_tokens"] == 300  # type: ignore[arg-type]
    assert isinstance(stored["seconds"], float)
    assert "caller-marker-31337" in json.dumps([r.body for r in llm.chat_requests()])
    assert "caller-marker-31337" not in (project.store / "audit.jsonl").read_text()


def test_failures_are_lines(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(401, "Incorrect API key provided"))
    assert ok(project.run(REPORT)).strip() == "AuthenticationError"
    llm.openai.push(Code("def g() -> int:\n    return 2\n"))
    assert ok(project.run(REPORT, env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "1"})).strip() == "ValidationFailedError"
    log = lines(project)
    assert [(line["event"], line["decision"]) for line in log] == [
        ("failed", "failed-provider"), ("rejected", "refused-validation"), ("failed", "failed-validation"),
    ]
    assert "401" in log[0]["problems"][0] and log[0]["provider"] == "openai"  # type: ignore[index]
    assert "names are not defined" in log[2]["problems"][0]  # type: ignore[index]


def test_lines_of_eight_racing_processes_all_parse(project: Project, llm: FakeLLM) -> None:
    """Through the hook: eight processes generate eight modules at once, each refused once."""
    asked: dict[str, int] = {}

    def reply(request: Recorded) -> Text:
        module = re.search(r"autogen\.m\d", json.dumps(request.body)).group()  # type: ignore[union-attr]
        asked[module] = asked.get(module, 0) + 1
        return Code(UNSAFE if asked[module] == 1 else GOOD)

    llm.openai.responder = reply
    children = []
    for i in range(8):
        project.write(f"m{i}.py", f"from autogen.m{i} import f\nprint(f())\n")
        children.append(project.popen(f"m{i}.py"))
    assert [child.communicate(timeout=120)[0].strip() for child in children] == ["1"] * 8
    log = lines(project)
    raw = (project.store / "audit.jsonl").read_text().splitlines()
    assert len(raw) == len(log) == 16
    for i in range(8):
        mine = [line["decision"] for line in log if line["module"] == f"autogen.m{i}"]
        assert mine == ["refused-policy", "stored"]


RACE = """
import os, sys
from autogen_hook import _audit
_audit.LIMIT = int(sys.argv[2])
problem = "p" * 9000  # each line is longer than the pipe's atomic limit (4 KiB)
for n in range(int(sys.argv[3])):
    _audit.record(sys.argv[1], "rejected", "refused-policy", f"autogen.m{os.getpid()}", problems=[problem, str(n)])
"""


def race(project: Project, limit: int, count: int) -> None:
    project.write("race.py", RACE)
    store = str(project.store)
    children = [subprocess.Popen([sys.executable, "race.py", store, str(limit), str(count)], cwd=project.root,
                                 env=project.env) for _ in range(8)]
    assert [child.wait(timeout=120) for child in children] == [0] * 8


def test_appends_of_eight_racing_processes_never_mix(project: Project) -> None:
    race(project, 1 << 30, 200)
    raw = (project.store / "audit.jsonl").read_text().splitlines()
    parsed = [json.loads(line) for line in raw]  # every line is one whole object
    assert len(parsed) == 1600
    per_process: dict[str, list[str]] = {}
    for line in parsed:
        per_process.setdefault(line["module"], []).append(line["problems"][1])
    assert sorted(per_process.values()) == [[str(n) for n in range(200)]] * 8  # each in order


def test_the_log_is_rotated_past_its_limit(project: Project) -> None:
    limit = 100_000
    race(project, limit, 100)  # 8 x 100 lines of 9 KB: many rotations, racing
    current, rotated = project.store / "audit.jsonl", project.store / "audit.1.jsonl"
    for path in (current, rotated):
        assert 0 < path.stat().st_size <= limit
        assert all(json.loads(line)["event"] == "rejected" for line in path.read_text().splitlines())
    assert not list(project.store.glob("audit.2*"))  # one rotated file only
    assert len(list(_audit.read(str(project.store)))) == len(rotated.read_text().splitlines()) + len(
        current.read_text().splitlines())


def test_a_generation_rotates_a_full_log(project: Project, llm: FakeLLM) -> None:
    old = json.dumps({"event": "generated", "module": "autogen.old", "pad": "x" * 900}) + "\n"
    project.write(".autogen/audit.jsonl", old * (_audit.LIMIT // len(old)))
    llm.openai.push(Code(GOOD))
    ok(project.run("from autogen.t import f\n"))
    assert (project.store / "audit.1.jsonl").read_text() == old * (_audit.LIMIT // len(old))
    assert [line["module"] for line in lines(project)][-1] == "autogen.t"
    assert len((project.store / "audit.jsonl").read_text().splitlines()) == 1


def cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autogen_hook", *args], cwd=project.root, env=project.env,
                          capture_output=True, text=True, timeout=60)


def test_the_audit_command_prints_the_log(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(UNSAFE), Code(GOOD))
    ok(project.run("from autogen.t import f\n"))
    rows = ok(cli(project, "audit")).splitlines()
    assert len(rows) == 2
    assert re.match(r"\S+\+00:00 +rejected +refused-policy +autogen\.t +openai/fake-model +the safety policy", rows[0])
    assert re.match(r"\S+ +generated +stored +autogen\.t +openai/fake-model", rows[1])
    as_json = [json.loads(row) for row in ok(cli(project, "audit", "--json")).splitlines()]
    assert as_json == lines(project)


def test_a_store_without_a_log_prints_nothing(project: Project) -> None:
    assert ok(cli(project, "audit")) == ""


def test_a_line_that_cannot_be_written_is_said_once_and_fails_nothing(project: Project, llm: FakeLLM) -> None:
    project.write(".autogen/audit.jsonl/not-a-file", "")  # the log's name is taken by a directory
    llm.openai.push(Code(UNSAFE), Code(GOOD))
    result = project.run("from autogen.t import f\nprint(f())\n")
    assert ok(result).strip() == "1"
    assert result.stderr.count("could not write to the audit log") == 1


def test_lines_are_read_whole_and_garbage_passed_by(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _audit.record(str(store), "accepted", "accepted", "autogen.a", by="me")
    with open(store / "audit.jsonl", "a") as f:
        f.write("<<<<<<< HEAD\n[1, 2]\n")
    _audit.record(str(store), "accepted", "accepted", "autogen.b")
    assert [line["module"] for line in _audit.read(str(store))] == ["autogen.a", "autogen.b"]
