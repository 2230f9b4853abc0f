"""Review before first run: a real pseudo-terminal asks, no terminal fails closed, ``accept``
records what was read, ``always`` checks every hash."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import sys

import pytest
from conftest import Project, ok, read_terminal
from fakellm import Code, FakeLLM

from autogen_hook import _audit

F = 'def f() -> int:\n    """One."""\n    return 1\n'
FG = F + '\n\ndef g() -> int:\n    """Two."""\n    return 2\n'
QUESTION = b"Accept autogen.t and run it? [y/N] "
REPORT = """
try:
    from autogen.t import f
    print("ran", f())
except ImportError as exc:
    print(type(exc).__name__, "|", exc)
"""


def reviewing(project: Project, mode: str) -> None:
    project.write("pyproject.toml", f'[project]\nname = "demo"\n\n[tool.autogen-hook]\nreview = "{mode}"\n')


def converse(project: Project, script: str, answer: str | None) -> tuple[str, str]:
    """Run ``script`` with stdin and stderr on a pseudo-terminal; answer the question (None:
    expect none). Returns what the terminal showed and what stdout got."""
    project.write("main.py", script)
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "main.py"], cwd=project.root, env=project.env,
                               stdin=slave, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    while answer is not None and QUESTION not in shown:
        chunk = read_terminal(master, 60)
        assert chunk, shown.decode(errors="replace")  # asked before the terminal went quiet
        shown += chunk
    if answer is not None:
        os.write(master, answer.encode() + b"\n")
    while (chunk := read_terminal(master, 60)) is not None:
        shown += chunk
    os.close(master)
    stdout = process.stdout.read().decode() if process.stdout else ""
    assert process.wait(timeout=60) == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace").replace("\r\n", "\n"), stdout


def lock(project: Project) -> dict[str, dict[str, str]]:
    return json.loads((project.store / "accepted.json").read_text())  # type: ignore[no-any-return]


def sha(project: Project, name: str = "t") -> str:
    return hashlib.sha256((project.store / f"{name}.py").read_bytes()).hexdigest()


def decisions(project: Project) -> list[tuple[str, str | None]]:
    return [(line["decision"], line.get("how")) for line in _audit.read(str(project.store))]


def cli(project: Project, *args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autogen_hook", *args], cwd=project.root, env=project.env,
                          stdin=stdin, capture_output=True, text=True, timeout=60)


def test_a_new_module_is_shown_on_the_terminal_and_runs_once_accepted(project: Project, llm: FakeLLM) -> None:
    reviewing(project, "new")
    llm.openai.push(Code(F))
    shown, stdout = converse(project, REPORT, "y")
    assert stdout.strip() == "ran 1"
    assert 'autogen.t waits for review: review is "new", and the model (openai, fake-model) wrote it' in shown
    assert "  return 1" in shown and "generated module autogen.t" in shown  # the source, numbered
    assert "what changed" not in shown  # nothing was accepted before: no diff
    entry = lock(project)["autogen.t"]
    assert entry["sha256"] == sha(project) and entry["by"] and entry["at"].endswith("+00:00")
    assert decisions(project) == [("stored", None), ("accepted", "prompt")]
    assert ok(project.run(REPORT)).strip() == "ran 1"  # accepted: no terminal needed any more


def test_anything_but_yes_refuses(project: Project, llm: FakeLLM) -> None:
    reviewing(project, "new")
    llm.openai.push(Code(F))
    shown, stdout = converse(project, REPORT, "no thanks")
    assert stdout.startswith("NotAcceptedError | autogen.t was not accepted at the prompt")
    assert "autogen-hook accept autogen.t" in stdout
    assert not (project.store / "accepted.json").exists() and (project.store / "t.py").exists()
    assert decisions(project) == [("stored", None), ("refused-review", "prompt")]


def test_a_change_is_shown_as_the_diff_against_the_accepted_version(project: Project, llm: FakeLLM) -> None:
    reviewing(project, "new")
    llm.openai.push(Code(F), Code(FG))
    converse(project, REPORT, "y")
    accepted = sha(project)
    shown, stdout = converse(project, "from autogen.t import g\nprint('ran', g())\n", "y")
    assert stdout.strip() == "ran 2"
    diff = shown.split("---- what changed since it was last accepted ----\n", 1)[1]
    assert "+def g() -> int:" in diff and '+    """Two."""' in diff
    assert "-def f" not in diff and "--- accepted" in diff
    assert f"since the version accepted by {lock(project)['autogen.t']['by']}" in shown
    assert lock(project)["autogen.t"]["sha256"] == sha(project) != accepted


def test_without_a_terminal_it_fails_closed_at_once_naming_the_command(project: Project, llm: FakeLLM) -> None:
    reviewing(project, "new")
    llm.openai.push(Code(F))
    out = ok(project.run(REPORT))
    assert out.startswith('NotAcceptedError | autogen.t does not run until it is accepted: review is "new"')
    assert "`autogen-hook accept autogen.t`" in out and "`autogen-hook accept --all`" in out
    assert decisions(project) == [("stored", None), ("refused-review", "no terminal")]
    listed = ok(cli(project, "accept", "autogen.t", "--yes"))
    assert listed.startswith(f"accepted autogen.t: {project.store / 't.py'} (sha256 {sha(project)[:12]}...;")
    assert "the model (openai, fake-model) wrote it" in listed
    assert ok(project.run(REPORT)).strip() == "ran 1"
    assert len(llm.chat_requests()) == 1  # the stored module ran; nothing was generated again
    assert decisions(project)[-1] == ("accepted", "command")


def test_accept_asks_on_a_terminal_and_needs_yes_without_one(project: Project, llm: FakeLLM) -> None:
    reviewing(project, "new")
    llm.openai.push(Code(F))
    ok(project.run(REPORT))
    refused = cli(project, "accept", "autogen.t")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    master, slave = pty.openpty()
    asking = subprocess.Popen([sys.executable, "-m", "autogen_hook", "accept", "--all"], cwd=project.root,
                              env=project.env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    shown = b""
    while QUESTION not in shown:
        chunk = read_terminal(master, 60)
        assert chunk, shown
        shown += chunk
    os.write(master, b"y\n")
    while (chunk := read_terminal(master, 60)) is not None:
        shown += chunk
    os.close(master)
    assert asking.wait(timeout=60) == 0
    assert b"  return 1" in shown and b"accepted autogen.t:" in shown
    assert ok(cli(project, "accept", "--all")).strip() == "nothing waits to be accepted"
    assert ok(cli(project, "accept", "autogen.t")).startswith("autogen.t is already accepted (by ")


def test_accept_names_what_it_cannot_accept(project: Project) -> None:
    missing = cli(project, "accept", "autogen.nothing", "--yes")
    assert missing.returncode == 1 and "autogen.nothing: nothing is stored at" in missing.stderr
    bad = cli(project, "accept", "textutils", "--yes")
    assert bad.returncode == 1 and "inside the namespace 'autogen'" in bad.stderr
    both = cli(project, "accept", "autogen.t", "--all")
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_hand_edit_is_your_own_code_under_new(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(F))
    ok(project.run(REPORT))  # generated while review was off: never accepted
    reviewing(project, "new")
    assert ok(project.run(REPORT)).startswith("NotAcceptedError | autogen.t does not run")
    stored = project.store / "t.py"
    stored.write_text(stored.read_text().replace("return 1", "return 11"))
    assert ok(project.run(REPORT)).strip() == "ran 11"  # its hash is not the one the model wrote
    project.write(".autogen/mine.py", "def f() -> int:\n    return 7\n")  # no record, no header
    assert ok(project.run("from autogen.mine import f\nprint(f())\n")).strip() == "7"


def test_always_catches_an_edited_module_and_an_edited_hash(project: Project) -> None:
    project.write(".autogen/t.py", "def f() -> int:\n    return 1\n")
    reviewing(project, "always")
    out = ok(project.run(REPORT))  # a person's file needs accepting too
    assert out.startswith("NotAcceptedError | autogen.t does not run until it is accepted: review is "
                          '"always", and a person wrote or edited it; nobody has accepted it.')
    ok(cli(project, "accept", "autogen.t", "--yes"))
    assert ok(project.run(REPORT)).strip() == "ran 1"
    assert ok(project.run(REPORT)).strip() == "ran 1"  # warm: from the cache
    stored = project.store / "t.py"
    stored.write_text("def f() -> int:\n    return 2\n")
    out = ok(project.run(REPORT))
    assert out.startswith('NotAcceptedError | autogen.t does not run until it is accepted: review is "always", '
                          "and a person wrote or edited it since the version accepted by")
    reviewing(project, "new")
    assert ok(project.run(REPORT)).strip() == "ran 2"  # under new, the edit is your own code
    reviewing(project, "always")
    stored.write_text("def f() -> int:\n    return 1\n")
    assert ok(project.run(REPORT)).strip() == "ran 1"  # the accepted bytes again
    entries = lock(project)
    entries["autogen.t"]["sha256"] = "0" * 64  # the lock edited: the cache must not answer
    (project.store / "accepted.json").write_text(json.dumps(entries))
    assert ok(project.run(REPORT)).startswith("NotAcceptedError")


def test_an_unreadable_lock_accepts_nothing_and_is_never_overwritten(project: Project) -> None:
    project.write(".autogen/t.py", "def f() -> int:\n    return 1\n")
    reviewing(project, "always")
    ok(cli(project, "accept", "autogen.t", "--yes"))
    conflict = "<<<<<<< HEAD\n" + (project.store / "accepted.json").read_text() + "=======\n>>>>>>> theirs\n"
    (project.store / "accepted.json").write_text(conflict)
    out = ok(project.run(REPORT))
    assert out.startswith("NotAcceptedError") and "a merge conflict?" in out
    refused = cli(project, "accept", "autogen.t", "--yes")
    assert refused.returncode == 1 and "a merge conflict?" in refused.stderr
    assert (project.store / "accepted.json").read_text() == conflict


@pytest.mark.parametrize("mode", ["new", "always"])
def test_a_warm_reviewed_import_loads_only_what_start_up_loaded(project: Project, mode: str) -> None:
    project.write(".autogen/t.py", "def f() -> int:\n    return 1\n")
    reviewing(project, mode)
    ok(cli(project, "accept", "autogen.t", "--yes"))
    ok(project.run(REPORT))  # verified once, the slow way
    script = (
        "import sys\nbefore = set(sys.modules)\nfrom autogen.t import f\n"
        "print(f(), sorted(m for m in set(sys.modules) - before if not m.startswith('autogen')))\n"
    )
    assert ok(project.run(script)).strip() == "1 []"


def test_the_review_setting_is_validated(project: Project) -> None:
    reviewing(project, "sometimes")
    out = ok(project.run(REPORT))
    assert "SettingsError | review in [tool.autogen-hook]" in out
    assert "expected 'never', 'new' or 'always', got 'sometimes'" in out


def test_a_regenerated_module_is_reviewed_before_it_runs_in_place(project: Project, llm: FakeLLM) -> None:
    """reload() and --autogen-refresh run new model code in a live process: review still decides."""
    reviewing(project, "new")
    llm.openai.push(Code(F))
    ok(project.run("try:\n    from autogen.t import f\nexcept ImportError:\n    pass\n"))
    assert cli(project, "accept", "autogen.t", "--yes").returncode == 0
    llm.openai.push(Code(F.replace("return 1", "return 11")))
    out = ok(project.run(
        "import autogen_hook\nfrom autogen.t import f\nimport autogen.t\nprint('before', autogen.t.f())\n"
        "try:\n    autogen_hook.reload('autogen.t')\nexcept ImportError as exc:\n    print(type(exc).__name__, '|', exc)\n"
        "print('after', autogen.t.f())\n"
    ))
    assert "before 1" in out and "NotAcceptedError | autogen.t does not run until it is accepted" in out
    assert "after 1" in out  # the running module kept the accepted code
    assert "return 11" in (project.store / "t.py").read_text()  # stored, waiting for review
