"""Generating through the import statement: one request per statement, extension, __getattr__."""

from __future__ import annotations

import subprocess
import sys

from conftest import Project, import_failure, ok
from fakellm import Code, FakeLLM, prompt_of

TEXTUTILS = '''
import re


def slugify(text: str) -> str:
    """Lower-case words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def truncate(text: str, width: int) -> str:
    """At most ``width`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


class Slugger:
    """Slugs with a fixed separator."""

    def __init__(self, sep: str) -> None:
        self.sep = sep

    def __call__(self, text: str) -> str:
        return slugify(text).replace("-", self.sep)
'''


def test_one_request_per_statement_for_all_names(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(TEXTUTILS))
    out = ok(
        project.run(
            """
            from autogen.textutils import slugify, truncate, Slugger

            def main() -> None:
                print(slugify("Hello World"), truncate("abcdefgh", 4), Slugger("_")("a b"))

            main()
            """
        )
    )
    assert out.split() == ["hello-world", "abc…", "a_b"]
    [request] = llm.chat_requests()
    prompt = prompt_of(request)
    assert "Requested names: slugify, truncate, Slugger" in prompt
    assert "from autogen.textutils import slugify, truncate, Slugger" in prompt
    assert 'slugify("Hello World")' in prompt and "in main" in prompt
    stored = (project.store / "textutils.py").read_text()
    assert "def slugify(text: str) -> str:" in stored
    assert stored.startswith("# autogen-hook: generated module autogen.textutils")


def test_stored_module_is_imported_without_asking_again(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(TEXTUTILS))
    script = "from autogen.textutils import slugify\nprint(slugify('A B'))\n"
    assert ok(project.run(script)).strip() == "a-b"
    assert ok(project.run(script)).strip() == "a-b"
    assert len(llm.chat_requests()) == 1


def test_missing_name_extends_the_stored_module(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(TEXTUTILS))
    ok(project.run("from autogen.textutils import slugify\n"))
    extended = TEXTUTILS + '\n\ndef word_count(text: str) -> int:\n    """Words."""\n    return len(text.split())\n'
    llm.openai.push(Code(extended))
    out = ok(
        project.run(
            "import autogen_hook\n"
            "print(autogen_hook.generate('autogen.textutils', ['slugify', 'word_count']).names)\n"
            "from autogen.textutils import slugify, word_count\n"
            "print(slugify('X Y'), word_count('one two three'))\n"
        )
    )
    assert out.split("\n")[:2] == ["('slugify', 'word_count')", "x-y 3"]  # the names asked for
    second = prompt_of(llm.chat_requests()[1])
    assert "Extend the module `autogen.textutils`" in second
    assert "Requested names: word_count" in second
    assert "def truncate(text: str, width: int) -> str:" in second  # existing source is sent
    assert "autogen-hook:" not in second  # without our header


def test_extension_that_drops_a_name_is_rejected(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(TEXTUTILS))
    ok(project.run("from autogen.textutils import slugify\n"))
    llm.openai.push(
        Code('def word_count(text: str) -> int:\n    """Words."""\n    return len(text.split())\n'),
        Code(TEXTUTILS + "\n\ndef word_count(text: str) -> int:\n    return len(text.split())\n"),
    )
    out = ok(project.run("from autogen.textutils import word_count, truncate\nprint(word_count('a b'))\n"))
    assert out.strip() == "2"
    retry = prompt_of(llm.chat_requests()[-1])
    assert "must keep every name it already had" in retry and "slugify" in retry


def test_attribute_access_on_imported_module_generates_the_name(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code('def double(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n'))
    out = ok(project.run("import autogen.mathx as mx\n\nprint(mx.double(21))\n"))
    assert out.strip() == "42"
    [request] = llm.chat_requests()
    assert "Requested names: double" in prompt_of(request)
    assert "mx.double(21)" in prompt_of(request)


def test_deep_module_creates_intermediate_packages_without_generating_them(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code('def thing() -> str:\n    """A thing."""\n    return "deep"\n'))
    out = ok(project.run("from autogen.a.b.c import thing\nimport autogen.a.b\nprint(thing(), autogen.a.b.__name__)\n"))
    assert out.split() == ["deep", "autogen.a.b"]
    assert (project.store / "a" / "b" / "c.py").exists()
    assert not (project.store / "a.py").exists()
    assert len(llm.chat_requests()) == 1


def test_namespace_root_gives_access_to_submodules(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(TEXTUTILS))
    out = ok(project.run("import autogen\nprint(autogen.textutils.slugify('Q R'))\n"))
    assert out.strip() == "q-r"


def test_description_from_describe_and_pyproject_reaches_the_prompt(
    project: Project, llm: FakeLLM
) -> None:
    project.write(
        "pyproject.toml",
        """
        [project]
        name = "demo"
        version = "0"

        [tool.autogen-hook.descriptions]
        "autogen.colors" = "Colour helpers for terminal output."
        """,
    )
    llm.openai.push(
        Code('def red(s: str) -> str:\n    """Red."""\n    return s\n'),
        Code('def mean(xs: list[float]) -> float:\n    """Mean."""\n    return sum(xs) / len(xs)\n'),
    )
    ok(
        project.run(
            "import autogen_hook\n"
            "autogen_hook.describe('autogen.stats', 'Small statistics without numpy.')\n"
            "from autogen.colors import red\n"
            "from autogen.stats import mean\n"
            "print(red('x'), mean([1, 2]))\n"
        )
    )
    first, second = (prompt_of(r) for r in llm.chat_requests())
    assert "Colour helpers for terminal output." in first
    assert "Small statistics without numpy." in second


def test_prompt_offers_the_declared_and_granted_packages_only(project: Project, llm: FakeLLM) -> None:
    project.write(
        "pyproject.toml",
        """
        [project]
        name = "demo"
        version = "0"
        dependencies = ["httpx>=0.27", "not-installed-anywhere>=1"]

        [project.optional-dependencies]
        test = ["pytest"]

        [tool.autogen-hook]
        allow = ["tree_sitter", "filesystem"]
        """,
    )
    llm.openai.push(Code('def f() -> int:\n    """One."""\n    return 1\n'))
    ok(project.run("from autogen.pkgs import f\n"))
    request = llm.chat_requests()[0]
    packages = prompt_of(request).split("Third-party packages you may import:")[1].split("\n")[0]
    assert packages.replace(",", " ").split() == ["httpx", "tree_sitter"]  # not pytest, black, IPython
    system = request.body["messages"][0]["content"]
    assert "Granted to this module: filesystem, tree_sitter." in system
    assert "network (" in system and "filesystem (" not in system  # what is not granted is named


def test_star_import_generates_nothing(project: Project, llm: FakeLLM) -> None:
    result = project.run("from autogen.empty import *\nprint('fine')\n")
    assert ok(result).strip() == "fine"
    assert llm.chat_requests() == []


def test_private_names_are_refused_with_a_reason(project: Project, llm: FakeLLM) -> None:
    out = import_failure(project, "from autogen.t import _helper")
    assert out.startswith("InvalidNameError autogen.t")
    assert "names starting with an underscore are never generated" in out
    assert llm.chat_requests() == []


def test_module_names_that_cannot_be_imported_are_refused(project: Project, llm: FakeLLM) -> None:
    out = ok(
        project.run(
            """
            import importlib
            try:
                importlib.import_module("autogen.my-module")
            except ImportError as exc:
                print(type(exc).__name__, exc)
            """
        )
    )
    assert out.startswith("InvalidNameError cannot generate 'autogen.my-module'")
    assert llm.chat_requests() == []


def test_python_dash_c_prompts_still_state_the_import(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(TEXTUTILS))
    result = subprocess.run(
        [sys.executable, "-c", "from autogen.textutils import slugify, truncate; print(slugify('A B'))"],
        cwd=project.root, env=project.env, capture_output=True, text=True, timeout=60,
    )
    assert ok(result).strip() == "a-b"
    assert "from autogen.textutils import slugify, truncate" in prompt_of(llm.chat_requests()[0])
