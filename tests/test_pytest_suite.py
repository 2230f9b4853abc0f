"""A user's pytest suite that imports generated modules: generated once, then served offline."""

from __future__ import annotations

import subprocess
import sys

from conftest import Project
from fakellm import Code, FakeLLM

MONEY = '''
from decimal import Decimal


def parse_price(text: str) -> Decimal:
    """A price from text like '$3.50'."""
    return Decimal(text.strip().lstrip("$"))
'''


def run_pytest(project: Project, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project.root, env={**project.env, **env}, capture_output=True, text=True, timeout=120,
    )


def test_user_test_suite_generates_then_runs_offline(project: Project, llm: FakeLLM) -> None:
    project.write(
        "tests/test_prices.py",
        """
        from decimal import Decimal

        from autogen.money import parse_price


        def test_parses_dollars():
            assert parse_price("$3.50") == Decimal("3.50")
        """,
    )
    llm.openai.push(Code(MONEY))
    first = run_pytest(project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 passed" in first.stdout
    assert (project.store / "money.py").exists()

    offline = run_pytest(project, AUTOGEN_HOOK_OFFLINE="1")
    assert offline.returncode == 0 and "1 passed" in offline.stdout
    assert len(llm.chat_requests()) == 1


def test_missing_module_offline_fails_the_collection_clearly(project: Project, llm: FakeLLM) -> None:
    project.write("tests/test_missing.py", "from autogen.nothing import here\n\ndef test_x():\n    pass\n")
    result = run_pytest(project, AUTOGEN_HOOK_OFFLINE="1")
    assert result.returncode != 0
    assert "NotGeneratedError" in result.stdout and "autogen.nothing" in result.stdout
    assert llm.chat_requests() == []
