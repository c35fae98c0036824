"""Validation inside a session: a full pass over the edited content, and edited examples
re-checked at once (per-example rules and duplicates) without re-reading the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.core.dataset.demo import create_demo_workspace
from ftui.core.editing.edits import DeleteExamples, InsertExample, MoveExample, SetContent
from ftui.core.editing.session import DatasetSession
from ftui.core.validation.validate import ValidationOptions


@pytest.fixture
def demo(tmp_path: Path) -> DatasetSession:
    path = create_demo_workspace(tmp_path / "ws")
    session = DatasetSession.open(
        path, journal_dir=tmp_path / "j", options=ValidationOptions(workers=1)
    )
    session.ensure_indexed()
    return session


def codes(session: DatasetSession, pos: int) -> set[str]:
    return {f.code for f in session.findings_for(pos)}


def test_validate_all_attaches_findings_to_examples(demo: DatasetSession) -> None:
    progress: list[tuple[int, int]] = []
    report = demo.validate_all(lambda done, total: progress.append((done, total)))
    assert report.examples == 68 and progress[-1] == (68, 68)
    assert demo.report_is_current
    assert codes(demo, 16) == {"missing_content"}
    assert codes(demo, 22) == {"duplicate_example"}
    assert demo.row(22).findings == (("duplicate_example", "warning"),)
    assert demo.row(16).worst == "error"
    file_level = [f for f in demo.findings if f.example == -1]
    assert [f.code for f in file_level] == ["inconsistent_system_prompt"]
    # Token counts of the rows are the validator's.
    assert demo.row(5).tokens is not None and demo.row(5).tokens == demo.tokens(5)


def test_an_edit_is_revalidated_at_once(demo: DatasetSession) -> None:
    demo.validate_all()
    demo.apply(SetContent(16, 2, "Yes: Settings → Appearance → Editor font."))
    assert codes(demo, 16) == set()  # no full pass needed
    assert not demo.report_is_current
    assert all(f.example != 16 for f in demo.findings)
    demo.apply(SetContent(16, 2, ""))
    assert codes(demo, 16) == {"missing_content"}
    demo.undo()
    demo.undo()
    assert codes(demo, 16) == {"missing_content"}


def test_duplicates_follow_edits(demo: DatasetSession) -> None:
    demo.validate_all()
    assert codes(demo, 22) == {"duplicate_example"}
    # Editing the copy makes it unique.
    demo.apply(SetContent(22, 1, "How do I install Inkwell with Podman?"))
    assert codes(demo, 22) == set()
    demo.undo()
    assert codes(demo, 22) == {"duplicate_example"}
    # Deleting the original leaves the copy as the only one: no longer a duplicate.
    demo.apply(DeleteExamples([1]))
    assert codes(demo, 21) == set()
    demo.undo()
    assert codes(demo, 22) == {"duplicate_example"} and codes(demo, 1) == set()
    # Moving the copy before the original: now the original is the later one.
    demo.apply(MoveExample(22, 0))
    assert codes(demo, 0) == set() and codes(demo, 2) == {"duplicate_example"}
    # A new example equal to an existing one is flagged, naming the earlier line.
    demo.apply(InsertExample(68, demo.value(10)))
    dup = demo.findings_for(68)
    assert [f.code for f in dup] == ["duplicate_example"] and "line 10" in dup[0].message


def test_findings_positions_follow_structural_edits(demo: DatasetSession) -> None:
    demo.validate_all()
    demo.apply(DeleteExamples([0, 1, 2]))
    missing = [f for f in demo.findings if f.code == "missing_content"]
    assert [f.example for f in missing] == [13] and missing[0].line == 17
    assert codes(demo, 13) == {"missing_content"}


def test_validate_all_sees_the_edited_content(demo: DatasetSession) -> None:
    demo.apply(SetContent(16, 2, "Yes: Settings → Appearance → Editor font."))
    demo.apply(DeleteExamples([22]))
    report = demo.validate_all()
    assert report.examples == 67
    assert {f.code for f in report.findings} >= {"unrecognized_role", "consecutive_same_role"}
    assert not {"missing_content", "duplicate_example"} & {f.code for f in report.findings}


def test_findings_survive_a_save(demo: DatasetSession) -> None:
    demo.validate_all()
    demo.apply(DeleteExamples([0]))
    demo.save()
    assert codes(demo, 15) == {"missing_content"} and codes(demo, 21) == {"duplicate_example"}
    assert demo.row(15).findings == (("missing_content", "error"),)
    assert demo.findings_for(15)[0].example == 15


def test_rows_before_any_validation_have_tokens_but_no_badges(demo: DatasetSession) -> None:
    row = demo.row(16)
    assert row.tokens is not None and row.tokens > 0 and row.findings == ()
    assert codes(demo, 16) == set()  # nothing known before a full pass...
    demo.apply(SetContent(16, 1, "Can I change the editor font?"))
    assert codes(demo, 16) == {"missing_content"}  # ...but an edited example is checked at once


def test_edits_made_during_a_full_pass_are_checked_again(demo: DatasetSession) -> None:
    # The UI runs validate_all in a thread worker and keeps editing: emulate an edit arriving
    # mid-pass from the progress callback.
    def edit_midway(done: int, total: int) -> None:
        if done == 1:
            demo.apply(SetContent(16, 2, "Yes: Settings → Appearance → Editor font."))
            demo.apply(DeleteExamples([0]))

    report = demo.validate_all(edit_midway)
    assert report.examples == 68  # the snapshot taken when the pass began
    assert not demo.report_is_current
    assert codes(demo, 15) == set()  # the edited example (now at 15) was checked again
    assert codes(demo, 21) == {"duplicate_example"}


def test_a_cancelled_pass_changes_nothing(demo: DatasetSession) -> None:
    demo.validate_all()
    demo.apply(SetContent(16, 2, "Yes: Settings → Appearance → Editor font."))

    def cancel(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        demo.validate_all(cancel)
    assert codes(demo, 16) == set() and codes(demo, 22) == {"duplicate_example"}
