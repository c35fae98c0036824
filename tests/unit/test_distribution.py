"""The distribution has a name of its own on the package index (`ftui` belongs to another
project); the import package and the command stay `ftui`, and install hints name the right one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import ftui

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_distribution_is_not_called_ftui_but_installs_the_ftui_command() -> None:
    meta = project()
    assert meta["name"] == "ftui-workbench"
    assert meta["scripts"] == {"ftui": "ftui.entry:main"}
    assert meta["version"] == ftui.__version__


def test_every_install_hint_names_the_distribution() -> None:
    name = project()["name"]
    hints = []
    for path in (ROOT / "ftui").rglob("*.py"):
        hints += re.findall(r"pip install '([^'\[]+)\[", path.read_text(encoding="utf-8"))
    assert hints, "no install hint found: the pattern no longer matches the messages"
    assert set(hints) == {name}
