"""One typed settings object for the app, built once by the CLI (or a test) and passed down.

Where a setting comes from, lowest first: its default, the settings file (TOML, in the platform's
config dir, or `$FTUI_CONFIG`), an environment variable, a command-line option (`--home`).
`load_config()` builds the `Config` and records the source of every value, which
`ftui config show` prints. A malformed file is a `SettingsError` naming the file, the line and
the key; reading the file itself is `ftui.config_file`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftui.core.pricing.price_book import PriceOverride

APP_NAME = "ftui"
CONFIG_ENV = "FTUI_CONFIG"
CONFIG_FILE_NAME = "config.toml"
MASK = "********"


class SettingsError(Exception):
    """A settings file or variable ftui cannot use; the message says where and what to do."""


def _xdg_dir(variable: str, fallback: str) -> Path | None:
    """The XDG base directory platformdirs gives on Linux and the BSDs (an unset or blank
    variable means the fallback), without importing it: every command pays for this lookup."""
    if sys.platform in ("darwin", "win32", "cygwin") or sys.platform.startswith("java"):
        return None
    value = os.environ.get(variable, "").strip()
    return (Path(value) if value else Path.home() / fallback) / APP_NAME


def user_data_dir() -> Path:
    return _xdg_dir("XDG_DATA_HOME", ".local/share") or _platformdirs_path("user_data_path")


def user_config_dir() -> Path:
    return _xdg_dir("XDG_CONFIG_HOME", ".config") or _platformdirs_path("user_config_path")


def _platformdirs_path(function: str) -> Path:
    import platformdirs

    path: Path = getattr(platformdirs, function)(APP_NAME, appauthor=False)
    return path


def default_home() -> Path:
    """Where ftui keeps its store, runs and workspaces: $FTUI_HOME, else the platform data dir."""
    env = os.environ.get("FTUI_HOME")
    if env:
        return Path(env).expanduser()
    return user_data_dir()


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """The settings file: $FTUI_CONFIG, else `config.toml` in the platform's config dir."""
    environ = os.environ if environ is None else environ
    override = environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return user_config_dir() / CONFIG_FILE_NAME


@dataclass(frozen=True, repr=False)
class OpenAISettings:
    """The OpenAI (or OpenAI-compatible) account: fine-tuning, and the default for the judge."""

    api_key: str | None = None
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None

    def __repr__(self) -> str:  # a Config in a log or a traceback never shows the key
        key = MASK if self.api_key else None
        return (
            f"OpenAISettings(api_key={key!r}, base_url={self.base_url!r}, "
            f"organization={self.organization!r}, project={self.project!r})"
        )


@dataclass(frozen=True)
class JudgeSettings:
    """The model that judges a base and a tuned model side by side."""

    model: str | None = None
    base_url: str | None = None  # another OpenAI-compatible server; None: the [openai] one
    temperature: float = 0.0


@dataclass(frozen=True)
class GenerateSettings:
    """The model that writes or rewrites examples."""

    model: str | None = None
    base_url: str | None = None
    temperature: float = 0.7
    max_tokens: int = 1024


@dataclass(frozen=True)
class UiSettings:
    theme: str = "textual-dark"


@dataclass(frozen=True)
class PricesSettings:
    """The user's prices, over ftui's dated tables: `[prices]` with `as_of`, and one sub-table
    per model (`[prices."gpt-4o-mini-2024-07-18"]`, or its alias) with any of `PRICE_KEYS`."""

    as_of: str | None = None  # the date the user read these prices
    models: Mapping[str, PriceOverride] = field(default_factory=dict)  # by snapshot name


SECTIONS: dict[str, type] = {
    "openai": OpenAISettings,
    "judge": JudgeSettings,
    "generate": GenerateSettings,
    "ui": UiSettings,
    "prices": PricesSettings,
}
# Sections whose sub-tables are settings too, read by `config_file` (name -> the field they fill).
TABLE_SECTIONS = {"prices": "models"}


def _url(value: Any) -> str | None:
    if not str(value).startswith(("http://", "https://")):
        return "must start with http:// or https://"
    return None


def _temperature(value: Any) -> str | None:
    return None if 0 <= value <= 2 else "must be between 0 and 2"


def _positive(value: Any) -> str | None:
    return None if value >= 1 else "must be at least 1"


def _date(value: Any) -> str | None:
    import datetime

    try:
        datetime.date.fromisoformat(str(value))
    except ValueError:
        return "must be a date written YYYY-MM-DD"
    return None


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives in the file, its type, its environment variable."""

    section: str | None  # None: at the top of the file
    key: str
    kind: type  # str, int, float or Path
    env: str
    help: str
    secret: bool = False
    check: Callable[[Any], str | None] | None = None

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}" if self.section else self.key


SETTINGS: tuple[Setting, ...] = (
    Setting(None, "home", Path, "FTUI_HOME", "run history, workspaces and models"),
    Setting("openai", "api_key", str, "OPENAI_API_KEY", "OpenAI API key", secret=True),
    Setting("openai", "base_url", str, "OPENAI_BASE_URL", "OpenAI-compatible API", check=_url),
    Setting("openai", "organization", str, "OPENAI_ORG_ID", "OpenAI organization id"),
    Setting("openai", "project", str, "OPENAI_PROJECT_ID", "OpenAI project id"),
    Setting("judge", "model", str, "FTUI_JUDGE_MODEL", "judging model"),
    Setting("judge", "base_url", str, "FTUI_JUDGE_BASE_URL", "judge's API", check=_url),
    Setting("judge", "temperature", float, "FTUI_JUDGE_TEMPERATURE", "", check=_temperature),
    Setting("generate", "model", str, "FTUI_GENERATE_MODEL", "generating model"),
    Setting("generate", "base_url", str, "FTUI_GENERATE_BASE_URL", "its API", check=_url),
    Setting("generate", "temperature", float, "FTUI_GENERATE_TEMPERATURE", "", check=_temperature),
    Setting("generate", "max_tokens", int, "FTUI_GENERATE_MAX_TOKENS", "", check=_positive),
    Setting("ui", "theme", str, "FTUI_UI_THEME", "Textual theme"),
    Setting("prices", "as_of", str, "FTUI_PRICES_AS_OF", "date of your [prices]", check=_date),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    home: Path = field(default_factory=default_home)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    prices: PricesSettings = field(default_factory=PricesSettings)
    # Where each value came from ("openai.base_url" -> "file"); see `ftui config show`.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def store_path(self) -> Path:
        return self.home / "ftui.db"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.runs_dir, self.workspaces_dir, self.models_dir):
            path.mkdir(parents=True, exist_ok=True)

    def value(self, setting: Setting) -> Any:
        holder = getattr(self, setting.section) if setting.section else self
        return getattr(holder, setting.key)

    def source(self, setting: Setting) -> str:
        return self.sources.get(setting.name, "default")

    def with_home(self, home: Path, source: str = "option") -> Config:
        """This config with `home` from a command-line option (which beats everything else)."""
        return dataclasses.replace(
            self, home=home.expanduser(), sources={**self.sources, "home": source}
        )


def parse_env_value(setting: Setting, raw: str) -> Any:
    """An environment variable's text as the setting's type; SettingsError when it is not."""
    if setting.kind is Path:
        value: Any = Path(raw).expanduser()
    elif setting.kind in (int, float):
        try:
            value = setting.kind(raw)
        except ValueError:
            kind = "a whole number" if setting.kind is int else "a number"
            raise SettingsError(
                f"The environment variable {setting.env} must be {kind} ({setting.name}), "
                f"not {raw!r}: fix it or unset it."
            ) from None
    else:
        value = raw
    problem = setting.check(value) if setting.check else None
    if problem:
        raise SettingsError(
            f"The environment variable {setting.env} ({setting.name}) {problem}, not {raw!r}."
        )
    return value


def load_config(
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
    home: Path | None = None,
) -> Config:
    """Defaults < the settings file < environment variables < `home` (the --home option)."""
    from ftui.config_file import read_settings_file

    environ = os.environ if environ is None else environ
    path = path if path is not None else settings_path(environ)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, value in read_settings_file(path).items():
        values[name], sources[name] = value, "file"
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw:  # an empty variable is unset, as shells and .env files tend to leave them
            values[setting.name] = parse_env_value(setting, raw)
            sources[setting.name] = "env"
    if home is not None:
        values["home"], sources["home"] = home.expanduser(), "option"

    sections: dict[str, Any] = {}
    for section, section_class in SECTIONS.items():
        prefix = section + "."
        fields_given = {n[len(prefix) :]: v for n, v in values.items() if n.startswith(prefix)}
        sections[section] = section_class(**fields_given)
    if "home" not in values:
        values["home"] = user_data_dir()
    return Config(home=values["home"], sources=sources, **sections)
