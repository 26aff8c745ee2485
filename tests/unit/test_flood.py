"""Flood control in isolation, with a fake clock."""

from bot.services.flood import FloodGuard


def test_twenty_in_ten_seconds_is_fine_the_twenty_first_mutes_for_a_minute():
    guard = FloodGuard(limit=20, window=10, pause=60)
    assert all(guard.check(1, i * 0.1) == guard.ALLOW for i in range(20))
    assert guard.check(1, 2.1) == guard.NOTICE
    assert guard.check(1, 3.0) == guard.DROP
    assert guard.check(1, 61.0) == guard.DROP
    assert guard.check(1, 62.2) == guard.ALLOW


def test_other_people_are_not_affected():
    guard = FloodGuard(limit=3, window=10, pause=60)
    for i in range(4):
        guard.check(1, i)
    assert guard.check(2, 4) == guard.ALLOW


def test_a_steady_pace_is_never_muted():
    guard = FloodGuard(limit=20, window=10, pause=60)
    assert all(guard.check(7, i * 0.6) == guard.ALLOW for i in range(500))
