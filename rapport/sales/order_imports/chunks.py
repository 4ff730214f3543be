"""Cutting an orders file into chunks of whole orders without parsing it in the writing process.

Parsing CSV costs a few microseconds a line, and in the writing process (the one that cannot be
spread over cores) that is a sixth of its time. So the writer cuts the file as bytes, at the end
of a record where the next line starts another order, and the processes that judge the lines
parse them. A record ends at a newline outside quotes, which is where the count of quote
characters so far is even (a quote inside a quoted cell is written twice). That holds for the
encodings whose newline, quote and delimiter are single bytes no other character contains (UTF-8,
Windows-1252, Latin-1); other files (UTF-16, lines ending in a lone CR) are read row by row.

Line numbers are those `rapport.people.imports.reading.iter_rows` gives: the physical line where
a row starts, counting the header and blank lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from rapport.people.imports.reading import CsvFormat

SPLITTABLE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252", "latin-1": "latin-1"}
TAIL_BYTES = 64 * 1024
# Joins a row's cells into one string on its way back to the writer, which splits it again only
# for rejected lines (one string per line crosses between processes, not one per cell).
CELL_SEPARATOR = "\x1f"


def splittable(path: Path, fmt: CsvFormat) -> bool:
    if fmt.encoding not in SPLITTABLE or len(fmt.delimiter) != 1:
        return False
    with Path(path).open("rb") as handle:
        head = handle.read(TAIL_BYTES)
    return head.count(b"\r") == head.count(b"\r\n")


def records(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each complete record of data[start:end]; data[start] must begin one."""
    end = len(data) if end is None else end
    begin = pos = start
    odd = False
    while True:
        newline = data.find(b"\n", pos, end)
        if newline < 0:
            return
        if data.count(b'"', pos, newline) & 1:
            odd = not odd
        pos = newline + 1
        if not odd:
            yield begin, pos
            begin = pos


class ByteChunks:
    """(first line number, bytes) of chunks of about `chunk_bytes`, each ending where an order does."""

    def __init__(self, path: Path, fmt: CsvFormat, i_external: int, chunk_bytes: int):
        self.path, self.fmt, self.i_external = Path(path), fmt, i_external
        self.chunk_bytes = max(chunk_bytes, 1)
        self.encoding = SPLITTABLE[fmt.encoding]

    def _cells(self, record: bytes) -> list[str]:
        # The file's own encoding: "utf-8-sig" drops the byte-order mark before the first record.
        text = record.decode(self.fmt.encoding)
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=self.fmt.delimiter), [])

    def _order_of(self, record: bytes) -> str | None:
        """The record's external id, or None for a blank line (which neither starts nor ends an order)."""
        cells = self._cells(record)
        if not any(cell.strip() for cell in cells):
            return None
        return cells[self.i_external].strip() if self.i_external < len(cells) else ""

    def _header_end(self, handle) -> tuple[int, int]:
        """Where the data begins (after the header row and blank lines before it), and its line number."""
        head = b""
        while True:
            block = handle.read(TAIL_BYTES)
            head += block
            for start, end in records(head):
                if any(cell.strip() for cell in self._cells(head[start:end])):
                    return end, line_breaks(head[:end]) + 1
            if not block:
                return len(head), line_breaks(head) + 1

    def _cut(self, buffer: bytes) -> int:
        """Where to end a chunk: the start of the last complete record that begins an order, found
        near the end of the buffer (or anywhere in it); -1 when one order fills the buffer."""
        end = buffer.rfind(b"\n") + 1
        for start in self._tail_starts(buffer, end):
            spans = list(records(buffer, start, end))
            later, cut = None, -1  # the order (and start) of the next non-blank record, walking backwards
            for begin, stop in reversed(spans):
                order = self._order_of(buffer[begin:stop])
                if order is None:
                    continue
                if later is not None and (order != later or not later):
                    return cut
                later, cut = order, begin
        return -1

    @staticmethod
    def _tail_starts(buffer: bytes, end: int) -> Iterator[int]:
        """A record boundary near the end (a newline with an even number of quotes before it), then 0."""
        newline = buffer.rfind(b"\n", 0, max(end - TAIL_BYTES, 0))
        while newline >= 0:
            if not buffer.count(b'"', 0, newline) & 1:
                yield newline + 1
                break
            newline = buffer.rfind(b"\n", 0, newline)
        yield 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        with self.path.open("rb") as handle:
            offset, line = self._header_end(handle)
            handle.seek(offset)
            buffer = b""
            while True:
                block = handle.read(self.chunk_bytes)
                if not block:
                    if buffer.strip():
                        yield line, buffer
                    return
                buffer += block
                cut = self._cut(buffer)
                if cut > 0:
                    piece, buffer = buffer[:cut], buffer[cut:]
                    yield line, piece
                    line += line_breaks(piece)


def line_breaks(data: bytes) -> int:
    """Line breaks as a text file read with newline="" counts them: LF, CRLF and a lone CR."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def parse_chunk(data: bytes, first_line: int, fmt: CsvFormat) -> tuple[list[tuple[int, list[str]]], bool]:
    """(line number, cells) of a chunk's rows, blank ones left out, as iter_rows gives them; and
    whether CELL_SEPARATOR appears in the chunk (then pack_cells must keep lists)."""
    text = data.decode(SPLITTABLE[fmt.encoding])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter)
    rows = []
    start = first_line
    for row in reader:
        line = start
        start = first_line + reader.line_num
        if row and any(cell.strip() for cell in row):
            rows.append((line, row))
    return rows, CELL_SEPARATOR in text


def pack_cells(rows: list[tuple[int, list[str]]], separator_in_text: bool) -> dict[int, str] | dict[int, list[str]]:
    """Each row's cells as one string, keyed by line number (lists when a cell holds the separator)."""
    if separator_in_text:
        return dict(rows)
    return {line: CELL_SEPARATOR.join(cells) for line, cells in rows}


def unpack_cells(packed: str | list[str]) -> list[str]:
    return packed.split(CELL_SEPARATOR) if isinstance(packed, str) else packed
