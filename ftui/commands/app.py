"""`ftui [PATH]` and `ftui demo`: open the workbench.

Textual is imported only here, inside the commands, so the headless commands never pay for it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ftui.config import Config

DEMO_WORKSPACE = "demo"
DEMO_MODEL = "tiny-demo"
FORMATS = ("openai", "alpaca", "sharegpt")


def home_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--home` after the subcommand too (`ftui demo --home DIR`), as people tend to type it."""

    def use_home(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.obj = (ctx.find_object(Config) or Config()).with_home(value)

    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        expose_value=False,
        is_eager=True,
        callback=use_home,
        help="Where ftui keeps its history and workspaces (same as `ftui --home DIR ...`).",
    )(command)


def _check_dataset(path: Path) -> None:
    """Refuse, before any screen appears, a path that cannot be a dataset."""
    if not path.exists():
        raise click.ClickException(f"{path}: no such file. Check the path, or run `ftui demo`.")
    if path.is_dir():
        raise click.ClickException(
            f"{path} is a folder: pass a dataset file in it (.jsonl or .json)."
        )


def _run_app(config: Config, path: Path | None, *, fmt: str | None, notices: list[str]) -> None:
    from ftui.tui import collector

    collector.pause(freeze_after=True)  # as `ftui PATH` does (ftui.entry)
    from ftui.tui.app import make_app

    make_app(config, path, fmt=fmt, notices=notices).run()


@click.command("open")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="The dataset's format, when detection guesses wrong.",
)
@home_option
@click.pass_obj
def open_command(config: Config, path: Path | None, fmt: str | None) -> None:
    """Open the workbench on PATH (default: the dataset open last time)."""
    notices: list[str] = []
    if path is None:
        from ftui.tui.workspace_state import last_dataset

        remembered = last_dataset(config)
        if remembered is not None and remembered.is_file():
            path = remembered
        elif remembered is not None:
            notices.append(f"The dataset open last time, {remembered}, is gone.")
    else:
        path = path.expanduser()
        _check_dataset(path)
    _run_app(config, path, fmt=fmt, notices=notices)


def demo_model_dir(config: Config) -> Path:
    return config.models_dir / DEMO_MODEL


def start_demo_model_build(config: Config, dataset: Path) -> str | None:
    """Build the demo's tiny local model in a detached process; a notice for the user, or None.

    Only when the training extras are installed, and only once: the model is written beside its
    folder and renamed into place, so a half-built one is never picked up.
    """
    target = demo_model_dir(config)
    if target.exists():
        return None
    if importlib.util.find_spec("torch") is None:
        return (
            "No local model for the demo: torch is not installed "
            "(pip install 'ftui-workbench[train]')."
        )
    if importlib.util.find_spec("ftui.train.tiny_model") is None:
        return None
    log_path = config.models_dir / f"{DEMO_MODEL}.log"
    command = [
        sys.executable,
        "-m",
        "ftui",
        "--home",
        str(config.home),
        "model",
        "tiny",
        str(target),
        "--texts",
        str(dataset),
    ]
    from ftui.services.launcher import child_environment, reap_when_done

    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            env=child_environment(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the app, and a closed terminal
        )
    reap_when_done(process)  # a build that ends while the app is open leaves no zombie
    return f"Building a tiny local model for the Jobs section in the background: {target}"


@click.command("demo")
@click.option("--reset", is_flag=True, help="Start again from the pristine demo dataset.")
@click.option("--no-model", is_flag=True, help="Do not build the tiny local model.")
@home_option
@click.pass_obj
def demo_command(config: Config, reset: bool, no_model: bool) -> None:
    """Try ftui on a sample dataset (no GPU, no key, no network needed)."""
    from ftui.core.dataset.demo import create_demo_workspace

    config.ensure_dirs()
    dataset = create_demo_workspace(config.workspaces_dir / DEMO_WORKSPACE, overwrite=reset)
    notices = [f"Demo dataset: {dataset}. Press ? for every key."]
    if not no_model:
        notice = start_demo_model_build(config, dataset)
        if notice:
            notices.append(notice)
    _run_app(config, dataset, fmt=None, notices=notices)
