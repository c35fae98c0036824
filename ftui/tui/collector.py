"""The garbage collector waits until the workbench's first frame is on screen.

Importing Textual and ftui and building the first screen allocates hundreds of thousands of
objects, few of them garbage; the collector walks them all the same, some 130 times, one a full
collection, a tenth of the time before the first frame. `pause()` turns it off (the CLI does so
before its imports, the app when it loads); `resume()`, once the first frame is painted, turns it
back on if `pause` turned it off, so code that disabled it on purpose keeps it disabled.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop automatic collections until `resume()` (nothing if they are off already)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collect automatically again, if `pause()` stopped it."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def paused() -> bool:
    """Whether `pause()` has stopped the collector and `resume()` not restarted it yet."""
    return _paused
