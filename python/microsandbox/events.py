"""Stream event types: exec events and image pull progress events (re-exported from
:mod:`microsandbox.types`)."""

from __future__ import annotations

from microsandbox.types import ExecEvent, ExecEventType, PullEvent, PullEventType

__all__ = ["ExecEvent", "ExecEventType", "PullEvent", "PullEventType"]
