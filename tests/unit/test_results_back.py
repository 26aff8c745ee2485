"""Results back, without a bot: the /results grammar, its confirm buttons (forged ones parse
to nothing), the message text (free text never sent, placeholders never filled) and the
refusals in every language."""

from __future__ import annotations

import pytest

from bot.i18n import translator
from bot.services import callbacks
from bot.services.results_back import Refused, Source, _campaign_tables, message_text, refusal_text
from bot.services.routers.results import parse
from flows.model import Flow

EN = translator("en")
FLOW = Flow.model_validate(
    {
        "id": "check",
        "title": "Check",
        "version": "1",
        "language": "en",
        "steps": [
            {"id": "name", "type": "text", "text": "What is your name?"},
            {
                "id": "mood",
                "type": "single_choice",
                "text": "{first_name}, how is it going?",
                "options": {"good": "Good", "bad": "Bad"},
            },
            {"id": "ok", "type": "yes_no", "text": "All clear?"},
            {
                "id": "tools",
                "type": "multiple_choice",
                "text": "Which?",
                "options": {"a": "A", "b": "B"},
            },  # fmt: skip
        ],
    }
)


def test_the_command_grammar():
    assert parse("campaign 12") == (Source(campaign_id=12), False, None)
    assert parse("campaign 12 --again Thanks!") == (Source(campaign_id=12), True, "Thanks!")
    assert parse("session abc234 Hello all") == (Source(session_code="abc234"), False, "Hello all")
    for bad in ("", "campaign", "campaign x", "campaign ¹2", "campaign 0", "poll 3", "campaign -1"):
        assert parse(bad) is None, bad


def test_confirm_buttons_round_trip_and_forged_ones_parse_to_nothing():
    for action in ("ok", "again", "no"):
        data = callbacks.button(callbacks.ResultsConfirm(7, action))
        assert callbacks.decode(data) == callbacks.ResultsConfirm(7, action)
    for forged in ("b:7:yes", "b:0:ok", "b:07:ok", "b:7", "b:1234567890:ok", "b:7:ok:x", "b:٧:ok"):
        assert callbacks.decode(forged) is None, forged
    with pytest.raises(ValueError):
        callbacks.button(callbacks.ResultsConfirm(7, "all"))


def test_free_text_is_never_sent_and_placeholders_are_not_filled():
    answers = [
        {"name": "Ahmet Yılmaz", "mood": "good", "ok": "yes", "tools": ["a", "b"]} for _ in range(6)
    ]
    items = _campaign_tables(FLOW, answers, "en", 5)
    assert [q for q, _ in items] == ["…, how is it going?", "All clear?", "Which?"]
    text = message_text("Check", "Thanks, everyone", items, EN)
    assert "Ahmet" not in text and "What is your name?" not in text
    assert "Good: 6" in text and "Bad: fewer than 5" in text and "Yes: 6" in text
    assert "A: 6 · 100%" in text  # multiple choice: shares of the exact total stay
    assert "(6 people answered)" in text and "(at least 6 people answered)" in text


def test_three_people_give_no_figure_at_all():
    items = _campaign_tables(FLOW, [{"mood": "good", "ok": "no"}] * 3, "de", 5)
    text = message_text("Check", None, items, translator("de"))
    assert "3" not in text.replace("{k}", "")


@pytest.mark.parametrize("locale", ["de", "en", "tr", "ar", "uk", "ru"])
def test_refusals_are_translated_and_keep_their_values(locale):
    t = translator(locale)
    text = refusal_text(Refused("campaign_open", id=4, status="running"), t)
    assert "4" in text and "running" in text
    if locale != "en":
        assert text != refusal_text(Refused("campaign_open", id=4, status="running"), EN)


def test_staff_help_names_the_command_participants_help_does_not():
    from bot.services.routers.texts import help_text

    assert "/results campaign <id>" in help_text(EN, "facilitator")
    assert "/results" not in help_text(EN, "participant")
