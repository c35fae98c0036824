"""The demo dataset: support conversations for "Inkwell", a fictional self-hosted note-taking app.

68 OpenAI-chat examples written for ftui (system prompt, single and multi-turn exchanges, four
with tool calls and tool replies) with a few defects planted on purpose, so that every pane of the
workbench has something to show. `DEMO_DEFECTS` lists them by line.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

from ftui.core.dataset.atomic import atomic_write_bytes

DEMO_FILE_NAME = "demo_chat.jsonl"
DEMO_EXAMPLES = 68


class DemoDefect(NamedTuple):
    line: int
    code: str
    description: str


# Lines are 1-based lines of demo_chat.jsonl (one example per line); codes are the validator's.
# The odd system prompt is a file-level finding (line 0) whose message names line 38.
DEMO_DEFECTS: list[DemoDefect] = [
    DemoDefect(9, "unrecognized_role", 'a hand-off note with the unknown role "agent"'),
    DemoDefect(17, "missing_content", "an empty assistant reply"),
    DemoDefect(23, "duplicate_example", "an exact copy of line 2 (the Docker install question)"),
    DemoDefect(31, "example_missing_assistant_message", "ends with the user: no assistant reply"),
    DemoDefect(38, "inconsistent_system_prompt", "a system prompt different from the others'"),
    DemoDefect(46, "long_assistant_reply", "a very long assistant reply (over 2,000 characters)"),
    DemoDefect(54, "consecutive_same_role", "two user turns in a row"),
]


def demo_dataset_bytes() -> bytes:
    """The demo dataset as shipped in the package."""
    return (files("ftui") / "data" / DEMO_FILE_NAME).read_bytes()


def create_demo_workspace(dest_dir: Path, *, overwrite: bool = False) -> Path:
    """Write the demo dataset into `dest_dir` (atomically) and return its path.

    An existing copy is kept as it is (it may hold the user's edits) unless `overwrite`."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / DEMO_FILE_NAME
    if overwrite or not target.exists():
        atomic_write_bytes(target, demo_dataset_bytes())
    return target
