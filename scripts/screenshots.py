"""Write SVG screenshots of every screen of the workbench into screenshots/, from the real app.

    python scripts/screenshots.py [--out screenshots] [--size 160x48] [--only NAME ...]

The app runs headless on the demo dataset in a throwaway home; the Runs section gets two small
local runs with real event logs so that it has something to show. Re-run after changing a screen
and look at the pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from ftui.config import Config
from ftui.core.dataset.demo import create_demo_workspace
from ftui.tui.app import FtuiApp, make_app
from ftui.tui.widgets.header import WorkbenchHeader

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = "local: CPU · OpenAI: no key"

Step = Callable[[Pilot[Any]], Awaitable[None]]


async def settle(pilot: Pilot[Any]) -> None:
    """Until no worker runs (workers start workers: open, index, validate)."""
    app = pilot.app
    quiet = 0
    for _ in range(200):
        with contextlib.suppress(WorkerCancelled):  # replaced by a newer one: next round
            await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        quiet = 0 if any(not w.is_finished for w in app.workers) else quiet + 1
        if quiet >= 2:
            return


def keys(*names: str) -> Step:
    async def step(pilot: Pilot[Any]) -> None:
        await pilot.press(*names)

    return step


def search(text: str) -> Step:
    async def step(pilot: Pilot[Any]) -> None:
        await pilot.press("slash")
        await pilot.pause()
        pilot.app.screen.query_one("#search-input").value = text  # type: ignore[attr-defined]
        await pilot.press("enter")

    return step


async def open_findings(pilot: Pilot[Any]) -> None:
    data = pilot.app.workbench.data  # type: ignore[attr-defined]
    tree = data.pane.findings_tree
    tree.focus()
    for node in tree.root.children[:2]:
        node.expand()


async def wait_for_monitor(pilot: Pilot[Any]) -> None:
    """Until a live run's page has taken the monitor's first batch (it comes from a thread)."""
    for _ in range(100):
        if getattr(pilot.app.screen, "repaints", 0):
            return
        await pilot.pause(0.05)


def seed_runs(config: Config, dataset: Path) -> Any:
    """Two finished local runs with falling losses, and one a third of the way with an eval
    loss pulling away and an alert, written as real event logs (and its trainer's output)."""
    try:
        from ftui.core.runs.events import EventWriter
        from ftui.services.store import RunStore
    except ImportError:
        return
    store = RunStore.from_config(config)
    started = time.time() - 3600
    for lr, steps in ((2e-4, 60), (1e-4, 80)):
        run = store.create_run(
            backend="local",
            base_model="tiny-demo",
            dataset_path=dataset,
            config={"learning_rate": lr, "lora_r": 8, "max_steps": steps},
            created_at=started - 2,
        )
        with EventWriter(run.run_dir / "events.jsonl") as events:
            events.write({"ts": started, "type": "status", "status": "running"})
            for step in range(1, steps + 1):
                loss = 5.9 - 0.9 * (1 - math.exp(-step / (steps / 3))) + 0.05 * math.sin(step)
                values = {"train_loss": round(loss, 4), "tokens_per_second": 2380.0 + step % 7}
                values["learning_rate"] = lr * (1 - step / steps)
                event = {"ts": started + step * 3, "type": "metric", "step": step}
                events.write({**event, "max_steps": steps, "epoch": step / 20, "values": values})
                if step % 10 == 0:
                    valid = 5.95 - 0.8 * (1 - math.exp(-step / (steps / 2.5)))
                    events.write({**event, "max_steps": steps, "values": {"valid_loss": valid}})
            ended = started + steps * 3
            events.write({"ts": ended + 2, "type": "log", "message": "Adapter saved."})
            events.write({"ts": ended + 3, "type": "status", "status": "succeeded"})
        started += steps * 3 + 60
        store.ingest_events(run.id)
    run = store.create_run(
        backend="local",
        base_model="tiny-demo",
        dataset_path=dataset,
        config={"learning_rate": 5e-4, "lora_r": 16, "max_steps": 300},
        created_at=time.time() - 202,
    )
    now = time.time()
    with EventWriter(run.run_dir / "events.jsonl") as events:
        events.write({"ts": now - 200, "type": "status", "status": "running"})
        for step in range(1, 101):
            loss = 2.4 * math.exp(-step / 30) + 0.5 + 0.06 * math.sin(step * 1.7)
            values = {"train_loss": round(loss, 4), "tokens_per_second": 2410.0 + step}
            values.update({"cpu_percent": 187.0, "ram_gb": 3.4})
            events.write(
                {
                    "ts": now - 200 + step * 2,
                    "type": "metric",
                    "step": step,
                    "max_steps": 300,
                    "epoch": round(step / 100, 2),
                    "values": values,
                }
            )
            if step % 20 == 0:
                valid = 2.3 * math.exp(-step / 40) + 0.9 + (0.004 * step if step > 60 else 0)
                events.metric(step, {"valid_loss": round(valid, 4)}, max_steps=300)
        events.emit(
            "alert",
            kind="eval_gap",
            message="valid_loss 1.58 is 1.9x the train loss 0.59 at step 100",
            steps=[60, 80, 100],
            advice="more data, or a lower rank or learning rate; stop early if it keeps growing",
        )
    # A process of its own (a sleeper), so that the run is alive to every liveness check.
    from ftui.services import launcher

    process = launcher.launch(run.run_dir, argv=["sleep", "3600"], log_file="sleeper.log")
    (run.run_dir / "train.log").write_text(
        "Loading tiny-demo\n"
        "trainable params: 851,968 || all params: 4,012,864 || trainable%: 21.23\n"
        "{'loss': 0.5912, 'grad_norm': 0.41, 'learning_rate': 0.00033, 'epoch': 1.0}\n"
        " 33%|###3      | 100/300 [03:20<06:40,  2.00s/it]\n"
    )
    store.ingest_events(run.id)
    return process


JUDGE_SESSION = "judge-demo-session"


def seed_judge_session(config: Config) -> None:
    """A finished judge session written straight into the store: a base model against its
    fine-tune on four support questions, with the judge's two verdicts per pair."""
    from ftui.core.judge.metrics import answer_length
    from ftui.core.judge.report import ExampleResult
    from ftui.services.store import RunStore

    base, tuned = "openai:gpt-4o-mini-2024-07-18", "run:demo-ft"
    pairs = [
        (
            "How do I reset my password?",
            "Settings, Security, Reset password: a link is emailed.",
            "You can reset it in the settings.",
            "Settings, then Security, then Reset password: we email you a link.",
            ("B", "A"),
        ),
        (
            "Can I change my email?",
            "Yes: Settings, Profile, Email; confirm from the message.",
            "Yes: Settings, Profile, Email, then confirm from the message we send.",
            "Yes.",
            ("A", "B"),
        ),
        (
            "Do you ship to Canada?",
            "Yes, to every province, in 5 to 8 business days.",
            "We ship to Canada.",
            "Yes, to every province, in 5 to 8 business days.",
            ("B", "A"),
        ),
        (
            "What is the refund policy?",
            "Refunds within 30 days, to the original payment.",
            "Refunds are possible.",
            "Within 30 days of delivery, to how you paid.",
            ("C", "C"),
        ),
    ]
    store = RunStore.from_config(config)
    for n, (question, reference, answer_a, answer_b, verdicts) in enumerate(pairs):
        result = ExampleResult.build(
            f"demo{n:012d}",
            f"user: {question}",
            reference,
            answer_a,
            answer_b,
            verdicts=verdicts,  # type: ignore[arg-type]
            explanation=f"Against the reference, the better answer is [[{verdicts[0]}]].",
        )
        store.add_judge_result(
            JUDGE_SESSION,
            base,
            tuned,
            example_key=result.key,
            winner=result.outcome,
            scores={"a": result.metrics_a, "b": result.metrics_b},
            details={
                "judge": "openai:gpt-4.1",
                "verdicts": list(result.verdicts),
                "explanation": result.explanation,
                "len_diff": result.len_diff,
                "len_a": answer_length(answer_a),
                "len_b": answer_length(answer_b),
                "question": result.question,
                "reference": reference,
                "answer_a": answer_a,
                "answer_b": answer_b,
            },
        )
    store.close()


async def open_judge_session(pilot: Pilot[Any]) -> None:
    from ftui.tui.sections.judge import JudgePane

    pilot.app.screen.query_one(JudgePane).open_session(JUDGE_SESSION)


SHOTS: list[tuple[str, list[Step]]] = [
    ("data", []),
    ("data-tool-call", [keys("j", "j", "j", "j", "j", "j", "c", "j", "j")]),
    ("data-search", [search("role:tool"), keys("f")]),
    ("data-findings", [open_findings]),
    ("data-edit-message", [keys("c", "j", "enter")]),
    ("data-role", [keys("c", "j", "r")]),
    ("data-import", [keys("I")]),
    ("data-generate", [keys("ctrl+g")]),
    ("data-cost", [keys("dollar_sign")]),
    ("help", [keys("question_mark")]),
    ("palette", [keys("ctrl+p"), keys(*"drop")]),
    ("jobs", [keys("2")]),
    ("jobs-openai", [keys("2"), keys("ctrl+b")]),
    ("runs", [keys("3")]),
    ("run-live", [keys("3"), keys("enter"), wait_for_monitor]),
    ("run-live-details", [keys("3"), keys("enter"), wait_for_monitor, keys("i")]),
    ("run-finished", [keys("3"), keys("j", "enter"), wait_for_monitor]),
    ("judge", [keys("4")]),
    ("judge-results", [keys("4"), open_judge_session, keys("j")]),
    ("judge-vote", [keys("4"), open_judge_session, keys("v"), keys("l")]),
    ("judge-summary", [keys("4"), open_judge_session, keys("v"), keys("l", "r"), keys("escape")]),
    # Last: quitting with unsaved edits leaves their journal, and every later app would open on
    # the offer to restore them (data-restore, below, shows that offer on purpose).
    ("data-quit-unsaved", [keys("y", "q")]),
]


async def shoot(
    app: FtuiApp, out: Path, name: str, steps: list[Step], size: tuple[int, int]
) -> None:
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for step in steps:
            await step(pilot)
            await settle(pilot)
        app.workbench.query_one(WorkbenchHeader).backends = BACKENDS  # type: ignore[union-attr]
        await pilot.pause(0.2)
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
        print(f"wrote {out / (name + '.svg')}")


async def main(out: Path, size: tuple[int, int], only: list[str] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        config = Config(home=home)
        dataset = create_demo_workspace(Path(tmp) / "workspace")
        sleeper = seed_runs(config, dataset)
        seed_judge_session(config)
        try:
            for name, steps in SHOTS:
                if not only or name in only:
                    await shoot(make_app(config, dataset), out, name, steps, size)
        finally:
            if sleeper is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(sleeper.pid, signal.SIGKILL)
        if only:
            return
        # A session that ended without saving: the next one offers to restore.
        crashed = make_app(config, dataset)
        async with crashed.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            crashed.exit()
        await shoot(make_app(config, dataset), out, "data-restore", [], size)
        await shoot(make_app(Config(home=Path(tmp) / "empty")), out, "no-dataset", [], size)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="160x48", help="WIDTHxHEIGHT of the terminal")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="Only these shots.")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    asyncio.run(main(args.out, (width, height), args.only))
