"""The pytest plugin, in pytest sessions of its own (pytester, in subprocesses): offline, the
summary, the marker, the autogen_fake fixture, parallel sessions and xdist workers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import clean_env
from fakellm import Code, FakeLLM, Slow

MONEY = 'from decimal import Decimal\n\n\ndef parse_price(text: str) -> Decimal:\n    """A price."""\n    return Decimal(text.strip().lstrip("$"))\n'
USES_MONEY = """
from decimal import Decimal

from autogen.money import parse_price


def test_parses_dollars():
    assert parse_price("$3.50") == Decimal("3.50")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project whose test sessions reach ``llm``; no CI variable, no other setting."""
    for name in set(os.environ) - set(clean_env()):
        monkeypatch.delenv(name)
    for name, value in {**clean_env(), **llm.env()}.items():
        monkeypatch.setenv(name, value)
    pytester.makefile(".toml", pyproject='[project]\nname = "suite"\nversion = "0"\n')
    return pytester


def run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    return suite.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_the_summary_names_what_was_used_and_what_was_generated(suite: pytest.Pytester, llm: FakeLLM) -> None:
    suite.makepyfile(test_prices=USES_MONEY)
    llm.openai.push(Code(MONEY))
    first = run(suite)
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines([
        "*= autogen-hook =*",
        "generated modules used: autogen.money",
        "generated in this session: autogen.money (openai, * s)",
    ])
    quiet = run(suite, "-q")  # from the store now: one line
    quiet.assert_outcomes(passed=1)
    lines = [ln for ln in quiet.outlines if "autogen-hook" in ln]
    assert lines == ["autogen-hook: 1 generated module(s) used (autogen.money); generated in this session: none"]
    assert len(llm.chat_requests()) == 1


def test_a_session_that_never_imports_the_namespace_says_nothing(suite: pytest.Pytester, llm: FakeLLM) -> None:
    suite.makepyfile(test_plain="def test_one():\n    assert 1\n")
    result = run(suite)
    result.assert_outcomes(passed=1)
    assert "autogen-hook =" not in result.stdout.str() and "generated" not in result.stdout.str()


def test_offline_by_option_and_in_ci_unless_the_ini_says_otherwise(
    suite: pytest.Pytester, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makepyfile(test_prices=USES_MONEY)
    for args, env in ((["--autogen-offline"], {}), ([], {"CI": "true"})):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = run(suite, *args)
        assert result.ret != 0
        result.stdout.fnmatch_lines(["*NotGeneratedError*autogen.money has no stored source for parse_price*"])
    assert llm.chat_requests() == []
    suite.makeini("[pytest]\nautogen_offline = false\n")
    llm.openai.push(Code(MONEY))
    run(suite).assert_outcomes(passed=1)  # CI is still set
    assert len(llm.chat_requests()) == 1


def test_the_marker_sets_one_tests_settings(suite: pytest.Pytester, llm: FakeLLM) -> None:
    suite.makepyfile(test_marked="""
        import importlib
        import pytest
        import autogen_hook

        @pytest.mark.autogen(offline=True)
        def test_offline():
            with pytest.raises(autogen_hook.NotGeneratedError):
                from autogen.money import parse_price

        @pytest.mark.autogen(provider="anthropic", max_attempts=1)
        def test_anthropic():
            assert importlib.import_module("autogen.money").parse_price("$2").as_integer_ratio() == (2, 1)

        def test_nothing_left_behind():
            assert "offline" not in autogen_hook._state.STATE.overrides
    """)
    llm.anthropic.push(Code(MONEY))
    run(suite).assert_outcomes(passed=3)
    assert llm.chat_requests() == [] and len(llm.anthropic_requests()) == 1


FAKE_TESTS = '''
import pytest
from decimal import Decimal

import autogen_hook

GOOD = """
from decimal import Decimal


def parse_price(text: str) -> Decimal:
    \\"\\"\\"A price from text like '$3.50'.\\"\\"\\"
    return Decimal(text.strip().lstrip("$"))
"""


def test_scripted_module(autogen_fake):
    autogen_fake.reply("autogen.money", "def parse_price(:\\n    pass", GOOD)
    from autogen.money import parse_price

    assert parse_price("$3.50") == Decimal("3.50")
    first, retry = autogen_fake.requests
    assert first.module == "autogen.money" and first.names == ("parse_price",)
    assert "from autogen.money import parse_price" in first.prompt and first.problem is None
    assert "invalid syntax" in retry.problem or "line 1" in retry.problem
    assert (autogen_fake.store / "money.py").exists()


def test_a_callable_reply_sees_the_request(autogen_fake):
    autogen_fake.reply("autogen.greet", lambda request: f"def {request.names[0]}() -> str:\\n    return 'hi'\\n")
    from autogen.greet import hello

    assert hello() == "hi"


def test_the_real_policy_refuses_what_the_script_answers(autogen_fake):
    autogen_fake.reply("autogen.bad", "import os\\n\\ndef run() -> None:\\n    os.system('id')\\n")
    with pytest.raises(autogen_hook.ValidationFailedError, match="os.system"):
        from autogen.bad import run


def test_each_test_has_its_own_store(autogen_fake):
    import importlib

    with pytest.raises(autogen_hook.ProviderError, match="no reply scripted for autogen.money"):
        importlib.import_module("autogen.money").parse_price


def test_checkout_total(autogen_fake):  # the README's example
    autogen_fake.reply("autogen.money", GOOD)
    from shop.checkout import total

    assert total(["$1.50", "$2"]) == Decimal("3.50")
    (asked,) = autogen_fake.requests
    assert asked.module == "autogen.money" and asked.names == ("parse_price",)
    assert "def total" in asked.prompt


@pytest.mark.autogen(offline=True)
def test_the_marker_applies_to_the_fixture(autogen_fake):
    with pytest.raises(autogen_hook.NotGeneratedError):
        from autogen.money import parse_price
'''


CHECKOUT = """
from decimal import Decimal

from autogen.money import parse_price


def total(prices: list[str]) -> Decimal:
    return sum((parse_price(p) for p in prices), Decimal(0))
"""


def test_the_autogen_fake_fixture_needs_no_network_and_no_keys(
    suite: pytest.Pytester, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("OPENAI_", "ANTHROPIC_", "CODEGEN_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CI", "true")  # offline by default, but the fake's provider is no network
    suite.makepyfile(test_fake=FAKE_TESTS, **{"shop/__init__": "", "shop/checkout": CHECKOUT})
    result = run(suite, "-v")
    result.assert_outcomes(passed=6)
    assert llm.requests == []
    assert not (suite.path / ".autogen").exists()
    assert "generated modules used" not in result.stdout.str()  # scripted modules are no part of the project


PARALLEL = """
import importlib, time

def test_import():
    assert importlib.import_module("autogen.money").parse_price("$1") == 1
"""


def test_parallel_sessions_make_one_provider_call(suite: pytest.Pytester, llm: FakeLLM) -> None:
    suite.makepyfile(test_parallel=PARALLEL)
    llm.openai.responder = lambda request: Slow(0.5, Code(MONEY))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    sessions = [subprocess.Popen(command, cwd=suite.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(3)]
    outputs = [s.communicate(timeout=120)[0] for s in sessions]
    assert all(s.returncode == 0 for s in sessions), outputs
    assert len(llm.chat_requests()) == 1
    made = [o for o in outputs if "generated in this session: autogen.money (openai" in o]
    assert len(made) == 1, outputs  # the others waited for its lock, then read the store


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_xdist_workers_make_one_provider_call_and_one_summary(suite: pytest.Pytester, llm: FakeLLM) -> None:
    for n in range(4):
        suite.makepyfile(**{f"test_worker{n}": PARALLEL})
    llm.openai.responder = lambda request: Slow(0.5, Code(MONEY))
    result = run(suite, "-n", "3")
    result.assert_outcomes(passed=4)
    assert len(llm.chat_requests()) == 1
    result.stdout.fnmatch_lines([
        "*= autogen-hook =*",
        "generated modules used: autogen.money",
        "generated in this session: autogen.money (openai, * s)",
    ])


def test_refresh_regenerates_each_imported_module_once_per_session(
    suite: pytest.Pytester, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        suite.makepyfile(**{f"test_worker{n}": PARALLEL})
    llm.openai.responder = lambda request: Slow(0.3, Code(MONEY))
    run(suite).assert_outcomes(passed=4)
    assert len(llm.chat_requests()) == 1
    monkeypatch.setenv("CI", "true")  # a refresh asks the providers: CI's offline default gives way
    refreshed = run(suite, "--autogen-refresh")
    refreshed.assert_outcomes(passed=4)
    refreshed.stdout.fnmatch_lines(["generated in this session: autogen.money (openai, * s)"])
    assert len(llm.chat_requests()) == 2
    assert "Regenerate the module `autogen.money`" in llm.chat_requests()[1].body["messages"][1]["content"]
    if importlib.util.find_spec("xdist") is not None:
        run(suite, "--autogen-refresh", "-n", "3").assert_outcomes(passed=4)
        assert len(llm.chat_requests()) == 3  # one worker regenerated, the others waited for it
    clash = run(suite, "--autogen-refresh", "--autogen-offline")
    assert clash.ret != 0 and "exclude each other" in clash.stderr.str()
