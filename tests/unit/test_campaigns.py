"""Campaign rules without a database: durations, quiet hours (and DST), months, messages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services import callbacks
from bot.services.campaigns import (
    QuietHours,
    add_months,
    message_for,
    parse_duration,
    parse_quiet,
)
from storage.models import Campaign
from storage.outbox import Claimed

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def campaign(quiet: tuple[str, str] = ("20:00", "08:00"), **kw) -> Campaign:
    return Campaign(
        id=kw.pop("id", 7),
        flow_id="partner-checkup",
        groups=["partners"],
        status="running",
        start_at=berlin(2026, 11, 2, 9, 0),
        deadline=kw.pop("deadline", berlin(2026, 11, 16, 18, 0)),
        remind_after=[3 * 86400],
        max_reminders=3,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        texts=kw.pop("texts", {}),
        created_by="cli",
        **kw,
    )


# --- parse_duration / parse_quiet -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3d", 3 * 86400),
        ("12h", 12 * 3600),
        ("30m", 1800),
        ("45s", 45),
        ("2w", 14 * 86400),
        (" 7D ", 7 * 86400),
        ("3 d", 3 * 86400),
        ("0d", 0),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "3", "d", "3x", "-3d", "1.5d", "3 days", "3d4h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:00-08:00", ("20:00", "08:00")),
        (" 22:30-06:15 ", ("22:30", "06:15")),
        ("12:00-14:00", ("12:00", "14:00")),
        ("00:00-23:59", ("00:00", "23:59")),
    ],
)
def test_parse_quiet(text: str, expected: tuple[str, str]) -> None:
    assert parse_quiet(text) == expected


@pytest.mark.parametrize(
    "text", ["20-08", "8:00-20:00", "24:00-08:00", "20:60-08:00", "20:00–08:00", "20:00"]
)
def test_parse_quiet_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a time range"):
        parse_quiet(text)


# --- QuietHours -----------------------------------------------------------------------------

QUIET = QuietHours(BERLIN)


@pytest.mark.parametrize(
    ("local", "active"),
    [
        (berlin(2026, 11, 2, 19, 59), False),
        (berlin(2026, 11, 2, 20, 0), True),
        (berlin(2026, 11, 2, 23, 59), True),
        (berlin(2026, 11, 3, 0, 0), True),
        (berlin(2026, 11, 3, 7, 59), True),
        (berlin(2026, 11, 3, 8, 0), False),
        (berlin(2026, 11, 3, 12, 0), False),
    ],
)
def test_quiet_hours_spanning_midnight(local: datetime, active: bool) -> None:
    # Given in UTC, as the sender's clock is: the check converts to local time.
    assert QUIET.active(campaign(), local.astimezone(UTC)) is active


@pytest.mark.parametrize(
    ("local", "active"),
    [
        (berlin(2026, 11, 2, 11, 59), False),
        (berlin(2026, 11, 2, 12, 0), True),
        (berlin(2026, 11, 2, 13, 59), True),
        (berlin(2026, 11, 2, 14, 0), False),
        (berlin(2026, 11, 2, 23, 0), False),
    ],
)
def test_quiet_hours_same_day_window(local: datetime, active: bool) -> None:
    assert QUIET.active(campaign(("12:00", "14:00")), local.astimezone(UTC)) is active


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    assert not QUIET.active(campaign(("08:00", "08:00")), berlin(2026, 11, 2, 8, 0))


def test_next_morning_in_the_evening_is_tomorrow() -> None:
    got = QUIET.next_morning(campaign(), berlin(2026, 11, 2, 21, 30).astimezone(UTC))
    assert got == berlin(2026, 11, 3, 8, 0)
    assert got.tzinfo == ZoneInfo("UTC")


def test_next_morning_after_midnight_is_the_same_day() -> None:
    got = QUIET.next_morning(campaign(), berlin(2026, 11, 3, 2, 15).astimezone(UTC))
    assert got == berlin(2026, 11, 3, 8, 0)


def test_next_morning_of_a_same_day_window_is_its_end() -> None:
    got = QUIET.next_morning(campaign(("12:00", "14:00")), berlin(2026, 11, 2, 12, 30))
    assert got == berlin(2026, 11, 2, 14, 0)


def test_next_morning_across_the_spring_dst_change() -> None:
    # Night of 28/29 March 2026: clocks go from 02:00 CET to 03:00 CEST.
    now = berlin(2026, 3, 28, 22, 0).astimezone(UTC)
    got = QUIET.next_morning(campaign(), now)
    assert got == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert got.astimezone(BERLIN).hour == 8
    assert QUIET.active(campaign(), datetime(2026, 3, 29, 5, 59, tzinfo=UTC))  # 07:59 CEST
    assert not QUIET.active(campaign(), got)


def test_next_morning_across_the_autumn_dst_change() -> None:
    # Night of 24/25 October 2026: clocks go from 03:00 CEST back to 02:00 CET.
    now = berlin(2026, 10, 24, 23, 0).astimezone(UTC)
    got = QUIET.next_morning(campaign(), now)
    assert got == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert got.astimezone(BERLIN).hour == 8
    # 02:30 happens twice that night; both are quiet.
    for fold in (0, 1):
        moment = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=fold)
        assert QUIET.active(campaign(), moment.astimezone(UTC))


# --- add_months -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 9, 0), 1, datetime(2026, 2, 28, 9, 0)),
        (datetime(2028, 1, 31, 9, 0), 1, datetime(2028, 2, 29, 9, 0)),
        (datetime(2026, 3, 31, 9, 0), 1, datetime(2026, 4, 30, 9, 0)),
        (datetime(2026, 8, 31, 9, 0), 6, datetime(2027, 2, 28, 9, 0)),
        (datetime(2027, 8, 31, 9, 0), 6, datetime(2028, 2, 29, 9, 0)),
        (datetime(2026, 5, 31, 9, 0), 6, datetime(2026, 11, 30, 9, 0)),
        (datetime(2026, 11, 30, 9, 0), 3, datetime(2027, 2, 28, 9, 0)),
        (datetime(2026, 12, 15, 9, 0), 1, datetime(2027, 1, 15, 9, 0)),
        (datetime(2026, 6, 15, 9, 0), 12, datetime(2027, 6, 15, 9, 0)),
        (datetime(2026, 6, 15, 9, 0), 30, datetime(2028, 12, 15, 9, 0)),
    ],
)
def test_add_months_clamps_to_the_last_day(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_add_months_keeps_the_local_time_across_dst() -> None:
    got = add_months(berlin(2026, 1, 15, 9, 0), 6)
    assert got == berlin(2026, 7, 15, 9, 0)
    assert got.utcoffset().total_seconds() == 7200


# --- message_for ----------------------------------------------------------------------------


def claimed(kind: str = "invitation", *, started: bool = False, locale: str | None = "en"):
    return Claimed(
        delivery_id=1,
        campaign_id=7,
        participant_id=3,
        chat_id=42,
        kind=kind,
        seq=0 if kind == "invitation" else 1,
        locale=locale,
        language_code=None,
        started=started,
    )


def render(kind: str = "invitation", **kw):
    texts = kw.pop("texts", {})
    return message_for(
        claimed(kind, **kw), campaign(texts=texts), "Partner check-up", "en", "Europe/Berlin"
    )


def test_invitation_names_title_and_deadline_with_a_start_button() -> None:
    text, keys = render()
    assert "We would like to hear from you" in text
    assert "“Partner check-up”" in text
    assert "Nov 16, 2026" in text and "6:00" in text  # the deadline, local time
    assert "{title}" not in text and "{deadline}" not in text
    assert text.endswith("(Send /stop if you do not want these messages.)")
    assert keys == [[("▶ Start", "g:7")]]


def test_reminder_for_someone_who_has_not_started() -> None:
    text, keys = render("reminder")
    assert "is still open for you until" in text
    assert "“Partner check-up”" in text
    assert "/stop" in text
    assert keys == [[("▶ Start", "g:7")]]


def test_reminder_for_someone_who_started_says_continue() -> None:
    text, keys = render("reminder", started=True)
    assert "you started “Partner check-up”" in text
    assert "continue where you left off" in text
    assert "/stop" in text
    assert keys == [[("▶ Continue", "g:7")]]


def test_button_data_is_a_campaign_choice() -> None:
    _, keys = render()
    data = keys[0][0][1]
    assert data == callbacks.choice("g", "7")
    assert callbacks.parse(data) == callbacks.Choice("g", "7")


CUSTOM = {
    "invitation": {"de": "Hallo! Bitte „{title}“ bis {deadline} beantworten.", "en": "Hi {title}"},
    "reminder": {"de": "Erinnerung: {title} läuft bis {deadline}."},
}


def test_custom_invitation_per_language_fills_placeholders() -> None:
    text, _ = render(texts=CUSTOM, locale="de")
    first = text.split("\n\n")[0]
    assert first.startswith("Hallo! Bitte „Partner check-up“ bis ")
    assert "16.11.2026" in first  # German date format
    assert "{" not in text
    assert "/stop" in text  # the footer is always there


def test_custom_text_in_another_language_is_used_for_that_language() -> None:
    text, _ = render(texts=CUSTOM, locale="en")
    assert text.split("\n\n")[0] == "Hi Partner check-up"


def test_custom_reminder_replaces_both_default_reminders() -> None:
    for started in (False, True):
        text, keys = render("reminder", texts=CUSTOM, locale="de", started=started)
        assert text.startswith("Erinnerung: Partner check-up läuft bis ")
        assert keys[0][0][1] == "g:7"


def test_no_custom_text_in_the_language_falls_back_to_the_default() -> None:
    text, _ = render("reminder", texts=CUSTOM, locale="en")
    assert "is still open for you until" in text


def test_language_is_negotiated_when_the_person_has_no_locale() -> None:
    c = Claimed(1, 7, 3, 42, "invitation", 0, None, "de-AT", False)
    text, _ = message_for(c, campaign(texts=CUSTOM), "T", "en", "Europe/Berlin")
    assert text.startswith("Hallo! Bitte „T“")


def test_cli_parental_flag_matches_telegram() -> None:
    import typer.main

    from bot.cli_campaigns import groups_app
    from bot.services.staff import PARENTAL_FLAG

    invite = typer.main.get_command(groups_app).commands["invite"]
    assert any(PARENTAL_FLAG in param.opts for param in invite.params)


# --- validate_plan: the one set of rules for the wizard and the CLI ---------------------------
def plan(**kw):
    from bot.services.campaigns import Plan

    start = kw.pop("start", berlin(2030, 3, 1, 9, 0))
    deadline = kw.pop("deadline", berlin(2030, 3, 15, 18, 0))
    return Plan("partner-checkup", ["partners"], start, deadline, **kw)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"deadline": berlin(2030, 3, 1, 9, 0)}, "deadline_before_start"),
        ({"max_reminders": -1}, "negative_max_reminders"),
        ({"remind_after": [86400], "max_reminders": 0}, "reminders_contradict"),
        ({"remind_after": [0]}, "reminder_not_positive"),
        ({"remind_after": [20 * 86400]}, "reminder_after_deadline"),
        ({"remind_after": [3600, 7200], "max_reminders": 1}, "too_many_reminders"),
        ({"every_months": 25}, "every_months"),
        ({"texts": {"invitation": {"xx": "Hi"}}}, "unknown_language"),
        ({"texts": {"reminder": {"de": "Hallo {first_name}"}}}, "unknown_placeholder"),
    ],
)
def test_validate_plan_names_the_rule_a_plan_breaks(kw: dict, code: str) -> None:
    from bot.services.campaigns import PlanError, validate_plan

    with pytest.raises(PlanError) as caught:
        validate_plan(plan(**kw))
    assert caught.value.code == code


def test_validate_plan_refuses_a_start_in_the_past_only_when_asked() -> None:
    from bot.services.campaigns import PlanError, validate_plan

    old = plan(start=berlin(2020, 1, 1, 9, 0))
    assert validate_plan(old).start_at == old.start_at
    with pytest.raises(PlanError) as caught:
        validate_plan(old, datetime(2026, 12, 1, tzinfo=UTC))
    assert caught.value.code == "start_in_past"


def test_preset_reminders_are_fitted_to_the_deadline_and_the_maximum() -> None:
    from bot.services.campaigns import validate_plan

    week = plan(deadline=berlin(2030, 3, 8, 9, 0), remind_after=[7 * 86400, 3 * 86400, 86400])
    assert validate_plan(week, presets=True).remind_after == [86400, 3 * 86400]
    capped = plan(remind_after=[86400, 2 * 86400, 3 * 86400], max_reminders=2)
    assert validate_plan(capped, presets=True).remind_after == [86400, 2 * 86400]
    assert (
        validate_plan(plan(remind_after=[86400], max_reminders=0), presets=True).remind_after == []
    )
