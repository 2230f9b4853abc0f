"""autogen-hook's pytest plugin (entry point ``pytest11`` named ``autogen_hook``; turn it off
with ``-p no:autogen_hook``).

* ``--autogen-offline`` (ini ``autogen_offline``; the default when ``CI`` is set): no provider
  is asked, a module or name the store lacks is a NotGeneratedError;
* ``--autogen-refresh`` (ini ``autogen_refresh``): regenerate each stored module the session
  imports, once per session (once across xdist workers too);
* ``@pytest.mark.autogen(offline=..., provider=..., ...)``: install() settings for one test;
* the ``autogen_fake`` fixture: an isolated store and a scripted provider (``testing``);
* a terminal summary of the generated modules the session used and those generated in it.

Every pytest session loads this module, so it imports nothing beyond pytest and the
package's start-up modules until a hook has something to do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._settings import in_ci
from ._state import STATE

if TYPE_CHECKING:
    from ._finder import Installation
    from .testing import AutogenFake

_MARKER = (
    "autogen(offline=None, provider=None, **settings): autogen-hook settings (install() "
    "keywords) for this test, and for its autogen_fake fixture"
)
_INSTALLED = pytest.StashKey["Installation"]()
_KEY = "autogen_hook"  # what the xdist controller and its workers tell each other
_SESSION = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autogen-hook", "autogen-hook (generated modules)")
    group.addoption(
        "--autogen-offline", action="store_true", default=None,
        help="never ask a provider: what the store lacks is a NotGeneratedError (default when CI is set)",
    )
    group.addoption(
        "--autogen-refresh", action="store_true", default=None,
        help="regenerate each stored module the session imports (the old version stays in the history)",
    )
    parser.addini("autogen_offline", "autogen-hook: never ask a provider (default: true when CI is set)",
                  type="bool", default=None)
    parser.addini("autogen_refresh", "autogen-hook: regenerate the stored modules the session imports",
                  type="bool", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    offline = _offline(config)
    if offline is not None:  # the session's default: install() and markers may still say otherwise
        previous = dict(STATE.overrides)
        STATE.overrides["offline"] = offline
        config.add_cleanup(lambda: setattr(STATE, "overrides", previous))
    if _chosen(config, "refresh"):
        from ._reload import refresh_on_import

        config.add_cleanup(refresh_on_import(_session_id(config)))


def _offline(config: pytest.Config) -> bool | None:
    """The option, else ``AUTOGEN_HOOK_OFFLINE`` (left to the settings), else the ini option,
    else under ``CI`` offline, unless a refresh was asked for (then online: the settings'
    own CI default gives way too); None: the settings decide."""
    refresh = _chosen(config, "refresh")
    if config.getoption("autogen_offline"):
        if refresh:
            raise pytest.UsageError("--autogen-offline and --autogen-refresh exclude each other: "
                                    "a refresh asks the providers")
        return True
    if "AUTOGEN_HOOK_OFFLINE" in os.environ:
        return None
    chosen: bool | None = config.getini("autogen_offline")
    if chosen is not None:
        return chosen
    return not refresh if in_ci(os.environ) else None  # a refresh asks the providers, even in CI


def _chosen(config: pytest.Config, name: str) -> bool:
    return bool(config.getoption(f"autogen_{name}") or config.getini(f"autogen_{name}"))


def _session_id(config: pytest.Config) -> str:
    """One id for the whole session: the xdist controller's, handed to each worker."""
    given = getattr(config, "workerinput", {}).get(_KEY)
    if given:
        return str(given)
    return config.stash.setdefault(_SESSION, f"{os.getpid()}-{os.urandom(4).hex()}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: each worker refreshes as part of the controller's session."""
    node.workerinput[_KEY] = _session_id(node.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("autogen")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.autogen takes settings as keywords only")
        from ._finder import install

        item.stash[_INSTALLED] = install(**marker.kwargs)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    installed = item.stash.get(_INSTALLED, None)
    if installed is not None:  # after the fixtures' teardown: the marker's settings held for them
        del item.stash[_INSTALLED]
        installed.uninstall()


@pytest.fixture
def autogen_fake(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AutogenFake]:
    """An isolated store in a temporary directory and a scripted provider; the real validation
    pipeline runs on what it answers. ``autogen_fake.reply("autogen.x", source)`` (or a function
    of the request), then import; ``autogen_fake.requests`` holds what was asked."""
    from .testing import AutogenFake

    marker = request.node.get_closest_marker("autogen")
    fake = AutogenFake(tmp_path_factory.mktemp("autogen-fake") / ".autogen", request.path.parent)
    fake.start(**(marker.kwargs if marker is not None else {}))
    try:
        yield fake
    finally:
        fake.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints the summary
        workeroutput[_KEY] = _this_process()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist: what a worker used and generated joins the controller's summary."""
    sent = getattr(node, "workeroutput", {}).get(_KEY)
    if sent:
        node.config.stash.setdefault(_WORKERS, []).append(sent)


_WORKERS = pytest.StashKey[list[dict[str, list[Any]]]]()


def _this_process() -> dict[str, list[Any]]:
    """The stored modules this process imported, and those a provider wrote in it (not the
    scripted ones of autogen_fake, which are no part of the project)."""
    if "autogen_hook._finder" not in sys.modules:
        return {"used": [], "made": []}
    from ._finder import StoredLoader

    used = sorted(
        name for name, module in list(sys.modules.items())
        if isinstance(getattr(getattr(module, "__spec__", None), "loader", None), StoredLoader)
        and getattr(module, "__file__", None)
    )
    made: list[list[Any]] = []
    if "autogen_hook._observe" in sys.modules:
        from ._observe import generated
        from .testing import NAME

        made = [[g.module, g.provider, round(g.seconds, 2)] for g in generated() if g.provider != NAME]
    return {"used": used, "made": made}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    reports = [_this_process(), *config.stash.get(_WORKERS, [])]
    used = sorted({m for r in reports for m in r["used"]} | {m[0] for r in reports for m in r["made"]})
    if not used:
        return
    made = ", ".join(f"{module} ({provider}, {seconds:.2f} s)" for r in reports for module, provider, seconds in r["made"])
    if config.get_verbosity() < 0:
        terminalreporter.write_line(
            f"autogen-hook: {len(used)} generated module(s) used ({', '.join(used)}); "
            f"generated in this session: {made or 'none'}"
        )
        return
    terminalreporter.write_sep("=", "autogen-hook")
    terminalreporter.write_line(f"generated modules used: {', '.join(used)}")
    terminalreporter.write_line(f"generated in this session: {made or 'none (all from the store)'}")
