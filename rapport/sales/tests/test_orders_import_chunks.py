"""Cutting an orders file as bytes (chunks.py): chunks end only between orders, and parsing them
gives exactly the rows, cells and line numbers the row-by-row reader gives."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.people.imports.reading import CsvFormat, iter_rows, sniff
from rapport.sales.order_imports.chunks import ByteChunks, pack_cells, parse_chunk, splittable, unpack_cells

HEADER = ["external_id", "ordered_at", "sku", "note"]


def rows_by_chunks(path, chunk_bytes):
    fmt = sniff(path)
    chunks = list(ByteChunks(path, fmt, 0, chunk_bytes))
    parsed = [parse_chunk(data, first_line, fmt)[0] for first_line, data in chunks]
    return fmt, parsed


def check_file(path, chunk_bytes):
    fmt, parsed = rows_by_chunks(path, chunk_bytes)
    assert [row for chunk in parsed for row in chunk] == list(iter_rows(path, fmt))
    for before, after in zip(parsed, parsed[1:], strict=False):
        if before and after:  # a chunk never ends inside an order
            last, first = before[-1][1][0].strip(), after[0][1][0].strip()
            assert last != first or not first, (last, first)
    return parsed


def write_bytes(tmp_path, data: bytes, name="o.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


TRICKY = (
    "\r\n\r\n"  # blank lines before the header
    "external_id,ordered_at,sku,note\r\n"
    'A-1,2026-01-01,S1,"a note, with a comma"\r\n'
    'A-1,2026-01-01,S2,"two\r\nlines and ""quotes"""\r\n'
    "\r\n"
    "A-2,2026-01-02,S1,\r\n"
    ",2026-01-02,S1,no order id\r\n"
    ",2026-01-02,S1,no order id either\r\n"
    'A-3,2026-01-03,S3,"ends in a newline\n"\r\n'
    "A-3,2026-01-03,S4,last line without a line break"
)


@pytest.mark.parametrize("chunk_bytes", [1, 7, 40, 100, 10_000])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_tricky_files_parse_as_the_row_reader_reads_them(tmp_path, chunk_bytes, encoding):
    text = TRICKY.replace("a note", "a café note")
    path = write_bytes(tmp_path, text.encode(encoding))
    assert splittable(path, sniff(path))
    parsed = check_file(path, chunk_bytes)
    rows = [row for chunk in parsed for row in chunk]
    assert [line for line, _ in rows] == [4, 5, 8, 9, 10, 11, 13]
    assert rows[1][1][3] == 'two\r\nlines and "quotes"'
    assert rows[0][1][3] == "a café note, with a comma"


def test_an_order_longer_than_the_tail_that_is_searched_stays_whole(tmp_path):
    lines = ["external_id,ordered_at,sku,note"] + [f"BIG,2026-01-01,S{i},{'x' * 200}" for i in range(600)]
    lines += ["NEXT,2026-01-01,S1,", "LAST,2026-01-01,S1,"]
    path = write_bytes(tmp_path, ("\n".join(lines) + "\n").encode())
    parsed = check_file(path, 5000)
    assert sum(1 for chunk in parsed for _, cells in chunk if cells[0] == "BIG") == 600
    assert len([chunk for chunk in parsed if any(cells[0] == "BIG" for _, cells in chunk)]) == 1


def test_files_that_cannot_be_cut_as_bytes(tmp_path):
    utf16 = write_bytes(tmp_path, "external_id,sku\r\nA,B\r\n".encode("utf-16"), "u16.csv")
    assert not splittable(utf16, sniff(utf16))
    old_mac = write_bytes(tmp_path, b"external_id,sku\rA,B\rC,D\r", "mac.csv")
    assert not splittable(old_mac, CsvFormat(encoding="utf-8", delimiter=",", headers=["external_id", "sku"]))


def test_cells_travel_as_one_string_unless_a_cell_holds_the_separator():
    rows = [(2, ["a", "b", ""]), (3, ["c"])]
    packed = pack_cells(rows, separator_in_text=False)
    assert packed == {2: "a\x1fb\x1f", 3: "c"}
    assert [unpack_cells(packed[n]) for n in (2, 3)] == [["a", "b", ""], ["c"]]
    odd = [(2, ["a\x1fb", "c"])]
    assert unpack_cells(pack_cells(odd, separator_in_text=True)[2]) == ["a\x1fb", "c"]


cell = st.text(alphabet=st.sampled_from(list('ab ,"\n\r;é1')), max_size=6)
order_ids = st.sampled_from(["", "O1", "O2", "O3", " O1 "])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(order_ids, cell, cell), min_size=1, max_size=25),
       chunk_bytes=st.integers(min_value=1, max_value=300), crlf=st.booleans(),
       blank_every=st.integers(min_value=0, max_value=5))
def test_any_file_parses_as_the_row_reader_reads_it(tmp_path, rows, chunk_bytes, crlf, blank_every):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["external_id", "sku", "note"])
    for i, row in enumerate(rows):
        writer.writerow(row)
        if blank_every and i % blank_every == 0:
            out.write("\r\n" if crlf else "\n")
    path = write_bytes(tmp_path, out.getvalue().encode(), "h.csv")
    fmt = sniff(path)
    if not splittable(path, fmt) or fmt.delimiter != ",":
        return  # a sample the sniffer reads another way is the row reader's business
    check_file(path, chunk_bytes)
