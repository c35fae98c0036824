"""STAND-IN (not committed)."""

import pytest


@pytest.fixture
def fake_openai():
    from tests.support.fake_openai import FakeOpenAI, ManualClock

    with FakeOpenAI(clock=ManualClock()) as server:
        yield server
