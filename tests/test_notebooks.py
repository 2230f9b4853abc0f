"""REPL and notebooks: an IPython session driven in a subprocess (cells typed on its stdin):
re-run imports, the %autogen magics, autogen_hook.reload()."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import Project
from fakellm import Code, FakeLLM, prompt_of

DISTANCE = 'def distance(a: tuple, b: tuple) -> float:\n    """Euclidean."""\n    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5\n'
AREA = DISTANCE + '\n\ndef area(r: float) -> float:\n    """Of a circle."""\n    return 3.0 * r * r\n'


def ipython(project: Project, cells: list[str], timeout: float = 120) -> str:
    """Type ``cells`` (one line each) into ``ipython`` in the project; return what it printed."""
    pytest.importorskip("IPython")
    result = subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner", "--colors=NoColor",
         "--HistoryManager.enabled=False"],
        input="\n".join([*cells, "exit"]) + "\n", cwd=project.root, env={**project.env, "HOME": str(project.root)},
        capture_output=True, text=True, timeout=timeout,
    )
    return result.stdout + result.stderr


def test_a_rerun_import_asks_again_only_when_its_names_changed(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(DISTANCE), Code(AREA))
    out = ipython(project, [
        "origin = (0, 0)",
        "from autogen.geo import distance",
        "print('D', distance(origin, (3, 4)))",
        "from autogen.geo import distance",
        "from autogen.geo import distance, area",
        "print('A', area(2))",
    ])
    assert "D 5.0" in out and "A 12.0" in out, out
    first, second = llm.chat_requests()
    assert "origin = (0, 0)" in prompt_of(first)  # the session's cells are the caller
    assert "Extend the module `autogen.geo`" in prompt_of(second) and "Requested names: area" in prompt_of(second)


def test_autogen_show_prints_the_stored_module_and_who_wrote_it(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(DISTANCE))
    out = ipython(project, [
        "from autogen.geo import distance",
        "%load_ext autogen_hook",
        "%autogen show autogen.geo",
        "%autogen show autogen.nothing",
        "%autogen frobnicate",
    ])
    assert f"# {project.store / 'geo.py'}" in out
    assert "# written by openai (fake-model) at " in out and "1 attempt(s)" in out
    assert "def distance(a: tuple, b: tuple) -> float:" in out
    assert "%autogen: autogen.nothing is not stored" in out
    assert "usage: %autogen show MODULE" in out
    assert "Traceback" not in out


def test_autogen_regenerate_reloads_in_place_and_rebinds_the_sessions_names(project: Project, llm: FakeLLM) -> None:
    faster = DISTANCE.replace('"""Euclidean."""', '"""Euclidean, faster."""')
    llm.openai.push(Code(DISTANCE), Code(faster))
    out = ipython(project, [
        "import autogen.geo as geo",
        "from autogen.geo import distance",
        "print('DOC', distance.__doc__)",
        "%load_ext autogen_hook",
        '%autogen regenerate autogen.geo --hint "make it faster"',
        "print('DOC', distance.__doc__, geo.distance is distance)",
        "%autogen regenerate autogen.nothing",
    ])
    assert "DOC Euclidean.\n" in out, out
    assert f"regenerated autogen.geo: {project.store / 'geo.py'} (rebound distance)" in out
    assert "DOC Euclidean, faster. True" in out
    assert "%autogen: autogen.nothing is not stored" in out and "Traceback" not in out
    prompt = prompt_of(llm.chat_requests()[1])
    assert "Why it is written again:\nmake it faster" in prompt and "Requested names: distance" in prompt
    assert "Euclidean, faster" in (project.store / "geo.py").read_text()


def test_reload_regenerates_and_runs_the_new_source_in_place(project: Project, llm: FakeLLM) -> None:
    from conftest import ok

    llm.openai.push(Code(DISTANCE), Code(AREA.replace("3.0 *", "3.14 *")))
    out = ok(project.run(
        "import autogen_hook\nimport autogen.geo as geo\nprint(geo.distance((0, 0), (3, 4)))\n"
        "same = autogen_hook.reload('autogen.geo', names=['distance', 'area'], hint='add area')\n"
        "print(same is geo, geo.area(1))\n"
        "print(autogen_hook.stats().generations)\n"
    ))
    assert out.split() == ["5.0", "True", "3.14", "2"]
