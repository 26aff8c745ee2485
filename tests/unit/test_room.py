"""Hide-results-until-close and questions from the room: the pure parts (flags, agendas,
button payloads, question texts, the projector's texts)."""

from __future__ import annotations

import pytest

from bot.i18n import translator
from bot.services import callbacks
from bot.services.projector import PollView
from bot.services.room_questions import QUESTION_MAX, author_key, clean_question
from bot.web import texts
from flows.agenda import parse_agenda, parse_quick_poll

AGENDA = """\
agenda: room
title: Raum
polls:
  - id: first
    type: single_choice
    question: Wer?
    options: {a: A, b: B}
    hide_results: {value}
"""


def test_the_quick_poll_flag() -> None:
    assert parse_quick_poll("/poll --hide-results Wer? | A | B").hide_results is True
    assert parse_quick_poll("/poll --hide_results --words Ein Wort?").hide_results is True
    assert parse_quick_poll("/poll Wer? | A | B").hide_results is False
    problems = parse_quick_poll("/poll --hide Wer? | A | B")
    assert isinstance(problems, list) and "--hide-results" in problems[0]


@pytest.mark.parametrize(("value", "hidden"), [("true", True), ("false", False)])
def test_agendas_take_the_flag(value: str, hidden: bool) -> None:
    agenda, problems = parse_agenda(AGENDA.replace("{value}", value))
    assert problems == [] and agenda.polls[0].hide_results is hidden


def test_agendas_refuse_a_flag_that_is_not_a_boolean() -> None:
    agenda, problems = parse_agenda(AGENDA.replace("{value}", "maybe"), "room.yaml")
    assert agenda is None
    assert [(p.line, p.message) for p in problems] == [(8, "hide_results must be true or false")]


def test_question_buttons_round_trip_and_forgeries_do_not_parse() -> None:
    for payload in (callbacks.Upvote(7), callbacks.ModerateQuestion(7, "a")):
        assert callbacks.decode(callbacks.button(payload)) == payload
    assert callbacks.decode(callbacks.button(callbacks.ModerateQuestion(999_999_999, "h")))
    for forged in ("u:", "u:0", "u:007", "u:1:2", "u:１", "m:1", "m:1:x", "m:1:ah", "m:0:a"):
        assert callbacks.decode(forged) is None, forged
    with pytest.raises(ValueError):
        callbacks.button(callbacks.ModerateQuestion(1, "delete"))


def test_question_texts() -> None:
    assert clean_question("  Wer\n bezahlt\t das?  ") == "Wer bezahlt das?"
    assert clean_question("Emoji 👍 und Umlaute äöü?") == "Emoji 👍 und Umlaute äöü?"
    for bad in ("Bell \u0007", "Null \x00", "Half \ud83d emoji", "Private \ue000", "\u0378"):
        assert clean_question(bad) is None, repr(bad)
    assert QUESTION_MAX == 300


def test_the_author_key_needs_the_salt() -> None:
    assert author_key("salt", 1) == author_key("salt", 1)
    assert author_key("salt", 1) != author_key("salt", 2)
    assert author_key("salt", 1) != author_key("other", 1)
    assert len(author_key("salt", 1)) == 64


def test_the_projector_texts_in_german() -> None:
    t = translator("de")
    labels = texts.labels(t)
    assert labels["hidden"] == "Die Ergebnisse erscheinen, wenn die Abfrage geschlossen ist."
    assert labels["questions"] == "Fragen aus dem Raum"
    poll = PollView(1, "Wer?", "choice", (), 2, hidden=True, choices=("A", "B"))
    counts = texts.counts(t, 3, poll, (1, 2))
    assert counts["voters"] == "2 Stimmen" and counts["upvotes"] == ["1 Stimme", "2 Stimmen"]


@pytest.mark.parametrize("locale", ["de", "en", "tr", "ar", "uk", "ru"])
def test_every_language_says_it(locale: str) -> None:
    t = translator(locale)
    english = translator("en")
    for msgid in ("Questions from the room", "You cannot upvote your own question."):
        assert t.gettext(msgid) if locale == "en" else t.gettext(msgid) != english.gettext(msgid)
