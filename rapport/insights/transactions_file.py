"""Reading an analyst's own transactions export (CSV) into the columns the engine takes.

Every line must have a customer, a date and a non-negative value; the first line that does not is
named in the error (line number as an editor shows it, the column and the text found), because an
analyst fixing a million-line export needs to know where to look, and because a silently dropped
line would change every number the fit prints.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class TransactionsFileError(ValueError):
    """The file cannot be read as transactions; the message says where and why."""


@dataclass(frozen=True)
class Transactions:
    customer_id: np.ndarray  # str
    date: np.ndarray  # datetime64[D]
    value: np.ndarray  # float64; zeros when no value column was given


def _date_parser(date_format: str | None):
    """A function text -> day; ISO 8601 (a date, or a date and time) when no format is given."""
    if date_format:
        def parse(text: str) -> dt.date:
            return dt.datetime.strptime(text, date_format).date()
    else:
        def parse(text: str) -> dt.date:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            return dt.datetime.fromisoformat(text).date()
    return parse


def read_transactions(path: str | Path, *, customer_col: str, date_col: str, value_col: str | None = None,
                      date_format: str | None = None, delimiter: str | None = None) -> Transactions:
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise TransactionsFileError(f"{path}: cannot be opened ({error.strerror or error})") from None
    with handle:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise TransactionsFileError(f"{path}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise TransactionsFileError(f"{path}: line 1 cannot be read ({error})") from None
        header = [name.strip() for name in header]
        wanted = {"--customer-col": customer_col, "--date-col": date_col}
        if value_col:
            wanted["--value-col"] = value_col
        missing = [f"{option} {name!r}" for option, name in wanted.items() if name not in header]
        if missing:
            raise TransactionsFileError(f"{path}: no column {', '.join(missing)}; the columns are: {', '.join(header)}")
        c_at, d_at = header.index(customer_col), header.index(date_col)
        v_at = header.index(value_col) if value_col else None
        parse = _date_parser(date_format)
        days: dict[str, int] = {}  # exports repeat few distinct dates many times: parse each once
        epoch = dt.date(1970, 1, 1)
        customers: list[str] = []
        dates: list[int] = []
        values: list[float] = []
        line = 1
        try:
            for line, row in enumerate(reader, start=2):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line carries no transaction
                if len(row) < len(header):
                    raise TransactionsFileError(f"line {line}: {len(row)} field(s), the header has {len(header)}")
                customer = row[c_at].strip()
                if not customer:
                    raise TransactionsFileError(f"line {line}: column {customer_col!r} is empty (no customer)")
                text = row[d_at].strip()
                day = days.get(text)
                if day is None:
                    try:
                        day = (parse(text) - epoch).days
                    except ValueError:
                        hint = f"the format {date_format!r}" if date_format else "YYYY-MM-DD (or give --date-format)"
                        raise TransactionsFileError(
                            f"line {line}: column {date_col!r}: {text!r} is not a date in {hint}") from None
                    days[text] = day
                value = 0.0
                if v_at is not None:
                    raw = row[v_at].strip()
                    try:
                        value = float(raw)
                    except ValueError:
                        raise TransactionsFileError(
                            f"line {line}: column {value_col!r}: {raw!r} is not a number") from None
                    if math.isnan(value) or math.isinf(value):
                        raise TransactionsFileError(f"line {line}: column {value_col!r}: {raw!r} is not a finite number")
                    if value < 0:
                        raise TransactionsFileError(
                            f"line {line}: column {value_col!r}: {raw} is negative; refunds and returns are not "
                            "purchases: leave them out of the export or net them into the original purchase")
                customers.append(customer)
                dates.append(day)
                values.append(value)
        except (csv.Error, UnicodeDecodeError) as error:
            raise TransactionsFileError(f"line {line}: cannot be read ({error})") from None
    if not customers:
        raise TransactionsFileError(f"{path}: no transactions after the header")
    return Transactions(
        customer_id=np.array(customers),
        date=np.array(dates, dtype=np.int64).astype("datetime64[D]"),
        value=np.array(values, dtype=np.float64),
    )
