"""Rows of a statistics file kept on disk until its header can be written.

SPSS and Stata files start with a header that must know every string variable's width and
the number of rows; an export learns both only at its last row. Instead of holding the rows
in memory, the writers spool them here (pickled chunks in a temporary file beside the
output) and read them back once, in order, to write the data section: memory stays flat
however many rows there are.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


class Spool:
    """Chunks of rows (format-neutral cells) on disk, with each column's widest text."""

    def __init__(self, columns: int, directory: Path | None = None) -> None:
        # The spool sits beside the output: the export's disk was checked for room there.
        self._file = tempfile.TemporaryFile(dir=directory, prefix=".spool-")  # noqa: SIM115
        self.widths = [0] * columns  # the widest str cell of each column, in UTF-8 bytes
        self.rows = 0

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows (each a sequence of one cell per column) and note the text widths."""
        if not rows:
            return
        widths = self.widths
        for row in rows:
            for i, cell in enumerate(row):
                if cell.__class__ is str:
                    size = len(cell)
                    # Bytes only where characters could be more than one byte wide.
                    if size * 4 > widths[i] and not cell.isascii():
                        size = len(cell.encode("utf-8"))
                    if size > widths[i]:
                        widths[i] = size
        pickle.dump(list(rows), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.rows += len(rows)

    def __iter__(self) -> Iterator[list[Any]]:
        """The rows in the order they were added, one chunk in memory at a time."""
        self._file.seek(0)
        while True:
            try:
                chunk = pickle.load(self._file)
            except EOFError:
                return
            yield from chunk

    def close(self) -> None:
        """Delete the spool file."""
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
