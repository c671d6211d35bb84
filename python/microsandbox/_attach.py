"""``Sandbox.attach``: this process's terminal bridged to a PTY process in the sandbox.

The terminal goes to raw mode for the session (restored on every exit path); keystrokes are
forwarded as they are read, output is written as it arrives, and window-size changes
(SIGWINCH) are forwarded. The detach sequence (default ``ctrl-]``) ends the bridge and
leaves the process running for as long as the sandbox handle lives.
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import signal
import struct
import sys
from collections.abc import Mapping
from typing import Any, Optional

from microsandbox import _exec
from microsandbox.errors import ExecFailedError, MicrosandboxError
from microsandbox.types import ExecEventType, Stdin

__all__ = ["attach", "parse_detach_keys"]

DEFAULT_DETACH_KEYS = "ctrl-]"

_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31, "?": 127}


def parse_detach_keys(spec: Optional[str]) -> bytes:
    """A docker-style detach sequence (``ctrl-]``, ``ctrl-p,ctrl-q``, ``a``) as bytes; ""
    disables detaching."""
    if spec is None:
        spec = DEFAULT_DETACH_KEYS
    if not isinstance(spec, str):
        raise TypeError(f"detach_keys must be a str, got {type(spec).__name__}")
    out = bytearray()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        low = part.lower()
        if low.startswith("ctrl-") and len(part) == 6:
            c = part[5]
            if c.isalpha():
                out.append(ord(c.lower()) - ord("a") + 1)
            elif c in _CTRL_SPECIAL:
                out.append(_CTRL_SPECIAL[c])
            else:
                raise ValueError(f"invalid detach key: {part!r}")
        elif len(part) == 1:
            out += part.encode()
        else:
            raise ValueError(f"invalid detach key: {part!r}")
    return bytes(out)


def _winsize(fd: int) -> Optional[tuple[int, int]]:
    try:
        import fcntl
        import termios

        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        return (rows, cols) if rows and cols else None
    except (OSError, ImportError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise
        view = view[n:]


class _DetachMatcher:
    """Finds the detach sequence in the input stream, across reads."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.pending = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, detach?)"""
        if not self.keys:
            return data, False
        out = bytearray()
        for i, b in enumerate(data):
            if b == self.keys[len(self.pending)]:
                self.pending.append(b)
                if len(self.pending) == len(self.keys):
                    return bytes(out), True
            else:
                out += self.pending
                self.pending.clear()
                if b == self.keys[0]:
                    self.pending.append(b)
                else:
                    out.append(b)
        return bytes(out), False


async def attach(sb: Any, cmd: str, args: Optional[list[str]], *, cwd: Optional[str], user: Optional[str],
                 env: Optional[Mapping[str, str]], detach_keys: Optional[str]) -> int:
    keys = parse_detach_keys(detach_keys)
    loop = asyncio.get_running_loop()
    in_fd = sys.stdin.fileno()
    out_fd = sys.stdout.fileno()
    req = _exec.build_request(cmd, args, cwd=cwd, user=user, env=env, stdin=Stdin.pipe(), tty=True)
    size = _winsize(out_fd) or _winsize(in_fd)
    if size:
        req.opts["rows"], req.opts["cols"] = size
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    handle = await sb._stream(req)
    sink = handle.take_stdin()
    assert sink is not None
    outbox: asyncio.Queue[Optional[bytes]] = asyncio.Queue()
    detached = loop.create_future()
    matcher = _DetachMatcher(keys)

    def on_input() -> None:
        try:
            data = os.read(in_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # EOF: a terminal has nothing to close; stop reading
            loop.remove_reader(in_fd)
            return
        forward, detach = matcher.feed(data)
        if forward:
            outbox.put_nowait(forward)
        if detach and not detached.done():
            detached.set_result(None)

    async def pump_stdin() -> None:
        while (chunk := await outbox.get()) is not None:
            await sink.write(chunk)

    def on_winch() -> None:
        ws = _winsize(out_fd) or _winsize(in_fd)
        if ws:
            loop.create_task(handle.resize(*ws))

    async def pump_output() -> int:
        code = 0
        while (ev := await handle.recv()) is not None:
            if ev.event_type in (ExecEventType.STDOUT, ExecEventType.STDERR):
                _write_all(out_fd, ev.data or b"")
            elif ev.event_type is ExecEventType.EXITED:
                code = ev.code if ev.code is not None else -1
            elif ev.event_type is ExecEventType.FAILED:
                raise ExecFailedError((ev.data or b"").decode("utf-8", "replace"))
        return code

    saved = None
    try:
        import termios
        import tty

        if os.isatty(in_fd):
            saved = termios.tcgetattr(in_fd)
            tty.setraw(in_fd, termios.TCSANOW)
    except (ImportError, OSError):
        saved = None
    winch = False
    try:
        loop.add_signal_handler(signal.SIGWINCH, on_winch)
        winch = True
    except (ValueError, RuntimeError, NotImplementedError):
        pass
    loop.add_reader(in_fd, on_input)
    writer = loop.create_task(pump_stdin())
    output = loop.create_task(pump_output())
    try:
        done, _ = await asyncio.wait({output, detached}, return_when=asyncio.FIRST_COMPLETED)
        if output in done:
            return output.result()
        # Detached: the process keeps running; its session is parked on the sandbox handle
        # (closing it would kill the process).
        sb._park(handle)
        return 0
    finally:
        loop.remove_reader(in_fd)
        if winch:
            loop.remove_signal_handler(signal.SIGWINCH)
        if saved is not None:
            import termios

            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        outbox.put_nowait(None)
        for t in (writer, output):
            if not t.done():
                t.cancel()
        for t in (writer, output):
            try:
                await t
            except (asyncio.CancelledError, MicrosandboxError, RuntimeError):
                pass
