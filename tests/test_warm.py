"""``autogen-hook warm`` on a fixture codebase against the local server, in fresh interpreters;
and ``regenerate``, ``prompt`` and ``stubs``, which generate or show what generating sends."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import Project, cli, ok, on_terminal, store_module
from fakellm import Code, FakeLLM, Status, Text, obliging, prompt_of

CODEBASE = {
    "app/__init__.py": "",
    "app/checkout.py": """
        from autogen.pricing import total, tax


        def checkout(amount: int) -> int:
            return total(amount) + tax(amount)
        """,
    "app/refunds.py": """
        from autogen import pricing

        def refund(amount: int) -> int:
            return -pricing.total(amount) - pricing.discount(amount)
        """,
    "app/report.py": """
        import autogen.reports.daily as daily
        import autogen.reports.weekly

        print(daily.build(1), daily.render(2), autogen.reports.weekly.summary(3))
        """,
    "notes.py": "# autogen is mentioned here, and nothing is imported from it\n",
    "plain.py": "import os\nprint(os.sep)\n",
}


@pytest.fixture
def codebase(project: Project, llm: FakeLLM) -> Project:
    for path, text in CODEBASE.items():
        project.write(path, textwrap.dedent(text).lstrip("\n"))
    llm.openai.responder = obliging
    return project


def asked(llm: FakeLLM) -> list[tuple[str, str, str]]:
    """(module, requested names, caller) of each generation request, sorted."""
    found = []
    for request in llm.chat_requests():
        prompt = prompt_of(request)
        module = re.search(r"(?:Write|Extend|Regenerate) the module `([\w.]+)`", prompt).group(1)  # type: ignore[union-attr]
        names = re.search(r"Requested names: ([\w, ]+)", prompt).group(1)  # type: ignore[union-attr]
        caller = re.search(r"\((app/\w+\.py), line \d+\)", prompt)
        found.append((module, names, caller.group(1) if caller else ""))
    return sorted(found)


def test_warm_generates_what_the_codebase_uses_one_request_per_file_and_module(codebase: Project, llm: FakeLLM) -> None:
    result = cli(codebase, "warm", "--json")
    report = json.loads(ok(result))
    assert asked(llm) == [
        ("autogen.pricing", "discount", "app/refunds.py"),  # extends what checkout.py's request wrote
        ("autogen.pricing", "total, tax", "app/checkout.py"),
        ("autogen.reports.daily", "build, render", "app/report.py"),
        ("autogen.reports.weekly", "summary", "app/report.py"),
    ]
    modules = {m["module"]: m for m in report["modules"]}
    assert set(modules) == {"autogen.pricing", "autogen.reports.daily", "autogen.reports.weekly"}
    assert modules["autogen.pricing"]["outcome"] == "generated"
    assert set(modules["autogen.pricing"]["files"]) == {"app/checkout.py", "app/refunds.py"}
    assert report["counts"] == {"generated": 3, "refreshed": 0, "stored": 0, "failed": 0}
    assert report["files"] == {"listed": 6, "parsed": 4}  # notes.py mentions the namespace
    assert ok(codebase.run("from autogen.pricing import total, tax, discount\nprint(total(1), discount(2))\n")).split() == ["2", "4"]
    again = cli(codebase, "warm")  # nothing is missing now: no request, a summary that says so
    assert again.returncode == 0 and len(llm.chat_requests()) == 4
    assert re.search(r"autogen.pricing\s+already stored", again.stdout)
    assert "warm: 0 generated, 0 refreshed, 3 already stored, 0 failed (3 modules used in 4 files)" in again.stdout


def test_warm_scans_only_the_paths_given(codebase: Project, llm: FakeLLM) -> None:
    report = json.loads(ok(cli(codebase, "warm", "app/report.py", "--json")))
    assert [m["module"] for m in report["modules"]] == ["autogen.reports.daily", "autogen.reports.weekly"]
    assert {module for module, _, _ in asked(llm)} == {"autogen.reports.daily", "autogen.reports.weekly"}


def test_a_failed_module_is_reported_with_its_reason_and_exit_1(codebase: Project, llm: FakeLLM) -> None:
    def responder(request: object) -> object:
        if "the module `autogen.reports.weekly`" in prompt_of(request):  # type: ignore[arg-type]
            return Code("import subprocess\n\ndef summary(x: int) -> int:\n    return x\n")
        return obliging(request)  # type: ignore[arg-type]

    llm.openai.responder = responder
    result = cli(codebase, "warm", env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "1"})
    assert result.returncode == 1
    assert re.search(r"^autogen.reports.weekly\s+failed\s+summary", result.stdout, re.M)
    assert ("failed: autogen.reports.weekly: ValidationFailedError: 1 attempt(s) failed validation, the last: "
            "the safety policy refused 1 use") in result.stdout
    assert "warm: 2 generated, 0 refreshed, 0 already stored, 1 failed" in result.stdout


def test_warm_offline_fails_each_missing_module_without_asking(codebase: Project, llm: FakeLLM) -> None:
    result = cli(codebase, "warm", "--json", env={"CI": "true"})  # CI implies offline
    assert result.returncode == 1 and llm.chat_requests() == []
    assert {m["outcome"] for m in json.loads(result.stdout)["modules"]} == {"failed"}
    assert "NotGeneratedError" in result.stdout


def test_warm_shows_a_progress_bar_on_a_terminal(codebase: Project) -> None:
    status, shown = on_terminal(codebase, "warm")
    assert status == 0
    assert "autogen-hook warm [" in shown and "3/3 modules · 0 failed" in shown
    assert "generating autogen." not in shown  # the bar stands for the pipeline's status line
    assert "warm: 3 generated" in shown
    ok(cli(codebase, "clear", "--yes"))
    piped = cli(codebase, "warm")  # generating again, piped: no bar
    assert "warm: 3 generated" in piped.stdout and "autogen-hook warm [" not in piped.stderr


def test_warm_stale_regenerates_a_module_whose_description_changed(codebase: Project, llm: FakeLLM) -> None:
    ok(cli(codebase, "warm"))
    codebase.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook.descriptions]\n'
                   '"autogen.reports.daily" = "Daily sales, as Markdown."\n')
    listed = {m["module"]: m["state"]["stale"] for m in json.loads(ok(cli(codebase, "list", "--json")))}
    assert listed == {"autogen.pricing": [], "autogen.reports.daily": ["its description changed"],
                      "autogen.reports.weekly": []}
    assert re.search(r"autogen.reports.daily .* generated, stale", ok(cli(codebase, "list")))
    before = len(llm.chat_requests())
    plain = json.loads(ok(cli(codebase, "warm", "--json")))
    assert len(llm.chat_requests()) == before and plain["counts"]["refreshed"] == 0  # without --stale: used as it is
    report = json.loads(ok(cli(codebase, "warm", "--stale", "--json")))
    assert report["counts"] == {"generated": 0, "refreshed": 1, "stored": 2, "failed": 0}
    prompt = prompt_of(llm.chat_requests()[-1])
    assert "Regenerate the module `autogen.reports.daily`." in prompt
    assert "Why it is written again:\nit is stale: its description changed" in prompt
    assert "Daily sales, as Markdown." in prompt and "def build(x: int) -> int:" in prompt
    listed = {m["module"]: m["state"]["stale"] for m in json.loads(ok(cli(codebase, "list", "--json")))}
    assert listed["autogen.reports.daily"] == []


def test_regenerate_sends_the_hint_and_the_current_source_and_keeps_the_old_version(
    codebase: Project, llm: FakeLLM
) -> None:
    ok(cli(codebase, "warm", "app/checkout.py"))
    before = (codebase.store / "pricing.py").read_text()
    report = json.loads(ok(cli(codebase, "regenerate", "autogen.pricing", "--hint", "keep whole words", "--json")))
    assert report["replaced_version"] == 1 and report["names"] == ["tax", "total"]
    prompt = prompt_of(llm.chat_requests()[-1])
    assert "Regenerate the module `autogen.pricing`." in prompt
    assert "Why it is written again:\nkeep whole words" in prompt
    assert "def total(x: int) -> int:" in prompt.rpartition("```python\n")[2]  # the current source
    assert "(app/checkout.py, line 1)" in prompt  # the file that uses it is the caller
    versions = json.loads(ok(cli(codebase, "history", "autogen.pricing", "--json")))["versions"]
    assert versions[-1]["replaced_because"] == "regenerated: keep whole words"
    assert (codebase.store / ".history" / "pricing" / "1.py").read_text() == before
    added = json.loads(ok(cli(codebase, "regenerate", "autogen.pricing", "--names", "rebate", "--json")))
    assert added["names"] == ["rebate"] and "def rebate" in (codebase.store / "pricing.py").read_text()
    assert "def total" in (codebase.store / "pricing.py").read_text()  # what callers use is kept
    missing = cli(codebase, "regenerate", "autogen.nothing")
    assert missing.returncode == 1 and "--names" in missing.stderr


def test_regenerate_that_the_provider_refuses_fails_and_keeps_the_module(codebase: Project, llm: FakeLLM) -> None:
    ok(cli(codebase, "warm", "app/checkout.py"))
    before = (codebase.store / "pricing.py").read_text()
    llm.openai.push(Status(401, "bad key"))
    result = cli(codebase, "regenerate", "autogen.pricing")
    assert result.returncode == 1 and "AuthenticationError" in result.stderr and "OPENAI_API_KEY" in result.stderr
    assert (codebase.store / "pricing.py").read_text() == before


def test_prompt_prints_every_message_redacted_and_sends_nothing(project: Project, llm: FakeLLM) -> None:
    project.write("app.py", 'DB_PASSWORD = "Tr0ub4dor-7x"\nfrom autogen.pricing import total\nprint(total(DB_PASSWORD))\n')
    result = ok(cli(project, "prompt", "autogen.pricing", "--names", "total", "--file", "app.py"))
    assert result.startswith("=== system ===\nYou write Python modules for autogen-hook")
    assert "=== user ===\nWrite the module `autogen.pricing`." in result
    assert "Tr0ub4dor-7x" not in result and "[REDACTED" in result
    assert "nothing was sent" in result and llm.requests == []
    store_module(project, "autogen.pricing", "def total(x: int) -> int:\n    return x\n")
    shown = json.loads(ok(cli(project, "prompt", "autogen.pricing", "--names", "total,tax", "--json")))
    assert [m["role"] for m in shown["messages"]] == ["system", "user"] and shown["names"] == ["tax"]
    assert "Extend the module `autogen.pricing`." in shown["messages"][1]["content"]
    assert "def total(x: int) -> int:" in shown["messages"][1]["content"]  # the stored source, as an import sends it
    everything = cli(project, "prompt", "autogen.pricing", "--names", "total")
    assert "so an import sends nothing" in everything.stderr and "Regenerate the module" in everything.stdout


def test_stubs_let_mypy_resolve_stored_modules_and_check_their_signatures(project: Project) -> None:
    pytest.importorskip("mypy")
    store_module(project, "autogen.pricing", '''
        from dataclasses import dataclass


        @dataclass
        class Money:
            amount: int
            currency: str = "EUR"


        def total(amount: int, tax: float = 0.2) -> Money:
            """The amount with tax."""
            return Money(int(amount * (1 + tax)))
        ''')
    store_module(project, "autogen.reports.daily", "def build(day: str) -> str:\n    return day\n")
    report = json.loads(ok(cli(project, "stubs", "--json")))
    stubs = project.store / ".stubs"
    assert sorted(str(p.relative_to(stubs)) for p in stubs.rglob("*.pyi")) == [
        "autogen/__init__.pyi", "autogen/pricing.pyi", "autogen/reports/__init__.pyi", "autogen/reports/daily.pyi",
    ] and len(report["files"]) == 4
    stub = (stubs / "autogen" / "pricing.pyi").read_text()
    assert "def total(amount: int, tax: float=...) -> Money:" in stub and "return" not in stub
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.mypy]\nmypy_path = ".autogen/.stubs"\n')
    project.write("caller.py", '''
        from autogen.pricing import Money, total
        import autogen.reports.daily as daily

        ok: Money = total(3)
        wrong = total("three")
        daily.build(1)
        ''')
    result = subprocess.run([sys.executable, "-m", "mypy", "caller.py", "--no-incremental"], cwd=project.root,
                            capture_output=True, text=True, timeout=300)
    assert "import-not-found" not in result.stdout and "Cannot find implementation" not in result.stdout
    assert 'Argument 1 to "total" has incompatible type "str"; expected "int"  [arg-type]' in result.stdout
    assert 'Argument 1 to "build" has incompatible type "int"; expected "str"  [arg-type]' in result.stdout
    assert result.stdout.count("error:") == 2, result.stdout
    (project.store / "reports" / "daily.py").unlink()
    ok(cli(project, "stubs"))
    assert not (stubs / "autogen" / "reports").exists()  # a module gone from the store loses its stub


def test_the_stubs_setting_refreshes_them_after_warm(codebase: Project) -> None:
    codebase.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook]\nstubs = true\n')
    ok(cli(codebase, "warm"))
    assert (codebase.store / ".stubs" / "autogen" / "reports" / "weekly.pyi").exists()
    assert "*" in (codebase.store / ".stubs" / ".gitignore").read_text()


def test_an_obliging_reply_keeps_what_it_extends() -> None:
    """The fake model the scenarios above rely on."""
    from fakellm import Recorded

    request = Recorded("POST", "/", {}, {"messages": [{"role": "user", "content":
              "Requested names: b\n\nThe module already exists ...:\n```python\ndef a(x: int) -> int:\n    return x\n```"}]})
    reply = obliging(request)
    assert isinstance(reply, Text) and "def a(" in reply.content and "def b(" in reply.content


def test_a_stub_keeps_the_declarations_and_nothing_that_acts() -> None:
    from autogen_hook._inventory import StoredModule
    from autogen_hook._stubs import _stub_of

    source = textwrap.dedent('''
        """Prices."""
        import re
        from typing import TYPE_CHECKING

        try:
            import tomllib
        except ImportError:
            tomllib = None

        if TYPE_CHECKING:
            from decimal import Decimal

        PATTERN = re.compile("x")
        RATE: float = 0.2
        print("import-time noise")


        class Cart:
            """A cart."""

            size: int = 0

            def add(self, item: str, count: int = 1) -> None:
                """Add."""
                self.size += count

            @property
            def empty(self) -> bool:
                return not self.size


        def total(cart: Cart, *, tax: "Decimal | None" = None) -> float:
            def inner() -> int:
                return 1
            return cart.size * RATE
        ''')
    stub = _stub_of(StoredModule("autogen.prices", "/store/prices.py", source, None))
    assert stub.startswith("# Written by `autogen-hook stubs` from prices.py")
    assert "import tomllib" in stub and "tomllib = None" not in stub and "except" not in stub
    assert "if TYPE_CHECKING:\n    from decimal import Decimal" in stub
    assert "PATTERN = re.compile('x')" in stub and "RATE: float = ..." in stub and "print(" not in stub
    assert "    size: int = ...\n" in stub and "def add(self, item: str, count: int=...) -> None:\n        \"\"\"Add.\"\"\"\n        ..." in stub
    assert "@property\n    def empty(self) -> bool:\n        ..." in stub
    assert "def total(cart: Cart, *, tax: 'Decimal | None'=...) -> float:\n    ..." in stub and "inner" not in stub
    compile(stub, "prices.pyi", "exec")
