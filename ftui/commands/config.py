"""`ftui config path|show`: where the settings file is, and what ftui runs with.

These commands read the settings themselves (the group leaves them alone), so `ftui config path`
still answers when the file is malformed: that is when one needs to find it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ftui.config import MASK, SETTINGS, Config, Setting, settings_path

EXIT_BAD_SETTINGS = 2


class BadSettings(click.ClickException):
    """A settings problem, reported like any other error but with exit status 2."""

    exit_code = EXIT_BAD_SETTINGS


def load_or_fail(home: Path | None = None) -> Config:
    """The effective settings; a malformed file or variable becomes a clean exit 2."""
    from ftui.config import SettingsError, load_config

    try:
        return load_config(home=home)
    except SettingsError as exc:
        raise BadSettings(str(exc)) from None


def _shown(setting: Setting, value: Any) -> Any:
    if value is None:
        return None
    if setting.secret:
        return MASK
    return str(value) if isinstance(value, Path) else value


def _origin(config: Config, setting: Setting, path: Path) -> str | None:
    source = config.source(setting)
    if source == "env":
        return setting.env
    if source == "file":
        return str(path)
    if source == "option":
        return "--home"
    return None


def _price_rows(config: Config, path: Path) -> list[dict[str, Any]]:
    """One row per figure of each `[prices."MODEL"]` table (they come from the file alone)."""
    return [
        {
            "key": f"prices.{model}.{figure}",
            "value": getattr(override, figure),
            "source": "file",
            "origin": str(path),
        }
        for model, override in sorted(config.prices.models.items())
        for figure in override.given()
    ]


@click.group("config")
def config_group() -> None:
    """The settings file: where it is, and the settings in effect with their source."""


@config_group.command("path")
def path_command() -> None:
    """Print the settings file's path ($FTUI_CONFIG overrides it); it may not exist yet."""
    click.echo(str(settings_path()))


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
def show_command(ctx: click.Context, as_json: bool) -> None:
    """Print every setting in effect and where it comes from (default, file, env, option).

    The API key is never printed: a set key shows as ********."""
    path = settings_path()
    config = load_or_fail(ctx.meta.get("ftui.home_option"))
    rows = [
        {
            "key": setting.name,
            "value": _shown(setting, config.value(setting)),
            "source": config.source(setting),
            "origin": _origin(config, setting, path),
        }
        for setting in SETTINGS
    ]
    rows += _price_rows(config, path)
    if as_json:
        import orjson

        document = {"file": str(path), "file_exists": path.is_file(), "settings": rows}
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    state = "" if path.is_file() else "  (not there: defaults and environment only)"
    click.echo(f"Settings file: {path}{state}")
    width = max(len(row["key"]) for row in rows)
    for row in rows:
        value = "(not set)" if row["value"] is None else str(row["value"])
        source = row["source"] + (f" {row['origin']}" if row["source"] == "env" else "")
        click.echo(f"  {row['key']:<{width}}  {value:<40}  {source}")
