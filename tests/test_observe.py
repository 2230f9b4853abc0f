"""Observability: DEBUG stages with timings, OpenTelemetry spans, stats(), logging only."""

from __future__ import annotations

import json

import pytest
from conftest import Project, ok
from fakellm import Code, FakeLLM, Status

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'

SPANS = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

import autogen_hook
with trace.get_tracer("app").start_as_current_span("app"):
    from autogen.t import f
    autogen_hook.generate("autogen.t", ["f"])  # from the store
    try:
        autogen_hook.generate("autogen.u", ["g"])
    except ImportError as exc:
        print("failed", type(exc).__name__)
spans = exporter.get_finished_spans()
names = {s.context.span_id: s.name for s in spans}
print(json.dumps([
    {"name": s.name, "parent": names.get(s.parent.span_id) if s.parent else None,
     "kind": s.kind.name, "status": s.status.status_code.name, "attributes": dict(s.attributes),
     "events": [e.name for e in s.events]}
    for s in spans
]))
"""


def test_spans_for_a_generation_its_stages_and_failures(project: Project, llm: FakeLLM) -> None:
    pytest.importorskip("opentelemetry.sdk")
    llm.openai.push(Code("def f(:\n    pass"), Code(GOOD), Status(401, "bad key"))
    result = project.run(SPANS, env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "2"})
    lines = ok(result).splitlines()
    assert lines[0] == "failed AuthenticationError"
    spans = json.loads(lines[1])
    generations = [s for s in spans if s["name"] == "autogen_hook.generate"]
    assert [g["parent"] for g in generations] == ["app"] * 3  # the caller's span is the parent
    made, hit, failed = generations
    attributes = made["attributes"]
    assert attributes.pop("gen_ai.usage.output_tokens") > 0
    assert attributes == {
        "autogen_hook.module": "autogen.t", "autogen_hook.names": ["f"], "autogen_hook.from_store": False,
        "autogen_hook.provider": "openai", "autogen_hook.model": "fake-model", "autogen_hook.attempts": 2,
        "gen_ai.usage.input_tokens": 200,
    }
    assert hit["attributes"]["autogen_hook.from_store"] is True and hit["status"] == "UNSET"
    assert failed["status"] == "ERROR" and failed["attributes"]["error.type"] == "AuthenticationError"
    assert "exception" in failed["events"]
    children = [s for s in spans if s["parent"] == "autogen_hook.generate"]
    first = [s["name"] for s in children][:6]
    assert first == [
        "autogen_hook.context", "chat", "autogen_hook.validation", "chat", "autogen_hook.validation",
        "autogen_hook.store",
    ]
    chat = next(s for s in children if s["name"] == "chat")
    assert chat["kind"] == "CLIENT"
    assert chat["attributes"]["gen_ai.operation.name"] == "chat"
    assert chat["attributes"]["gen_ai.provider.name"] == "openai"
    assert chat["attributes"]["gen_ai.response.model"] == "fake-model"
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == 100
    assert chat["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    rejected, accepted = [s for s in children if s["name"] == "autogen_hook.validation"][:2]
    assert rejected["status"] == "ERROR" and rejected["attributes"]["autogen_hook.attempt"] == 1
    assert rejected["attributes"]["error.type"] == "Problem"
    assert accepted["status"] == "UNSET" and accepted["attributes"]["autogen_hook.attempt"] == 2
    refused = [s for s in spans if s["name"] == "chat" and s["status"] == "ERROR"]
    assert [s["attributes"]["error.type"] for s in refused] == ["AuthenticationError"]


STATS = """
import autogen_hook
from autogen.t import f
import autogen.t
autogen_hook.generate("autogen.t", ["f"])
try:
    autogen_hook.generate("autogen.u", ["g"])
except ImportError as exc:
    pass
s = autogen_hook.stats()
print(s.store_hits, s.store_misses, s.generations, s.provider_calls, s.provider_retries,
      s.validation_retries, sorted(s.failures.items()), s.input_tokens)
print(sorted(s.latency), s.latency["provider"].count, s.latency["validation"].count,
      s.latency["generation"].p50 <= s.latency["generation"].max)
"""


def test_stats_counts_what_this_process_did(project: Project, llm: FakeLLM) -> None:
    nothing = ok(project.run("import autogen_hook\nprint(autogen_hook.stats())\n"))  # nothing done: zeros
    assert "store_hits=0, store_misses=0, generations=0, provider_calls=0" in nothing and "latency={}" in nothing
    project.write(".autogen/stored.py", GOOD)
    llm.openai.push(Code("def f(:\n    pass"), Code(GOOD), Status(503), Status(503))
    out = ok(project.run("from autogen.stored import f\n" + STATS, env={"AUTOGEN_HOOK_RETRIES": "1"}))
    counts, latency = out.splitlines()
    # hits: the stored module's import, generate() from the store; misses: t's import, u
    assert counts == "2 2 1 4 1 1 [('ProviderHTTPError', 1)] 200"
    assert latency == "['context', 'generation', 'provider', 'store', 'validation'] 4 2 True"


def test_debug_logs_each_stage_with_its_timing(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    script = (
        "import logging\nlogging.basicConfig(level=logging.DEBUG, format='%(name)s %(message)s')\n"
        "logging.getLogger('httpx').setLevel(logging.WARNING)\n"
        "logging.getLogger('httpcore').setLevel(logging.WARNING)\n"
        "from autogen.t import f\n"
    )
    result = project.run(script)
    ok(result)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("autogen_hook ")]
    stages = [ln.split(": ", 2)[2] for ln in lines if ln.startswith("autogen_hook autogen-hook: autogen.t: ")]
    shapes = [" ".join(w if not w[0].isdigit() else "N" for w in s.split()) for s in stages]
    assert shapes == [
        "context done in N s",
        "openai call answered in N s",
        "validation attempt=1 done in N s",
        "store done in N s",
        "generated by openai (fake-model) in N s, N attempt(s), N input and N output tokens",
    ]
    assert all(ln.startswith("autogen_hook ") for ln in result.stderr.splitlines() if "autogen-hook" in ln)
