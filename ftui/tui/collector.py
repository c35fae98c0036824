"""The garbage collector waits until the workbench's first frame is on screen.

Importing Textual and ftui and building the first screen allocates hundreds of thousands of
objects, few of them garbage; the collector walks them all the same, some 130 times, one a full
collection, a tenth of the time before the first frame. `pause()` turns it off (the CLI does so
before its imports, the app when it loads); `resume()`, once the first frame is painted, turns it
back on if `pause` turned it off, so code that disabled it on purpose keeps it disabled.

The command line also asks for the start-up heap to be frozen then (`pause(freeze_after=True)`):
the modules, classes and first screen live as long as the app, and once they are out of the
collector's generations (`gc.freeze()`) a full collection walks only what the session made since
(log lines, metrics, examples), not everything the start made. A full collection of the start's
heap took 100-250 ms of a busy run page, long enough to be felt as a late key press.
"""

from __future__ import annotations

import gc

_paused = False
_freeze_after = False


def pause(*, freeze_after: bool = False) -> None:
    """Stop automatic collections until `resume()` (nothing if they are off already);
    `freeze_after`: `resume()` then moves every object alive into the permanent generation."""
    global _paused, _freeze_after
    _freeze_after = _freeze_after or freeze_after
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collect automatically again, if `pause()` stopped it (freezing the heap first, if asked)."""
    global _paused, _freeze_after
    if _freeze_after:
        _freeze_after = False
        gc.freeze()
    if _paused:
        _paused = False
        gc.enable()


def paused() -> bool:
    """Whether `pause()` has stopped the collector and `resume()` not restarted it yet."""
    return _paused
