"""The import screen: its live preview follows what is typed, errors show inline, and Import
lands the file in the Data pane with its origins in the run history."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from textual.widgets import Input

from ftui.tui.screens.import_data import ImportScreen
from tests.tui.conftest import SIZE, data_section, press, settle


def tickets(shared_datasets: Path, path: Path) -> Path:
    rows = json.loads((shared_datasets / "alpaca/alpaca_en_demo.json").read_text())[:40]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "question", "answer", "satisfaction", "status"])
        for number, row in enumerate(rows):
            answer = "" if number == 2 else row["output"]
            status = "open" if number % 4 == 0 else "resolved"
            writer.writerow([number, row["instruction"], answer, 1 + number % 5, status])
    return path


def ticket_lines(path: Path) -> dict[int, int]:
    """The CSV line where each ticket's row starts (answers span lines)."""
    lines = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        start = 2
        for cells in reader:
            lines[start] = int(cells[0])
            start = reader.line_num + 1
    return lines


async def type_into(pilot: Any, field: str, text: str) -> None:
    pilot.app.screen.query_one(f"#import-{field}", Input).value = text
    await settle(pilot)


async def open_import(pilot: Any) -> ImportScreen:
    await settle(pilot)
    await press(pilot, "I")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    return screen


async def test_the_preview_follows_the_form(
    app_factory: Any, shared_datasets: Path, tmp_path: Path
) -> None:
    source = tickets(shared_datasets, tmp_path / "tickets.csv")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot)
        await type_into(pilot, "source", str(source))
        preview = screen.preview
        assert preview is not None and screen.error is None
        # The guess fills the mapping and the output.
        assert screen.query_one("#import-map", Input).value == "user=question,assistant=answer"
        assert screen.query_one("#import-out", Input).value == str(tmp_path / "tickets.chat.jsonl")
        ticket_at = ticket_lines(source)
        line_of_2 = next(line for line, ticket in ticket_at.items() if ticket == 2)
        assert len(preview.examples) == 8 and preview.skipped[0].row == line_of_2
        shown = str(screen.query_one("#import-preview").render())
        assert f"line {line_of_2}: the assistant turn (answer) is empty" in shown

        await type_into(pilot, "where", 'satisfaction >= 4 and status == "resolved"')
        filtered = screen.preview
        assert filtered is not None and filtered is not preview
        assert filtered.summary.rows_filtered > 0
        kept = [ticket_at[e.rows[0]] for e in filtered.examples]
        assert kept and all(1 + n % 5 >= 4 and n % 4 != 0 for n in kept)

        await type_into(pilot, "where", "satisfaction >> 4")
        assert screen.preview is None and screen.error is not None
        assert "col 14: expected a value after '>'" in screen.error
        await type_into(pilot, "where", "stars > 3")
        assert screen.error is not None and "no column 'stars'" in screen.error
        assert "ticket, question, answer" in screen.error

        await type_into(pilot, "where", "")
        await type_into(pilot, "system", "You are the help desk.")
        assert screen.preview is not None
        assert screen.preview.examples[0].messages[0] == {
            "role": "system",
            "content": "You are the help desk.",
        }


async def test_import_lands_in_the_data_pane_with_origins(
    app_factory: Any, shared_datasets: Path, tmp_path: Path
) -> None:
    source = tickets(shared_datasets, tmp_path / "tickets.csv")
    out = tmp_path / "imported.jsonl"
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await open_import(pilot)
        await type_into(pilot, "source", str(source))
        await type_into(pilot, "out", str(out))
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ImportScreen)
        data = data_section(app)
        assert data.path == out and data.session is not None
        written = out.read_text().splitlines()
        assert len(data.session) == len(written) == 39  # one of 40 rows has no answer
        assert app.services.store.count_origins(out.resolve()) == 39
        # The selected example says where it came from.
        shown = data.conversation.shown
        assert shown is not None and shown.origin is not None
        assert shown.origin.startswith(f"import · {source.resolve()} · row 2 · batch ")
        assert data.conversation.text().startswith("origin import · ")

        # The Data pane filters on it.
        await press(pilot, "slash")
        await pilot.pause()
        data.search.bar().input.value = "origin:import"
        await press(pilot, "enter")
        await settle(pilot)
        assert len(data.matches) == 39


async def test_the_encoding_fix_from_the_screen(app_factory: Any, tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_bytes(b"question,answer\nCaf\xe9?,Open at 9.\nTea?,Yes.\n")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot)
        await type_into(pilot, "source", str(source))
        assert screen.preview is not None
        assert [s.kind for s in screen.preview.skipped] == ["bad_encoding"]
        await type_into(pilot, "encoding", "cp1252")
        assert screen.preview is not None and not screen.preview.skipped
        assert screen.preview.examples[0].messages[0]["content"] == "Café?"
        await type_into(pilot, "encoding", "klingon")
        assert screen.error is not None and "unknown encoding 'klingon'" in screen.error


async def test_import_errors_stay_on_the_screen(app_factory: Any, tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("question,answer\nq,\n")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot)
        await type_into(pilot, "source", str(tmp_path / "nope.csv"))
        assert screen.error is not None and "no such file" in screen.error
        await type_into(pilot, "source", str(source))
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert app.screen is screen and screen.error is not None
        assert "no example to write" in screen.error
        assert not (tmp_path / "t.chat.jsonl").exists()
        await press(pilot, "escape")
        await settle(pilot)
        assert not isinstance(app.screen, ImportScreen)


async def test_the_screen_names_its_fields_and_the_skipped_rows_stay_in_view(
    app_factory: Any, shared_datasets: Path, tmp_path: Path
) -> None:
    source = tickets(shared_datasets, tmp_path / "tickets.csv")
    out = tmp_path / "imported.jsonl"
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_import(pilot)
        await type_into(pilot, "source", str(source))
        await type_into(pilot, "where", "stars > 3")
        assert screen.error is not None and screen.error.startswith("Filter: no column 'stars'")
        assert "--where" not in screen.error
        await type_into(pilot, "where", "")
        # The skipped rows come before the examples: in view without scrolling.
        shown = str(screen.query_one("#import-preview").render())
        assert shown.index("Skipped") < shown.index("──")
        assert "the assistant turn (answer) is empty" in shown.split("──")[0]
        await type_into(pilot, "out", str(out))
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ImportScreen)
        toast = next(n.message for n in app._notifications if n.message.startswith("Imported"))
        # The screen is gone: the toast itself says which row was left out, and why.
        assert "1 row skipped" in toast and "the assistant turn (answer) is empty" in toast
