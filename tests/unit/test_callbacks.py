"""The button-payload codec: hostile payloads never raise, only well-formed ones parse."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot.services import callbacks
from bot.services.callbacks import MAX_BYTES, MAX_ID, Choice, RunButton

ids = st.integers(1, MAX_ID)
codes = st.from_regex(r"[a-z0-9_]{1,24}", fullmatch=True)
flow_ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,40}", fullmatch=True)
actions = st.one_of(
    st.sampled_from(["done", "skip"]),
    codes.map(lambda c: "opt:" + c),
    codes.map(lambda c: "tog:" + c),
    st.integers(-9999, -1).map(lambda n: f"opt:{n}"),
)
# Every character Python strings can hold, lone surrogates included.
any_char = st.characters(blacklist_categories=())


def check_roundtrip(data: str) -> None:
    """Whatever parses encodes back to exactly `data`, and its parts can be read."""
    parsed = callbacks.parse(data)
    if parsed is None:
        return
    assert callbacks.encode(parsed) == data
    assert 1 <= len(data.encode()) <= MAX_BYTES
    if isinstance(parsed, Choice):
        assert parsed.args  # never raises for a parsed payload
        assert all(isinstance(a, int) or a.isascii() or parsed.kind == "c" for a in parsed.args)
    # The typed payload handed to routers carries exactly what the string said.
    typed = callbacks.decode(data)
    assert typed is not None and callbacks.button(typed) == data


@given(st.binary(max_size=64), st.sampled_from(["replace", "surrogateescape", "ignore"]))
@example(b"v:\xc2\xb9:2", "replace")  # a superscript one where the poll id belongs
@example(b"g:99999999999999999999999", "replace")
@example(b"r:1:0:opt:\xed\xa0\xbd", "surrogateescape")
def test_random_bytes_never_raise(raw: bytes, errors: str) -> None:
    check_roundtrip(raw.decode("utf-8", errors))


@given(st.text(any_char, max_size=70))
def test_random_text_never_raises(data: str) -> None:
    check_roundtrip(data)


def payloads() -> st.SearchStrategy[tuple[RunButton | Choice, str]]:
    """Well-formed buttons of every kind, with the payload string the bot would send."""
    run = st.builds(RunButton, ids, st.integers(0, 9999), actions)
    choices = st.one_of(
        st.builds(lambda i, c: Choice("v", f"{i}:{c}"), ids, codes),
        st.builds(lambda k, i: Choice(k, str(i)), st.sampled_from("kng"), ids),
        st.builds(lambda f: Choice("f", f), flow_ids),
        st.builds(lambda v: Choice("x", v), st.sampled_from(["yes", "no"])),
        st.builds(lambda loc: Choice("l", loc), st.sampled_from(["de", "en", "tr", "pt_BR"])),
        st.builds(
            lambda v, b: Choice("c", f"{v}:{b}"),
            st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20),
            st.sampled_from(["16", "u16"]),
        ),
        st.builds(lambda f: Choice("w", f"new:{f}"), flow_ids),
        st.builds(lambda i, g: Choice("w", f"{i}:g:{g}"), ids, ids),
        st.builds(
            lambda i, s: Choice("w", f"{i}:{s}"),
            ids,
            st.sampled_from(["gd", "ok", "no", "s:now", "s:tomorrow", "d:14", "r:3,7", "r:-"]),
        ),
    )
    return st.one_of(run, choices).map(lambda b: (b, payload_of(b)))


KIND_CLASSES = {
    "r": "RunButton",
    "l": "Language",
    "c": "Consent",
    "f": "StartFlow",
    "x": "Delete",
    "v": "Vote",
    "k": "ClosePoll",
    "n": "NextPoll",
    "g": "CampaignStart",
    "w": "WizardStep",
}


def payload_of(button: RunButton | Choice) -> str:
    """The payload written out by hand (not by the codec under test)."""
    if isinstance(button, RunButton):
        return f"r:{button.run_id}:{button.step_index}:{button.action}"
    return f"{button.kind}:{button.value}"


@given(payloads())
def test_well_formed_payloads_parse_back_to_the_same_button(case) -> None:
    button, data = case
    assume(len(data.encode()) <= MAX_BYTES)
    assert callbacks.parse(data) == button
    assert callbacks.encode(button) == data
    typed = callbacks.decode(data)
    assert type(typed).__name__ == KIND_CLASSES[data[0]]
    assert callbacks.button(typed) == data


@given(payloads(), st.integers(0, 80), any_char)
def test_damaged_payloads_never_raise(case, position: int, char: str) -> None:
    _, data = case
    check_roundtrip(data[:position] + char + data[position:])
    check_roundtrip(data[:position] + char + data[position + 1 :])


@pytest.mark.parametrize(
    "data",
    [
        "v:¹:2",  # superscript digit: isdigit() is True, int() raises
        "v:٣:a",  # Arabic-Indic digit: int() would take it
        "k:１２",  # fullwidth digits
        "r:12345678901234567890123:0:opt:a",  # would overflow an INTEGER column
        "g:99999999999999999999999",
        "g:1000000000",  # ten digits
        "g:007",  # not canonical: would encode back as g:7
        "g:0",
        "g:-1",
        "g: 7",
        "g:7\n",
        "r:1:0:",
        "r:1:01:opt:a",
        "r:1:0:opt:A",
        "r:1:0:opt:a:b",
        "v:1:",
        "v:1:a b",
        "w:1:d:x",
        "w:1:g:new",
        "w:new:",
        "x:maybe",
        "c:2026-1:17",
        "c::16",
        "l:de\u0000",
        "q:1",
        "v",
        "",
        "a" * 65,
    ],
)
def test_malformed_payloads_are_refused(data: str) -> None:
    assert callbacks.parse(data) is None
    assert callbacks.decode(data) is None


@given(st.text(any_char, max_size=12))
def test_number_takes_only_canonical_ascii_digits(text: str) -> None:
    value = callbacks.number(text)
    assert value is None or (str(value) == text and 0 <= value <= MAX_ID)


def test_number_bounds() -> None:
    assert callbacks.number("5", 1, 5) == 5
    assert callbacks.number("6", 1, 5) is None
    assert callbacks.number("¹") is None
    assert callbacks.number("1" * 10) is None


def test_the_bot_never_makes_a_button_it_cannot_read() -> None:
    with pytest.raises(ValueError):
        callbacks.choice("g", "¹")
    with pytest.raises(ValueError):
        callbacks.run_button(1, 0, "opt:" + "a" * 60)


def test_typed_payloads_carry_typed_fields() -> None:
    assert callbacks.decode("v:12:a") == callbacks.Vote(12, "a")
    assert callbacks.decode("x:no") == callbacks.Delete(False)
    assert callbacks.decode("c:2026-1:u16") == callbacks.Consent("2026-1", "u16")
    assert callbacks.decode("w:3:d:14") == callbacks.WizardStep(3, "d", 14)
    assert callbacks.decode("w:3:gd").args == (3, "gd")
    assert callbacks.decode("w:new:reporter-interview").args == ("new", "reporter-interview")
    assert callbacks.decode("r:5:2:opt:-3") == callbacks.RunButton(5, 2, "opt:-3")
    with pytest.raises(ValueError):
        callbacks.button(callbacks.Vote(1, "A B"))
    with pytest.raises(ValueError):
        callbacks.button(callbacks.ClosePoll(10**10))


tokens = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
start_links = st.one_of(
    st.builds(callbacks.SessionLink, st.from_regex(r"[2-9A-HJKMNP-Z]{6}", fullmatch=True)),
    st.builds(callbacks.GrantLink, tokens),
    st.builds(callbacks.JoinLink, tokens),
    st.builds(callbacks.FlowLink, flow_ids),
)


@given(start_links)
def test_deep_links_read_back_as_the_same_link(link) -> None:
    payload = callbacks.start_payload(link)
    assert len(payload) <= callbacks.MAX_START
    assert callbacks.decode_start(payload) == link
    assert callbacks.decode_start(" " + payload + " ") == link


@given(st.text(any_char, max_size=80))
def test_any_start_payload_reads_as_one_kind_or_nothing(payload: str) -> None:
    link = callbacks.decode_start(payload)
    assert link is None or len(callbacks.start_payload(link)) <= callbacks.MAX_START
    assert (link is None) == (not payload.strip())
