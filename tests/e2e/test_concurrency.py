"""Many people at once: each chat in order, chats in parallel, nothing mixed or doubled."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.helpers import act, answers, onboard

pytestmark = pytest.mark.e2e

PEOPLE = 20


def test_twenty_people_answer_at_the_same_time(bot, fake_api, migrated_url):
    def interview(i: int) -> None:
        user = fake_api.user(5000 + i, f"P{i}", "de")
        onboard(user, payload="school-survey", expect="In welcher Klasse")
        act(user, lambda: user.send(str(5 + i % 8)), "richtig gut", timeout=30)
        act(user, lambda: user.send(f"Antwort {i}"), "traust du dir zu", timeout=30)
        act(user, lambda: user.press(str(1 + i % 5)), "nach der Schule machen", timeout=30)

    with ThreadPoolExecutor(PEOPLE) as pool:
        for future in [pool.submit(interview, i) for i in range(PEOPLE)]:
            future.result()

    rows = answers(migrated_url)
    assert len(rows) == PEOPLE * 3
    assert Counter((r["pseudonym"], r["step_id"]) for r in rows).most_common(1)[0][1] == 1
    texts = {r["pseudonym"]: r["value"] for r in rows if r["step_id"] == "strengths"}
    grades = {r["pseudonym"]: r["value"] for r in rows if r["step_id"] == "grade"}
    scales = {r["pseudonym"]: r["value"] for r in rows if r["step_id"] == "self_confidence"}
    for pseudonym, text in texts.items():
        i = int(text.split()[1])
        assert grades[pseudonym] == 5 + i % 8
        assert scales[pseudonym] == 1 + i % 5
