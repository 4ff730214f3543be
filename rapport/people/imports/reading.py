"""Reading the CSV files people actually have: guessing the encoding and the delimiter.

Spreadsheets and CRM exports save CSV as UTF-8, UTF-8 with a byte-order mark, Windows-1252 or
Latin-1, separated by commas, semicolons (European Excel), tabs or pipes. We guess rather than
ask, and say clearly what is wrong when the file is not a table at all.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DELIMITERS = ",;\t|"
SAMPLE_BYTES = 64 * 1024
BLOCK_BYTES = 1024 * 1024
# Cells longer than the csv module's default limit occur in real notes fields.
csv.field_size_limit(10 * 1024 * 1024)

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


class ImportFileError(ValueError):
    """The file cannot be read as a table; the message tells the user what to do."""


@dataclass
class CsvFormat:
    encoding: str
    delimiter: str
    headers: list[str]

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def _decodes_as(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes; read in blocks so a 200 MB file costs no 200 MB of memory."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head.strip():
        raise ImportFileError("The file is empty. Export your list again with a header row and at least one row.")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        return "utf-16"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("This is a spreadsheet workbook, not a CSV file. In your spreadsheet choose "
                              "File → Save as → CSV, then upload that file.")
    if b"\x00" in head or _looks_binary(head):
        raise ImportFileError("This file is not text (it looks binary). Upload a CSV file: a table saved as "
                              "comma-, semicolon- or tab-separated text.")
    if _decodes_as(path, "utf-8"):
        return "utf-8"
    # Windows-1252 is what Excel writes on most Western machines; it leaves five bytes
    # undefined, and a file using them is plain Latin-1.
    if _decodes_as(path, "cp1252"):
        return "cp1252"
    return "latin-1"


def _looks_binary(head: bytes) -> bool:
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    return controls > max(8, len(head) // 100)


def detect_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    if not lines:
        return ","
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS)
        if dialect.delimiter in DELIMITERS and dialect.delimiter in lines[0]:
            return dialect.delimiter
    except csv.Error:
        pass
    # The sniffer gives up on short or ragged samples; the header line is the best witness.
    counts = {d: lines[0].count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def sniff(path: Path | str) -> CsvFormat:
    """Encoding, delimiter and header row of a CSV file, or ImportFileError saying why not."""
    path = Path(path)
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="", errors="strict") as handle:
        sample = handle.read(SAMPLE_BYTES)
    delimiter = detect_delimiter(sample)
    # newline="": a file from an old Mac ends its lines with a bare CR; split on it as csv expects.
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    headers: list[str] = []
    for row in reader:
        if any(cell.strip() for cell in row):
            headers = [cell.strip() for cell in row]
            break
    if not headers:
        raise ImportFileError("The file has no header row. The first line must name the columns, "
                              "e.g. First Name, Last Name, Email.")
    blank = [i + 1 for i, h in enumerate(headers) if not h]
    while headers and not headers[-1]:
        headers.pop()  # trailing separators are common and harmless
    if any(not h for h in headers):
        raise ImportFileError(f"Column {blank[0]} of the header row has no name. Name every column.")
    seen: set[str] = set()
    for header in headers:
        if header.lower() in seen:
            raise ImportFileError(f"The header row names the column '{header}' twice. Rename one of them.")
        seen.add(header.lower())
    return CsvFormat(encoding=encoding, delimiter=delimiter, headers=headers)


def iter_rows(path: Path | str, fmt: CsvFormat) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every data row after the header. Blank lines are skipped.

    The line number is the physical line where the row starts, as a spreadsheet shows it, so a
    user can find a rejected row even when an earlier cell spanned several lines.
    """
    with Path(path).open("r", encoding=fmt.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=fmt.delimiter)
        header_seen = False
        start = 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not header_seen:
                if any(cell.strip() for cell in row):
                    header_seen = True
                continue
            if not row or not any(cell.strip() for cell in row):
                continue
            yield line, row


def count_data_lines(path: Path | str) -> int:
    """A fast estimate of the number of rows, for progress bars: newlines minus the header."""
    lines = 0
    last = b""
    with Path(path).open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            lines += block.count(b"\n")
            last = block
    if last and not last.endswith(b"\n"):
        lines += 1
    return max(lines - 1, 0)
