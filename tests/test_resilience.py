"""Around every provider call: plugins, routing, fallback, circuit breaker, rate limiter."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from pathlib import Path

import pytest
from conftest import FakeClock, Project, ok
from fakellm import Code, FakeLLM, Recorded, Slow, Status

from autogen_hook import ProviderUnavailableError, _resilience
from autogen_hook._settings import resolve
from autogen_hook._state import STATE
from autogen_hook.providers import Completion, CompletionRequest

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'

# A real third-party provider: its own package, found through the entry-point group.
PLUGIN = '''
"""An OpenAI-compatible service at SECOND_BASE_URL, shipped as a separate package."""

import os

import httpx

from autogen_hook import ProviderHTTPError, ProviderUnavailableError
from autogen_hook.providers import Completion, Usage


class SecondProvider:
    name = "second"
    environment = ("SECOND_BASE_URL",)

    def __init__(self):
        self.url = os.environ["SECOND_BASE_URL"].rstrip("/") + "/chat/completions"
        self.client = httpx.AsyncClient()

    async def complete(self, request, progress=None):
        if os.environ.get("SECOND_BUG"):
            raise RuntimeError("a bug in the plugin")
        body = {"model": request.model or "second-model",
                "messages": [{"role": m.role, "content": m.content} for m in request.messages]}
        try:
            response = await self.client.post(
                self.url, json=body, headers={"authorization": "Bearer second-key"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"second is down: {exc}", provider=self.name,
                                           transient=True) from None
        if response.status_code >= 400:
            raise ProviderHTTPError(f"second said {response.status_code}", provider=self.name,
                                    status=response.status_code, body=response.text,
                                    transient=response.status_code >= 500)
        data = response.json()
        return Completion(text=data["choices"][0]["message"]["content"], model=data["model"],
                          usage=Usage(1, 1))

    async def aclose(self):
        await self.client.aclose()
'''


@pytest.fixture
def plugin(project: Project, tmp_path: Path, llm: FakeLLM) -> None:
    """Install the 'second' provider plugin on the project's PYTHONPATH."""
    site = tmp_path / "plugin-site"
    (site / "second_provider-1.0.dist-info").mkdir(parents=True)
    (site / "second_provider.py").write_text(PLUGIN)
    (site / "second_provider-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: second-provider\nVersion: 1.0\n"
    )
    (site / "second_provider-1.0.dist-info" / "entry_points.txt").write_text(
        "[autogen_hook.providers]\nsecond = second_provider:SecondProvider\n"
    )
    project.env["PYTHONPATH"] = str(site)
    project.env["SECOND_BASE_URL"] = llm.openai_url


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def by_provider(request: Recorded) -> str:
    return "second" if request.headers.get("authorization") == "Bearer second-key" else "openai"


def stored_provider(project: Project, module: str) -> str:
    from autogen_hook._store import Store

    meta = Store(str(project.store)).metadata(module)
    assert meta is not None
    return str(meta["provider"])


def test_third_party_provider_from_an_entry_point(project: Project, llm: FakeLLM, plugin: None) -> None:
    llm.openai.push(Code(GOOD))
    out = ok(project.run("from autogen.t import f\nprint(f())\n", env={"AUTOGEN_HOOK_PROVIDER": "second"}))
    assert out.strip() == "1"
    assert [by_provider(r) for r in llm.chat_requests()] == ["second"]
    assert stored_provider(project, "autogen.t") == "second"
    assert "(second, fake-model," in (project.store / "t.py").read_text()


def test_fallback_from_a_dead_provider_to_a_live_one(project: Project, llm: FakeLLM, plugin: None) -> None:
    llm.openai.push(Code(GOOD))
    result = project.run(
        "from autogen.t import f\nprint(f())\n",
        env={"AUTOGEN_HOOK_PROVIDER": "openai,second", "OPENAI_BASE_URL": dead_url()},
    )
    assert ok(result).strip() == "1"
    assert "openai is unavailable, trying the next provider" in result.stderr
    assert stored_provider(project, "autogen.t") == "second"


def test_a_chain_of_dead_providers_reports_each(project: Project, plugin: None) -> None:
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "openai,second", "OPENAI_BASE_URL": dead_url(),
                 "SECOND_BASE_URL": dead_url()},
        )
    )
    assert out.startswith("ProviderUnavailableError every provider in the chain is unavailable")
    assert "openai: the request to openai" in out and "second: second is down" in out


def test_configuration_errors_do_not_fall_back(project: Project, llm: FakeLLM, plugin: None) -> None:
    llm.openai.push(Status(401, "bad key"))
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "openai,second"},
        )
    )
    assert out.strip() == "AuthenticationError"
    assert [by_provider(r) for r in llm.chat_requests()] == ["openai"]


def test_a_provider_that_raises_anything_else_is_an_outage(
    project: Project, llm: FakeLLM, plugin: None
) -> None:
    llm.openai.push(Code(GOOD))
    script = (
        "try:\n    from autogen.t import f\n    print(f())\n"
        "except ImportError as e:\n    print(type(e).__name__, e.name, e)\n"
    )
    alone = ok(project.run(script, env={"AUTOGEN_HOOK_PROVIDER": "second", "SECOND_BUG": "1"}))
    assert alone.startswith("ProviderUnavailableError autogen.t the second provider failed unexpectedly")
    assert "(RuntimeError: a bug in the plugin)" in alone
    fallback = project.run(script, env={"AUTOGEN_HOOK_PROVIDER": "second,openai", "SECOND_BUG": "1"})
    assert ok(fallback).strip() == "1"
    assert stored_provider(project, "autogen.t") == "openai"


def test_routes_send_matching_modules_to_their_provider(
    project: Project, llm: FakeLLM, plugin: None
) -> None:
    project.write(
        "pyproject.toml",
        """
        [project]
        name = "x"

        [tool.autogen-hook.routes]
        "autogen.reports.*" = "second"
        "autogen.reports.special" = "openai"
        """,
    )
    llm.openai.responder = lambda request: Code(GOOD)
    ok(project.run("from autogen.reports.daily import f\nfrom autogen.util import f\nfrom autogen.reports.special import f\n"))
    assert [by_provider(r) for r in llm.chat_requests()] == ["second", "openai", "openai"]
    assert stored_provider(project, "autogen.reports.daily") == "second"


# Scripts that move the resilience layer's clock instead of sleeping through a cool-down.
MANUAL_CLOCK = """
from autogen_hook._state import STATE
from autogen_hook.providers._ratelimit import Clock

class ManualClock(Clock):
    time = 0.0
    def now(self):
        return self.time

STATE.clock = clock = ManualClock()
"""

CIRCUIT = MANUAL_CLOCK + """
import autogen_hook

def attempt(module):
    try:
        return autogen_hook.generate(module, ["f"]).provider
    except ImportError as exc:
        return f"{type(exc).__name__}: {'circuit is open' in str(exc)}"

for module in ("autogen.a", "autogen.b", "autogen.c"):
    print(attempt(module))
clock.time += 29.0  # within the default 30 s cool-down: still open
print(attempt("autogen.c"))
clock.time += 1.0  # the cool-down is over, so the next call is the half-open trial
print(attempt("autogen.d"))
print(attempt("autogen.e"))
"""


def test_circuit_opens_fails_fast_then_lets_a_trial_through(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(503, "down"), Status(503, "down"), Code(GOOD), Code(GOOD))
    out = ok(project.run(CIRCUIT, env={"AUTOGEN_HOOK_BREAKER_THRESHOLD": "2"}))
    assert out.split("\n")[:6] == [
        "ProviderHTTPError: False",
        "ProviderHTTPError: False",
        "ProviderUnavailableError: True",
        "ProviderUnavailableError: True",
        "openai",
        "openai",
    ]
    assert len(llm.chat_requests()) == 4  # the open circuit sent nothing


def test_a_cancelled_trial_does_not_keep_the_circuit_open(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(503, "down"), Slow(2.0, Code(GOOD)), Code(GOOD))
    script = MANUAL_CLOCK + textwrap.dedent(
        """
        import asyncio
        import autogen_hook

        for module in ("autogen.a", "autogen.b"):
            try:
                autogen_hook.generate(module, ["f"])
            except ImportError as exc:
                print(type(exc).__name__, exc.name)
        clock.time += 30.0  # the cool-down
        try:  # the half-open trial, given up by the caller
            asyncio.run(asyncio.wait_for(autogen_hook.agenerate("autogen.c", ["f"]), 0.3))
        except asyncio.TimeoutError:
            print("gave up")
        # the cancellation reaches the background loop a moment later: wait until it unwound
        while STATE.breakers["openai"].trial_running:
            asyncio.run(asyncio.sleep(0.001))
        print(autogen_hook.generate("autogen.d", ["f"]).provider)
        """
    )
    out = ok(project.run(script, env={"AUTOGEN_HOOK_BREAKER_THRESHOLD": "1"}))
    assert out.split("\n")[:4] == [
        "ProviderHTTPError autogen.a",
        "ProviderUnavailableError autogen.b",  # the open circuit names the module too
        "gave up",
        "openai",
    ]


def test_open_circuit_hands_over_to_the_next_provider(
    project: Project, llm: FakeLLM, plugin: None
) -> None:
    llm.openai.responder = lambda r: Status(503, "down") if by_provider(r) == "openai" else Code(GOOD)
    out = ok(
        project.run(
            "import autogen_hook\n"
            "print(autogen_hook.generate('autogen.a', ['f']).provider)\n"
            "print(autogen_hook.generate('autogen.b', ['f']).provider)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "openai,second", "AUTOGEN_HOOK_BREAKER_THRESHOLD": "1"},
        )
    )
    assert out.split() == ["second", "second"]
    assert [by_provider(r) for r in llm.chat_requests()] == ["openai", "second", "second"]


class Flaky:
    """A provider whose every try fails after ``spends`` seconds of the test's clock (its whole
    timeout if None)."""

    name = "flaky"

    def __init__(self, clock: FakeClock, retry_after: float = 0.0, spends: float | None = None) -> None:
        self.clock = clock
        self.retry_after = retry_after
        self.spends = spends
        self.timeouts: list[float] = []
        self.starts: list[float] = []

    async def complete(self, request: CompletionRequest, progress: object = None) -> Completion:
        self.starts.append(self.clock.now())
        self.timeouts.append(request.timeout)
        self.clock.time += request.timeout if self.spends is None else self.spends
        raise ProviderUnavailableError("no answer in time", provider=self.name, transient=True,
                                       retry_after=self.retry_after)

    async def aclose(self) -> None:
        pass


def retried(provider: Flaky, tmp_path: Path, **settings: object) -> ProviderUnavailableError:
    request = CompletionRequest(messages=(), module="autogen.t", timeout=float(settings["timeout"]))  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailableError) as caught:
        asyncio.run(_resilience._with_retries(provider, request, resolve(str(tmp_path), settings), None))
    return caught.value


@pytest.fixture
def clock() -> FakeClock:
    """The provider layer's clock, which only the test (and waits) move (``reset()`` after
    each test forgets it)."""
    STATE.clock = fake = FakeClock(1000.0)
    return fake


def test_the_retry_budget_is_attempts_times_timeout_capped() -> None:
    assert _resilience.retry_budget(120.0, 3) == 480.0
    assert _resilience.retry_budget(120.0, 10) == 600.0  # capped
    assert _resilience.retry_budget(900.0, 3) == 900.0  # never less than one timeout
    assert _resilience.retry_budget(5.0, 0) == 5.0


def test_retries_stop_when_the_budget_is_spent(clock: FakeClock, tmp_path: Path) -> None:
    provider = Flaky(clock, retry_after=10.0)
    error = retried(provider, tmp_path, timeout=120, retries=10)
    # tries at t=0, 130, 260, 390, 520 (10 s apart); the last gets the 80 s that are left
    assert provider.timeouts == [120.0, 120.0, 120.0, 120.0, 80.0]
    assert clock.now() - 1000.0 == 600.0
    assert "gave up after 5 tries: another would pass the retry budget of 600 s" in str(error)
    assert error.name == "autogen.t"


def test_retries_within_the_budget_all_run(clock: FakeClock, tmp_path: Path) -> None:
    provider = Flaky(clock)
    error = retried(provider, tmp_path, timeout=5, retries=2)
    assert provider.timeouts == [5.0, 5.0, 5.0]
    assert str(error).endswith("(gave up after 3 tries)")


def test_rate_limit_spaces_request_starts(clock: FakeClock, tmp_path: Path) -> None:
    provider = Flaky(clock, spends=0.0)
    retried(provider, tmp_path, timeout=10, retries=2, rate_limit=30)  # one start every 2 s
    assert [t - 1000.0 for t in provider.starts] == [0.0, 2.0, 4.0]
    provider = Flaky(clock, spends=0.0)
    retried(provider, tmp_path, timeout=10, retries=2, rate_limit=0)  # unlimited
    assert provider.starts == [1004.0] * 3


def test_a_rate_limit_wait_beyond_the_budget_ends_the_retries(clock: FakeClock, tmp_path: Path) -> None:
    provider = Flaky(clock, spends=0.0)
    error = retried(provider, tmp_path, timeout=1, retries=5, rate_limit=6)  # a start every 10 s
    assert len(provider.starts) == 1  # the budget (6 s) ends before the next start could
    assert "gave up after 1 try: another would pass the retry budget of 6 s" in str(error)


def test_rate_limit_setting_is_applied(project: Project, llm: FakeLLM) -> None:
    llm.openai.responder = lambda r: Code(GOOD)
    script = textwrap.dedent(
        """
        import autogen_hook
        from autogen_hook._state import STATE
        autogen_hook.generate("autogen.a", ["f"])
        window = STATE.limiters["rate-limit", "openai"]
        print(window.limit, window.period)
        """
    )
    assert ok(project.run(script, env={"AUTOGEN_HOOK_RATE_LIMIT": "600"})).split() == ["1", "0.1"]


def test_fallback_from_dead_openai_to_live_anthropic(project: Project, llm: FakeLLM) -> None:
    llm.anthropic.push(Code(GOOD, model="claude-test"))
    result = project.run(
        "from autogen.t import f\nprint(f())\n",
        env={"AUTOGEN_HOOK_PROVIDER": "openai,anthropic", "OPENAI_BASE_URL": dead_url()},
    )
    assert ok(result).strip() == "1"
    assert len(llm.anthropic_requests()) == 1
    assert stored_provider(project, "autogen.t") == "anthropic"
    assert "(anthropic, claude-test," in (project.store / "t.py").read_text()


def test_each_provider_of_a_chain_can_name_its_own_model(project: Project, llm: FakeLLM) -> None:
    project.write(
        "pyproject.toml",
        """
        [project]
        name = "x"

        [tool.autogen-hook]
        model = "shared-model"
        provider = ["openai:gpt-test", "anthropic:claude-test"]

        [tool.autogen-hook.routes]
        "autogen.other" = "openai"
        """,
    )
    llm.openai.push(Code(GOOD))
    llm.anthropic.push(Code(GOOD))
    ok(project.run("from autogen.other import f\n"))
    ok(project.run("from autogen.t import f\n", env={"OPENAI_BASE_URL": dead_url()}))
    assert [r.body["model"] for r in llm.chat_requests()] == ["shared-model"]  # no model of its own
    assert [r.body["model"] for r in llm.anthropic_requests()] == ["claude-test"]
    assert stored_provider(project, "autogen.t") == "anthropic"


def test_a_model_the_provider_does_not_know_says_how_to_name_one_per_provider(
    project: Project, llm: FakeLLM
) -> None:
    llm.anthropic.push(Status(404, "model: gpt-4o-mini"))
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(e)\n",
            env={"AUTOGEN_HOOK_PROVIDER": "anthropic", "AUTOGEN_HOOK_MODEL": "gpt-4o-mini"},
        )
    )
    assert "Check ANTHROPIC_BASE_URL and the model setting" in out
    assert '"anthropic:claude-sonnet-4-6"' in out


def test_a_rejected_request_is_not_retried(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Status(400, "messages: too long"), Code(GOOD))
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
            env={"AUTOGEN_HOOK_RETRIES": "3"},
        )
    )
    assert out.startswith("ProviderHTTPError openai answered HTTP 400")
    assert "check the model setting" in out
    assert len(llm.chat_requests()) == 1


def test_retry_after_accepts_seconds_milliseconds_and_http_dates() -> None:
    import email.utils
    import time

    import httpx

    from autogen_hook.providers._http import retry_after

    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    assert retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert 8.0 < (retry_after(httpx.Headers({"retry-after": in_ten_seconds})) or 0) <= 10.0
    assert retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after(httpx.Headers({})) is None
