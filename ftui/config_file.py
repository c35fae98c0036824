"""Reading the settings file: TOML checked against `ftui.config.SETTINGS`.

tomllib reports where bad TOML is but not where a key is, so the line of a key that is unknown or
has the wrong type is found by reading the file's lines (`key_line`): every error names the file,
the line and the key, and says what to write instead. `[prices]` also takes one sub-table per
model (`[prices."gpt-4o-mini"]`), read into `PriceOverride`s by `_model_prices`.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

from ftui.config import (
    SECTIONS,
    SETTINGS,
    SETTINGS_BY_NAME,
    TABLE_SECTIONS,
    Setting,
    SettingsError,
)

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
_HEADER_PART = re.compile(r"\"[^\"]*\"|'[^']*'|[^.\s\"']+")
_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", Path: "a path string"}


def table_parts(header: str) -> tuple[str, ...]:
    """A table header's keys: `prices."gpt-4.1"` -> ("prices", "gpt-4.1")."""
    return tuple(part.strip("\"'") for part in _HEADER_PART.findall(header))


def key_line(text: str, section: str | tuple[str, ...] | None, key: str) -> int | None:
    """The 1-based line where `key` is set (in `[section]`, or as `section.key` at the top).

    `section` may be a sub-table's keys, ("prices", "gpt-4.1") for `[prices."gpt-4.1"]`."""
    wanted = (section,) if isinstance(section, str) else section
    current: tuple[str, ...] | None = None
    top = section if isinstance(section, str) else ""
    dotted = re.compile(rf"^\s*[\"']?{re.escape(top)}[\"']?\s*\.\s*[\"']?{re.escape(key)}\b")
    plain = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TABLE.match(line)
        if table:
            current = table_parts(table.group(1))
            continue
        if current == wanted and plain.match(line):
            return number
        if current is None and top and dotted.match(line):
            return number
    return None


def _table_header_line(text: str, parts: tuple[str, ...]) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TABLE.match(line)
        if table and table_parts(table.group(1)) == parts:
            return number
    return None


def _where(path: Path, text: str, section: str | tuple[str, ...] | None, key: str) -> str:
    line = key_line(text, section, key)
    return f"{path}, line {line}" if line else str(path)


def _known_keys(section: str | None) -> str:
    return ", ".join(s.key for s in SETTINGS if s.section == section)


def _typed(setting: Setting, value: Any) -> Any:
    """The file's value as the setting's type, or None when it is the wrong type."""
    if isinstance(value, bool):
        return None
    if setting.kind is float and isinstance(value, int | float):
        return float(value)
    if setting.kind is int and isinstance(value, int):
        return value
    if setting.kind is str and isinstance(value, str):
        return value
    if setting.kind is str and isinstance(value, datetime.date):
        return value.isoformat()  # `as_of = 2025-06-01`, a TOML date, means the same as text
    if setting.kind is Path and isinstance(value, str):
        return value
    return None


def read_settings_file(path: Path) -> dict[str, Any]:
    """The settings the file sets, by name ("openai.base_url"); {} when there is no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(
            f"{path}: cannot read the settings file ({exc.strerror or exc}); fix its "
            "permissions, or point FTUI_CONFIG at another file."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path}: the settings file is not UTF-8 text (byte {exc.start}); save it as UTF-8."
        ) from None
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        where = (
            f"{path}, line {position.group(1)}, column {position.group(2)}" if position else path
        )
        reason = _TOML_POSITION.sub("", message)
        raise SettingsError(
            f"{where}: not valid TOML ({reason}). Settings look like `[openai]` then "
            '`base_url = "https://..."`; fix the line or remove it.'
        ) from None

    values: dict[str, Any] = {}
    for name, value in data.items():
        if name in SECTIONS:
            if not isinstance(value, dict):
                raise SettingsError(
                    f"{_where(path, text, None, name)}: {name} must be a section "
                    f"(`[{name}]` on its own line, then its keys), not a value."
                )
            tables: dict[str, dict[str, Any]] = {}
            for key, item in value.items():
                if name in TABLE_SECTIONS and isinstance(item, dict):
                    tables[key] = item
                    continue
                values[f"{name}.{key}"] = _checked(path, text, name, key, item)
            if tables:
                values[f"{name}.{TABLE_SECTIONS[name]}"] = _model_prices(path, text, tables)
        elif name in SETTINGS_BY_NAME:
            values[name] = _checked(path, text, None, name, value)
        else:
            line = key_line(text, None, name) or _table_line(text, name)
            where = f"{path}, line {line}" if line else str(path)
            known = ", ".join([*(f"[{s}]" for s in SECTIONS), _known_keys(None)])
            raise SettingsError(
                f"{where}: unknown setting {name!r}; the file knows {known}. "
                "Fix the name or remove it."
            )
    if "home" in values:
        home = Path(values["home"]).expanduser()
        values["home"] = home if home.is_absolute() else (path.parent / home)
    return values


def _table_line(text: str, name: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TABLE.match(line)
        if table and table.group(1).strip("\"' ").split(".")[0] == name:
            return number
    return None


def _checked(path: Path, text: str, section: str | None, key: str, value: Any) -> Any:
    name = f"{section}.{key}" if section else key
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None:
        tables = (
            f', and one table per model ([{section}."gpt-4o-mini"] with its figures)'
            if section in TABLE_SECTIONS
            else ""
        )
        raise SettingsError(
            f"{_where(path, text, section, key)}: unknown key {key!r} in [{section}]; "
            f"[{section}] knows {_known_keys(section)}{tables}."
        )
    typed = _typed(setting, value)
    if typed is None:
        shown = "a table" if isinstance(value, dict) else repr(value)
        raise SettingsError(
            f"{_where(path, text, section, key)}: {name} must be "
            f"{_KIND_NAMES[setting.kind]}, not {shown}."
        )
    problem = setting.check(typed) if setting.check else None
    if problem:
        raise SettingsError(f"{_where(path, text, section, key)}: {name} {problem}.")
    return typed


def _model_prices(path: Path, text: str, tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`[prices."MODEL"]` tables as `PriceOverride`s by snapshot name, each figure checked."""
    import math

    from ftui.core.pricing.inference import snapshot_name
    from ftui.core.pricing.price_book import PRICE_KEYS, PriceOverride, known_price_models

    known = known_price_models()
    overrides: dict[str, Any] = {}
    written: dict[str, str] = {}
    for model, table in tables.items():
        line = _table_header_line(text, ("prices", model)) or key_line(text, "prices", model)
        at = f"{path}, line {line}" if line else str(path)
        name = snapshot_name(model)
        if name not in known:
            raise SettingsError(
                f"{at}: [prices] has no model {model!r}; ftui's price table has "
                f"{', '.join(known)} (short names such as gpt-4o-mini work too). Fix the name."
            )
        if name in overrides:
            raise SettingsError(
                f"{at}: the prices of {name} are set twice, as {written[name]!r} and {model!r}; "
                "keep one table."
            )
        figures: dict[str, float] = {}
        for key, value in table.items():
            where = _where(path, text, ("prices", model), key)
            if where == str(path):
                where = at
            if key not in PRICE_KEYS:
                raise SettingsError(
                    f"{where}: unknown key {key!r} in [prices.{model}]; a model's prices are "
                    f"{', '.join(PRICE_KEYS)} (USD per 1M tokens)."
                )
            number = (
                value if isinstance(value, int | float) and not isinstance(value, bool) else None
            )
            if number is None or not math.isfinite(number):
                shown = "a table" if isinstance(value, dict) else repr(value)
                raise SettingsError(
                    f"{where}: prices.{model}.{key} must be a number (USD per 1M tokens), "
                    f"not {shown}."
                )
            if number < 0:
                raise SettingsError(
                    f"{where}: prices.{model}.{key} cannot be negative ({number}); write the "
                    "price in USD per 1M tokens."
                )
            figures[key] = float(number)
        overrides[name] = PriceOverride(**figures)
        written[name] = model
    return overrides
