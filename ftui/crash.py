"""An internal error in a command: one line on stderr, the traceback in a crash log, exit 70.

Exit 1 means "the data has problems" to scripts and CI; a bug in ftui must not look like that,
and a user should not have to read a traceback to learn that it is one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): 1 is "the data has errors", 3 "cancelled"


def _crash_dir() -> Path:
    from ftui.config import default_home

    return default_home() / "crashes"


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """The full traceback and the command line, in the ftui home (else the temp dir)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = f"ftui {' '.join(argv)}\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    for directory in (_crash_dir, lambda: Path(tempfile.gettempdir())):
        try:
            folder = directory()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except Exception:  # try the next place, then give up
            continue
    return None


def report_crash(exc: BaseException, argv: list[str]) -> int:
    """Tell the user in one line, keep the traceback for a bug report; the exit code to use."""
    log = write_crash_log(exc, argv)
    where = f"the traceback is in {log}" if log is not None else "no crash log could be written"
    summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    sys.stderr.write(
        f"ftui: internal error ({summary}); this is a bug in ftui, not a problem in your data; "
        f"{where}\n"
    )
    sys.stderr.flush()
    return EXIT_INTERNAL_ERROR
