"""Small-cell suppression: groups of 3 are hidden, groups of 7 shown, totals never give a
hidden cell back, and charts draw no bar for a hidden cell."""

from __future__ import annotations

import io

from PIL import Image

from bot.i18n import translator
from bot.services.charts import BAR, results_png
from bot.services.small_cells import (
    answered_text,
    chart_rows,
    chart_values,
    count_text,
    suppress,
)

EN = translator("en")


def test_a_group_of_three_shows_nothing_but_fewer_than_five():
    table = suppress([("Good", 2), ("Bad", 1), ("Unsure", 0)], 3, 5, exclusive=True)
    assert [c.count for c in table.cells] == [None, None, None]
    assert table.answered is None and table.at_least is None
    assert [count_text(table, c, EN) for c in table.cells] == ["fewer than 5"] * 3
    assert answered_text(table, EN) == "fewer than 5 people answered"
    assert "3" not in " ".join(chart_values(table, EN) + [answered_text(table, EN)])


def test_a_group_of_seven_in_one_cell_is_shown():
    table = suppress([("Yes", 7), ("No", 0)], 7, 5, exclusive=True)
    assert [c.count for c in table.cells] == [7, None]  # zero is "fewer than 5" too
    # One cell hidden: the exact total would give it back, so only a lower bound is said.
    assert table.answered is None and table.at_least == 7
    assert answered_text(table, EN) == "at least 7 people answered"
    assert count_text(table, table.cells[0], EN) == "7"  # no percentage either


def test_all_cells_large_are_shown_with_exact_total_and_shares():
    table = suppress([("A", 7), ("B", 5)], 12, 5, exclusive=True)
    assert not table.suppressed
    assert table.answered == 12
    assert count_text(table, table.cells[0], EN) == "7 · 58%"


def test_mixed_group_hides_the_small_cell_and_the_exact_total():
    rows = [("A", 10), ("B", 6), ("C", 2)]
    table = suppress(rows, 18, 5, exclusive=True)
    assert [c.count for c in table.cells] == [10, 6, None]
    assert table.answered is None and table.at_least == 16
    shown = " ".join(chart_values(table, EN) + [answered_text(table, EN)])
    assert "18" not in shown and "2" not in shown.replace("fewer", "")


def test_multiple_choice_keeps_the_total_hidden_cells_cannot_be_summed_back():
    table = suppress([("A", 6), ("B", 3)], 7, 5, exclusive=False)
    assert [c.count for c in table.cells] == [6, None]
    assert table.answered == 7
    assert count_text(table, table.cells[0], EN) == "6 · 86%"


def test_words_of_few_people_are_left_out_not_quoted():
    table = suppress([("mentoring", 5), ("Ahmet", 1)], 9, 5, exclusive=False, words=True)
    assert [c.label for c in table.cells] == ["mentoring"]
    assert table.dropped == 1


def test_k_is_a_setting_and_the_text_follows_it_in_every_language():
    table = suppress([("A", 2), ("B", 3)], 5, 3, exclusive=True)
    assert [c.count for c in table.cells] == [None, 3]
    de = translator("de")
    assert count_text(table, table.cells[0], de) != "fewer than 3"
    assert "3" in count_text(table, table.cells[0], de)


def test_k_one_shows_everything():
    table = suppress([("A", 1), ("B", 0)], 1, 1, exclusive=True)
    assert [c.count for c in table.cells] == [1, 0] and table.answered == 1


def _bar_pixels(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return dict((colour, n) for n, colour in image.getcolors(1 << 24)).get(BAR, 0)


def test_a_chart_draws_no_bar_for_a_hidden_cell():
    rows = [("Agree", 10), ("Disagree", 4)]
    hidden = suppress(rows, 14, 5, exclusive=True)
    assert chart_rows(hidden) == [("Agree", 10), ("Disagree", 0)]
    values = chart_values(hidden, EN)
    assert values == ["10", "fewer than 5"]
    suppressed = results_png("Q", chart_rows(hidden), hidden.scale, "", values)
    with_bar = results_png("Q", rows, 10, "", values)  # the same scale, with its bar
    only_agree = results_png("Q", [("Agree", 10), ("Disagree", 0)], 10, "", values)
    assert _bar_pixels(with_bar) > _bar_pixels(suppressed) > 0
    # Drawn against the shown lower bound (10), not the true total: as if Disagree were 0.
    assert _bar_pixels(suppressed) == _bar_pixels(only_agree)


def test_every_cell_hidden_of_enough_people_says_at_least_k():
    table = suppress([("Clear", 4), ("Unclear", 3)], 7, 5, exclusive=True)
    assert [c.count for c in table.cells] == [None, None]
    assert answered_text(table, EN) == "at least 5 people answered"
