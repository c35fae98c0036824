"""What the parts of the Data section share.

The section is put together from parts, one per concern (files, validation, search, editing).
A part owns its workers (they run on the section's node, so the section's workers are all of
them) and reports what happened as facts, small messages the section routes; a thread worker
only ever posts those, never touches a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.message import Message

if TYPE_CHECKING:
    from textual.worker import Worker

    from ftui.core.editing.edits import Edit
    from ftui.tui.sections.data.section import DataSection
    from ftui.tui.shared_session import SharedSession

# Thread workers post at most this often (seconds): a fast stream must not flood the queue.
PROGRESS_INTERVAL = 0.1
# Work that only fills in token counts (loading the tokenizer, counting) holds the GIL the first
# paint needs, so it waits for a newly opened dataset's first rows to be painted. The event is set
# after the next refresh; this is only a guard, long because a loaded machine paints slowly.
FIRST_PAINT_WAIT = 10.0


class WorkerReport(Message):
    """A fact a Data section part posts to the section itself: handled there, never bubbled."""

    bubble: ClassVar[bool] = False


@dataclass
class WorkFailed(WorkerReport):
    """A worker could not do `what` (e.g. "save"); `error` says why, for the user."""

    what: str
    error: str


@dataclass
class ExampleEdited(WorkerReport):
    """The content changed (an edit, an undo or redo, a fix, restored edits): `select` is the
    message to select in the conversation afterwards."""

    select: int | None = None


@dataclass
class ShowExample(WorkerReport):
    """A request: put the cursor on the example at `position` (after what is queued before)."""

    position: int
    message_index: int | None = None


def is_structural(edit: Edit) -> bool:
    """Whether an edit moves examples (rather than changing one in place)."""
    from ftui.core.editing.edits import STRUCTURAL_EDITS, Compound

    if isinstance(edit, Compound):
        return any(is_structural(part) for part in edit.edits)
    return isinstance(edit, STRUCTURAL_EDITS)


class DataPart:
    """One concern of the Data section. The section hands it the open session."""

    def __init__(self, section: DataSection) -> None:
        self.section = section
        self.session: SharedSession | None = None

    def run_thread(self, work: Callable[[], None], group: str) -> Worker[None]:
        """Run `work` in a thread worker of `group` (a newer one cancels the older)."""
        return self.section.run_worker(
            work, thread=True, exclusive=True, group=group, exit_on_error=False
        )

    def post(self, message: Message) -> None:
        self.section.post_message(message)
