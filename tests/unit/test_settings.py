"""Settings: defaults < the TOML file < environment variables < --home; `ftui config path|show`;
a malformed file named with its line and key, exit status 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ftui.cli import cli
from ftui.config import (
    MASK,
    Config,
    OpenAISettings,
    SettingsError,
    load_config,
    settings_path,
    user_config_dir,
    user_data_dir,
)

GOOD = """\
home = "~/ftui-data"

[openai]
base_url = "http://127.0.0.1:8000/v1"
organization = "org-file"
api_key = "sk-from-the-file-123"

[judge]
model = "gpt-judge"
temperature = 0

[generate]
max_tokens = 256

[ui]
theme = "nord"
"""


def write(tmp_path: Path, text: str | bytes, name: str = "config.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_without_a_file_every_setting_is_its_default(tmp_path: Path) -> None:
    config = load_config(environ={}, path=tmp_path / "absent.toml")
    assert config.openai == OpenAISettings()
    assert config.judge.temperature == 0.0 and config.generate.max_tokens == 1024
    assert config.ui.theme == "textual-dark"
    assert config.sources == {}


def test_the_file_sets_values_and_the_environment_beats_it(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    from_file = load_config(environ={}, path=path)
    assert from_file.home == Path("~/ftui-data").expanduser()
    assert from_file.openai.base_url == "http://127.0.0.1:8000/v1"
    assert from_file.openai.api_key == "sk-from-the-file-123"
    assert from_file.judge == from_file.judge.__class__("gpt-judge", None, 0.0)
    assert isinstance(from_file.judge.temperature, float)
    assert from_file.generate.max_tokens == 256 and from_file.ui.theme == "nord"
    assert from_file.sources["openai.base_url"] == "file"

    environ = {
        "OPENAI_API_KEY": "sk-from-env",
        "OPENAI_BASE_URL": "https://api.example.com/v1",
        "OPENAI_ORG_ID": "org-env",
        "OPENAI_PROJECT_ID": "proj-env",
        "FTUI_HOME": str(tmp_path / "env-home"),
        "FTUI_GENERATE_MAX_TOKENS": "64",
        "FTUI_UI_THEME": "",  # empty: unset, the file's value stands
    }
    both = load_config(environ=environ, path=path)
    assert both.openai == OpenAISettings(
        "sk-from-env", "https://api.example.com/v1", "org-env", "proj-env"
    )
    assert both.home == tmp_path / "env-home" and both.generate.max_tokens == 64
    assert both.ui.theme == "nord"
    assert both.sources["openai.api_key"] == "env" and both.sources["ui.theme"] == "file"
    assert both.sources.get("judge.base_url", "default") == "default"

    # --home beats them all.
    flagged = load_config(environ=environ, path=path, home=tmp_path / "flag")
    assert flagged.home == tmp_path / "flag" and flagged.sources["home"] == "option"


def test_a_relative_home_in_the_file_is_relative_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'home = "data"\n')
    assert load_config(environ={}, path=path).home == tmp_path / "data"


def test_the_file_is_found_in_the_platform_config_dir_unless_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_path({"FTUI_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        assert settings_path({}) == tmp_path / "xdg" / "ftui" / "config.toml"


@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/xdg"])
def test_the_platform_dirs_are_the_ones_platformdirs_gives(
    xdg: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ftui looks them up itself on Linux (importing platformdirs costs every command); it must
    # agree with platformdirs however the XDG variables are set.
    import platformdirs

    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        if xdg is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, xdg)
    assert user_config_dir() == platformdirs.user_config_path("ftui", appauthor=False)
    assert user_data_dir() == platformdirs.user_data_path("ftui", appauthor=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[openai\nbase_url = 1\n", "line 1, column 8: not valid TOML"),
        ('[openai]\nbase_url = "http://x"\nbase_ur = "y"\n', "line 3: unknown key 'base_ur'"),
        ('[opnai]\nbase_url = "http://x"\n', "line 1: unknown setting 'opnai'"),
        ('colour = "red"\n', "line 1: unknown setting 'colour'"),
        ("[judge]\n\ntemperature = 'hot'\n", "line 3: judge.temperature must be a number"),
        ("[generate]\nmax_tokens = true\n", "line 2: generate.max_tokens must be a whole number"),
        ("[generate]\nmax_tokens = 2.5\n", "line 2: generate.max_tokens must be a whole number"),
        ("[generate]\nmax_tokens = 0\n", "line 2: generate.max_tokens must be at least 1"),
        ("[judge]\ntemperature = 3\n", "line 2: judge.temperature must be between 0 and 2"),
        ('[openai]\nbase_url = "localhost:8000"\n', "line 2: openai.base_url must start with"),
        ("[openai]\napi_key = 12\n", "line 2: openai.api_key must be a string, not 12"),
        ('ui = "dark"\n', "line 1: ui must be a section"),
        ('openai.base_ur = "http://x"\n', "line 1: unknown key 'base_ur' in [openai]"),
        (b"[ui]\ntheme = '\xff'\n", "is not UTF-8"),
    ],
)
def test_a_malformed_file_names_the_file_the_line_and_the_key(
    tmp_path: Path, text: str | bytes, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load_config(environ={}, path=path)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_a_bad_environment_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FTUI_JUDGE_TEMPERATURE must be a number"):
        load_config(environ={"FTUI_JUDGE_TEMPERATURE": "warm"}, path=tmp_path / "none.toml")
    with pytest.raises(SettingsError, match=r"OPENAI_BASE_URL .* must start with http"):
        load_config(environ={"OPENAI_BASE_URL": "api.openai.com"}, path=tmp_path / "none.toml")


def test_the_key_never_shows_in_a_printed_config(tmp_path: Path) -> None:
    config = load_config(environ={}, path=write(tmp_path, GOOD))
    assert "sk-from-the-file-123" not in repr(config)
    assert "sk-from-the-file-123" not in str(config.openai)
    assert repr(Config(home=tmp_path)) == repr(Config(home=tmp_path))  # plain data otherwise


# -- the commands -------------------------------------------------------------------------------


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_config_path_prints_the_file_even_when_it_is_broken(tmp_path: Path) -> None:
    path = write(tmp_path, "[openai\n")
    code, out, _ = invoke(["config", "path"], {"FTUI_CONFIG": str(path)})
    assert code == 0 and out.strip() == str(path)


def test_config_show_gives_each_value_and_its_source_and_masks_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    env = {"FTUI_CONFIG": str(path), "OPENAI_PROJECT_ID": "proj-env", "FTUI_HOME": ""}
    code, out, _ = invoke(["config", "show"], env)
    assert code == 0, out
    assert f"Settings file: {path}" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert lines["openai.base_url"] == ["http://127.0.0.1:8000/v1", "file"]
    assert lines["openai.project"] == ["proj-env", "env", "OPENAI_PROJECT_ID"]
    assert lines["openai.api_key"] == [MASK, "file"]
    assert lines["judge.base_url"] == ["(not", "set)", "default"]
    assert "sk-from-the-file-123" not in out

    code, out, _ = invoke(["--home", str(tmp_path / "h"), "config", "show", "--json"], env)
    document = json.loads(out)
    assert document["file"] == str(path) and document["file_exists"] is True
    rows = {row["key"]: row for row in document["settings"]}
    assert rows["openai.api_key"] == {
        "key": "openai.api_key",
        "value": MASK,
        "source": "file",
        "origin": str(path),
    }
    assert rows["home"]["value"] == str(tmp_path / "h") and rows["home"]["source"] == "option"
    assert rows["openai.project"]["origin"] == "OPENAI_PROJECT_ID"
    assert rows["generate.max_tokens"]["value"] == 256
    assert "sk-from-the-file-123" not in out


@pytest.mark.parametrize(
    "args", [["config", "show"], ["validate", "x.jsonl"], ["runs", "list"], ["demo", "--no-model"]]
)
def test_every_command_refuses_a_malformed_file_with_status_2(
    tmp_path: Path, args: list[str]
) -> None:
    path = write(tmp_path, '[openai]\nbase_url = "http://x"\nkey = "sk-1"\n')
    code, _, err = invoke(args, {"FTUI_CONFIG": str(path)})
    assert code == 2
    assert f"{path}, line 3: unknown key 'key' in [openai]" in err


def test_the_app_refuses_a_malformed_file_without_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\ntheme = 3\n")
    env = {"PATH": "/usr/bin:/bin", "FTUI_CONFIG": str(path), "FTUI_HOME": str(tmp_path / "h")}
    env.update({k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME")})
    done = subprocess.run(
        [sys.executable, "-m", "ftui"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert f"{path}, line 2: ui.theme must be a string, not 3" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
