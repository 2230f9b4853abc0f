"""The commands on what the store holds, in fresh interpreters: list, show, history, diff, rollback,
rm, clear, mark-edited; and the command line as a whole (help, exit statuses, --project)."""

from __future__ import annotations

import json

import pytest
from conftest import Project, cli, ok, on_terminal, store_module
from fakellm import Code, FakeLLM

PRICING = '''
def total(amount: int, tax: float = 0.2) -> float:
    """The amount with tax."""
    return amount * (1 + tax)
'''
COMMANDS = ("list", "show", "history", "diff", "rollback", "rm", "clear", "mark-edited", "regenerate", "warm",
            "prompt", "context", "stubs", "check", "doctor", "stats", "accept", "audit", "repair")


def run_json(project: Project, *args: str) -> object:
    return json.loads(ok(cli(project, *args, "--json")))


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(project: Project, name: str) -> None:
    result = cli(project, name, "--help")
    assert result.returncode == 0 and f"usage: autogen-hook {name}" in result.stdout
    assert "--project DIR" in result.stdout


def test_help_imports_nothing_heavy(project: Project) -> None:
    script = (
        "import sys\nfrom autogen_hook._cli import main\n"
        "for argv in (['--help'], ['warm', '--help'], ['check', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print('loaded:', sorted(m for m in ('httpx', 'black', 'tree_sitter', 'pydantic') if m in sys.modules))\n"
    )
    assert ok(project.run(script)).splitlines()[-1] == "loaded: []"


@pytest.mark.parametrize("argv, complaint", [
    (["show", "pricing"], "module: expected a dotted name inside the namespace 'autogen'"),
    (["rm", "autogen._x", "--yes"], "module: cannot generate 'autogen._x'"),
    (["regenerate", "autogen.p", "--names", "_p"], "--names: cannot generate autogen.p._p"),
    (["list", "--project", "nowhere"], "--project: nowhere is not a directory"),
    (["diff", "autogen.pricing", "two"], "version: expected a number"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_exit_2(project: Project, argv: list[str], complaint: str) -> None:
    store_module(project, "autogen.pricing", PRICING)
    store_module(project, "autogen.pricing", PRICING + "\nRATE = 1\n")
    result = cli(project, *argv)
    assert result.returncode == 2 and complaint in result.stderr, result.stderr


def test_a_bad_setting_fails_a_command_with_exit_1(project: Project) -> None:
    result = cli(project, "list", env={"AUTOGEN_HOOK_MODLE": "x"})
    assert result.returncode == 1
    assert "unknown setting 'AUTOGEN_HOOK_MODLE'; did you mean AUTOGEN_HOOK_MODEL?" in result.stderr


def test_list_shows_every_module_with_its_state_from_any_directory(project: Project) -> None:
    store_module(project, "autogen.pricing", PRICING)
    store_module(project, "autogen.reports.daily", "def build() -> str:\n    return ''\n")
    (project.root / "deep" / "er").mkdir(parents=True)
    rows = run_json(project, "list")
    assert cli(project, "list", "--json", cwd=project.root / "deep" / "er").stdout == cli(project, "list", "--json").stdout
    assert [r["module"] for r in rows] == ["autogen.pricing", "autogen.reports.daily"]  # type: ignore[index]
    first = rows[0]  # type: ignore[index]
    assert set(first) == {"module", "names", "provider", "model", "written", "state", "size", "path"}
    assert first["names"] == ["total"] and first["provider"] == "openai" and first["model"] == "fake-model"
    assert first["state"] == {"origin": "generated", "stale": [], "accepted": None}
    text = ok(cli(project, "list"))
    assert text.splitlines()[0].split() == ["module", "names", "provider", "model", "written", "state", "size"]
    assert "autogen.reports.daily" in text and "generated" in text


def test_list_from_outside_the_project_with_project(project: Project, tmp_path: object) -> None:
    store_module(project, "autogen.pricing", PRICING)
    elsewhere = project.root.parent / "elsewhere"
    elsewhere.mkdir()
    rows = json.loads(ok(cli(project, "list", "--json", "--project", str(project.root), cwd=elsewhere)))
    assert [r["module"] for r in rows] == ["autogen.pricing"]
    assert json.loads(ok(cli(project, "list", "--json", cwd=elsewhere))) == []


def test_show_prints_the_source_plain_when_piped_and_coloured_on_a_terminal(project: Project) -> None:
    path = store_module(project, "autogen.pricing", PRICING)
    assert ok(cli(project, "show", "autogen.pricing")) == path.read_text()
    status, shown = on_terminal(project, "show", "autogen.pricing")
    assert status == 0 and "\x1b[1;35mdef\x1b[0m \x1b[1;34mtotal\x1b[0m" in shown
    meta = ok(cli(project, "show", "autogen.pricing", "--meta"))
    assert "attempts: 1" in meta and "prompt_sha256: " + "0" * 64 in meta and "output_tokens: 50" in meta
    shown_json = run_json(project, "show", "autogen.pricing")
    assert shown_json["source"] == path.read_text() and shown_json["metadata"]["attempts"] == 1  # type: ignore[index]
    missing = cli(project, "show", "autogen.nothing")
    assert missing.returncode == 1 and "autogen.nothing is not stored" in missing.stderr


def test_history_diff_and_rollback_keep_and_restore_every_version(project: Project) -> None:
    store_module(project, "autogen.pricing", PRICING)
    store_module(project, "autogen.pricing", PRICING.replace("0.2", "0.25"), written_at="2026-02-01T00:00:00+00:00")
    history = run_json(project, "history", "autogen.pricing")
    [first] = history["versions"]  # type: ignore[index]
    assert first["version"] == 1 and first["replaced_because"] == "replaced"
    assert first["written_at"] == "2026-01-01T00:00:00+00:00"
    assert history["current"]["origin"] == "generated"  # type: ignore[index]
    diff = ok(cli(project, "diff", "autogen.pricing"))
    assert "--- autogen.pricing version 1" in diff and "+++ autogen.pricing (current)" in diff
    assert "-def total(amount: int, tax: float = 0.2) -> float:" in diff
    assert "+def total(amount: int, tax: float = 0.25) -> float:" in diff
    rolled = run_json(project, "rollback", "autogen.pricing")
    assert rolled["restored"] == 1 and rolled["replaced_version"] == 2  # type: ignore[index]
    assert "tax: float = 0.2)" in (project.store / "pricing.py").read_text()
    record = json.loads((project.store / ".meta" / "pricing.json").read_text())
    assert record["restored_from"] == 1 and record["written_at"] == "2026-01-01T00:00:00+00:00"
    assert run_json(project, "list")[0]["state"]["origin"] == "generated"  # type: ignore[index]
    versions = run_json(project, "history", "autogen.pricing")["versions"]  # type: ignore[index]
    assert [v["replaced_because"] for v in versions] == ["replaced", "rolled back to version 1"]
    assert ok(cli(project, "diff", "autogen.pricing", "1", "2")).count("\n+def total") == 1
    assert "" == ok(cli(project, "diff", "autogen.pricing", "1"))  # version 1 is current again
    assert cli(project, "rollback", "autogen.pricing", "7").returncode == 1
    assert "*" in (project.store / ".history" / ".gitignore").read_text()  # local to the checkout


def test_an_extension_through_an_import_keeps_the_earlier_version(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code("def f() -> int:\n    return 1\n"), Code("def f() -> int:\n    return 1\n\n\ndef g() -> int:\n    return 2\n"))
    ok(project.run("from autogen.t import f\n"))
    ok(project.run("from autogen.t import g\n"))
    [version] = run_json(project, "history", "autogen.t")["versions"]  # type: ignore[index]
    assert version["replaced_because"] == "extended with g" and version["provider"] == "openai"
    assert "def g" not in (project.store / ".history" / "t" / "1.py").read_text()


def test_rm_asks_on_a_terminal_and_refuses_without_yes_elsewhere(project: Project) -> None:
    store_module(project, "autogen.pricing", PRICING)
    refused = cli(project, "rm", "autogen.pricing")
    assert refused.returncode == 1 and "no terminal to confirm on; pass --yes" in refused.stderr
    status, shown = on_terminal(project, "rm", "autogen.pricing", answer=b"n\n")
    assert status == 1 and "remove autogen.pricing (.autogen/pricing.py) and its record? [y/N]" in shown
    assert (project.store / "pricing.py").exists()
    status, shown = on_terminal(project, "rm", "autogen.pricing", answer=b"y\n")
    assert status == 0 and "removed autogen.pricing; it is kept as version 1" in shown
    assert not (project.store / "pricing.py").exists() and not (project.store / ".meta" / "pricing.json").exists()
    ok(cli(project, "rollback", "autogen.pricing"))  # a removal can be undone
    assert (project.store / "pricing.py").exists()
    assert run_json(project, "rm", "autogen.pricing", "--yes") == {"removed": ["autogen.pricing"], "kept_as": 2}


def test_clear_asks_on_a_terminal_and_refuses_without_yes_elsewhere(project: Project) -> None:
    store_module(project, "autogen.pricing", PRICING)
    store_module(project, "autogen.a.b", PRICING)
    (project.store / "audit.jsonl").write_text("{}\n")
    (project.store / "audit.1.jsonl").write_text("{}\n")  # the rotated half of the log
    assert cli(project, "clear").returncode == 1
    status, shown = on_terminal(project, "clear", answer=b"\n")
    assert status == 1 and "remove all 2 modules" in shown and (project.store / "a" / "b.py").exists()
    status, shown = on_terminal(project, "clear", answer=b"yes\n")
    assert status == 0 and "removed 2 modules" in shown
    assert sorted(p.name for p in project.store.iterdir()) == [".gitignore", "audit.1.jsonl", "audit.jsonl"]
    store_module(project, "autogen.pricing", PRICING)
    assert run_json(project, "clear", "--yes") == {"removed": ["autogen.pricing"]}


def test_mark_edited_records_a_hand_edit_once_it_is_reviewed(project: Project) -> None:
    path = store_module(project, "autogen.pricing", PRICING)
    assert cli(project, "mark-edited", "autogen.pricing").returncode == 1  # nothing was edited
    path.write_text(path.read_text() + "\nRATE = 0.2\n")
    assert run_json(project, "list")[0]["state"]["origin"] == "unmarked"  # type: ignore[index]
    marked = run_json(project, "mark-edited", "autogen.pricing")
    assert set(marked["edited"]) == {"sha256", "by", "at"}  # type: ignore[index]
    listed = ok(cli(project, "list"))
    assert "edited by hand" in listed and "not marked" not in listed
    (project.store / "hand.py").write_text("def helper() -> int:\n    return 1\n")
    assert run_json(project, "list")[0]["state"]["origin"] == "unrecorded"  # type: ignore[index]
    ok(cli(project, "mark-edited", "autogen.hand"))
    assert run_json(project, "list")[0]["state"]["origin"] == "edited"  # type: ignore[index]


def test_stats_counts_generations_attempts_failures_tokens_and_latency(project: Project) -> None:
    store_module(project, "autogen.a", PRICING, attempts=2, seconds=1.0,
                 problems=["the safety policy refused 1 use (...)"])
    store_module(project, "autogen.a", PRICING + "\nX = 1\n", seconds=3.0, written_at="2026-03-01T00:00:00+00:00")
    store_module(project, "autogen.b", PRICING, seconds=2.0, input_tokens=10, output_tokens=5)
    figures = run_json(project, "stats")
    assert figures["generations"] == 3 and figures["provider_calls"] == 4  # type: ignore[index]
    assert figures["failures"] == {"capability policy": 1}  # type: ignore[index]
    assert figures["tokens"] == {"input": 210, "output": 105}  # type: ignore[index]
    assert figures["latency"] == {"count": 3, "mean": 2.0, "p95": 3.0}  # type: ignore[index]
    assert "store_hits" not in figures and figures["audit"] is None and figures["review"] is None  # type: ignore[operator, index]
    lines = [  # what _audit writes: a failed generation, a failed provider, review's decisions
        {"event": "rejected", "decision": "refused-check", "module": "autogen.c", "problems": ["importing the module raised ..."]},
        {"event": "failed", "decision": "failed-validation", "module": "autogen.c",
         "problems": ["importing the module raised an exception: ..."]},
        {"event": "failed", "decision": "failed-provider", "module": "autogen.d", "problems": ["the request to openai ..."]},
        {"event": "rejected", "decision": "refused-review", "module": "autogen.a", "problems": []},
        {"event": "accepted", "decision": "accepted", "module": "autogen.a", "problems": []},
    ]
    (project.store / "audit.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines) + "{cut")
    figures = run_json(project, "stats")
    assert figures["failures"] == {"capability policy": 1, "import check (generation failed)": 1,  # type: ignore[index]
                                   "provider (generation failed)": 1}
    assert figures["review"] == {"accepted": 1, "refused": 1}  # type: ignore[index]
    assert figures["audit"] == {"records": 5, "events": {"rejected": 2, "failed": 2, "accepted": 1}}  # type: ignore[index]
    assert "generations" in ok(cli(project, "stats"))


def test_list_and_review_agree_on_a_crlf_checkout(project: Project) -> None:
    """A checkout with CRLF line ends holds other bytes than were generated: list calls it an
    edit, as review does (one hash, of the file's bytes)."""
    path = store_module(project, "autogen.pricing", PRICING)
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook]\nreview = "new"\n')
    assert run_json(project, "list")[0]["state"] == {"origin": "generated", "stale": [], "accepted": False}  # type: ignore[index]
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert run_json(project, "list")[0]["state"] == {"origin": "unmarked", "stale": [], "accepted": True}  # type: ignore[index]
