"""A young person answers the reporter interview through Telegram, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import act, answer_map, answers, onboard, runs

pytestmark = pytest.mark.e2e


def test_full_interview_in_german_touches_every_question_type(bot, fake_api, migrated_url):
    lea = fake_api.user(101, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")
    assert any("Hallo Lea!" in m.content for m in lea.messages())
    # two short messages within the merge window form one answer
    lea.send("Ich bin neugierig")
    act(lea, lambda: lea.send("und mag Musik"), "Wie gut weißt du")
    act(lea, lambda: lea.press("4"), "Was hast du nach der Schule vor?")
    act(lea, lambda: lea.press("Ausbildung"), "Welche Ausbildung")
    act(lea, lambda: lea.send("Mechatronikerin"), "Nebenjob")
    act(lea, lambda: lea.press("Ja"), "Stunden pro Woche")
    act(lea, lambda: lea.send("12,5"), "Unterstützung")
    act(lea, lambda: lea.press("Bewerbungen"), "✅ Bewerbungen")
    act(lea, lambda: lea.press("Etwas anderes"), "✅ Etwas anderes")
    act(lea, lambda: lea.press("Fertig"), "Wobei genau?")
    assert "Bewerbungen schreiben, Etwas anderes" in lea.last().content  # placeholder
    act(lea, lambda: lea.send("Führerschein"), "Termin")
    act(lea, lambda: lea.send("15.03.2027"), "verändert")
    act(lea, lambda: lea.send("Ich habe ein Praktikum gemacht."), "Sprachnachricht")
    act(lea, lambda: lea.send_voice(duration=7, data=b"OggS-voice"), "Foto")
    act(lea, lambda: lea.send_photo(data=b"\xff\xd8jpeg"), "Danke dir, Lea!")
    lea.wait_for("/start")

    stored = answer_map(migrated_url)
    assert stored["self_image"] == "Ich bin neugierig\nund mag Musik"
    assert stored["confidence"] == 4
    assert stored["plan"] == "training"
    assert stored["plan_detail"] == "Mechatronikerin"
    assert stored["has_job"] == "yes"
    assert stored["job_hours"] == 12.5
    assert stored["support"] == ["applications", "other"]
    assert stored["support_other"] == "Führerschein"
    assert stored["next_date"] == "2027-03-15"
    assert stored["changes"] == "Ich habe ein Praktikum gemacht."
    assert stored["story"]["duration"] == 7
    assert "plan_unsure" not in stored  # condition false: never asked
    [run] = runs(migrated_url)
    assert run.status == "complete" and run.locale == "de"
    # media were downloaded into MEDIA_DIR
    media = Path(bot.env["BACKBONE_MEDIA_DIR"])
    assert (media / stored["story"]["path"]).read_bytes() == b"OggS-voice"
    assert (media / stored["picture"]["path"]).read_bytes() == b"\xff\xd8jpeg"
    # every answer is traceable to the wording shown
    shown = {a["step_id"]: a["shown_text"] for a in answers(migrated_url)}
    assert shown["plan_detail"] == "Cool! Welche Ausbildung interessiert dich?"


def test_full_interview_in_english(bot, fake_api, migrated_url):
    sam = fake_api.user(102, "Sam", "en")
    onboard(sam, expect="describe yourself")
    assert any("Hello Sam" in m.content or "Hi Sam" in m.content for m in sam.messages())
    act(sam, lambda: sam.send("Curious and calm."), "after school")
    act(sam, lambda: sam.press("2"), "plans")
    act(sam, lambda: sam.press("Not sure"), "decide")
    act(sam, lambda: sam.press("Skip"), "side job")
    act(sam, lambda: sam.press("No"), "support")
    act(sam, lambda: sam.press("internship"), "✅")
    act(sam, lambda: sam.press("Done"), "important date")
    act(sam, lambda: sam.press("Skip"), "changed")
    act(sam, lambda: sam.send("Not much."), "voice")
    act(sam, lambda: sam.press("Skip"), "photo")
    act(sam, lambda: sam.press("Skip"), "Thank")
    stored = answer_map(migrated_url)
    assert stored["plan"] == "unsure"
    assert stored["plan_unsure"] is None
    assert stored["has_job"] == "no"
    assert "job_hours" not in stored
    assert stored["support"] == ["internship"]
    assert stored["story"] is None and stored["picture"] is None
    [run] = runs(migrated_url)
    assert run.status == "complete" and run.locale == "en"


def test_invalid_inputs_get_a_hint_and_the_question_again(bot, fake_api, migrated_url):
    ali = fake_api.user(103, "Ali", "de")
    onboard(ali, expect="Wie würdest du dich")
    # a sticker for a text question
    act(ali, lambda: ali.send_sticker(), "Wie würdest du dich")
    assert ali.last().content != "Wie würdest du dich in ein paar Sätzen beschreiben?"
    # far too long
    act(ali, lambda: ali.send("x" * 1001), "1.001")
    act(ali, lambda: ali.send("kurz"), "Wie gut weißt du")
    # text for a button question
    act(ali, lambda: ali.send("vielleicht"), "Wie gut weißt du")
    act(ali, lambda: ali.press("3"), "Was hast du nach der Schule vor?")
    # a tap on a button of the earlier question
    stale = [m for m in ali.messages() if "Wie gut weißt du" in m.content][0]
    act(ali, lambda: ali.press("5", message_id=stale.message_id), "Was hast du nach")
    act(ali, lambda: ali.press("Studium"), "Nebenjob")
    act(ali, lambda: ali.press("Ja"), "Stunden")
    # number out of range, not a number
    act(ali, lambda: ali.send("100"), "60")
    act(ali, lambda: ali.send("viele"), "Stunden")
    act(ali, lambda: ali.send("10"), "Unterstützung")
    # too few selections, then a photo for a choice question
    act(ali, lambda: ali.press("Fertig"), "Unterstützung")
    act(ali, lambda: ali.send_photo(), "Unterstützung")
    act(ali, lambda: ali.press("Praktikum"), "✅ Praktikum")
    act(ali, lambda: ali.press("Fertig"), "Termin")
    # not a date; a voice note where a date is asked
    act(ali, lambda: ali.send("bald"), "Termin")
    act(ali, lambda: ali.send_voice(), "Termin")
    act(ali, lambda: ali.press("Überspringen"), "verändert")
    act(ali, lambda: ali.send("nichts"), "Sprachnachricht")
    # text where a voice note is asked
    act(ali, lambda: ali.send("hallo"), "Sprachnachricht")
    assert fake_api.errors == []
    stored = answer_map(migrated_url)
    assert stored == {
        "self_image": "kurz",
        "confidence": 3,
        "plan": "study",
        "has_job": "yes",
        "job_hours": 10,
        "support": ["internship"],
        "next_date": None,
        "changes": "nichts",
    }


def test_back_changes_an_answer(bot, fake_api, migrated_url):
    mia = fake_api.user(104, "Mia", "de")
    onboard(mia, expect="Wie würdest du dich")
    act(mia, lambda: mia.send("Ich"), "Wie gut weißt du")
    act(mia, lambda: mia.press("2"), "Was hast du nach")
    act(mia, lambda: mia.send("/back"), "Wie gut weißt du")
    act(mia, lambda: mia.press("5"), "Was hast du nach")
    act(mia, lambda: mia.press("Arbeiten"), "Nebenjob")
    rows = {a["step_id"]: a for a in answers(migrated_url)}
    assert rows["confidence"]["value"] == 5
    assert rows["confidence"]["revision"] == 2
    assert len([a for a in answers(migrated_url) if a["step_id"] == "confidence"]) == 1


def test_pause_and_resume_after_a_restart(bot, fake_api, migrated_url):
    ben = fake_api.user(105, "Ben", "de")
    onboard(ben, expect="Wie würdest du dich")
    act(ben, lambda: ben.send("Ben halt"), "Wie gut weißt du")
    act(ben, lambda: ben.send("/pause"), "/resume")
    bot.stop()
    bot.start()
    act(ben, lambda: ben.send("hallo, bin wieder da"), "Wie gut weißt du")
    act(ben, lambda: ben.press("1"), "Was hast du nach")
    stored = answer_map(migrated_url)
    assert stored == {"self_image": "Ben halt", "confidence": 1}


def test_cancel_keeps_answers_as_incomplete(bot, fake_api, migrated_url):
    eva = fake_api.user(106, "Eva", "de")
    onboard(eva, expect="Wie würdest du dich")
    act(eva, lambda: eva.send("Eva"), "Wie gut weißt du")
    act(eva, lambda: eva.send("/cancel"), "/start")
    [run] = runs(migrated_url)
    assert run.status == "incomplete"
    assert answer_map(migrated_url) == {"self_image": "Eva"}


def test_help_and_unknown_command(bot, fake_api):
    kim = fake_api.user(107, "Kim", "en")
    act(kim, lambda: kim.send("/help"), "/back")
    act(kim, lambda: kim.send("/frobnicate"), "/help")
