"""Extension points: the example prompt plugin and validator, installed; plugins that fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, import_failure, ok
from fakellm import Code, FakeLLM, prompt_of

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "plugins"
UNDOCUMENTED = "def f() -> int:\n    return 1\n"
DOCUMENTED = 'def f() -> int:\n    """One."""\n    return 1\n'


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Both example packages, installed with pip into a directory of their own (a test's
    PYTHONPATH), so the test run's own environment never has them."""
    target = tmp_path_factory.mktemp("plugins")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(EXAMPLES / "style_guide"), str(EXAMPLES / "docstrings")],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return str(target)


def test_the_prompt_plugin_shapes_every_generations_messages(
    project: Project, llm: FakeLLM, installed: str
) -> None:
    llm.openai.push(Code(DOCUMENTED))
    out = ok(project.run("from autogen.t import f\nprint(f())\n", env={"PYTHONPATH": installed}))
    assert out.strip() == "1"
    system = llm.chat_requests()[0].body["messages"][0]
    assert system["role"] == "system" and system["content"].endswith("no global mutable state.")
    assert "House style for this project" in prompt_of(llm.chat_requests()[0])


def test_a_validators_problems_go_back_to_the_model(project: Project, llm: FakeLLM, installed: str) -> None:
    llm.openai.push(Code(UNDOCUMENTED), Code(DOCUMENTED))
    out = ok(project.run("from autogen.t import f\nprint(f())\n", env={"PYTHONPATH": installed}))
    assert out.strip() == "1"
    retry = llm.chat_requests()[1].body["messages"][-1]["content"]
    assert "the project's validators refused the module:\n- docstrings: line 1: `f` has no docstring" in retry
    assert '"""One."""' in (project.store / "t.py").read_text()  # the documented retry was stored


def _plugin(root: Path, group: str, body: str) -> str:
    """A one-module distribution registering ``plugin`` under ``group``, on a path of its own."""
    site = root / "site"
    (site / "bad_plugin-0.dist-info").mkdir(parents=True)
    (site / "bad_plugin-0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 0\n")
    (site / "bad_plugin-0.dist-info" / "entry_points.txt").write_text(f"[{group}]\nbad = bad_plugin:plugin\n")
    (site / "bad_plugin.py").write_text(body)
    return str(site)


def test_a_validator_that_raises_is_its_own_failure(project: Project, llm: FakeLLM) -> None:
    site = _plugin(project.root.parent, "autogen_hook.validators",
                   "def plugin(source, target):\n    raise RuntimeError('ruff is not installed')\n")
    llm.openai.push(Code(DOCUMENTED))
    out = import_failure(project, "from autogen.t import f", PYTHONPATH=site)
    assert out.startswith("PluginError autogen.t")
    assert "the autogen_hook.validators plugin 'bad' raised while checking autogen.t: RuntimeError: " \
           "ruff is not installed" in out
    assert "not the model's" in out and "attempt" not in out
    assert len(llm.chat_requests()) == 1  # not retried
    assert not (project.store / "t.py").exists()


def test_a_prompt_plugin_that_returns_nonsense_names_itself(project: Project, llm: FakeLLM) -> None:
    site = _plugin(project.root.parent, "autogen_hook.prompt_plugins",
                   "def plugin(messages, target):\n    return 'be brief'\n")
    out = import_failure(project, "from autogen.t import f", PYTHONPATH=site)
    assert out.startswith("PluginError autogen.t")
    assert "'bad' must return a non-empty sequence of autogen_hook.providers.Message, got str" in out
    assert llm.chat_requests() == []
