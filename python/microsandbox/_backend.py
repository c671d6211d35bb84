"""Backend selection (API.md §1.1): only the local backend exists; the cloud backend raises
UnsupportedError. Also the runtime binary lookup behind ``install()`` / ``is_installed()``."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Optional

from microsandbox import _microsandbox as _native
from microsandbox.errors import MicrosandboxError, unsupported
from microsandbox.types import BackendInfo, BackendKind, _enum

__all__ = [
    "set_default_backend", "backend_scope", "default_backend_kind", "default_backend_info",
    "set_libkrunfw_path", "install", "is_installed", "find_msb", "find_agent",
]

_lock = threading.Lock()
_current = BackendInfo(BackendKind.LOCAL, None, "default", None)
_libkrunfw_path: Optional[str] = None


def _info_for(kind: BackendKind | str, url: Optional[str], api_key: Optional[str], profile: Optional[str],
              source: str) -> BackendInfo:
    k = _enum(BackendKind, kind, "backend kind")
    if k is BackendKind.CLOUD:
        raise unsupported("the cloud backend", "this package runs sandboxes locally only")
    return BackendInfo(k, url, source, profile)


def set_default_backend(kind: BackendKind | str, *, url: Optional[str] = None, api_key: Optional[str] = None,
                        profile: Optional[str] = None) -> None:
    """Selects the process-wide backend (``BackendKind.LOCAL``; CLOUD is unsupported)."""
    global _current
    info = _info_for(kind, url, api_key, profile, "explicit")
    with _lock:
        _current = info


class _BackendScope(contextlib.AbstractContextManager["_BackendScope"]):
    """Temporarily swaps the default backend; :meth:`restore` (or leaving the ``with``)
    puts the previous one back."""

    def __init__(self, info: BackendInfo) -> None:
        global _current
        with _lock:
            self._previous = _current
            _current = info
        self._restored = False

    def restore(self) -> None:
        global _current
        if not self._restored:
            with _lock:
                _current = self._previous
            self._restored = True

    def __exit__(self, *exc: object) -> None:
        self.restore()


def backend_scope(kind: BackendKind | str, *, url: Optional[str] = None, api_key: Optional[str] = None,
                  profile: Optional[str] = None) -> _BackendScope:
    """A context manager that selects ``kind`` until it exits."""
    return _BackendScope(_info_for(kind, url, api_key, profile, "scope"))


def default_backend_kind() -> BackendKind:
    return _current.kind


def default_backend_info() -> BackendInfo:
    return _current


def set_libkrunfw_path(path: str) -> None:
    """Process-wide guest-kernel library override of the vm backend (``MSB_LIBKRUNFW_PATH``
    wins when set)."""
    global _libkrunfw_path
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("path must be a str or os.PathLike")
    _libkrunfw_path = os.fspath(path)
    if not os.environ.get("MSB_LIBKRUNFW_PATH"):
        os.environ["MSB_LIBKRUNFW_PATH"] = _libkrunfw_path


def _executable(path: Optional[str]) -> Optional[str]:
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def _near_libmsb(name: str) -> Optional[str]:
    lib = _native.library_path()
    if not lib:
        return None
    d = os.path.dirname(lib)
    for rel in ("", "../cli/", "../agent/", "../libexec/msb/", "../bin/", "../../bin/", "../../libexec/msb/"):
        p = _executable(os.path.normpath(os.path.join(d, rel, name)))
        if p:
            return p
    return None


def find_msb() -> Optional[str]:
    """The ``msb`` binary libmsb uses: ``MSB_PATH``, else next to libmsb."""
    env = os.environ.get("MSB_PATH")
    if env:
        return _executable(env)
    return _near_libmsb("msb") or _executable(os.path.join(_native.install_bindir(), "msb"))


def find_agent() -> Optional[str]:
    """The ``msb-agent`` binary: ``MSB_AGENT_PATH``, else next to libmsb / msb."""
    env = os.environ.get("MSB_AGENT_PATH")
    if env:
        return _executable(env)
    found = _near_libmsb("msb-agent")
    if found:
        return found
    msb = find_msb()
    if msb:
        for rel in ("", "../agent/", "../libexec/msb/"):
            p = _executable(os.path.normpath(os.path.join(os.path.dirname(msb), rel, "msb-agent")))
            if p:
                return p
    return _executable(os.path.join(_native.install_libexecdir(), "msb-agent"))


def is_installed() -> bool:
    """Whether the runtime binaries (``msb`` and ``msb-agent``) are present."""
    return find_msb() is not None and find_agent() is not None


def install() -> None:
    """Ensures the runtime binaries are present. They ship with this package's build
    (``make install``); nothing is downloaded: a missing binary raises MicrosandboxError."""
    missing = [n for n, p in (("msb", find_msb()), ("msb-agent", find_agent())) if p is None]
    if missing:
        raise MicrosandboxError(
            f"runtime binaries not found: {', '.join(missing)} (run `make install` in the msb "
            "source tree, or set MSB_PATH / MSB_AGENT_PATH)")
