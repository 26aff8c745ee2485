"""pytest fixtures; enable with `pytest_plugins = ["tests.fakebot.fixtures"]` in a conftest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import FakeBotAPI


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    """A started strict fake Bot API server; fails the test if the fake itself produced
    objects that violate api.json. Tests should assert `fake_bot_api.errors == []` themselves
    where the bot must not have made rejected calls."""
    server = FakeBotAPI().start()
    try:
        yield server
    finally:
        server.stop()
    assert server.spec_violations == [], server.spec_violations
