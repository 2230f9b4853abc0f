"""One background event loop per process, for all provider I/O.

Imports are synchronous and may happen inside someone else's running event
loop; ``agenerate`` callers each have their own loop. Running every generation
on one private loop lets each provider keep one pooled HTTP client for the
life of the process, whoever calls.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from . import _resilience, _store, providers

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            # validation, context and store writes run in threads; the default pool
            # (cpu count + 4) would queue them behind each other under concurrency
            loop.set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="autogen-hook"))
            threading.Thread(
                target=loop.run_forever, name="autogen-hook-io", daemon=True
            ).start()
            _loop = loop
        return _loop


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the background loop and wait for it (from synchronous code)."""
    loop = _running_loop()
    if _on_loop(loop):
        coroutine.close()
        raise RuntimeError("autogen-hook cannot wait for generation from its own event loop")
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()  # Ctrl-C while waiting also stops the request
        raise


async def arun(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await ``coroutine`` on the background loop from any other event loop."""
    loop = _running_loop()
    if _on_loop(loop):
        return await coroutine
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _shutdown() -> None:
    global _loop
    loop = _loop
    if loop is None:
        return
    try:
        asyncio.run_coroutine_threadsafe(providers.aclose_all(), loop).result(timeout=5)
    except Exception:
        pass  # exiting anyway; the OS closes the sockets
    loop.call_soon_threadsafe(loop.stop)
    _loop = None


def _forget_after_fork() -> None:
    """The loop's thread does not exist in a forked child: start afresh there."""
    global _loop, _lock
    _loop = None
    _lock = threading.Lock()
    providers.forget_all()
    _resilience.forget_state()
    _store.forget_caches()


atexit.register(_shutdown)
os.register_at_fork(after_in_child=_forget_after_fork)
