"""The `ftui` command: opens the workbench, plus headless subcommands for scripts and CI.

Subcommands live in `ftui/commands/` and are imported only when invoked, so `ftui validate` never
pays for Textual and `ftui` never pays for torch. The group reads the settings once (defaults <
settings file < environment < --home) and hands the `Config` to the subcommand; a malformed
settings file stops every command with a clear message and exit status 2.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from ftui import __version__

# name -> ("module:attribute", one-line help). Each module owns its command and options; the help
# line lives here so that `ftui --help` lists everything without importing anything.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("ftui.commands.app:open_command", "Open the workbench on a dataset (the default)."),
    "demo": ("ftui.commands.app:demo_command", "Create a demo workspace and open it."),
    "validate": (
        "ftui.commands.dataset:validate_command",
        "Check a dataset: format, tokens, cost.",
    ),
    "convert": (
        "ftui.commands.dataset:convert_command",
        "Convert between OpenAI, Alpaca, ShareGPT.",
    ),
    "split": ("ftui.commands.dataset:split_command", "Split into train / validation / test."),
    "stats": (
        "ftui.commands.dataset:stats_command",
        "Counts and token distributions of a dataset.",
    ),
    "runs": ("ftui.commands.runs:runs_group", "List, show, watch, export, remove runs."),
    "train": ("ftui.commands.train:train_group", "Launch a fine-tuning run."),
    "openai": ("ftui.commands.openai:openai_group", "List and import OpenAI fine-tuning jobs."),
    "model": ("ftui.commands.train:model_group", "Build and inspect local models."),
    "config": (
        "ftui.commands.config:config_group",
        "The settings file and the settings in effect.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; a bare path opens the app on it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = LAZY_COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_line) for name, (_, help_line) in sorted(LAZY_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `ftui data.jsonl` and plain `ftui` both mean `ftui open ...`.
        index = _first_positional(args)
        if index is None and not any(a in ("--help", "-h", "--version") for a in args):
            args = [*args, "open"]
        elif index is not None and args[index] not in LAZY_COMMANDS:
            args = [*args[:index], "open", *args[index:]]
        return super().parse_args(ctx, args)


_GROUP_OPTIONS_WITH_VALUE = frozenset({"--home"})


def _first_positional(args: list[str]) -> int | None:
    """Index of the first argument that is neither a group option nor an option's value."""
    skip_next = False
    for index, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if arg in _GROUP_OPTIONS_WITH_VALUE:
            skip_next = True
            continue
        if arg == "--":
            return index + 1 if index + 1 < len(args) else None
        if not arg.startswith("-"):
            return index
    return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftui")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where ftui keeps its run history and workspaces (default: $FTUI_HOME, the settings "
    "file's `home`, else the platform data dir).",
)
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """ftui: a terminal workbench for fine-tuning LLMs.

    Run `ftui PATH` to open the workbench on a dataset, `ftui demo` to try it with sample data.
    Settings: `ftui config path` says where the settings file is, `ftui config show` what is set.
    """
    ctx.meta["ftui.home_option"] = home
    if ctx.invoked_subcommand == "config":
        return  # `ftui config` reads the settings itself, and must work when they are broken
    from ftui.commands.config import load_or_fail

    ctx.obj = load_or_fail(home)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    try:
        cli.main(args=args, prog_name="ftui")
    except Exception as exc:  # a bug: its own exit code and one line, never a traceback
        from ftui.crash import report_crash

        sys.exit(report_crash(exc, args))


if __name__ == "__main__":
    main()
