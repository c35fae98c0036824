"""The `ftui` command's entry point: `ftui PATH` goes straight to the workbench.

Opening a dataset is what ftui is started for most, and click's import is a tenth of the time
before its first frame. So one argument that names an existing file (and no subcommand) opens
the workbench here, with the settings read as the group reads them; everything else — options,
subcommands, a malformed settings file, a path that is not a file — goes through the click group
in `ftui.cli`, which gives each its usual message and exit status.
"""

from __future__ import annotations

import sys
from pathlib import Path


def opens_a_file(args: list[str]) -> Path | None:
    """The dataset `args` open directly (`ftui data.jsonl`), or None for the click group."""
    from ftui.commands import COMMAND_NAMES

    if len(args) != 1 or args[0].startswith("-") or args[0] in COMMAND_NAMES:
        return None
    path = Path(args[0]).expanduser()
    return path if path.is_file() else None


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = opens_a_file(args)
    if path is not None:
        from ftui.tui import collector

        # The imports are most of what it would walk; the app resumes it, and the start-up
        # heap, which lives as long as the app, is frozen out of later collections.
        collector.pause(freeze_after=True)
        from ftui.config import SettingsError, load_config

        try:
            config = load_config()
        except SettingsError:
            pass  # the group reports it (file, line, key; exit 2)
        else:
            try:
                from ftui.tui.app import make_app

                make_app(config, path).run()
            except Exception as exc:  # a bug: its own exit code and one line, never a traceback
                from ftui.crash import report_crash

                sys.exit(report_crash(exc, args))
            return
    from ftui.cli import main as cli_main

    cli_main(args)
