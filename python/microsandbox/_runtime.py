"""Plumbing between asyncio and the native extension: the open state roots and the worker
threads that run blocking libmsb calls off the event loop.

Every blocking native call releases the GIL and runs on a worker thread; its result is handed
back to the awaiting loop with ``loop.call_soon_threadsafe``. The pool starts a thread
whenever no idle worker is reserved for a new call, so a long call (``wait()``, a stop with a
grace period) never delays another; idle workers exit after a minute.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

from microsandbox import _microsandbox as _native

T = TypeVar("T")

_MAX_WORKERS = 256
_IDLE_SECONDS = 60.0


def _deliver(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.cancelled():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class _Pool:
    """Worker threads for blocking native calls (see the module docstring)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for work and not yet reserved by a submit
        self._threads = 0

    def submit(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], args: tuple[Any, ...]) -> asyncio.Future[Any]:
        fut = loop.create_future()
        spawn = False
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            elif self._threads < _MAX_WORKERS:
                self._threads += 1
                spawn = True
        self._queue.put((loop, fut, fn, args))
        if spawn:
            threading.Thread(target=self._work, name="microsandbox-worker", daemon=True).start()
        return fut

    def _work(self) -> None:
        q = self._queue
        while True:
            try:
                loop, fut, fn, args = q.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody reserved us: retire
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # reserved by a submit whose item is on its way
            try:
                result = fn(*args)
                ok = True
            except BaseException as e:  # delivered to the awaiting task
                result, ok = e, False
            try:
                loop.call_soon_threadsafe(_deliver, fut, ok, result)
            except RuntimeError:
                pass  # the loop is closed: nobody awaits this any more
            del loop, fut, fn, args, result
            with self._lock:
                self._idle += 1


_pool = _Pool()


def run(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Runs ``fn(*args)`` on a worker thread; the future resolves on the running loop."""
    return _pool.submit(asyncio.get_running_loop(), fn, args)


# ---------------------------------------------------------------------------------------
# state roots

_contexts: dict[str, _native.Context] = {}
_contexts_lock = threading.Lock()


def _home_key() -> str:
    return os.environ.get("MSB_HOME") or os.path.join(os.path.expanduser("~"), ".microsandbox")


def _open_context(key: str) -> _native.Context:
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _native.Context(key)
            _contexts[key] = ctx
        return ctx


async def context() -> _native.Context:
    """The open Context of the current state root ($MSB_HOME, else ~/.microsandbox)."""
    key = _home_key()
    ctx = _contexts.get(key)
    if ctx is not None:
        return ctx
    return await run(_open_context, key)


def context_sync() -> _native.Context:
    """Same, blocking (for synchronous entry points)."""
    return _open_context(_home_key())


def _after_fork_in_child() -> None:
    # The parent's worker threads do not exist here, and its database connections must not
    # be used across fork (SQLite): start over. The old objects are kept alive, never
    # closed, so nothing the parent owns is touched.
    global _pool, _contexts, _contexts_lock
    _leaked.append((_pool, _contexts))
    _pool = _Pool()
    _contexts = {}
    _contexts_lock = threading.Lock()


_leaked: list[Any] = []
os.register_at_fork(after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------------------------------
# small helpers


class Ready(Generic[T]):
    """An awaitable that is already complete (the value of an awaitable property such as
    ``await sb.name``). Unlike a coroutine it may be dropped without being awaited."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self._value
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return f"<awaitable {self._value!r}>"


def ms(seconds: float | None, default: int = -1) -> int:
    """Seconds (validated by the caller) as the int milliseconds libmsb takes."""
    if seconds is None:
        return default
    return int(round(seconds * 1000))
