"""The workbench app: one shell, several sections, every command on a key and in the palette.

`make_app(config, path)` builds it for the CLI and for tests alike; nothing is read from globals.
It also builds the services root (`ftui.services.root.Services`: the run history and the training
backends, each made on first use) that every screen and section is handed.
The app itself only owns what is truly app-wide (help, palette, quit, sections); each section owns
its own commands and state.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.screen import Screen

from ftui.config import Config
from ftui.services.root import Services
from ftui.tui import collector
from ftui.tui.css_cache import CachedStylesheet, css_cache_dir
from ftui.tui.keymap import CommandsProvider, collect_commands, command
from ftui.tui.screens.workbench import SECTIONS, WorkbenchScreen
from ftui.tui.stylesheet import (
    HORIZONTAL_BREAKPOINTS,
    VERTICAL_BREAKPOINTS,
    breakpoint_classes,
)

UI_SWITCH_INTERVAL_S = 0.001


class FtuiApp(App[None]):
    """ftui's Textual app. Build it with `make_app`."""

    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS = HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = VERTICAL_BREAKPOINTS
    TITLE = "ftui"
    COMMAND_GROUP = "Workbench"
    # Our provider lists every command of the screen; the system one adds theme and screenshot.
    COMMANDS: ClassVar = {CommandsProvider, *App.COMMANDS}
    BINDINGS: ClassVar = [
        command(
            "question_mark,f1",
            "help",
            "Help",
            "List every key of the current screen.",
            show=True,
            key_display="?",
        ),
        command(
            "ctrl+p",
            "command_palette",
            "Commands",
            "Search every command by name and run it.",
            show=True,
            key_display="^p",
        ),
        command(
            "q,ctrl+q",
            "quit",
            "Quit",
            "Leave ftui (asks first when there are unsaved edits; training runs keep going).",
            show=True,
            key_display="q",
        ),
        *(
            command(key, f"show_section('{section}')", title, f"Go to the {title} section.")
            for key, section, title in SECTIONS
        ),
    ]

    def __init__(
        self,
        services: Services,
        path: Path | None = None,
        *,
        fmt: str | None = None,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        # Before any source is added (they are when the app starts running).
        self.stylesheet = CachedStylesheet(
            variables=self.get_css_variables(), cache_dir=css_cache_dir()
        )
        # Indexing and validation run in CPU-bound threads. With the default 5 ms GIL switch
        # interval the UI thread waits up to 5 ms each time it gives the GIL up while painting,
        # which adds up to hundreds of ms per key press; 1 ms keeps keys responsive.
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
        self.services = services
        self.config = services.config
        self._initial_path = path
        self._fmt = fmt
        self._notices = tuple(notices)
        self.workbench: WorkbenchScreen | None = None

    def get_default_screen(self) -> Screen[None]:
        self.workbench = WorkbenchScreen(self.services, self._initial_path, fmt=self._fmt)
        # The classes its first resize would give it, now: given then, they restyle every
        # widget a second time before the first frame.
        classes = breakpoint_classes(*self.size)
        self.workbench.update_classes(dict.fromkeys(classes, True), update=False)
        return self.workbench

    def on_load(self) -> None:
        collector.pause()  # until the first frame is painted (see ftui.tui.collector)

    def on_mount(self) -> None:
        self._apply_theme(self.config.ui.theme)
        for notice in self._notices:
            self.notify(notice, timeout=10, markup=False)
        self.call_after_refresh(collector.resume)

    def on_unmount(self) -> None:
        collector.resume()  # an app that never painted must not leave it off
        self.services.close()

    def _apply_theme(self, theme: str) -> None:
        if theme == self.theme:
            return
        if theme not in self.available_themes:
            known = ", ".join(sorted(self.available_themes))
            self.notify(
                f"Settings: no theme called {theme!r} (ui.theme); known themes: {known}.",
                severity="warning",
                timeout=10,
                markup=False,
            )
            return
        self.theme = theme

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        # Quit and keys are ours (with the unsaved-edits check and the help screen).
        for system_command in super().get_system_commands(screen):
            if system_command.title in ("Theme", "Screenshot"):
                yield system_command

    def action_help(self) -> None:
        from ftui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(collect_commands(self.screen)))

    def action_show_section(self, section: str) -> None:
        if self.workbench is not None:
            self.workbench.show_section(section)

    async def action_quit(self) -> None:
        from ftui.tui.screens.confirm import CANCEL, Choice, ConfirmScreen

        data = self.workbench.data if self.workbench is not None else None
        if data is None or not data.has_unsaved_changes:
            self.exit()
            return

        def decided(choice: str | None) -> None:
            if choice == "save":
                data.save_then(self.exit)
            elif choice == "discard":
                data.discard_unsaved()
                self.exit()

        self.push_screen(
            ConfirmScreen(
                "Unsaved edits",
                f"{data.unsaved_summary()}\n\nSave them before quitting?",
                [
                    Choice("s", "save", "Save and quit", "primary"),
                    Choice("d", "discard", "Quit without saving", "error"),
                    CANCEL,
                ],
            ),
            decided,
        )


def make_app(
    config: Config,
    path: str | Path | None = None,
    *,
    fmt: str | None = None,
    notices: Sequence[str] = (),
    services: Services | None = None,
) -> FtuiApp:
    """The workbench on `path` (or on nothing: the Data section then says how to open one).

    `services` defaults to a new root on `config`; a test may hand in one it holds."""
    return FtuiApp(
        services if services is not None else Services(config),
        Path(path).expanduser() if path is not None else None,
        fmt=fmt,
        notices=notices,
    )
