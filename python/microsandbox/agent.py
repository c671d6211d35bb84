"""Low-level agent client (API.md §1.21, P2).

Speaking the host↔agent wire protocol from Python would duplicate libmsb's protocol code,
which this package does not do; the client exists for compatibility and raises
:class:`~microsandbox.errors.UnsupportedError` on connect. Use ``Sandbox.exec_stream`` and
``sb.fs`` instead.
"""

from __future__ import annotations

import hashlib
import os
from typing import Optional, TypedDict

from microsandbox.errors import unsupported

__all__ = ["AgentClient", "AgentStream", "RawFrame", "FLAG_TERMINAL", "FLAG_SESSION_START", "FLAG_SHUTDOWN"]

FLAG_TERMINAL = 1
FLAG_SESSION_START = 2
FLAG_SHUTDOWN = 4

_HINT = "the raw agent protocol is not exposed; use Sandbox.exec_stream() and sb.fs"


class RawFrame(TypedDict):
    id: int
    flags: int
    body: bytes


class AgentStream:
    """Frames of one session (never constructed in this build)."""

    async def next(self) -> Optional[RawFrame]:
        raise unsupported("AgentStream.next()", _HINT)

    def __aiter__(self) -> "AgentStream":
        return self

    async def __anext__(self) -> RawFrame:
        raise unsupported("AgentStream", _HINT)

    async def close(self) -> None:
        return None


class AgentClient:
    """Raw client of a sandbox's relay socket."""

    @staticmethod
    def socket_path(name: str) -> str:
        """``$MSB_HOME/run/sandboxes/<H12>/agent.sock`` (API.md §4)."""
        home = os.environ.get("MSB_HOME") or os.path.join(os.path.expanduser("~"), ".microsandbox")
        h12 = hashlib.sha256(name.encode()).hexdigest()[:24]
        return os.path.join(home, "run", "sandboxes", h12, "agent.sock")

    @staticmethod
    async def connect_sandbox(name: str, *, timeout: Optional[float] = None) -> "AgentClient":
        raise unsupported("AgentClient.connect_sandbox()", _HINT)

    @staticmethod
    async def connect(path: str, *, timeout: Optional[float] = None) -> "AgentClient":
        raise unsupported("AgentClient.connect()", _HINT)

    async def request(self, flags: int, body: bytes) -> RawFrame:
        raise unsupported("AgentClient.request()", _HINT)

    async def stream(self, flags: int, body: bytes) -> AgentStream:
        raise unsupported("AgentClient.stream()", _HINT)

    async def send(self, id: int, flags: int, body: bytes) -> None:
        raise unsupported("AgentClient.send()", _HINT)

    def ready_bytes(self) -> bytes:
        raise unsupported("AgentClient.ready_bytes()", _HINT)

    async def close(self) -> None:
        return None
