"""``autogen-hook check`` (for CI) and ``doctor``, in fresh interpreters; freshness and the CI rule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import Project, cli, ok, store_module
from fakellm import Code, FakeLLM, Status

from autogen_hook._freshness import stale_reasons
from autogen_hook._settings import resolve

TOTAL = '''
def total(amount: int) -> int:
    """Twice the amount."""
    return 2 * amount
'''


@pytest.fixture
def app(project: Project) -> Project:
    project.write("app.py", "from autogen.pricing import total\nimport autogen.text as text\n\nprint(total(1), text.slug('a'))\n")
    store_module(project, "autogen.pricing", TOTAL)
    store_module(project, "autogen.text", "def slug(s: str) -> str:\n    return s\n")
    return project


def findings(project: Project, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    result = cli(project, "check", "--json", *args, env=env)
    return result.returncode, json.loads(result.stdout)


def kinds(report: dict[str, object]) -> list[tuple[str, str, str]]:
    return [(f["level"], f["kind"], f["module"]) for f in report["findings"]]  # type: ignore[attr-defined, index]


def test_a_store_that_serves_the_codebase_passes_without_contacting_a_provider(app: Project, llm: FakeLLM) -> None:
    status, report = findings(app)
    assert status == 0 and report["ok"] is True and report["findings"] == []
    assert report["stored"] == 2 and report["used_modules"] == 2
    assert llm.requests == []
    text = cli(app, "check")
    assert text.returncode == 0 and "check: ok, 0 warning(s): 2 stored modules, 2 used in 1 of 1 files" in text.stdout
    assert not (app.store / ".index").exists()  # nothing written: check works on a read-only checkout


def test_a_missing_module_or_name_fails_and_says_which_command_fixes_it(app: Project) -> None:
    app.write("lib/orders.py", "from autogen.orders import place\nimport autogen.text as t\nt.truncate('x')\n")
    status, report = findings(app)
    assert status == 1 and report["ok"] is False
    missing = {f["module"]: f for f in report["findings"]}  # type: ignore[attr-defined]
    assert missing["autogen.orders"]["message"] == "autogen.orders is not stored (lib/orders.py:1 uses place)"
    assert missing["autogen.orders"]["fix"] == "autogen-hook warm lib/orders.py"
    assert missing["autogen.text"]["message"] == "autogen.text lacks names the codebase uses (lib/orders.py:3 uses truncate)"
    text = cli(app, "check").stdout
    assert "error: autogen.orders is not stored" in text and "  fix: autogen-hook warm lib/orders.py" in text
    assert findings(app, "app.py")[0] == 0  # only what app.py uses


def test_an_edited_hash_fails_until_the_edit_is_marked(app: Project) -> None:
    path = app.store / "pricing.py"
    path.write_text(path.read_text().replace("2 * amount", "3 * amount"))
    status, report = findings(app)
    assert status == 1 and kinds(report) == [("error", "unmarked", "autogen.pricing")]
    fix = report["findings"][0]["fix"]  # type: ignore[index]
    assert "autogen-hook mark-edited autogen.pricing" in fix and "git checkout -- .autogen/pricing.py" in fix
    ok(cli(app, "mark-edited", "autogen.pricing"))
    assert findings(app)[0] == 0
    (app.store / "hand.py").write_text("def helper() -> int:\n    return 1\n")
    app.write("more.py", "from autogen.hand import helper\n")
    status, report = findings(app)
    assert status == 1 and kinds(report) == [("error", "unrecorded", "autogen.hand")]


def test_a_stored_module_that_no_longer_passes_validation_fails(app: Project) -> None:
    store_module(app, "autogen.text", "import subprocess\n\ndef slug(s: str) -> str:\n    return subprocess.getoutput(s)\n")
    status, report = findings(app)
    assert status == 1 and kinds(report) == [("error", "invalid", "autogen.text")]
    finding = report["findings"][0]  # type: ignore[index]
    assert "the safety policy refused" in finding["message"] and "needs 'process'" in finding["message"]
    assert finding["fix"].startswith("autogen-hook regenerate autogen.text")
    app.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook.grants]\n"autogen.text" = ["process"]\n')
    assert findings(app)[0] == 0  # granted now: valid again


def test_the_import_check_runs_in_the_sandbox(app: Project) -> None:
    store_module(app, "autogen.text", "def slug(s: str) -> str:\n    return s\n\n\nLIMIT = 1 // 0\n")
    status, report = findings(app)
    assert status == 1 and "importing the module raised an exception: ZeroDivisionError" in (
        report["findings"][0]["message"])  # type: ignore[index]


def test_unused_and_stale_modules_are_warnings_and_errors_when_strict(app: Project) -> None:
    store_module(app, "autogen.old", TOTAL)
    store_module(app, "autogen.reports.daily", TOTAL)
    app.write("report.py", "import autogen.reports.daily\n")  # uses the package and the module
    app.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook.descriptions]\n'
              '"autogen.pricing" = "Prices with tax."\n')
    status, report = findings(app)
    assert status == 0 and report["warnings"] == 2
    assert sorted(kinds(report)) == [("warning", "stale", "autogen.pricing"), ("warning", "unused", "autogen.old")]
    stale = next(f for f in report["findings"] if f["kind"] == "stale")  # type: ignore[attr-defined]
    assert stale["message"] == "autogen.pricing is stale: its description changed"
    assert stale["fix"] == "autogen-hook regenerate autogen.pricing (or autogen-hook warm --stale)"
    status, report = findings(app, "--strict")
    assert status == 1 and {level for level, _, _ in kinds(report)} == {"error"}


def test_a_ttl_makes_old_modules_stale() -> None:
    record = {"written_at": "2026-01-01T00:00:00+00:00", "description_sha256": None}
    now = datetime(2026, 4, 1, tzinfo=timezone.utc)
    assert stale_reasons(record, None, 0, now) == []  # off by default
    assert stale_reasons(record, None, 90 * 86400, now) == []
    [reason] = stale_reasons(record, None, 30 * 86400, now)
    assert reason == "it is 90 days old, older than the ttl setting (30 days)"
    assert stale_reasons(None, "a description", 1, now) == []  # nothing says how it was made


def test_ttl_in_pyproject_shows_in_list_and_check(app: Project) -> None:
    app.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook]\nttl = "30d"\n')
    store_module(app, "autogen.pricing", TOTAL, written_at="2000-01-01T00:00:00+00:00")
    store_module(app, "autogen.text", "def slug(s: str) -> str:\n    return s\n",
                 written_at=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat())
    status, report = findings(app)
    assert status == 0 and kinds(report) == [("warning", "stale", "autogen.pricing")]
    listed = json.loads(ok(cli(app, "list", "--json")))
    assert [bool(m["state"]["stale"]) for m in listed] == [True, False]


def test_ci_implies_offline_unless_offline_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.setenv("CI", "true")
    settings = resolve(str(tmp_path))
    assert settings.offline is True and settings.sources["offline"] == "CI"
    monkeypatch.setenv("AUTOGEN_HOOK_OFFLINE", "0")
    assert resolve(str(tmp_path)).offline is False
    monkeypatch.delenv("AUTOGEN_HOOK_OFFLINE")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.autogen-hook]\noffline = false\n')
    assert resolve(str(tmp_path)).offline is False
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    for value in ("", "0", "false"):
        monkeypatch.setenv("CI", value)
        assert resolve(str(tmp_path)).offline is False


def test_an_import_in_ci_asks_no_provider(project: Project, llm: FakeLLM) -> None:
    script = "try:\n    from autogen.t import f\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)\n"
    out = ok(project.run(script, env={"CI": "1"}))
    assert out.startswith("NotGeneratedError autogen.t has no stored source for f") and "CI set" in out
    assert llm.requests == []


# --- doctor ----------------------------------------------------------------------------------

def doctor(project: Project, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    result = cli(project, "doctor", "--json", *args, env=env)
    return result.returncode, json.loads(result.stdout)


def test_doctor_names_a_typoed_variable_and_the_setting_it_meant(project: Project) -> None:
    status, report = doctor(project, env={"AUTOGEN_HOOK_MODLE": "gpt-4o", "AUTOGEN_HOOK_RETRIES": "1"})
    assert status == 1 and report["ok"] is False
    assert list(report["unknown_variables"]) == ["AUTOGEN_HOOK_MODLE"]  # type: ignore[call-overload]
    assert "did you mean AUTOGEN_HOOK_MODEL?" in report["verdict"]  # type: ignore[operator]
    assert report["settings"]["retries"] == {"value": 1, "source": "env", "where": "AUTOGEN_HOOK_RETRIES"}  # type: ignore[index]
    text = cli(project, "doctor", env={"AUTOGEN_HOOK_MODLE": "gpt-4o"})
    assert "unknown setting 'AUTOGEN_HOOK_MODLE'; did you mean AUTOGEN_HOOK_MODEL?" in text.stdout
    assert text.stdout.rstrip().splitlines()[-1].startswith(
        "verdict: 1 problem(s): the environment: unknown setting 'AUTOGEN_HOOK_MODLE'")


def test_doctor_shows_each_settings_source_the_root_and_the_store(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook]\nmax-attempts = 5\n')
    store_module(project, "autogen.pricing", TOTAL)
    (project.root / "sub").mkdir()
    result = cli(project, "doctor", "--json", cwd=project.root / "sub", env={"CI": "true"})
    report = json.loads(result.stdout)
    assert result.returncode == 0, report["problems"]
    settings = report["settings"]
    assert settings["max_attempts"]["source"] == "pyproject" and settings["max_attempts"]["value"] == 5
    assert settings["offline"] == {"value": True, "source": "CI", "where": "CI"}
    assert settings["model"] == {"value": None, "source": "default", "where": None}
    assert report["project"] == {"root": str(project.root), "marker": "pyproject.toml",
                                 "why": "the nearest directory holding pyproject.toml, from where the command was run"}
    assert report["store"]["modules"] == 1 and report["store"]["exists"] is True
    assert report["verdict"].startswith("ok:") and report["enforced"] is True


def test_doctor_online_sends_each_provider_one_cheap_request(project: Project, llm: FakeLLM) -> None:
    status, report = doctor(project, "--online", env={"AUTOGEN_HOOK_PROVIDER": "openai,anthropic"})
    assert status == 0, report["problems"]
    assert {name: p["reachable"] for name, p in report["providers"].items()} == {"openai": True, "anthropic": True}  # type: ignore[attr-defined]
    assert sorted(r.path for r in llm.requests) == ["/v1/models", "/v1/models"]
    assert {r.headers.get("authorization") or r.headers.get("x-api-key") for r in llm.requests} == {
        "Bearer sk-test-fake", "sk-ant-test-fake"}  # each with its own credential
    llm.listings.push(Status(401, "invalid key"))
    status, report = doctor(project, "--online")
    assert status == 1 and "The credential was refused: check OPENAI_API_KEY" in report["verdict"]  # type: ignore[operator]
    status, report = doctor(project)  # without --online, nothing is sent
    assert status == 0 and len(llm.requests) == 3


def test_doctor_reports_missing_credentials_unless_offline(project: Project) -> None:
    env = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    status, report = doctor(project, env=env)
    assert status == 1 and "OPENAI_API_KEY is not set" in report["verdict"]  # type: ignore[operator]
    assert doctor(project, env={**env, "AUTOGEN_HOOK_OFFLINE": "1"})[0] == 0


def test_doctor_reports_namespace_conflicts(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook.descriptions]\n"gen.x" = "old"\n')
    project.write("autogen/__init__.py", "")
    status, report = doctor(project)
    assert status == 1
    conflicts = report["conflicts"]
    assert any("a real package named 'autogen' is importable" in c for c in conflicts)  # type: ignore[union-attr]
    assert "the descriptions table names 'gen.x', outside the namespace 'autogen'" in conflicts  # type: ignore[operator]


def test_the_ci_templates_install_check_and_test_offline() -> None:
    root = Path(__file__).resolve().parents[1] / "examples" / "ci"
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        text = (root / name).read_text()
        assert "pip install" in text and "autogen-hook check" in text and "pytest" in text
        assert 'AUTOGEN_HOOK_OFFLINE: "1"' in text
        assert text.index("autogen-hook check") < text.index("python -m pytest")


def test_check_runs_each_modules_examples_again(project: Project, llm: FakeLLM) -> None:
    examples = '[project]\nname = "demo"\n\n[tool.autogen-hook.examples]\n"autogen.t" = ["f(3) == {}"]\n'
    project.write("pyproject.toml", examples.format(6))
    llm.openai.push(Code('def f(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n'))
    ok(project.run("from autogen.t import f\nassert f(0) == 0\n"))
    assert findings(project)[0] == 0
    project.write("pyproject.toml", examples.format(7))  # the project's example changed
    status, report = findings(project)
    assert status == 1 and kinds(report) == [("error", "examples", "autogen.t")]
    finding = report["findings"][0]  # type: ignore[index]
    assert "autogen.t fails its examples:" in finding["message"] and "expected 7, got 6" in finding["message"]
    assert finding["fix"].startswith("autogen-hook regenerate autogen.t")
    assert len(llm.chat_requests()) == 1
