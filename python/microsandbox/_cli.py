"""The ``microsandbox`` console script: runs the ``msb`` CLI with the same arguments."""

from __future__ import annotations

import os
import shutil
import sys

from microsandbox._backend import find_msb


def main(argv: list[str] | None = None) -> int:
    """Execs ``msb`` (``MSB_PATH``, else next to libmsb / on PATH); 127 when it is missing."""
    args = sys.argv[1:] if argv is None else argv
    msb = find_msb() or shutil.which("msb")
    if msb is None:
        print("microsandbox: cannot find the `msb` binary (set MSB_PATH or install msb)", file=sys.stderr)
        return 127
    try:
        os.execv(msb, [msb, *args])
    except OSError as e:
        print(f"microsandbox: cannot run {msb}: {e}", file=sys.stderr)
        return 127
    return 0  # pragma: no cover - execv does not return
