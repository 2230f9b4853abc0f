"""Messages that fit the failure: what went wrong and which setting or step fixes it."""

from __future__ import annotations

import pytest
from conftest import Project, import_failure
from fakellm import Code, FakeLLM, Status, Text

from autogen_hook import ValidationFailedError
from autogen_hook._validate._extract import held_no_code

ONE_ATTEMPT = {"AUTOGEN_HOOK_MAX_ATTEMPTS": "1"}


def test_a_refusal_says_the_reply_held_no_code(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Text("Sure! I cannot help with that."))
    out = import_failure(project, "from autogen.t import f", **ONE_ATTEMPT)
    assert "attempt 1: the reply held no code ('Sure! I cannot help with that.')" in out
    assert "invalid syntax" not in out
    assert "The model answered without code: describe the module" in out


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! I cannot help with that.",
        "I'm sorry, but I can't write that module.\nIt would need network access, which is not allowed.",
        "<think>The user wants code.</think>What should total_price return for an empty order?",
        "",
    ],
)
def test_prose_is_recognised(reply: str) -> None:
    assert held_no_code(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "def f(:\n    pass",  # broken code is a syntax error, reported as such
        "Here is the module:\n\ndef f(x):\n    return (x +\n",
        "Here it is:\n```python\nx = (\n```",  # a fenced block is code, however broken
        "x = 1",
    ],
)
def test_code_is_not_taken_for_prose(reply: str) -> None:
    assert not held_no_code(reply)


@pytest.mark.parametrize(
    ("module", "hint"),
    [
        (
            "import subprocess\n\ndef f() -> int:\n    return subprocess.call(['true'])\n",
            'If the module truly needs what it was refused, grant it: allow = ["process"] under '
            "[tool.autogen-hook] (every module), or a [tool.autogen-hook.grants] entry",
        ),
        (
            "import numpyish.linalg\n\ndef f() -> int:\n    return 1\n",
            "The model wants numpyish, which is not installed: install the package that provides it",
        ),
        (
            "def g() -> int:\n    return 1\n",
            "The model did not write the names asked for: describe the module (autogen_hook.describe",
        ),
        (
            "def f() -> int:\n    return (1 +\n",
            "Describe the module (autogen_hook.describe or [tool.autogen-hook.descriptions]), use a "
            "stronger model, raise max-attempts",
        ),
    ],
    ids=["policy", "imports", "names", "syntax"],
)
def test_the_hint_fits_the_problem(project: Project, llm: FakeLLM, module: str, hint: str) -> None:
    llm.openai.push(Code(module))
    out = import_failure(project, "from autogen.t import f", **ONE_ATTEMPT)
    assert out.startswith("ValidationFailedError autogen.t")
    assert out.rstrip().splitlines()[-1].startswith(hint)


def test_one_hint_per_kind_of_problem_in_the_order_met() -> None:
    policy = (
        "the safety policy refused 2 uses (do without each, or the project must grant what the "
        "module truly needs):\n- line 3: `os.system(c)` uses os.system (needs 'process')\n"
        "- line 4: `import yaml` uses yaml: a third-party package the project does not declare "
        '(its [project] dependencies) (needs a grant by name: allow = ["yaml"])'
    )
    names = "these requested names are not defined at module level: f"
    error = ValidationFailedError("autogen.t", [names, policy, names, policy.replace("process", "network")])
    hints = str(error).splitlines()[-2:]
    assert hints[0].startswith("The model did not write the names asked for")
    assert hints[1].startswith(  # one hint for every refusal of every attempt
        'If the module truly needs what it was refused, grant it: allow = ["process", "yaml", "network"]'
    )


def test_a_refused_key_reads_as_one_sentence(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(401, "Incorrect API key provided."))
    out = import_failure(project, "from autogen.t import f")
    assert "Incorrect API key provided. The credential was refused: check OPENAI_API_KEY." in out
    assert ".." not in out


@pytest.mark.parametrize(
    ("variable", "closest"),
    [
        ("AUTOGEN_HOOK_MAX_ATTEMPT", "AUTOGEN_HOOK_MAX_ATTEMPTS"),
        ("AUTOGEN_HOOK_MODLE", "AUTOGEN_HOOK_MODEL"),
        ("AUTOGEN_HOOK_model", "AUTOGEN_HOOK_MODEL"),  # the variables are upper case
    ],
)
def test_a_misspelt_variable_names_the_closest_setting(
    project: Project, llm: FakeLLM, variable: str, closest: str
) -> None:
    out = import_failure(project, "from autogen.t import f", **{variable: "0"})
    assert out.startswith("SettingsError")
    assert f"the environment: unknown setting '{variable}'; did you mean {closest}?" in out
    assert llm.requests == []


def test_an_unknown_variable_far_from_any_setting_lists_them(project: Project) -> None:
    out = import_failure(project, "from autogen.t import f", AUTOGEN_HOOK_COLOUR="blue")
    assert "unknown setting 'AUTOGEN_HOOK_COLOUR'; known settings: AUTOGEN_HOOK_PROVIDER," in out
    assert "AUTOGEN_HOOK_MAX_TOKENS" in out


def test_the_advice_for_a_described_module_is_to_say_more_not_to_describe_it() -> None:
    from autogen_hook import ValidationFailedError

    problems = ["the reply held no code ('...')", "these requested names are not defined at module level: f"]
    plain, described = ValidationFailedError("autogen.x", problems), ValidationFailedError("autogen.x", problems, True)
    assert "describe the module (autogen_hook.describe" in str(plain)
    assert "autogen_hook.describe" not in str(described)
    assert "say more in the module's description (it has one" in str(described)
