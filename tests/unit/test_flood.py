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


def test_a_group_that_floods_gets_one_notice_then_is_ignored_for_the_pause():
    guard = FloodGuard(limit=20, window=10, pause=60)
    # 21 different people, one message each: the group as a whole is flooding
    assert all(guard.check_group(-100, i, i * 0.1) == guard.ALLOW for i in range(20))
    assert guard.check_group(-100, 20, 2.1) == guard.NOTICE
    assert [guard.check_group(-100, 30 + i, 3 + i) for i in range(5)] == [guard.DROP] * 5
    assert guard.check_group(-200, 1, 4.0) == guard.ALLOW  # another group is heard
    assert guard.check(1, 4.0) == guard.ALLOW  # so are its members in private
    assert guard.check_group(-100, 1, 62.2) == guard.ALLOW


def test_one_person_flooding_a_group_is_stopped_with_one_notice():
    guard = FloodGuard(limit=20, window=10, pause=60)
    verdicts = [guard.check_group(-100, 9000, i * 0.01) for i in range(200)]
    assert verdicts[:20] == [guard.ALLOW] * 20
    assert verdicts[20] == guard.NOTICE
    assert verdicts[21:] == [guard.DROP] * 179


def test_a_person_counts_private_and_group_messages_together():
    guard = FloodGuard(limit=20, window=10, pause=60)
    assert all(guard.check(7, i * 0.1) == guard.ALLOW for i in range(15))
    assert all(guard.check_group(-100, 7, 2 + i * 0.1) == guard.ALLOW for i in range(5))
    # the group has seen only 6 messages, but this person has sent 21
    assert guard.check_group(-100, 7, 3.0) == guard.MEMBER_NOTICE
    assert guard.check_group(-100, 7, 3.1) == guard.DROP
    assert guard.check(7, 3.2) == guard.DROP
    assert guard.check_group(-100, 8, 3.3) == guard.ALLOW  # the others are still heard


def test_a_group_gets_at_most_one_notice_per_pause():
    guard = FloodGuard(limit=3, window=10, pause=60)
    for i in range(3):
        guard.check(1, i * 0.1)
        guard.check(2, i * 0.1)
    assert guard.check_group(-100, 1, 1.0) == guard.MEMBER_NOTICE
    # the second flooder is muted too, but the group is not told twice
    assert guard.check_group(-100, 2, 1.1) == guard.DROP
    assert guard.check(2, 1.2) == guard.DROP


def test_memory_stays_bounded_with_many_groups():
    guard = FloodGuard(limit=20, window=10, pause=60)
    for i in range(30_000):
        guard.check_group(-i - 1, i, float(i))
    assert len(guard._senders) <= 10_001
