"""generate() and agenerate(): the pipeline without an import statement."""

from __future__ import annotations

import re

from conftest import Project, ok
from fakellm import Code, FakeLLM, Recorded, Slow, prompt_of

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'


def module_for(request: Recorded) -> Code:
    """Answer any request with a module defining exactly the requested names."""
    names = re.search(r"Requested names: (.+)", prompt_of(request)).group(1).split(", ")  # type: ignore[union-attr]
    return Code("\n\n".join(f'def {n}() -> str:\n    """Name."""\n    return "{n}"' for n in names))


def test_generate_returns_a_typed_result_and_does_not_run_the_module(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code(GOOD, model="model-7"))
    out = ok(
        project.run(
            """
            import sys
            import autogen_hook
            r = autogen_hook.generate("autogen.t", ["f"], description="Counting helpers.",
                                      context="Return ints, never floats.")
            print(type(r).__name__, r.module, r.names, r.from_store, r.provider, r.model, r.attempts)
            print(r.usage.input_tokens > 0, r.usage.output_tokens > 0, sorted(r.timings))
            print(r.path.endswith("t.py"), "def f() -> int:" in r.source, "autogen.t" in sys.modules)
            again = autogen_hook.generate("autogen.t", ["f"])
            print(again.from_store, again.provider, again.model, again.attempts, again.source == r.source)
            print(again.usage.input_tokens, sorted(again.timings), again.timings["provider"])
            with open(again.path, "a") as f:
                f.write("\\n# edited by hand\\n")
            print(autogen_hook.generate("autogen.t", ["f"]).provider)
            """
        )
    )
    assert out.split("\n")[:6] == [
        "GenerationResult autogen.t ('f',) False openai model-7 1",
        "True True ['context', 'provider', 'total', 'validation']",
        "True True False",
        "True openai model-7 1 True",  # a store hit says who wrote the source
        "0 ['context', 'provider', 'total', 'validation'] 0.0",
        "None",  # edited since: nobody generated this source
    ]
    prompt = prompt_of(llm.chat_requests()[0])
    assert "Counting helpers." in prompt and "Return ints, never floats." in prompt
    assert len(llm.chat_requests()) == 1


def test_fifty_concurrent_agenerate_calls_are_bounded_by_the_concurrency_setting(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.responder = lambda request: Slow(0.2, module_for(request))
    out = ok(
        project.run(
            """
            import asyncio
            import autogen_hook

            async def main():
                results = await asyncio.gather(
                    *(autogen_hook.agenerate(f"autogen.m{i}", [f"f{i}"]) for i in range(50))
                )
                print(len(results), sum(not r.from_store for r in results))

            asyncio.run(main())
            """,
            env={"AUTOGEN_HOOK_CONCURRENCY": "8"},
            timeout=120,
        )
    )
    assert out.strip() == "50 50"
    assert len(llm.chat_requests()) == 50
    assert 1 < llm.max_in_flight <= 8
    assert len(list(project.store.glob("m*.py"))) == 50


def test_generate_works_inside_a_running_event_loop(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    out = ok(
        project.run(
            """
            import asyncio
            import autogen_hook

            async def main():
                return autogen_hook.generate("autogen.t", ["f"]).from_store

            print(asyncio.run(main()))
            """
        )
    )
    assert out.strip() == "False"


def test_provider_argument_overrides_the_setting(project: Project, llm: FakeLLM) -> None:
    out = ok(
        project.run(
            "import autogen_hook\n"
            "try:\n    autogen_hook.generate('autogen.t', ['f'], provider='nosuch')\n"
            "except ImportError as e:\n    print(type(e).__name__, e)\n"
        )
    )
    assert out.startswith("SettingsError generate(provider=...): unknown provider 'nosuch'")


def test_generate_rejects_names_it_cannot_store(project: Project) -> None:
    out = ok(
        project.run(
            """
            import autogen_hook
            for module, names in [("other.t", ["f"]), ("autogen", ["f"]), ("autogen.t", ["_f"]),
                                  ("autogen.bad-name", ["f"]), ("autogen.t", ["class"])]:
                try:
                    autogen_hook.generate(module, names)
                except ImportError as e:
                    print(type(e).__name__, str(e).split(",")[0].split(":")[0])
            """
        )
    )
    assert out.splitlines() == [
        "SettingsError module",
        "SettingsError module",
        "InvalidNameError cannot generate autogen.t._f",
        "InvalidNameError cannot generate 'autogen.bad-name'",
        "InvalidNameError cannot generate 'class' in autogen.t",
    ]


def test_offline_generate_raises_not_generated(project: Project, llm: FakeLLM) -> None:
    out = ok(
        project.run(
            "import autogen_hook\n"
            "try:\n    autogen_hook.generate('autogen.t', ['f'])\n"
            "except ModuleNotFoundError as e:\n    print(type(e).__name__)\n",
            env={"AUTOGEN_HOOK_OFFLINE": "1"},
        )
    )
    assert out.strip() == "NotGeneratedError"
    assert llm.chat_requests() == []
