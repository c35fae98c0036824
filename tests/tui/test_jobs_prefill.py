"""The Jobs form starts on the dataset open in the Data section, with empty required fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input

from tests.tui.conftest import SIZE, press, settle


async def test_jobs_form_is_prefilled_with_the_open_dataset(
    app_factory: Any, demo_path: Path
) -> None:
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        await settle(pilot)
        # The section mounts its pane once its modules are imported: wait (bounded) for the form.
        for _ in range(100):
            if app.screen.query("#jobs-dataset_path"):
                break
            await pilot.pause(0.05)
        dataset = app.screen.query_one("#jobs-dataset_path", Input)
        assert dataset.value == str(demo_path)
        # A required field without a default starts empty, never as a placeholder object.
        base_model = app.screen.query_one("#jobs-base_model", Input)
        assert "MISSING" not in base_model.value
