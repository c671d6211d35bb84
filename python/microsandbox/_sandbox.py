"""``Sandbox``, ``SandboxHandle``, ``SandboxPage`` and ``PullSession`` (API.md §1.2–§1.4,
§1.7, §1.11).

A :class:`Sandbox` is a live connection to a running sandbox (a native ``SandboxConn``); a
:class:`SandboxHandle` is a metadata snapshot of a sandbox in any state. Every blocking
libmsb call runs on a worker thread (see ``_runtime``).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Optional

from microsandbox import _config, _exec, _modify, _observe, _runtime
from microsandbox._exec import ExecHandle, ExecOutput
from microsandbox._fs import SandboxFsOps
from microsandbox._runtime import Ready, ms
from microsandbox._snapshot import Snapshot
from microsandbox.errors import (
    MicrosandboxError,
    NoDefaultCommandError,
    SandboxNotFoundError,
    SandboxNotRunningError,
    unsupported,
)
from microsandbox.types import (
    LogEntry,
    PullEvent,
    PullEventType,
    SandboxMetrics,
    SandboxModificationPlan,
    SandboxPingResult,
    SandboxStatus,
    SandboxStopResult,
    SandboxTouchResult,
    StdinMode,
    _duration,
)

__all__ = ["Sandbox", "SandboxHandle", "SandboxPage", "PullSession"]

_CONSUMED = "sandbox has been consumed"


def _status(s: str) -> SandboxStatus:
    try:
        return SandboxStatus(s)
    except ValueError:
        return SandboxStatus.CRASHED


def _timeout_ms(timeout: Any, label: str = "timeout") -> int:
    return ms(_duration(timeout, label), -1)


class SandboxPage(builtins.list):  # type: ignore[type-arg]
    """A page of :class:`SandboxHandle` (a ``list``), with ``sandboxes`` and
    ``next_cursor`` (None on the last page)."""

    def __init__(self, handles: Any = (), next_cursor: Optional[str] = None) -> None:
        super().__init__(handles)
        self.next_cursor = next_cursor

    @property
    def sandboxes(self) -> builtins.list["SandboxHandle"]:
        """The handles, as a plain list (a copy)."""
        return builtins.list(self)

    def __repr__(self) -> str:
        return f"SandboxPage({builtins.list.__repr__(self)}, next_cursor={self.next_cursor!r})"


class Sandbox:
    """A running sandbox. Obtain one with :meth:`create`, :meth:`start` or
    :meth:`SandboxHandle.connect`.

    ``async with await Sandbox.create(...) as sb:`` kills the sandbox and removes its state
    on exit, whoever owns it, and never suppresses the exception that ended the block."""

    __slots__ = ("_conn", "_ctx", "_name", "_consumed", "_parked", "__weakref__")

    def __init__(self) -> None:
        raise TypeError("use Sandbox.create(), Sandbox.start() or SandboxHandle.connect()")

    @classmethod
    def _wrap(cls, ctx: Any, conn: Any) -> "Sandbox":
        sb = object.__new__(cls)
        sb._ctx = ctx
        sb._conn = conn
        sb._name = conn.name
        sb._consumed = False
        sb._parked = []
        return sb

    def _live(self) -> Any:
        if self._consumed:
            raise RuntimeError(_CONSUMED)
        return self._conn

    def _consume(self) -> None:
        self._consumed = True
        self._parked.clear()
        self._conn.close()

    def _park(self, handle: ExecHandle) -> None:
        """Keeps a detached attach session open (freeing it would kill its process) for as
        long as this handle's connection lives."""
        handle._finish()
        self._parked.append(handle._native)

    def __repr__(self) -> str:
        state = "consumed" if self._consumed else ("owner" if self._conn.owns_lifecycle else "connected")
        return f"<Sandbox {self._name!r} ({state})>"

    # ------------------------------------------------------------------ static methods

    @staticmethod
    async def create(name: str, **kwargs: Any) -> "Sandbox":
        """Create and boot a sandbox; returns once its agent is ready (API.md §1.3 lists
        the keyword arguments). The image is pulled per ``pull_policy`` when needed."""
        spec = _config.parse(name, kwargs)
        ctx = await _runtime.context()
        conn = await _runtime.run(ctx.sandbox_create, spec.name, spec.config, spec.flags, spec.grace_ms, None,
                                  spec.snapshot)
        return Sandbox._wrap(ctx, conn)

    @staticmethod
    def create_with_progress(name: str, **kwargs: Any) -> "PullSession":
        """Same as :meth:`create`, but synchronous: starts the creation in the background
        and returns a :class:`PullSession` to follow the image pull and get the sandbox.
        Argument errors raise here."""
        return PullSession(_config.parse(name, kwargs))

    @staticmethod
    async def start(name: str, *, detached: bool = False) -> "Sandbox":
        """Boot a stopped (or crashed, or created) sandbox from its stored configuration."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        if not isinstance(detached, bool):
            raise TypeError("detached must be a bool")
        from microsandbox import _microsandbox as _native

        ctx = await _runtime.context()
        conn = await _runtime.run(ctx.sandbox_start, name, _native.SANDBOX_DETACHED if detached else 0)
        return Sandbox._wrap(ctx, conn)

    @staticmethod
    async def get(name: str) -> "SandboxHandle":
        """A handle to an existing sandbox in any state (SandboxNotFoundError if unknown)."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        ctx = await _runtime.context()
        return SandboxHandle(ctx, await _runtime.run(ctx.sandbox_get, name))

    @staticmethod
    async def list() -> SandboxPage:
        """All sandboxes (running, stopped, crashed), newest first."""
        ctx = await _runtime.context()
        rows = await _runtime.run(ctx.sandbox_list)
        return SandboxPage([SandboxHandle(ctx, d) for d in rows])

    @staticmethod
    async def list_with(*, cursor: Optional[str] = None, limit: Optional[int] = None,
                        labels: Optional[Mapping[str, str]] = None) -> SandboxPage:
        """A page of sandboxes whose labels include every ``labels`` pair, starting at
        ``cursor`` (from a previous page's ``next_cursor``), at most ``limit`` long."""
        start = 0
        if cursor is not None:
            if not isinstance(cursor, str) or not cursor.isdigit():
                raise ValueError(f"invalid cursor: {cursor!r}")
            start = int(cursor)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError("limit must be an int")
            if limit <= 0:
                raise ValueError("limit must be positive")
        want: dict[str, str] = {}
        if labels is not None:
            if not isinstance(labels, Mapping):
                raise TypeError("labels must be a Mapping")
            want = {str(k): str(v) for k, v in labels.items()}
        ctx = await _runtime.context()
        rows = await _runtime.run(ctx.sandbox_list)
        matched = [d for d in rows if _labels_match(d, want)]
        end = len(matched) if limit is None else min(start + limit, len(matched))
        page = [SandboxHandle(ctx, d) for d in matched[start:end]]
        return SandboxPage(page, str(end) if end < len(matched) else None)

    @staticmethod
    async def remove(name: str) -> None:
        """Delete a sandbox that is not running and all its state."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        ctx = await _runtime.context()
        await _runtime.run(ctx.sandbox_remove, name)

    # ------------------------------------------------------------------ properties

    @property
    def name(self) -> Ready[str]:
        """The sandbox name (an awaitable property: ``await sb.name``)."""
        self._live()
        return Ready(self._name)

    @property
    def owns_lifecycle(self) -> Ready[bool]:
        """Whether this handle owns the sandbox's lifecycle (``await sb.owns_lifecycle``):
        True for attached sandboxes from create()/start(), False for detached ones, for
        connect()ed handles and after detach()."""
        return Ready(bool(self._live().owns_lifecycle))

    @property
    def fs(self) -> SandboxFsOps:
        """Files in the sandbox (a synchronous property: ``sb.fs.read(...)``)."""
        return SandboxFsOps(self._live(), self._name)

    # ------------------------------------------------------------------ exec

    async def exec(self, cmd: str, args: Any = None, *, cwd: Optional[str] = None, user: Optional[str] = None,
                   env: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None, stdin: Any = None,
                   tty: bool = False, rlimits: Optional[builtins.list[Any]] = None) -> ExecOutput:
        """Run ``cmd`` (PATH lookup, no shell) to completion and return its output."""
        req = _exec.build_request(cmd, args, cwd=cwd, user=user, env=env, timeout=timeout, stdin=stdin,
                                  tty=tty, rlimits=rlimits)
        return await _exec.run_collect(self._live(), req)

    async def exec_stream(self, cmd: str, args: Any = None, *, cwd: Optional[str] = None,
                          user: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                          timeout: Optional[float] = None, stdin: Any = None, tty: bool = False,
                          rlimits: Optional[builtins.list[Any]] = None) -> ExecHandle:
        """Start ``cmd`` and return its event stream at once (``timeout`` is accepted, not
        enforced)."""
        req = _exec.build_request(cmd, args, cwd=cwd, user=user, env=env, timeout=timeout, stdin=stdin,
                                  tty=tty, rlimits=rlimits)
        return await self._stream(req)

    async def _stream(self, req: _exec.ExecRequest) -> ExecHandle:
        native = await _exec.start(self._live(), req)
        return ExecHandle(native, asyncio.get_running_loop(), req.stdin_mode is StdinMode.PIPE, req.tty)

    def _shell_argv(self, script: Any) -> tuple[str, builtins.list[str]]:
        if not isinstance(script, str):
            raise TypeError(f"script must be a str, got {type(script).__name__}")
        return self._live().shell, ["-c", script]

    async def shell(self, script: str, *, cwd: Optional[str] = None, user: Optional[str] = None,
                    env: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None, stdin: Any = None,
                    tty: bool = False, rlimits: Optional[builtins.list[Any]] = None) -> ExecOutput:
        """Run ``script`` with the sandbox's shell (``<shell> -c <script>``) to completion."""
        shell, argv = self._shell_argv(script)
        req = _exec.build_request(shell, argv, cwd=cwd, user=user, env=env, timeout=timeout, stdin=stdin,
                                  tty=tty, rlimits=rlimits)
        return await _exec.run_collect(self._live(), req)

    async def shell_stream(self, script: str, *, cwd: Optional[str] = None, user: Optional[str] = None,
                           env: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None,
                           stdin: Any = None, tty: bool = False,
                           rlimits: Optional[builtins.list[Any]] = None) -> ExecHandle:
        """Streaming form of :meth:`shell`."""
        shell, argv = self._shell_argv(script)
        req = _exec.build_request(shell, argv, cwd=cwd, user=user, env=env, timeout=timeout, stdin=stdin,
                                  tty=tty, rlimits=rlimits)
        return await self._stream(req)

    async def _default_argv(self) -> builtins.list[str]:
        ctx = self._ctx
        info = await _runtime.run(ctx.sandbox_get, self._name)
        runtime = json.loads(info["config_json"] or "{}").get("runtime") or {}
        entrypoint, cmd = runtime.get("entrypoint"), runtime.get("cmd")
        if entrypoint is None or cmd is None:
            try:
                image = await _runtime.run(ctx.image_get, info["image"])
            except MicrosandboxError:
                image = {}
            if entrypoint is None:
                entrypoint = image.get("entrypoint")
            if cmd is None:
                cmd = image.get("cmd")
        argv = builtins.list(entrypoint or []) + builtins.list(cmd or [])
        if not argv:
            raise NoDefaultCommandError(f"sandbox `{self._name}`: the image has no ENTRYPOINT or CMD")
        return argv

    async def exec_default(self, *, cwd: Optional[str] = None, user: Optional[str] = None,
                           env: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None,
                           stdin: Any = None, tty: bool = False,
                           rlimits: Optional[builtins.list[Any]] = None) -> ExecOutput:
        """Run the image's ENTRYPOINT + CMD (after the create overrides) to completion."""
        argv = await self._default_argv()
        return await self.exec(argv[0], argv[1:], cwd=cwd, user=user, env=env, timeout=timeout, stdin=stdin,
                               tty=tty, rlimits=rlimits)

    async def exec_default_stream(self, *, cwd: Optional[str] = None, user: Optional[str] = None,
                                  env: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None,
                                  stdin: Any = None, tty: bool = False,
                                  rlimits: Optional[builtins.list[Any]] = None) -> ExecHandle:
        """Streaming form of :meth:`exec_default`."""
        argv = await self._default_argv()
        return await self.exec_stream(argv[0], argv[1:], cwd=cwd, user=user, env=env, timeout=timeout,
                                      stdin=stdin, tty=tty, rlimits=rlimits)

    # ------------------------------------------------------------------ attach

    async def attach(self, cmd: str, args: Optional[builtins.list[str]] = None, *, cwd: Optional[str] = None,
                     user: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                     detach_keys: Optional[str] = None) -> int:
        """Bridge this process's terminal to ``cmd`` on a PTY in the sandbox (raw mode,
        window size forwarded). Returns its exit code; the detach sequence (default
        ``ctrl-]``) leaves it running and returns 0."""
        from microsandbox import _attach

        self._live()
        return await _attach.attach(self, cmd, args, cwd=cwd, user=user, env=env, detach_keys=detach_keys)

    async def attach_shell(self) -> int:
        """:meth:`attach` to the sandbox's configured shell."""
        return await self.attach(self._live().shell)

    async def attach_default(self, *, cwd: Optional[str] = None, user: Optional[str] = None,
                             env: Optional[Mapping[str, str]] = None, detach_keys: Optional[str] = None) -> int:
        """:meth:`attach` to the image's ENTRYPOINT + CMD."""
        argv = await self._default_argv()
        return await self.attach(argv[0], argv[1:], cwd=cwd, user=user, env=env, detach_keys=detach_keys)

    # ------------------------------------------------------------------ observe

    async def metrics(self) -> SandboxMetrics:
        """A point-in-time resource sample (MetricsUnavailableError containing
        ``no live metrics slot`` right after boot: retry)."""
        self._live()
        return await _observe.read_metrics(self._ctx, self._name)

    async def metrics_stream(self, interval: float = 1.0) -> _observe.MetricsStream:
        """Samples every ``interval`` seconds (``recv()`` / ``async for``)."""
        self._live()
        iv = _duration(interval, "interval", optional=False)
        return _observe.MetricsStream(self._ctx, self._name, iv or 0.0)

    async def logs(self, tail: Optional[int] = None, since_ms: Optional[float] = None,
                   until_ms: Optional[float] = None,
                   sources: Optional[builtins.list[str]] = None) -> builtins.list[LogEntry]:
        """Captured output from ``exec.log``, chronological (API.md §1.10)."""
        self._live()
        return await _observe.read_logs(self._ctx, self._name, tail, since_ms, until_ms, sources)

    async def log_stream(self, sources: Optional[builtins.list[str]] = None, since_ms: Optional[float] = None,
                         from_cursor: Optional[str] = None, until_ms: Optional[float] = None,
                         follow: bool = False) -> _observe.LogStream:
        """Streaming, resumable read of ``exec.log``."""
        self._live()
        return _observe.make_log_stream(self._ctx, self._name, sources, since_ms, from_cursor, until_ms, follow)

    async def ping(self) -> SandboxPingResult:
        """``core.ping`` round trip (does not refresh the idle timer)."""
        conn = self._live()
        return SandboxPingResult(self._name, await _runtime.run(conn.ping))

    async def touch(self) -> SandboxTouchResult:
        """``core.touch``: refreshes the idle timer."""
        conn = self._live()
        return SandboxTouchResult(self._name, await _runtime.run(conn.touch))

    async def modify(self, **kwargs: Any) -> SandboxModificationPlan:
        """Change resources and configuration (API.md §1.8): ``cpus``, ``max_cpus``,
        ``memory``, ``max_memory``, ``root_disk_size``, ``env``, ``env_rm``, ``labels``,
        ``labels_rm``, ``workdir``, ``secrets``, ``secrets_rm``, ``policy``
        (:class:`ModificationPolicy`, default ``NO_RESTART``), ``dry_run``. cpus and memory
        change live within the max the sandbox booted with; all or nothing. Returns the plan
        (``applied`` False with ``conflicts`` when nothing was applied). After a restart this
        handle is reconnected (it no longer owns the lifecycle)."""
        conn = self._live()
        plan = await _modify.modify(self._ctx, self._name, kwargs)
        if _modify.restarted(plan):
            fresh = await _runtime.run(self._ctx.sandbox_connect, self._name, -1)
            self._conn = fresh
            conn.close()
        return plan

    def ssh(self) -> Any:
        """SSH bridge — not available in this build."""
        self._live()
        raise unsupported("ssh()", "use exec_stream()/attach() instead")

    # ------------------------------------------------------------------ lifecycle

    async def stop(self, timeout: Optional[float] = None) -> None:
        """Graceful stop: the guest syncs and powers off; after ``timeout`` seconds
        (default 10) the sandbox is killed. Returns once it is stopped."""
        self._live()
        await _runtime.run(self._ctx.sandbox_stop, self._name, _timeout_ms(timeout))

    async def stop_and_wait(self) -> tuple[int, bool]:
        """Request a graceful stop and wait for the exit: ``(exit_code, success)``
        (``(0, True)`` for handles that do not own the lifecycle)."""
        conn = self._live()
        try:
            await _runtime.run(self._ctx.sandbox_request_stop, self._name)
        except SandboxNotRunningError:
            pass
        if not conn.owns_lifecycle:
            return 0, True
        code = await _runtime.run(self._ctx.sandbox_wait, self._name, -1)
        return code, code == 0

    async def kill(self, timeout: Optional[float] = None) -> None:
        """SIGKILL the sandbox (no flush) and wait (default 5 s) until it is stopped."""
        self._live()
        await _runtime.run(self._ctx.sandbox_kill, self._name, _timeout_ms(timeout))

    async def request_stop(self) -> None:
        """Ask for a graceful stop; returns once the request is delivered."""
        self._live()
        await _runtime.run(self._ctx.sandbox_request_stop, self._name)

    async def request_kill(self) -> None:
        """Ask for a kill; returns once the request is delivered."""
        self._live()
        await _runtime.run(self._ctx.sandbox_request_kill, self._name)

    async def drain(self) -> None:
        """Graceful drain (SIGUSR1): running commands finish, new ones are refused, then
        the sandbox stops. Returns once the request is delivered."""
        self._live()
        await _runtime.run(self._ctx.sandbox_drain, self._name)

    async def request_drain(self) -> None:
        """Same as :meth:`drain`."""
        await self.drain()

    async def wait(self) -> tuple[int, bool]:
        """Wait for the sandbox to exit, whatever ends it: ``(exit_code, success)``. Only
        the lifecycle owner may wait."""
        conn = self._live()
        if not conn.owns_lifecycle:
            raise MicrosandboxError("cannot wait: not the lifecycle owner")
        code = await _runtime.run(self._ctx.sandbox_wait, self._name, -1)
        return code, code == 0

    async def wait_until_stopped(self) -> SandboxStopResult:
        """Wait until the sandbox reaches a terminal status (any handle)."""
        self._live()
        return await _wait_until_stopped(self._ctx, self._name)

    async def detach(self) -> None:
        """Give up this handle; the sandbox keeps running (also after this process exits).
        Reconnect with ``Sandbox.get(name)`` + ``connect()``."""
        conn = self._live()
        await _runtime.run(conn.detach)
        self._consume()

    async def remove_persisted(self) -> None:
        """Remove the sandbox's record and on-disk state (it must not be running); the
        handle is consumed."""
        self._live()
        await _runtime.run(self._ctx.sandbox_remove, self._name)
        self._consume()

    async def __aenter__(self) -> "Sandbox":
        self._live()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._consumed:
            return None
        try:
            await _runtime.run(self._ctx.sandbox_kill, self._name, -1)
            self._conn.close()
            await _runtime.run(self._ctx.sandbox_remove, self._name)
        except SandboxNotFoundError:
            pass  # an ephemeral sandbox removes itself
        except BaseException:
            if exc_type is None:
                raise
        finally:
            self._consume()
        return None


def _labels_match(info: Mapping[str, Any], want: Mapping[str, str]) -> bool:
    if not want:
        return True
    try:
        labels = json.loads(info.get("config_json") or "{}").get("labels") or {}
    except ValueError:
        return False
    return all(labels.get(k) == v for k, v in want.items())


async def _wait_until_stopped(ctx: Any, name: str) -> SandboxStopResult:
    code = await _runtime.run(ctx.sandbox_wait, name, -1)
    try:
        info = await _runtime.run(ctx.sandbox_get, name)
    except SandboxNotFoundError:  # ephemeral: gone with its run
        return SandboxStopResult(name, SandboxStatus.STOPPED, code, None, time.time() * 1000.0, None)
    exit_code = info["exit_code"]
    return SandboxStopResult(name, _status(info["status"]), None if exit_code == -1 and code == -1 else exit_code,
                             None, time.time() * 1000.0, info["termination_reason"])


class SandboxHandle:
    """A metadata snapshot of a sandbox in any state (from :meth:`Sandbox.get` /
    :meth:`Sandbox.list`), with lifecycle control and no guest connection."""

    __slots__ = ("_ctx", "_info", "name", "status", "config_json", "created_at", "updated_at")

    def __init__(self, ctx: Any, info: Mapping[str, Any]) -> None:
        self._ctx = ctx
        self._info = dict(info)
        self.name: str = info["name"]
        self.status: SandboxStatus = _status(info["status"])
        self.config_json: str = info["config_json"] or "{}"
        self.created_at: Optional[float] = info["created_at"]
        self.updated_at: Optional[float] = info["updated_at"]

    def __repr__(self) -> str:
        return f"<SandboxHandle {self.name!r} {self.status.value}>"

    def config(self) -> dict[str, Any]:
        """The parsed ``config_json``."""
        return json.loads(self.config_json)

    async def refresh(self) -> "SandboxHandle":
        """A fresh handle with the current status."""
        return SandboxHandle(self._ctx, await _runtime.run(self._ctx.sandbox_get, self.name))

    async def connect(self, timeout: Optional[float] = None) -> Sandbox:
        """Connect to the running sandbox (handshake bounded by ``timeout``, default 10 s);
        the result does not own the lifecycle."""
        conn = await _runtime.run(self._ctx.sandbox_connect, self.name, _timeout_ms(timeout))
        return Sandbox._wrap(self._ctx, conn)

    async def connect_with_timeout(self, timeout: float) -> Sandbox:
        """:meth:`connect` with an explicit timeout in seconds."""
        _duration(timeout, "timeout", optional=False)
        return await self.connect(timeout)

    async def start(self, *, detached: bool = False) -> Sandbox:
        """As :meth:`Sandbox.start`."""
        return await Sandbox.start(self.name, detached=detached)

    async def stop(self, timeout: Optional[float] = None) -> None:
        """Graceful stop (default 10 s, then SIGKILL; 0 kills at once)."""
        await _runtime.run(self._ctx.sandbox_stop, self.name, _timeout_ms(timeout))

    async def stop_with_timeout(self, timeout: float) -> None:
        """:meth:`stop` with an explicit timeout in seconds."""
        _duration(timeout, "timeout", optional=False)
        await self.stop(timeout)

    async def kill(self, timeout: Optional[float] = None) -> None:
        """SIGKILL now and wait (default 5 s) until stopped."""
        await _runtime.run(self._ctx.sandbox_kill, self.name, _timeout_ms(timeout))

    async def request_stop(self) -> None:
        await _runtime.run(self._ctx.sandbox_request_stop, self.name)

    async def request_kill(self) -> None:
        await _runtime.run(self._ctx.sandbox_request_kill, self.name)

    async def request_drain(self) -> None:
        await _runtime.run(self._ctx.sandbox_drain, self.name)

    async def wait_until_stopped(self) -> SandboxStopResult:
        """Wait until the sandbox reaches a terminal status."""
        return await _wait_until_stopped(self._ctx, self.name)

    async def remove(self) -> None:
        """Delete the sandbox and its state (it must not be running)."""
        await _runtime.run(self._ctx.sandbox_remove, self.name)

    async def metrics(self) -> SandboxMetrics:
        return await _observe.read_metrics(self._ctx, self.name)

    async def logs(self, tail: Optional[int] = None, since_ms: Optional[float] = None,
                   until_ms: Optional[float] = None,
                   sources: Optional[builtins.list[str]] = None) -> builtins.list[LogEntry]:
        """Captured output (works without starting the sandbox)."""
        return await _observe.read_logs(self._ctx, self.name, tail, since_ms, until_ms, sources)

    async def log_stream(self, sources: Optional[builtins.list[str]] = None, since_ms: Optional[float] = None,
                         from_cursor: Optional[str] = None, until_ms: Optional[float] = None,
                         follow: bool = False) -> _observe.LogStream:
        return _observe.make_log_stream(self._ctx, self.name, sources, since_ms, from_cursor, until_ms, follow)

    async def _with_connection(self, op: str) -> Any:
        conn = await _runtime.run(self._ctx.sandbox_connect, self.name, -1)
        try:
            return await _runtime.run(getattr(conn, op))
        finally:
            conn.close()

    async def ping(self) -> SandboxPingResult:
        """``core.ping`` through a short-lived connection (SandboxNotRunningError if stopped)."""
        return SandboxPingResult(self.name, await self._with_connection("ping"))

    async def touch(self) -> SandboxTouchResult:
        """``core.touch`` through a short-lived connection."""
        return SandboxTouchResult(self.name, await self._with_connection("touch"))

    async def modify(self, **kwargs: Any) -> SandboxModificationPlan:
        """As :meth:`Sandbox.modify`, by name (the sandbox may be stopped)."""
        return await _modify.modify(self._ctx, self.name, kwargs)

    async def snapshot(self, name: str) -> Snapshot:
        """Disk snapshot of this (stopped or crashed) sandbox into ``$MSB_HOME/snapshots/<name>``."""
        return await Snapshot.create(name, from_sandbox=self.name)


# ------------------------------------------------------------------ pull sessions

_END = object()


def _pull_event(d: Mapping[str, Any]) -> PullEvent:
    try:
        et = PullEventType(d["event_type"])
    except ValueError:
        et = PullEventType.COMPLETE if d["event_type"] == "complete" else PullEventType.RESOLVING
    fields = {k: v for k, v in d.items() if k != "event_type" and k in PullEvent.__dataclass_fields__}
    return PullEvent(et, **fields)


class _Progress:
    """``PullSession.progress``: async iterator over the pull events; ends after
    ``complete`` (or when creation finished without one)."""

    def __init__(self, session: "PullSession") -> None:
        self._session = session
        self._done = False

    def __aiter__(self) -> "_Progress":
        return self

    async def __anext__(self) -> PullEvent:
        if self._done:
            raise StopAsyncIteration
        item = await self._session._events().get()
        if item is _END:
            self._done = True
            raise StopAsyncIteration
        if item.event_type is PullEventType.COMPLETE:
            self._done = True
        return item


class PullSession:
    """Creation in progress (from :meth:`Sandbox.create_with_progress`): iterate
    ``progress`` for :class:`PullEvent`\\ s, then ``await result()`` once for the sandbox.
    Use it as an async context manager; exiting waits for the background creation."""

    def __init__(self, spec: _config.CreateSpec) -> None:
        self._spec = spec
        self._queue: Optional[asyncio.Queue[Any]] = None
        self._task: Optional[asyncio.Task[Sandbox]] = None
        self._consumed = False
        self._progress = _Progress(self)
        try:
            self._begin(asyncio.get_running_loop())
        except RuntimeError:
            pass  # no running loop yet: starts on first use

    def _begin(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._create(loop, self._queue))

    def _events(self) -> "asyncio.Queue[Any]":
        self._begin(asyncio.get_running_loop())
        assert self._queue is not None
        return self._queue

    async def _create(self, loop: asyncio.AbstractEventLoop, q: "asyncio.Queue[Any]") -> Sandbox:
        def progress(d: Mapping[str, Any]) -> None:  # on a worker thread
            loop.call_soon_threadsafe(q.put_nowait, _pull_event(d))

        spec = self._spec
        try:
            ctx = await _runtime.context()
            conn = await _runtime.run(ctx.sandbox_create, spec.name, spec.config, spec.flags, spec.grace_ms,
                                      progress, spec.snapshot)
            return Sandbox._wrap(ctx, conn)
        finally:
            q.put_nowait(_END)  # after every event: they were scheduled before the result

    @property
    def progress(self) -> AsyncIterator[PullEvent]:
        """Pull progress events (``resolving`` first, ``complete`` last)."""
        return self._progress

    async def result(self) -> Sandbox:
        """The running sandbox (await once; creation errors are raised here)."""
        if self._consumed:
            raise RuntimeError("result() already consumed")
        self._consumed = True
        self._begin(asyncio.get_running_loop())
        assert self._task is not None
        return await self._task

    async def __aenter__(self) -> "PullSession":
        self._begin(asyncio.get_running_loop())
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._task is not None:
            await asyncio.wait([self._task])
            if not self._task.cancelled():
                self._task.exception()  # retrieved: result() is where it is reported
        return None
