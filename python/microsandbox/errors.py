"""Exception classes of the microsandbox package (API.md §1.19).

Every class subclasses :class:`MicrosandboxError`, takes one message string and has a class
attribute ``code``: the stable code of the libmsb error kind it stands for. The native
extension maps each ``msb_error_kind`` to the class with the same code (``_BY_CODE``), so
catching works the same whether an error came from libmsb or from the Python layer.

Argument validation raises Python built-ins instead: ``TypeError`` / ``ValueError``;
``RuntimeError`` for consumed handles and reused results; ``FileNotFoundError`` for a missing
snapshot artifact.
"""

from __future__ import annotations

__all__ = [
    "MicrosandboxError",
    "InvalidConfigError",
    "NoDefaultCommandError",
    "CloudHttpError",
    "SandboxNotFoundError",
    "SandboxNotRunningError",
    "SandboxAlreadyExistsError",
    "SandboxStillRunningError",
    "ExecTimeoutError",
    "ExecFailedError",
    "FilesystemError",
    "PathNotFoundError",
    "VolumeNotFoundError",
    "ImageNotFoundError",
    "ImageInUseError",
    "ImagePullFailedError",
    "NetworkPolicyError",
    "SecretViolationError",
    "TlsError",
    "IoError",
    "MetricsDisabledError",
    "MetricsUnavailableError",
    "UnsupportedOperationError",
    "UnsupportedError",
    "SnapshotMigrationError",
]


class MicrosandboxError(Exception):
    """Base class of every microsandbox error; also generic runtime failures (boot failure,
    agent unreachable, protocol errors, ``wait()`` on a handle that does not own the
    lifecycle)."""

    code: str = "microsandbox-error"

    #: The errno behind the failure when it came from a system call (else absent / None).
    errno: int | None = None

    def __init__(self, message: str = "") -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The error message."""
        return str(self.args[0]) if self.args else ""


class InvalidConfigError(MicrosandboxError):
    """Bad name, conflicting or unsupported configuration detected by the core."""

    code = "invalid-config"


class NoDefaultCommandError(MicrosandboxError):
    """``exec_default*`` / ``attach_default`` on an image with no ENTRYPOINT or CMD."""

    code = "no-default-command"


class CloudHttpError(MicrosandboxError):
    """Cloud backend HTTP failure (exported for compatibility; never raised locally)."""

    code = "cloud-http"


class SandboxNotFoundError(MicrosandboxError):
    """No sandbox of that name."""

    code = "sandbox-not-found"


class SandboxNotRunningError(MicrosandboxError):
    """The sandbox is not running (ping, touch, connect, exec, fs)."""

    code = "sandbox-not-running"


class SandboxAlreadyExistsError(MicrosandboxError):
    """``create`` of an existing name without ``replace``."""

    code = "sandbox-already-exists"


class SandboxStillRunningError(MicrosandboxError):
    """``remove`` of a running sandbox."""

    code = "sandbox-still-running"


class ExecTimeoutError(MicrosandboxError):
    """``exec``/``shell`` ran past its ``timeout`` (the process group was killed)."""

    code = "exec-timeout"


class ExecFailedError(MicrosandboxError):
    """The command could not be started (``core.exec.failed``); the message gives the kind
    (``not_found``, ``permission_denied``, ``bad_cwd`` …) and the reason."""

    code = "exec-failed"


class FilesystemError(MicrosandboxError):
    """Any guest filesystem (``sb.fs``) or volume filesystem failure."""

    code = "filesystem-error"


class PathNotFoundError(MicrosandboxError):
    """Reserved (guest filesystem failures raise :class:`FilesystemError`)."""

    code = "path-not-found"


class VolumeNotFoundError(MicrosandboxError):
    """No volume of that name."""

    code = "volume-not-found"


class ImageNotFoundError(MicrosandboxError):
    """The image is not cached (``pull_policy=never``) or unknown."""

    code = "image-not-found"


class ImageInUseError(MicrosandboxError):
    """Non-forced removal of an image a sandbox uses."""

    code = "image-in-use"


class ImagePullFailedError(MicrosandboxError):
    """Registry, download or verification failure."""

    code = "image-pull-failed"


class NetworkPolicyError(MicrosandboxError):
    """Network-layer policy failure (reserved)."""

    code = "network-policy-error"


class SecretViolationError(MicrosandboxError):
    """Secret sent toward a host it is not allowed for (reserved)."""

    code = "secret-violation"


class TlsError(MicrosandboxError):
    """TLS failure (untrusted certificate …)."""

    code = "tls-error"


class IoError(MicrosandboxError):
    """Host I/O failure."""

    code = "io-error"


class MetricsDisabledError(MicrosandboxError):
    """Metrics sampling is disabled for this sandbox."""

    code = "metrics-disabled"


class MetricsUnavailableError(MicrosandboxError):
    """No metrics: the sandbox is not running, or has not published its first sample yet
    (the message then contains ``no live metrics slot``; retry)."""

    code = "metrics-unavailable"


class UnsupportedOperationError(MicrosandboxError):
    """The agent's protocol generation is too old for the requested message."""

    code = "unsupported-operation"


class UnsupportedError(MicrosandboxError):
    """A feature this backend or build does not support.

    ``operation`` names what was asked for and ``hint`` says what to do instead (either may
    be None)."""

    code = "unsupported"

    def __init__(
        self, message: str = "", operation: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.hint = hint


class SnapshotMigrationError(MicrosandboxError):
    """A snapshot artifact could not be migrated."""

    code = "snapshot-migration"


_BY_CODE: dict[str, type[MicrosandboxError]] = {
    cls.code: cls
    for cls in (
        MicrosandboxError,
        InvalidConfigError,
        NoDefaultCommandError,
        CloudHttpError,
        SandboxNotFoundError,
        SandboxNotRunningError,
        SandboxAlreadyExistsError,
        SandboxStillRunningError,
        ExecTimeoutError,
        ExecFailedError,
        FilesystemError,
        PathNotFoundError,
        VolumeNotFoundError,
        ImageNotFoundError,
        ImageInUseError,
        ImagePullFailedError,
        NetworkPolicyError,
        SecretViolationError,
        TlsError,
        IoError,
        MetricsDisabledError,
        MetricsUnavailableError,
        UnsupportedOperationError,
        UnsupportedError,
        SnapshotMigrationError,
    )
}


def unsupported(operation: str, hint: str | None = None) -> UnsupportedError:
    """An :class:`UnsupportedError` for ``operation`` (internal helper)."""
    message = f"{operation} is not supported by this msb build"
    if hint:
        message += f" ({hint})"
    return UnsupportedError(message, operation=operation, hint=hint)
