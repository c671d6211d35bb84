"""Running commands: option validation (API.md §1.5), buffered results and streaming handles.

A command is started on a worker thread when ``exec_start`` could block on the relay socket
(another write in flight, large stdin data) and directly otherwise; from then on its events
reach the event loop through the session's event fd, registered with ``loop.add_reader`` and
drained without blocking — no thread waits on a running command.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from collections.abc import Mapping
from typing import Any, Optional

from microsandbox import _microsandbox as _native
from microsandbox import _runtime
from microsandbox.errors import ExecFailedError, ExecTimeoutError, MicrosandboxError
from microsandbox.types import ExecEvent, ExecEventType, Rlimit, Stdin, StdinMode

__all__ = ["ExecOutput", "ExecHandle", "ExecSink", "ExecRequest"]

_EXEC_OPTION_KEYS = frozenset({"args", "cwd", "user", "env", "timeout", "stdin", "stdin_data", "tty", "rlimits"})

_EVENT_TYPES = {
    _native.EVENT_STARTED: ExecEventType.STARTED,
    _native.EVENT_STDOUT: ExecEventType.STDOUT,
    _native.EVENT_STDERR: ExecEventType.STDERR,
    _native.EVENT_EXITED: ExecEventType.EXITED,
    _native.EVENT_FAILED: ExecEventType.FAILED,
    _native.EVENT_STDIN_ERROR: ExecEventType.STDIN_ERROR,
}

# Grace after a timeout's SIGKILL for the exit to be reported (API.md §1.5).
_KILL_GRACE_S = 5.0
# Events queued in a handle before reading from the session pauses (back-pressure).
_HIGH_WATER = 1024


class ExecRequest:
    """A validated command: argv, the native options dict, the timeout and the stdin mode."""

    __slots__ = ("cmd", "args", "opts", "timeout", "stdin_mode", "tty")

    def __init__(self, cmd: str, args: list[str], opts: dict[str, Any], timeout: Optional[float],
                 stdin_mode: StdinMode, tty: bool) -> None:
        self.cmd = cmd
        self.args = args
        self.opts = opts
        self.timeout = timeout
        self.stdin_mode = stdin_mode
        self.tty = tty


def _check_args(args: Any) -> list[str]:
    if isinstance(args, (str, bytes)):
        raise TypeError("args must be a list of strings, not a string")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise TypeError("args must be a list of strings")
    return list(args)


def _check_stdin(stdin: Any, stdin_data: Any = None) -> Stdin:
    if stdin_data is not None:
        if not isinstance(stdin_data, (bytes, bytearray, memoryview)):
            raise TypeError(f"stdin_data must be bytes, got {type(stdin_data).__name__}")
        return Stdin.bytes(bytes(stdin_data))
    if stdin is None:
        return Stdin.null()
    if isinstance(stdin, Stdin):
        return stdin
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        return Stdin.bytes(bytes(stdin))
    raise TypeError(f"stdin must be Stdin, bytes or None, got {type(stdin).__name__}")


def _check_rlimits(rlimits: Any) -> list[tuple[str, int, int]]:
    if rlimits is None:
        return []
    if isinstance(rlimits, (str, bytes)) or not isinstance(rlimits, (list, tuple)):
        raise TypeError("rlimits must be a list of Rlimit")
    out = []
    for r in rlimits:
        if not isinstance(r, Rlimit):
            raise TypeError(f"rlimit must be Rlimit, got {type(r).__name__}")
        out.append((r.resource.value, r.soft, r.hard))
    return out


def build_request(cmd: Any, args: Any = None, *, cwd: Any = None, user: Any = None, env: Any = None,
                  timeout: Any = None, stdin: Any = None, tty: Any = False, rlimits: Any = None) -> ExecRequest:
    """Validates the arguments of exec/exec_stream (API.md §1.5). A dict as ``args`` is the
    legacy options form: its values override the keyword arguments."""
    if not isinstance(cmd, str):
        raise TypeError(f"cmd must be a str, got {type(cmd).__name__}")
    stdin_data = None
    if isinstance(args, dict):
        legacy = args
        for key in legacy:
            if key not in _EXEC_OPTION_KEYS:
                raise TypeError(f"unknown exec option: {key}")
        args = legacy.get("args")
        cwd = legacy.get("cwd", cwd)
        user = legacy.get("user", user)
        env = legacy.get("env", env)
        timeout = legacy.get("timeout", timeout)
        stdin = legacy.get("stdin", stdin)
        stdin_data = legacy.get("stdin_data")
        tty = legacy.get("tty", tty)
        rlimits = legacy.get("rlimits", rlimits)
    argv = [] if args is None else _check_args(args)
    if cwd is not None and not isinstance(cwd, str):
        raise TypeError(f"cwd must be a str, got {type(cwd).__name__}")
    if user is not None and not isinstance(user, str):
        raise TypeError(f"user must be a str, got {type(user).__name__}")
    env_list: list[str] = []
    if env is not None:
        if not isinstance(env, Mapping):
            raise TypeError("env must be a Mapping")
        for k, v in env.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("env keys and values must be str")
            env_list.append(f"{k}={v}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
        if math.isnan(timeout) or timeout < 0:
            raise ValueError("timeout must be non-negative")
        timeout = float(timeout)
    if not isinstance(tty, bool):
        raise TypeError(f"tty must be a bool, got {type(tty).__name__}")
    sin = _check_stdin(stdin, stdin_data)
    opts: dict[str, Any] = {"stdin_mode": _STDIN_MODES[sin.mode]}
    if cwd is not None:
        opts["cwd"] = cwd
    if user is not None:
        opts["user"] = user
    if env_list:
        opts["env"] = env_list
    if tty:
        opts["tty"] = True
    rl = _check_rlimits(rlimits)
    if rl:
        opts["rlimits"] = rl
    if sin.mode is StdinMode.BYTES:
        opts["stdin_data"] = sin.data or b""
    return ExecRequest(cmd, argv, opts, timeout, sin.mode, tty)


_STDIN_MODES = {
    StdinMode.NULL: _native.STDIN_NULL,
    StdinMode.PIPE: _native.STDIN_PIPE,
    StdinMode.BYTES: _native.STDIN_BYTES,
}


# ---------------------------------------------------------------------------------------
# results


class ExecOutput:
    """Collected result of a command: exit code and all of stdout / stderr."""

    __slots__ = ("_code", "_stdout", "_stderr")

    def __init__(self, exit_code: int, stdout: bytes, stderr: bytes) -> None:
        self._code = exit_code
        self._stdout = stdout
        self._stderr = stderr

    @property
    def exit_code(self) -> int:
        """Exit status; -1 when the process was killed by a signal."""
        return self._code

    @property
    def success(self) -> bool:
        """``exit_code == 0``."""
        return self._code == 0

    @property
    def stdout_bytes(self) -> bytes:
        return self._stdout

    @property
    def stderr_bytes(self) -> bytes:
        return self._stderr

    @property
    def stdout_text(self) -> str:
        """stdout decoded as strict UTF-8 (invalid bytes raise UnicodeDecodeError)."""
        return self._stdout.decode("utf-8")

    @property
    def stderr_text(self) -> str:
        """stderr decoded as strict UTF-8 (invalid bytes raise UnicodeDecodeError)."""
        return self._stderr.decode("utf-8")

    @property
    def status(self) -> "Any":
        from microsandbox.types import ExitStatus

        return ExitStatus(self._code, self._code == 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExecOutput):
            return NotImplemented
        return (self._code, self._stdout, self._stderr) == (other._code, other._stdout, other._stderr)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ExecOutput(exit_code={self._code}, stdout={self._stdout!r}, stderr={self._stderr!r})"


def _event(t: tuple[int, int, int, Optional[bytes], Optional[str], Optional[str]]) -> ExecEvent:
    kind, pid, code, data, _fail_kind, message = t
    et = _EVENT_TYPES[kind]
    if et is ExecEventType.STARTED:
        return ExecEvent(et, pid=pid)
    if et is ExecEventType.EXITED:
        return ExecEvent(et, code=code)
    if et in (ExecEventType.FAILED, ExecEventType.STDIN_ERROR):
        text = message or ""
        if et is ExecEventType.FAILED and _fail_kind:
            text = f"{_fail_kind}: {text}"
        return ExecEvent(et, data=text.encode(), code=code or None)
    return ExecEvent(et, data=data)


async def start(conn: Any, req: ExecRequest) -> Any:
    """Starts the command: directly when that cannot block (an idle connection, a small
    request — see SandboxConn.exec_start_nowait), else on a worker thread."""
    native = conn.exec_start_nowait(req.cmd, req.args, req.opts)
    if native is None:
        native = await _runtime.run(conn.exec_start, req.cmd, req.args, req.opts)
    return native


async def run_collect(conn: Any, req: ExecRequest) -> ExecOutput:
    """exec()/shell(): start, then buffer output in C as events arrive; honours the timeout."""
    native = await start(conn, req)
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[tuple[int, bytes, bytes]] = loop.create_future()
    fd = native.fileno()

    def on_readable() -> None:
        if fut.done():
            return
        try:
            r = native.pump()
        except BaseException as e:
            fut.set_exception(e)
        else:
            if r is not None:
                fut.set_result(r)

    loop.add_reader(fd, on_readable)
    try:
        if req.timeout is None:
            code, out, err = await fut
        else:
            try:
                code, out, err = await asyncio.wait_for(asyncio.shield(fut), req.timeout)
            except asyncio.TimeoutError:
                await _kill_after_timeout(native, fut)
                raise ExecTimeoutError(f"command `{req.cmd}` timed out after {req.timeout:g}s") from None
        return ExecOutput(code, out, err)
    finally:
        loop.remove_reader(fd)
        native.close()


async def _kill_after_timeout(native: Any, fut: asyncio.Future[Any]) -> None:
    """SIGKILL the process group, then wait (≤ 5 s) for its exit so nothing is left running."""
    try:
        await _runtime.run(native.signal, 9)
        await asyncio.wait_for(asyncio.shield(fut), _KILL_GRACE_S)
    except (asyncio.TimeoutError, MicrosandboxError, RuntimeError):
        pass
    if fut.done() and not fut.cancelled():
        fut.exception()  # consumed: the timeout is what gets reported


# ---------------------------------------------------------------------------------------
# streaming


def _on_readable(ref: "weakref.ref[ExecHandle]") -> None:
    handle = ref()
    if handle is not None:
        handle._pull()


class ExecHandle:
    """A running command's event stream and controls (from ``exec_stream`` /
    ``shell_stream``).

    Events arrive in order: STARTED, output, then exactly one EXITED or FAILED, then the end
    (``recv()`` returns None; ``async for`` stops)."""

    def __init__(self, native: Any, loop: asyncio.AbstractEventLoop, stdin_pipe: bool, tty: bool) -> None:
        self._native = native
        self._loop = loop
        self._id: str = native.id or ""
        self._fd: int = native.fileno()
        self._events: deque[ExecEvent] = deque()
        self._error: Optional[BaseException] = None
        self._ended = False  # no more events will be read from the session
        self._reading = False
        self._waiters: list[asyncio.Future[None]] = []
        self._stdin: Optional[ExecSink] = ExecSink(native, tty) if stdin_pipe else None
        self._exit_code: Optional[int] = None
        self._resume()

    # -- plumbing (loop thread) --

    def _resume(self) -> None:
        if not self._reading and not self._ended:
            self._loop.add_reader(self._fd, _on_readable, weakref.ref(self))
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _pull(self) -> None:
        try:
            batch = self._native.drain(256)
        except BaseException as e:
            self._error = e
            self._finish()
        else:
            for t in batch:
                self._events.append(_event(t))
            if self._native.finished:
                self._finish()
            elif len(self._events) >= _HIGH_WATER:
                self._pause()
        self._wake()

    def _finish(self) -> None:
        self._pause()
        self._ended = True

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def __del__(self) -> None:
        try:
            if self._reading and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
        except Exception:
            pass

    # -- public API --

    @property
    def id(self) -> str:
        """Correlation id of the session (non-empty)."""
        return self._id

    def take_stdin(self) -> Optional["ExecSink"]:
        """The stdin sink, once, when the command was started with ``Stdin.pipe()``; None
        otherwise and on later calls."""
        sink, self._stdin = self._stdin, None
        return sink

    async def recv(self) -> Optional[ExecEvent]:
        """The next event, or None after the last one."""
        while True:
            if self._events:
                ev = self._events.popleft()
                if not self._reading and not self._ended and len(self._events) < _HIGH_WATER // 2:
                    self._resume()
                return ev
            if self._error is not None:
                err, self._error = self._error, None
                raise err
            if self._ended:
                return None
            w = self._loop.create_future()
            self._waiters.append(w)
            try:
                await w
            finally:
                if w in self._waiters:
                    self._waiters.remove(w)

    def __aiter__(self) -> "ExecHandle":
        return self

    async def __anext__(self) -> ExecEvent:
        ev = await self.recv()
        if ev is None:
            raise StopAsyncIteration
        return ev

    async def wait(self) -> tuple[int, bool]:
        """Drains the remaining events and returns ``(exit_code, success)``."""
        out = await self.collect()
        return out.exit_code, out.success

    async def collect(self) -> ExecOutput:
        """Drains the remaining events into an :class:`ExecOutput`. A command that could not
        start raises :class:`ExecFailedError`."""
        out: list[bytes] = []
        err: list[bytes] = []
        code = self._exit_code
        while (ev := await self.recv()) is not None:
            if ev.event_type is ExecEventType.STDOUT:
                out.append(ev.data or b"")
            elif ev.event_type is ExecEventType.STDERR:
                err.append(ev.data or b"")
            elif ev.event_type is ExecEventType.EXITED:
                code = ev.code
            elif ev.event_type is ExecEventType.FAILED:
                raise ExecFailedError((ev.data or b"").decode("utf-8", "replace"))
        if code is None:
            raise MicrosandboxError(f"exec {self._id}: the stream ended without an exit status")
        self._exit_code = code
        return ExecOutput(code, b"".join(out), b"".join(err))

    async def signal(self, sig: int) -> None:
        """Delivers ``sig`` to the command's process group (no-op once it has ended)."""
        if isinstance(sig, bool) or not isinstance(sig, int):
            raise TypeError(f"signal must be an int, got {type(sig).__name__}")
        if self._ended and not self._events:
            return
        await _runtime.run(self._native.signal, int(sig))

    async def kill(self) -> None:
        """SIGKILL the command's process group."""
        await self.signal(9)

    async def resize(self, rows: int, cols: int) -> None:
        """New terminal size (PTY sessions only)."""
        for name, v in (("rows", rows), ("cols", cols)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name} must be an int")
            if not 0 < v <= 0xFFFF:
                raise ValueError(f"{name} must be between 1 and 65535")
        await _runtime.run(self._native.resize, rows, cols)

    def __repr__(self) -> str:
        return f"<ExecHandle id={self._id!r} ended={self._ended}>"


class ExecSink:
    """Writable stdin of a command started with ``Stdin.pipe()``."""

    def __init__(self, native: Any, tty: bool) -> None:
        self._native = native
        self._tty = tty
        self._closed = False
        self._lock = asyncio.Lock()  # writes reach the command in call order

    async def write(self, data: bytes) -> None:
        """Sends ``data`` to the command's stdin."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        if self._closed:
            raise RuntimeError("stdin has been closed")
        async with self._lock:
            await _runtime.run(self._native.write_stdin, bytes(data))

    async def close(self) -> None:
        """EOF on stdin (pipe mode; a terminal stays open). Idempotent."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            await _runtime.run(self._native.close_stdin)

    async def __aenter__(self) -> "ExecSink":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
