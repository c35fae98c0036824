"""The way to the first frame stays light: none of the training stack, the OpenAI client or the
run store is imported to show the workbench (they load where they are needed), the garbage
collector waits until it is painted, and the parsed CSS comes from the cache after the first
start."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.css.stylesheet import StylesheetParseError
from textual.dom import DOMNode
from textual.widget import Widget

from ftui.config import Config
from ftui.tui.app import make_app
from ftui.tui.css_cache import CachedStylesheet
from ftui.tui.screens.workbench import WorkbenchScreen

HEAVY = ("torch", "transformers", "trl", "peft", "bitsandbytes", "datasets", "openai", "accelerate")

CHILD = """
import json, os, sys
from pathlib import Path
from ftui.config import Config
from ftui.tui.app import make_app
from ftui.tui.widgets.example_list import ExampleList

home = Path(sys.argv[1])
dataset = Path(sys.argv[2]) if len(sys.argv) > 2 else None

def report(app):
    os.write(1, json.dumps(sorted(sys.modules)).encode())
    app.exit()

async def until_first_rows(pilot):
    app = pilot.app
    if dataset is not None:
        while not any(widget.row_count for widget in app.screen.query(ExampleList)):
            await pilot.pause(0.01)
    app.call_after_refresh(report, app)

make_app(Config(home=home), dataset).run(headless=True, auto_pilot=until_first_rows)
"""


def loaded_modules(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("with_dataset", [False, True], ids=["empty", "demo dataset"])
def test_first_frame_imports_nothing_heavy(tmp_path: Path, with_dataset: bool) -> None:
    from ftui.core.dataset.demo import create_demo_workspace

    args = [str(tmp_path / "home")]
    if with_dataset:
        args.append(str(create_demo_workspace(tmp_path / "workspace")))
    loaded = loaded_modules(*args)
    assert "ftui.tui.app" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []
    # Sections other than Data load on first visit.
    assert "sqlite_utils" not in loaded and "ftui.services.store" not in loaded


# The first frame, caught as it is painted (the first rows are in it), before anything started
# after it (the session's open, the tokenizer) can add its modules.
FIRST_FRAME_CHILD = """
import json, os, sys
from pathlib import Path
from textual.app import App
from ftui.config import Config
from ftui.tui.app import make_app

home, dataset = Path(sys.argv[1]), Path(sys.argv[2])
display = App._display

def first_frame(app, screen, renderable):
    display(app, screen, renderable)
    if renderable is not None:
        rows = [widget.row_count for widget in app.screen.query("ExampleList")]
        os.write(1, json.dumps({"rows": rows, "modules": sorted(sys.modules)}).encode())
        os._exit(0)

App._display = first_frame
make_app(Config(home=home), dataset).run(headless=True, size=(120, 36))
"""

# What the first screen does not show, so must not wait for: the editing layer and validation
# (the session opens after the first paint), tokenizers, the code highlighter, the click CLI,
# the run store, the other sections and every screen but the workbench.
NOT_IN_THE_FIRST_FRAME = (
    "tiktoken",
    "pygments",
    "rich.syntax",
    "click",
    "sqlite3",
    "plotext",
    "ftui.core.editing.session",
    "ftui.core.editing.journal",
    "ftui.core.validation",
    "ftui.services.store",
    "ftui.services.backends",
    "ftui.tui.sections.runs",
    "ftui.tui.sections.jobs",
    "ftui.tui.sections.judge",
)


def test_the_first_frame_has_the_rows_and_loads_nothing_it_does_not_show(
    tmp_path: Path, shared_datasets: Path
) -> None:
    dataset = shared_datasets / "openai-chat" / "sgd_dialogues.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME_CHILD, str(tmp_path / "home"), str(dataset)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frame = json.loads(done.stdout)
    assert frame["rows"] and frame["rows"][0] > 0, "the first frame came without the rows"
    loaded = set(frame["modules"])
    assert "ftui.core.editing.first_rows" in loaded
    early = sorted(
        module
        for module in loaded
        if any(module == name or module.startswith(name + ".") for name in NOT_IN_THE_FIRST_FRAME)
    )
    assert early == []
    screens = sorted(m for m in loaded if m.startswith("ftui.tui.screens."))
    assert screens == ["ftui.tui.screens.workbench"]


async def test_the_collector_waits_for_the_first_frame(home: Path) -> None:
    from ftui.tui import collector

    enabled_at_mount: list[bool] = []

    def note(message: object) -> None:
        if isinstance(message, events.Mount) and isinstance(message._sender, WorkbenchScreen):
            enabled_at_mount.append(gc.isenabled())

    assert gc.isenabled()
    app = make_app(Config(home=home))
    async with app.run_test(message_hook=note) as pilot:
        await pilot.pause(0)
        await pilot.pause(0)
        assert enabled_at_mount == [False]
        assert gc.isenabled() and not collector.paused()
    assert gc.isenabled()


async def test_a_collector_turned_off_on_purpose_stays_off(home: Path) -> None:
    gc.disable()
    try:
        async with make_app(Config(home=home)).run_test() as pilot:
            await pilot.pause(0)
            await pilot.pause(0)
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_second_start_reads_its_css_from_the_cache(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    seen = []
    for _start in range(2):
        app = make_app(Config(home=home))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0)
            stylesheet = app.stylesheet
            assert isinstance(stylesheet, CachedStylesheet)
            assert stylesheet.cache_dir == tmp_path / "cache" / "ftui" / "css"
            # (Layouts compare by identity: their reprs are compared.)
            rules = [
                repr((rule.selector_set, sorted(rule.styles.get_rules().items())))
                for rule in stylesheet.rules
            ]
            stored = len(list(stylesheet.cache_dir.glob("*.pickle")))
            seen.append((stylesheet.hits, stylesheet.misses, rules, stored))
    (cold_hits, cold_misses, cold_rules, stored), (warm_hits, warm_misses, warm_rules, _) = seen
    # app.tcss and every widget's DEFAULT_CSS: parsed once, then read back.
    assert cold_hits == 0 and cold_misses > 5
    assert warm_misses == 0 and warm_hits == cold_misses
    assert warm_rules == cold_rules
    assert stored == cold_misses


def test_the_css_cache_keeps_no_errors_and_survives_a_bad_file(tmp_path: Path) -> None:
    variables = {"accent": "#ff0000"}

    def parse(css: str, variables: dict[str, str] = variables) -> CachedStylesheet:
        stylesheet = CachedStylesheet(variables=variables, cache_dir=tmp_path)
        stylesheet.add_source(css, read_from=("test.tcss", ""))
        stylesheet.parse()
        return stylesheet

    assert parse("Static { color: $accent; }").misses == 1
    [stored] = tmp_path.glob("*.pickle")
    assert parse("Static { color: $accent; }").hits == 1
    # Another theme is another entry: its colours are baked into the rules.
    assert parse("Static { color: $accent; }", {"accent": "#00ff00"}).misses == 1
    # A file cut short (a full disk, a crash mid-write) is parsed again and written anew.
    good = stored.read_bytes()
    stored.write_bytes(good[:10])
    assert parse("Static { color: $accent; }").misses == 1
    assert stored.read_bytes() == good
    # CSS with errors is reported as always, and never stored.
    before = set(tmp_path.glob("*.pickle"))
    with pytest.raises(StylesheetParseError):
        parse("Static { colour: red; }")
    assert set(tmp_path.glob("*.pickle")) == before


async def test_each_widget_is_styled_once_on_the_way_to_the_first_frame(
    home: Path, shared_datasets: Path
) -> None:
    # Textual restyles a whole screen on its first resume, though its widgets were styled as
    # they mounted; the workbench skips that pass (focus restyles only what it changes).
    app = make_app(
        Config(home=home), shared_datasets / "openai-chat" / "toy_chat_fine_tuning.jsonl"
    )
    styled: Counter[str] = Counter()
    apply = app.stylesheet.apply

    def counting_apply(node: DOMNode, *args: Any, **kwargs: Any) -> None:
        if isinstance(node, Widget) and node.id is not None:
            styled[node.id] += 1
        apply(node, *args, **kwargs)

    app.stylesheet.apply = counting_apply  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0)
        assert styled["example-list"] == 2, "the focused list: once as it mounts, once focused"
        del styled["example-list"]
        assert {"workbench", "data", "conversation", "validation", "footer"} <= set(styled)
        assert set(styled.values()) == {1}, styled


def test_the_command_line_s_start_freezes_its_heap_once_painted() -> None:
    """`ftui` pauses the collector with freeze_after: the objects alive at the first frame go to
    the permanent generation, so a later full collection does not walk them again."""
    from ftui.tui import collector

    gc.unfreeze()
    try:
        collector.pause(freeze_after=True)
        collector.pause()  # the app's own pause, later, keeps the request
        assert not gc.isenabled() and gc.get_freeze_count() == 0
        collector.resume()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()
        collector.pause()
        collector.resume()  # a later pause without the request freezes nothing more
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        gc.enable()
