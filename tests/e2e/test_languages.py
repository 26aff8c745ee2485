"""Interviews in Arabic and Ukrainian through the fake Bot API: the language comes from
Telegram's language_code, and /language switches it in the middle of an interview."""

from __future__ import annotations

import pytest

from bot.i18n import FSI, PDI, strip_isolates
from tests.e2e.helpers import act, answer_map, answers, onboard, runs

pytestmark = pytest.mark.e2e


def test_an_interview_in_arabic_from_telegrams_language_code(bot, fake_api, migrated_url):
    amal = fake_api.user(301, "Amal", "ar")
    # the privacy notice and its buttons are Arabic already
    act(amal, lambda: amal.send("/start reporter-interview"), "/privacy")
    notice = amal.last()
    assert "اسم مستعار" in notice.content
    assert any("أوافق" in label for row in notice.buttons for label in row)
    act(amal, lambda: amal.press("✅"), "كيف تصف نفسك")
    welcome = next(m.content for m in amal.messages() if "Amal" in m.content)
    # the Latin name sits in a direction isolate inside the Arabic sentence
    assert f"{FSI}Amal{PDI}" in welcome
    assert strip_isolates(welcome).startswith("مرحبًا Amal!")

    act(amal, lambda: amal.send("أحب الرسم والموسيقى"), "ماذا تريد أن تفعل بعد المدرسة")
    act(amal, lambda: amal.press("4"), "ما هي خططك بعد المدرسة")
    act(amal, lambda: amal.press("تدريب مهني"), "أي تدريب مهني يهمّك")
    act(amal, lambda: amal.send("تصميم جرافيك"), "عمل جانبي")
    act(amal, lambda: amal.press("نعم"), "كم ساعة")
    # bad input gets an Arabic hint and changes nothing
    act(amal, lambda: amal.send("كثير"), "من فضلك أرسل رقمًا")
    # Arabic-Indic digits are a number too
    act(amal, lambda: amal.send("١٢"), "في ماذا تريد الدعم")
    act(amal, lambda: amal.press("تعلّم الألمانية"), "✅ تعلّم الألمانية")
    act(amal, lambda: amal.press("تم"), "متى موعدك المهم القادم")
    act(amal, lambda: amal.send("15/03/2027"), "ما الذي تغيّر")
    act(amal, lambda: amal.send("بدأت تدريبًا عمليًا."), "رسالة صوتية")
    act(amal, lambda: amal.press("تخطي"), "صورة")
    act(amal, lambda: amal.press("تخطي"), "شكرًا لك")
    amal.wait_for("/start")

    stored = answer_map(migrated_url)
    assert stored["self_image"] == "أحب الرسم والموسيقى"
    assert stored["confidence"] == 4
    assert stored["plan"] == "training"  # option codes, whatever the language
    assert stored["has_job"] == "yes"
    assert stored["job_hours"] == 12
    assert stored["support"] == ["language"]
    assert stored["next_date"] == "2027-03-15"
    [run] = runs(migrated_url)
    assert run.status == "complete" and run.locale == "ar"
    shown = {a["step_id"]: a["shown_text"] for a in answers(migrated_url)}
    assert shown["plan_detail"] == "رائع! أي تدريب مهني يهمّك؟"


def test_an_interview_switched_to_ukrainian_half_way(bot, fake_api, migrated_url):
    oksana = fake_api.user(302, "Oksana", "de")
    onboard(oksana, expect="Wie würdest du dich")
    act(oksana, lambda: oksana.send("Ich bin neugierig."), "Wie gut weißt du")
    act(oksana, lambda: oksana.send("/language"), "Українська")
    choice = oksana.last()
    labels = [label for row in choice.buttons for label in row]
    assert labels == ["Deutsch", "English", "Türkçe", "العربية", "Українська", "Русский"]
    # the answer to the tap, and the open question again, now in Ukrainian
    act(oksana, lambda: oksana.press("Українська"), "Наскільки добре ти зараз знаєш")
    assert any("відтепер я писатиму українською" in m.content for m in oksana.messages())
    act(oksana, lambda: oksana.press("3"), "Що ти плануєш після школи")
    act(oksana, lambda: oksana.press("Ще не знаю"), "Що допомогло б тобі вирішити")
    act(oksana, lambda: oksana.send("Поговорити з кимось"), "підробіток")
    act(oksana, lambda: oksana.press("Ні"), "У чому ти хочеш підтримки")
    # typed, not tapped: a Ukrainian hint
    act(oksana, lambda: oksana.send("все"), "Будь ласка")
    act(oksana, lambda: oksana.press("Знайти практику"), "✅ Знайти практику")
    act(oksana, lambda: oksana.press("Готово"), "наступна важлива подія")
    act(oksana, lambda: oksana.press("Пропустити"), "Що змінилося")
    act(oksana, lambda: oksana.send("Нічого особливого."), "голосовим повідомленням")
    assert any("Майже готово, Oksana!" in m.content for m in oksana.messages())
    act(oksana, lambda: oksana.press("Пропустити"), "фото")
    act(oksana, lambda: oksana.press("Пропустити"), "Дякую, Oksana!")

    stored = answer_map(migrated_url)
    assert stored["plan"] == "unsure"
    assert stored["has_job"] == "no"
    assert stored["support"] == ["internship"]
    [run] = runs(migrated_url)
    assert run.status == "complete" and run.locale == "uk"
    # each answer keeps the wording the person saw: German before the switch, then Ukrainian
    shown = {a["step_id"]: a["shown_text"] for a in answers(migrated_url)}
    assert shown["self_image"] == "Wie würdest du dich in ein paar Sätzen beschreiben?"
    assert shown["plan_unsure"] == "Це зовсім нормально. Що допомогло б тобі вирішити?"


def test_a_forged_language_button_changes_nothing(bot, fake_api, migrated_url):
    ivan = fake_api.user(303, "Ivan", "uk")
    onboard(ivan, expect="Як би ти описав")
    mark = ivan.last()
    query = ivan.press_data("l:xx", message_id=mark.message_id)
    answer = ivan.wait_callback_answer(query)
    assert answer["text"] == "Ця кнопка не працює."
    [run] = runs(migrated_url)
    assert run.locale == "uk"
    # still Ukrainian, still the same question
    act(ivan, lambda: ivan.send("Я люблю футбол."), "Наскільки добре ти зараз знаєш")
