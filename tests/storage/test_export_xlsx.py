"""The streamed XLSX of flow exports is a well-formed package that spreadsheet readers take
as it is meant: text stays text whatever it looks like, markup characters survive."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from storage.export import export_flow
from storage.export_xlsx import XlsxCells, cell, shown_width, widths
from storage.repo import Database
from tests.storage.test_export_safety import FLOW_ID, seed_flow

pytestmark = pytest.mark.storage

TRICKY = ['<b>&amp; "x"</b>', "=1+1", "#N/A", "Zeile\nzwei", "  Leerzeichen  ", "123"]


@pytest.mark.parametrize("layout", ["wide", "long"])
async def test_every_part_is_well_formed_and_text_stays_text(
    db: Database, tmp_path: Path, layout: str
) -> None:
    await seed_flow(db, [*TRICKY, "Steuer\x01zeichen"])
    (path,) = await export_flow(db, FLOW_ID, "xlsx", layout, tmp_path / "t.xlsx")
    with zipfile.ZipFile(path) as book:
        assert book.testzip() is None
        names = set(book.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml"} <= names
        for name in names:
            ElementTree.fromstring(book.read(name))  # raises on malformed XML
        workbook = book.read("xl/workbook.xml").decode()
    assert workbook.count("_xlnm._FilterDatabase") == 2
    wb = load_workbook(path)
    ws = wb["data"]
    header = [c.value for c in ws[1]]
    column = header.index("say" if layout == "wide" else "value")
    cells = [row[column] for row in ws.iter_rows(min_row=2)]
    said = [c for c in cells if c.value is not None and c.data_type == "s"]
    values = [c.value for c in said]
    for text in TRICKY:
        assert text in values, text
    # A control character cannot be stored in XML: dropped, the rest kept.
    assert "Steuerzeichen" in values
    # "123" typed as text is not turned into a number; a formula is never a formula.
    assert all(c.data_type == "s" for c in said)


def test_cells_keep_their_type() -> None:
    cells = XlsxCells()
    assert cells.value(None, ";") == cells.blank == "<c/>"
    assert cells.value(["a", "b"], ";").count("a;b") == 1
    assert cells.number(7) == "<c><v>7</v></c>"
    assert cells.value(True, ";") == "<c><v>1</v></c>"
    assert cells.stamp(None) == "<c/>"
    stamp = cells.stamp("2026-11-02 09:30:15.654321")
    assert stamp == cells.stamp("2026-11-02T09:30:15Z") and ' s="1"' in stamp
    assert ' s="2"' in cells.day("2026-09-01", ";")
    assert cells.day("im Herbst", ";") == cell("im Herbst")
    assert shown_width(cell("a\nlonger line")) == len("longer line")
    assert widths(["id"], [[cell("x" * 200)]]) == [60]
