"""microsandbox — run untrusted code in sandboxes made from OCI images.

An asyncio SDK over libmsb (the native extension ``microsandbox._microsandbox``)::

    import asyncio
    from microsandbox import Sandbox

    async def main():
        async with await Sandbox.create("demo", image="alpine") as sb:
            out = await sb.shell("echo hello")
            print(out.stdout_text)

    asyncio.run(main())

Blocking work runs on worker threads with the GIL released; command output reaches the
event loop through event fds, without polling. ``MSB_HOME`` selects the state root
(default ``~/.microsandbox``); ``MSB_PATH`` / ``MSB_AGENT_PATH`` override where the runtime
binaries are found.
"""

from __future__ import annotations

from microsandbox import _runtime
from microsandbox._backend import (
    backend_scope,
    default_backend_info,
    default_backend_kind,
    install,
    is_installed,
    set_default_backend,
    set_libkrunfw_path,
)
from microsandbox._exec import ExecHandle, ExecOutput, ExecSink
from microsandbox._fs import FsReadStream, FsWriteSink, SandboxFs, SandboxFsOps
from microsandbox._image import (
    Image,
    ImageConfigDetail,
    ImageDetail,
    ImageHandle,
    ImageLayerDetail,
    ImagePruneReport,
)
from microsandbox._observe import LogStream, MetricsStream
from microsandbox._sandbox import PullSession, Sandbox, SandboxHandle, SandboxPage
from microsandbox._snapshot import Snapshot, SnapshotHandle
from microsandbox._volume import Volume, VolumeFs, VolumeHandle
from microsandbox.agent import FLAG_SESSION_START, FLAG_SHUTDOWN, FLAG_TERMINAL, AgentClient, AgentStream
from microsandbox.errors import *  # noqa: F403 - every error class is public API
from microsandbox.errors import __all__ as _errors_all
from microsandbox.types import *  # noqa: F403 - every type is public API
from microsandbox.types import SandboxMetrics
from microsandbox.types import __all__ as _types_all

__version__ = "0.1.0"


def version() -> str:
    """Package version string."""
    return __version__


async def all_sandbox_metrics() -> dict[str, SandboxMetrics]:
    """Metrics of every running sandbox (that has published a sample), keyed by name."""
    ctx = await _runtime.context()
    samples = await _runtime.run(ctx.all_metrics)
    return {name: SandboxMetrics._from_native(d) for name, d in samples.items()}


__all__ = [
    "Sandbox", "SandboxHandle", "SandboxPage", "PullSession",
    "ExecHandle", "ExecOutput", "ExecSink",
    "SandboxFsOps", "SandboxFs", "FsReadStream", "FsWriteSink",
    "MetricsStream", "LogStream",
    "Image", "ImageHandle", "ImageDetail", "ImageConfigDetail", "ImageLayerDetail", "ImagePruneReport",
    "Volume", "VolumeHandle", "VolumeFs",
    "Snapshot", "SnapshotHandle",
    "AgentClient", "AgentStream", "FLAG_TERMINAL", "FLAG_SESSION_START", "FLAG_SHUTDOWN",
    "version", "all_sandbox_metrics", "install", "is_installed", "set_libkrunfw_path",
    "set_default_backend", "backend_scope", "default_backend_kind", "default_backend_info",
    *_errors_all,
    *_types_all,
]
