"""One background event loop per process, for all provider I/O.

Imports are synchronous and may happen inside someone else's running event
loop; ``agenerate`` callers each have their own loop. Running every generation
on one private loop lets each provider keep one pooled HTTP client for the
life of the process, whoever calls. The loop lives on ``STATE`` (see _state),
which closes it at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ._state import STATE

T = TypeVar("T")
UNWIND = 2.0  # seconds a cancelled generation is given to finish its clean-up (the status line)
_CLOSE = 5.0  # seconds closing may take: providers' connections, then the loop's thread


class Background:
    """The loop, the thread that runs it, and the worker threads it hands blocking work to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # validation, context and store writes run in threads; the default pool
        # (cpu count + 4) would queue them behind each other under concurrency
        self.loop.set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="autogen-hook"))
        self.thread = threading.Thread(target=self.loop.run_forever, name="autogen-hook-io", daemon=True)
        self.thread.start()

    def close(self, closers: list[Callable[[], Awaitable[None]]]) -> None:
        """Await each of ``closers`` on the loop, cancel what still runs there, and stop it."""
        try:
            asyncio.run_coroutine_threadsafe(_finish(closers), self.loop).result(timeout=_CLOSE)
        except Exception:  # noqa: BLE001 - closing anyway; the OS closes the sockets
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=_CLOSE)
            if not self.thread.is_alive():
                self.loop.close()  # its worker threads too


async def _finish(closers: list[Callable[[], Awaitable[None]]]) -> None:
    """The loop's last work: the closers, then what still runs, then its worker threads."""
    for close in closers:
        try:
            await close()
        except Exception:  # noqa: BLE001 - one that fails must not keep the others open
            pass
    running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    try:
        await asyncio.get_running_loop().shutdown_default_executor()
    except RuntimeError:  # no new thread at interpreter shutdown (3.12+): they end with it
        pass


def _running_loop() -> asyncio.AbstractEventLoop:
    with STATE.lock:
        if STATE.loop is None:
            STATE.loop = Background()
        background: Background = STATE.loop
    return background.loop


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the background loop and wait for it (from synchronous code).

    Interrupted (Ctrl-C), it is cancelled, and given ``UNWIND`` seconds to clean up
    (clear the status line) before the interruption goes on.
    """
    loop = _running_loop()
    if _on_loop(loop):
        coroutine.close()
        raise RuntimeError("autogen-hook cannot wait for generation from its own event loop")
    ended = threading.Event()
    future = asyncio.run_coroutine_threadsafe(_signalling(coroutine, ended), loop)
    try:
        return future.result()
    except BaseException:
        if future.cancel():  # Ctrl-C while waiting also stops the request
            ended.wait(UNWIND)
        raise


async def _signalling(coroutine: Awaitable[T], ended: threading.Event) -> T:
    try:
        return await coroutine
    finally:
        ended.set()


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


atexit.register(STATE.close)
