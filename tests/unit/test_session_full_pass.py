"""A full validation pass run over a snapshot, and its result adopted for the version it was
computed for: as is, re-based over later edits, or discarded for a file no longer edited."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.core.dataset.demo import create_demo_workspace
from ftui.core.editing.checks import Adoption
from ftui.core.editing.edits import DeleteExamples, SetContent
from ftui.core.editing.full_pass import run_full_pass
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


def test_a_result_for_the_current_version_is_taken_as_is(demo: DatasetSession) -> None:
    result = run_full_pass(demo.full_pass_snapshot())
    assert demo.report is None and codes(demo, 16) == set()  # the pass changed nothing
    assert demo.adopt_full_pass(result) is Adoption.CURRENT
    assert demo.report_is_current and codes(demo, 16) == {"missing_content"}


def test_a_result_for_an_older_version_is_rebased_over_the_edits(demo: DatasetSession) -> None:
    snapshot = demo.full_pass_snapshot()
    demo.apply(SetContent(16, 2, "Yes: Settings → Appearance → Editor font."))  # fixes 16
    demo.apply(SetContent(3, 1, ""))  # breaks 3
    demo.apply(DeleteExamples([0]))  # shifts everything up
    result = run_full_pass(snapshot)
    assert result.report.examples == 68
    assert demo.adopt_full_pass(result) is Adoption.REBASED
    assert not demo.report_is_current  # its totals are those of the snapshot
    assert codes(demo, 15) == set()  # the fixed example, now at 15
    assert codes(demo, 2) == {"missing_content"}  # the broken one, now at 2
    assert codes(demo, 21) == {"duplicate_example"}  # untouched: taken from the pass


def test_edits_made_after_the_pass_but_before_adoption_are_checked(demo: DatasetSession) -> None:
    result = run_full_pass(demo.full_pass_snapshot())
    demo.apply(SetContent(3, 1, ""))  # the result waits in a queue meanwhile
    assert demo.adopt_full_pass(result) is Adoption.REBASED
    assert codes(demo, 3) == {"missing_content"}


def test_a_result_for_a_file_saved_since_is_discarded(demo: DatasetSession) -> None:
    snapshot = demo.full_pass_snapshot()
    demo.apply(SetContent(16, 2, "Yes: Settings → Appearance → Editor font."))
    demo.save()
    # The pass still reads the file as it was when it began (its own descriptor), though the
    # save replaced that file and closed the session's descriptor of it.
    result = run_full_pass(snapshot)
    assert {f.code for f in result.facts.findings.get(16, ())} == {"missing_content"}
    version = demo.version
    assert demo.adopt_full_pass(result) is Adoption.DISCARDED
    assert demo.version == version and demo.report is None and codes(demo, 16) == set()
    assert demo.adopt_full_pass(run_full_pass(demo.full_pass_snapshot())) is Adoption.CURRENT
    assert codes(demo, 16) == set() and demo.report_is_current


def test_a_snapshot_keeps_its_own_descriptor_until_the_pass_ends(demo: DatasetSession) -> None:
    snapshot = demo.full_pass_snapshot()
    demo.close()  # the session's own descriptor goes; the snapshot's stays readable
    assert snapshot.original.raw(0).startswith(b"{")
    run_full_pass(snapshot)
    assert snapshot.original.fd == -1  # closed by the pass
