"""Reading CSV files: encodings, delimiters, and the files that are not tables at all."""

from __future__ import annotations

import pytest

from rapport.people.imports.mapping import suggest_mapping
from rapport.people.imports.reading import ImportFileError, count_data_lines, iter_rows, sniff

HEADER = "First Name,Last Name,Email\n"


def write(tmp_path, data: bytes, name="file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("encoding", "data", "expected"), [
    ("utf-8", "First Name,Email\nZoë,zoe@example.com\n".encode(), "utf-8"),
    ("utf-8-sig", "First Name,Email\nZoë,zoe@example.com\n".encode("utf-8-sig"), "utf-8-sig"),
    ("cp1252", "First Name,Email\nZoë,zoe@example.com\n".encode("cp1252"), "cp1252"),
    ("utf-16", "First Name\tEmail\nZoë\tzoe@example.com\n".encode("utf-16"), "utf-16"),
])
def test_encodings_are_detected_and_text_reads_back(tmp_path, encoding, data, expected):
    path = write(tmp_path, data)
    fmt = sniff(path)
    assert fmt.encoding == expected
    assert fmt.headers == ["First Name", "Email"]  # no BOM glued to the first header
    rows = list(iter_rows(path, fmt))
    assert rows == [(2, ["Zoë", "zoe@example.com"])]


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path):
    path = write(tmp_path, b"Name,Email\n\x81ber,a@example.com\nM\xfcller,b@example.com\n")
    fmt = sniff(path)
    assert fmt.encoding == "latin-1"
    assert list(iter_rows(path, fmt))[1][1][0] == "Müller"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, delimiter):
    text = delimiter.join(["First Name", "Last Name", "Email"]) + "\n"
    text += delimiter.join(["Ada", "Lovelace", "ada@example.com"]) + "\n"
    text += delimiter.join(["Alan", "Turing", "alan@example.com"]) + "\n"
    fmt = sniff(write(tmp_path, text.encode()))
    assert fmt.delimiter == delimiter
    assert fmt.headers == ["First Name", "Last Name", "Email"]


def test_semicolons_with_commas_inside_cells(tmp_path):
    text = 'Name;Email;Notes\n"Smith, Jo";jo@example.com;"a, b, c"\nAl;al@example.com;x\n'
    fmt = sniff(write(tmp_path, text.encode()))
    assert fmt.delimiter == ";"


def test_header_only_file_has_headers_but_no_rows(tmp_path):
    path = write(tmp_path, HEADER.encode())
    fmt = sniff(path)
    assert list(iter_rows(path, fmt)) == []


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "spreadsheet workbook"),
    (bytes(range(256)) * 40, "not text"),
    (b"First Name,,Email\nA,B,c@example.com\n", "no name"),
    (b"Email,email\na@example.com,b@example.com\n", "twice"),
])
def test_files_that_are_not_tables_say_why(tmp_path, data, message):
    with pytest.raises(ImportFileError, match=message):
        sniff(write(tmp_path, data))


def test_line_numbers_count_physical_lines_and_skip_blank_lines(tmp_path):
    text = 'Name,Email\nA,a@example.com\n\n"Multi\nline",b@example.com\nC,c@example.com\n'
    path = write(tmp_path, text.encode())
    fmt = sniff(path)
    assert [line for line, _ in iter_rows(path, fmt)] == [2, 4, 6]
    assert count_data_lines(path) == 5  # an estimate: newlines minus the header


def test_common_crm_headers_are_suggested():
    headers = ["First Name", "Last Name", "E-mail Address", "Company Name", "Phone Number", "Mobile Phone",
               "Lifecycle Stage", "Job Title", "City", "Country/Region", "Tags", "Favourite colour"]
    mapping = suggest_mapping("contact", headers, [])
    assert mapping == {
        "First Name": "first_name", "Last Name": "last_name", "E-mail Address": "email",
        "Company Name": "company", "Phone Number": "phone", "Mobile Phone": "mobile",
        "Lifecycle Stage": "lifecycle_stage", "Job Title": "job_title", "City": "city",
        "Country/Region": "country", "Tags": "tags", "Favourite colour": "",
    }
    assert suggest_mapping("company", ["Company Name", "Website", "Industry"], []) == {
        "Company Name": "name", "Website": "domain", "Industry": "industry"}
    assert suggest_mapping("contact", ["Email", "Company"], [])["Company"] == "company"
    assert suggest_mapping("company", ["Name", "Domain"], [])["Domain"] == "domain"


def test_custom_fields_are_suggested_by_key_or_label(db):
    from rapport.people.models import CustomField

    plan = CustomField(entity="contact", key="plan", label="Subscription plan", field_type="text")
    seats = CustomField(entity="contact", key="seats", label="Seats", field_type="number")
    mapping = suggest_mapping("contact", ["Email", "Subscription Plan", "custom.seats"], [plan, seats])
    assert mapping["Subscription Plan"] == "custom.plan"
    assert mapping["custom.seats"] == "custom.seats"


def test_lines_ended_by_a_bare_carriage_return_are_read(tmp_path):
    """Old Mac exports end lines with CR alone; the header and every row must still be found."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b"First Name,Last Name,Email\rAda,Lovelace,ada@example.com\rGrace,Hopper,grace@example.com\r")
    fmt = sniff(path)
    assert fmt.headers == ["First Name", "Last Name", "Email"]
    assert list(iter_rows(path, fmt)) == [(2, ["Ada", "Lovelace", "ada@example.com"]),
                                         (3, ["Grace", "Hopper", "grace@example.com"])]
