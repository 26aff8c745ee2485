"""Small-cell suppression: results shown to anyone but analysts never single out a few people.

The rule (k = BACKBONE_MIN_CELL_SIZE, default 5), for one question's counts:

1. Fewer than k people answered: nothing is shown but "fewer than k answered" — every cell
   is hidden, and so is the number who answered.
2. Otherwise every cell with fewer than k people (zero included, so "nobody chose B" cannot
   be told apart from "two chose B") is hidden and reads "fewer than k".
3. Secondary rule for exclusive answers (single choice, yes/no, scale: the cells add up to
   the number who answered): when any cell is hidden, the exact number who answered and every
   percentage are hidden too — otherwise "total minus the shown cells" would give the hidden
   cell back. The total then reads "at least S answered", S being the sum of the shown
   cells (or k, if that is more), and bars are drawn against it. Multiple choice cells do
   not add up to anything, so there the number who answered and the shown cells'
   percentages stay.
4. Words polls: a word named by fewer than k people would quote them, so it is left out
   entirely (with a note how many were left out), never shown as "fewer than k".

Known limit: the rule protects each table on its own. Two tables of the same people
(two questions of a campaign) can sometimes be compared; the totals are kept as lower
bounds so that such differences stay ranges, not exact figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import Translator

DEFAULT_MIN_CELL_SIZE = 5


@dataclass(frozen=True)
class Cell:
    """One answer of a table: its label and count, or None when the count is hidden."""

    label: str
    count: int | None


@dataclass(frozen=True)
class Table:
    """A question's counts after suppression, and what may be said about the total."""

    cells: tuple[Cell, ...]
    k: int
    answered: int | None  # the exact number who answered; None when it is hidden
    at_least: int | None  # with `answered` hidden: the lower bound that is shown (None: < k)
    shares_shown: bool  # percentages may be shown (only for visible cells)
    dropped: int = 0  # words left out (words polls)

    @property
    def suppressed(self) -> bool:
        """Whether anything at all was hidden."""
        return self.answered is None or self.dropped > 0 or any(c.count is None for c in self.cells)

    @property
    def scale(self) -> int:
        """What bars are drawn against: the number who answered, or the lower bound."""
        return self.answered if self.answered is not None else (self.at_least or 0)

    def share(self, cell: Cell) -> float | None:
        """The cell's share of those who answered, when it may be shown."""
        if cell.count is None or not self.shares_shown or not self.answered:
            return None
        return cell.count / self.answered


def suppress(
    rows: list[tuple[str, int]],
    answered: int,
    k: int = DEFAULT_MIN_CELL_SIZE,
    *,
    exclusive: bool,
    words: bool = False,
) -> Table:
    """The table that may be shown for `rows` (label, count) of `answered` people."""
    k = max(1, int(k))
    if k == 1:  # no suppression at all
        return Table(tuple(Cell(label, n) for label, n in rows), k, answered, None, True)
    if answered < k:
        cells = () if words else tuple(Cell(label, None) for label, _ in rows)
        return Table(cells, k, None, None, False, len(rows) if words else 0)
    if words:
        kept = tuple(Cell(label, n) for label, n in rows if n >= k)
        return Table(kept, k, answered, None, True, len(rows) - len(kept))
    cells = tuple(Cell(label, n if n >= k else None) for label, n in rows)
    hidden = any(c.count is None for c in cells)
    if exclusive and hidden:
        # At least k answered (rule 1 passed), so the bound is true even when all is hidden.
        shown = sum(c.count for c in cells if c.count is not None)
        return Table(cells, k, None, max(shown, k), False)
    return Table(cells, k, answered, None, True)


def fewer_than(k: int, t: Translator) -> str:
    """The text of a hidden count: "fewer than 5"."""
    return t.gettext("fewer than {k}").format(k=k)


def count_text(table: Table, cell: Cell, t: Translator) -> str:
    """A cell's count as shown: the number (and share, when allowed) or "fewer than k"."""
    if cell.count is None:
        return fewer_than(table.k, t)
    share = table.share(cell)
    return str(cell.count) if share is None else f"{cell.count} · {t.percent(share)}"


def answered_text(table: Table, t: Translator) -> str:
    """How many answered, as far as it may be said."""
    if table.answered is not None:
        n = table.answered
        return t.ngettext("{n} person answered", "{n} people answered", n).format(n=n)
    if table.at_least:
        n = table.at_least
        return t.ngettext("at least {n} person answered", "at least {n} people answered", n).format(
            n=n
        )
    return t.gettext("fewer than {k} people answered").format(k=table.k)


def dropped_text(table: Table, t: Translator) -> str | None:
    """The note under a words table with words left out, else None."""
    if not table.dropped:
        return None
    return t.gettext("Words named by fewer than {k} people are not shown.").format(k=table.k)


def chart_values(table: Table, t: Translator) -> list[str]:
    """The value text beside each bar of a chart of `table`."""
    return [count_text(table, cell, t) for cell in table.cells]


def chart_rows(table: Table) -> list[tuple[str, int]]:
    """(label, count) rows for a chart: hidden cells get no bar (count 0)."""
    return [(c.label, c.count or 0) for c in table.cells]
