"""Metrics and logs (API.md §1.10): reads of the runtime's shared-memory metrics slot and of
``exec.log``, both through libmsb, with no guest traffic."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Sequence
from typing import Any, Optional

from microsandbox import _microsandbox as _native
from microsandbox import _runtime
from microsandbox.errors import MetricsUnavailableError, SandboxNotFoundError
from microsandbox.types import LogEntry, LogReadSource, LogSource, SandboxMetrics

__all__ = ["MetricsStream", "LogStream", "read_logs", "read_metrics", "log_query"]

_BITS = {
    LogReadSource.STDOUT: _native.LOG_STDOUT,
    LogReadSource.STDERR: _native.LOG_STDERR,
    LogReadSource.OUTPUT: _native.LOG_OUTPUT,
    LogReadSource.SYSTEM: _native.LOG_SYSTEM,
    LogReadSource.ALL: _native.LOG_ALL,
}
_SOURCES = {
    _native.LOG_STDOUT: LogSource.STDOUT,
    _native.LOG_STDERR: LogSource.STDERR,
    _native.LOG_OUTPUT: LogSource.OUTPUT,
    _native.LOG_SYSTEM: LogSource.SYSTEM,
}

# How long a first metrics read waits for a freshly booted sandbox's first sample.
_FIRST_SAMPLE_WAIT_S = 3.0


def _source_bits(sources: Optional[Sequence[Any]]) -> int:
    if sources is None:
        return 0  # libmsb's default: stdout, stderr, output
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        raise TypeError("sources must be a list of LogReadSource or str")
    bits = 0
    for s in sources:
        if isinstance(s, LogReadSource):
            member = s
        elif isinstance(s, str):
            try:
                member = LogReadSource(s)
            except ValueError:
                raise ValueError(f"unknown log source: {s!r} (stdout, stderr, output, system or all)") from None
        else:
            raise TypeError(f"log source must be a str, got {type(s).__name__}")
        bits |= _BITS[member]
    if bits == 0:
        raise ValueError("sources must name at least one log source")
    return bits


def _bound_ms(value: Any, label: str) -> int:
    """A float ms bound as the int ms libmsb compares against (entries have whole ms, so
    ts >= x  ⇔  ts >= ceil(x), and ts < x  ⇔  ts < ceil(x))."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{label} must be a number of milliseconds, got {type(value).__name__}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{label} must be finite")
    if value < 0:
        raise ValueError(f"{label} must be non-negative")
    return max(int(math.ceil(value)), 1)


def log_query(tail: Any, since_ms: Any, until_ms: Any, sources: Any) -> tuple[int, int, int, int]:
    """Validated (sources bits, since, until, tail) of a logs() call."""
    if tail is not None:
        if isinstance(tail, bool) or not isinstance(tail, int):
            raise TypeError(f"tail must be an int, got {type(tail).__name__}")
        if tail < 0:
            raise ValueError("tail must be non-negative")
    return (_source_bits(sources), _bound_ms(since_ms, "since_ms"), _bound_ms(until_ms, "until_ms"),
            -1 if tail is None else tail)


def _entry(t: tuple[float, int, int, bytes, str]) -> LogEntry:
    ts, bit, session, data, cursor = t
    source = _SOURCES.get(bit, LogSource.SYSTEM)
    return LogEntry(ts, source, None if source is LogSource.SYSTEM or session == 0 else session, cursor, data)


async def read_logs(ctx: Any, name: str, tail: Any = None, since_ms: Any = None, until_ms: Any = None,
                    sources: Any = None) -> list[LogEntry]:
    """Entries of ``exec.log`` (and rotations), chronological, filtered as API.md §1.10 says."""
    bits, since, until, n = log_query(tail, since_ms, until_ms, sources)
    if n == 0:
        return []
    rows = await _runtime.run(ctx.sandbox_logs, name, bits, since, until, max(n, 0), None)
    return [_entry(t) for t in rows]


async def read_metrics(ctx: Any, name: str) -> SandboxMetrics:
    """One sample of a running sandbox."""
    return SandboxMetrics._from_native(await _runtime.run(ctx.sandbox_metrics, name))


async def _first_metrics(ctx: Any, name: str) -> SandboxMetrics:
    """A sample, waiting briefly for the first one of a sandbox that just booted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _FIRST_SAMPLE_WAIT_S
    while True:
        try:
            return await read_metrics(ctx, name)
        except MetricsUnavailableError as e:
            if "no live metrics slot" not in str(e) or loop.time() >= deadline:
                raise
        await asyncio.sleep(0.05)


class MetricsStream:
    """Periodic metrics samples of one sandbox: ``await recv()`` or ``async for``. The stream
    ends (``recv()`` returns None) when the sandbox stops."""

    def __init__(self, ctx: Any, name: str, interval: float) -> None:
        self._ctx = ctx
        self._name = name
        self._interval = interval
        self._next_at: Optional[float] = None
        self._ended = False

    async def recv(self) -> Optional[SandboxMetrics]:
        """The next sample, or None once the sandbox is gone."""
        if self._ended:
            return None
        loop = asyncio.get_running_loop()
        if self._next_at is not None:
            delay = self._next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        try:
            sample = await _first_metrics(self._ctx, self._name)
        except (MetricsUnavailableError, SandboxNotFoundError):
            self._ended = True
            return None
        self._next_at = loop.time() + self._interval
        return sample

    def __aiter__(self) -> "MetricsStream":
        return self

    async def __anext__(self) -> SandboxMetrics:
        sample = await self.recv()
        if sample is None:
            raise StopAsyncIteration
        return sample

    async def close(self) -> None:
        """Ends the stream."""
        self._ended = True


class LogStream:
    """Entries of a sandbox's ``exec.log`` as they are read: ``async for entry in stream``.
    With ``follow=True`` it keeps polling (every 200 ms, rotation-aware) for new entries."""

    _POLL_S = 0.2

    def __init__(self, ctx: Any, name: str, bits: int, since: int, until: int, cursor: Optional[str],
                 follow: bool) -> None:
        self._ctx = ctx
        self._name = name
        self._bits = bits
        self._since = since
        self._until = until
        self._cursor = cursor
        self._follow = follow
        self._buffer: deque[LogEntry] = deque()
        self._done = False

    async def recv(self) -> Optional[LogEntry]:
        """The next entry, or None at the end (never, while following)."""
        while not self._buffer:
            if self._done:
                return None
            try:
                rows = await _runtime.run(self._ctx.sandbox_logs, self._name, self._bits, self._since,
                                          self._until, 0, self._cursor)
            except SandboxNotFoundError:
                self._done = True
                return None
            if rows:
                self._buffer.extend(_entry(t) for t in rows)
                self._cursor = rows[-1][4]
            elif not self._follow:
                self._done = True
            else:
                await asyncio.sleep(self._POLL_S)
        return self._buffer.popleft()

    def __aiter__(self) -> "LogStream":
        return self

    async def __anext__(self) -> LogEntry:
        entry = await self.recv()
        if entry is None:
            raise StopAsyncIteration
        return entry

    async def close(self) -> None:
        """Ends the stream."""
        self._done = True
        self._buffer.clear()


def make_log_stream(ctx: Any, name: str, sources: Any, since_ms: Any, from_cursor: Any, until_ms: Any,
                    follow: Any) -> LogStream:
    if since_ms is not None and from_cursor is not None:
        raise ValueError("since_ms and from_cursor are mutually exclusive")
    if from_cursor is not None and not isinstance(from_cursor, str):
        raise TypeError(f"from_cursor must be a str, got {type(from_cursor).__name__}")
    if not isinstance(follow, bool):
        raise TypeError(f"follow must be a bool, got {type(follow).__name__}")
    bits, since, until, _ = log_query(None, since_ms, until_ms, sources)
    return LogStream(ctx, name, bits, since, until, from_cursor, follow)
