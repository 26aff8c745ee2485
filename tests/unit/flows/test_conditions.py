"""The `when:` condition language and text placeholders."""

from __future__ import annotations

import pytest

from flows.conditions import ConditionError, parse_condition
from flows.placeholders import PlaceholderError, placeholder_names, render


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ('plan == "training"', {"plan": "training"}, True),
        ('plan != "training"', {"plan": "training"}, False),
        ('"other" in support', {"support": ["a", "other"]}, True),
        ('"other" not in support', {"support": ["a"]}, True),
        ('plan in ["a", "b"]', {"plan": "b"}, True),
        ("age >= 16 and age < 18", {"age": 17}, True),
        ("age > 3 or not plan", {"age": 1, "plan": None}, True),
        ("(a == 1 or b == 2) and c == 3", {"a": 1, "c": 3}, True),
        ("age > -1", {"age": 0}, True),
        ('has_job == "yes"', {"has_job": "no"}, False),
        # unanswered or skipped steps are None and never match a comparison
        ("age > 3", {}, False),
        ('"x" in support', {"support": None}, False),
        ("story == None", {"story": None}, True),
        ("1 < age < 10", {"age": 5}, True),
    ],
)
def test_conditions_evaluate(source, answers, expected):
    assert parse_condition(source).evaluate(answers) is expected


def test_condition_names_in_order():
    assert parse_condition('b == 1 and "x" in a or b > 2').names == ("b", "a")


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('x')",
        "plan.upper() == 'A'",
        "support[0] == 'a'",
        "age + 1 > 3",
        "age if plan else 3",
        "lambda: 1",
        "plan is None",
        "True",
        "[plan] == ['a']",
        "plan ==",
        "{'a': 1}",
    ],
)
def test_forbidden_conditions(source):
    with pytest.raises(ConditionError):
        parse_condition(source)


def test_placeholders_parse_and_render():
    text = "Hi {first_name}, {{nicht ersetzt}} – {plan}."
    assert placeholder_names(text) == ["first_name", "plan"]
    assert render(text, {"first_name": "Mia"}) == "Hi Mia, {nicht ersetzt} – ."


@pytest.mark.parametrize("text", ["{", "a }", "{a.b}", "{0}", "{a!r}", "{a:>3}", "{}", "{A}"])
def test_bad_placeholders(text):
    with pytest.raises(PlaceholderError):
        placeholder_names(text)
