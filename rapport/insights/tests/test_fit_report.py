"""An analyst's transactions file: read with clear errors, fitted, and reported as one document."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights.fit_report import fit_report
from rapport.insights.transactions_file import TransactionsFileError, read_transactions

from .conftest import CALIBRATION_END, OBSERVATION_END, dataset_path


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory):
    """The CDNOW sample as an export would look: a header, dates as YYYYMMDD, values in dollars."""
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    with path.open("w") as out:
        out.write("customer,date,cds,dollars\n")
        for line in dataset_path("CDNOW_sample.txt").read_text().splitlines():
            _, customer, day, cds, dollars = line.split()
            out.write(f"{customer},{day},{cds},{dollars}\n")
    return path


def write(tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cdnow_file_reproduces_the_published_fits_and_chooses_on_the_holdout(cdnow_csv):
    table = read_transactions(cdnow_csv, customer_col="customer", date_col="date", value_col="dollars",
                              date_format="%Y%m%d")
    assert len(table.customer_id) == 6919
    report = fit_report(table, calibration_end=CALIBRATION_END, holdout_end=OBSERVATION_END)
    bg = report["models"]["bg_nbd"]
    assert [round(bg["params"][k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert bg["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert all(v > 0 for v in bg["standard_errors"].values())
    pareto = report["models"]["pareto_nbd"]
    assert [round(pareto["params"][k], 3) for k in ("r", "alpha", "s", "beta")] == [0.553, 10.578, 0.606, 11.669]
    gg = report["models"]["gamma_gamma"]
    assert [round(gg["params"][k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    assert report["customers"] == 2357 and report["repeat_buyers"] == 946
    holdout = report["holdout"]
    # 4,339 repeat purchases by week 78, 2,457 of them in the calibration weeks.
    assert holdout["actual_repeat_transactions"] == 1882
    errors = {name: p["mean_absolute_error_per_customer"] for name, p in holdout["predicted"].items()}
    assert report["chosen"] == min(errors, key=errors.get)
    assert report["chosen"] in report["reason"]


def test_without_a_holdout_the_higher_likelihood_is_chosen(cdnow_csv):
    table = read_transactions(cdnow_csv, customer_col="customer", date_col="date", date_format="%Y%m%d")
    report = fit_report(table, calibration_end=CALIBRATION_END, with_values=False)
    assert report["holdout_end"] is None and "holdout" not in report
    assert report["chosen"] == "bg_nbd"  # -9,582.4 against -9,595.0
    assert "gamma_gamma" in report["failures"] and "gamma_gamma" not in report["models"]


def test_iso_dates_and_datetimes_are_read_by_default(tmp_path):
    path = write(tmp_path, "who;when;amount\na;2024-01-05;10\na;2024-02-01T10:30:00;5.5\nb;2024-01-07;3\n")
    table = read_transactions(path, customer_col="who", date_col="when", value_col="amount")
    assert table.date.tolist() == list(np.array(["2024-01-05", "2024-02-01", "2024-01-07"], dtype="datetime64[D]"))
    assert table.value.tolist() == [10.0, 5.5, 3.0]


@pytest.mark.parametrize(("text", "message"), [
    ("c,d,v\n1,2024-01-01,5\n2,31/12/2024,5\n", "line 3: column 'd': '31/12/2024' is not a date"),
    ("c,d,v\n1,2024-01-01,5\n2,2024-01-02,-4\n", "line 3: column 'v': -4 is negative"),
    ("c,d,v\n1,2024-01-01,nan\n", "line 2: column 'v': 'nan' is not a finite number"),
    ("c,d,v\n1,2024-01-01,ten\n", "line 2: column 'v': 'ten' is not a number"),
    ("c,d,v\n,2024-01-01,1\n", "line 2: column 'c' is empty"),
    ("c,d,v\n1,2024-01-01\n", "line 2: 2 field(s), the header has 3"),
    ("c,d,v\n", "no transactions after the header"),
    ("", "the file is empty"),
    ("customer,day,v\n1,2024-01-01,1\n", "no column --customer-col 'c', --date-col 'd'; the columns are: customer, day, v"),
])
def test_bad_files_are_refused_naming_the_line(tmp_path, text, message):
    with pytest.raises(TransactionsFileError, match=None) as error:
        read_transactions(write(tmp_path, text), customer_col="c", date_col="d", value_col="v")
    assert message in str(error.value)


def test_a_custom_date_format_that_does_not_match_says_so(tmp_path):
    path = write(tmp_path, "c,d\n1,2024-01-01\n")
    with pytest.raises(TransactionsFileError, match="not a date in the format '%d/%m/%Y'"):
        read_transactions(path, customer_col="c", date_col="d", date_format="%d/%m/%Y")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(TransactionsFileError, match="cannot be opened"):
        read_transactions(tmp_path / "nope.csv", customer_col="c", date_col="d")


@pytest.mark.parametrize(("calibration_end", "holdout_end", "message"), [
    ("1996-12-31", None, "calibration_end: 1996-12-31 is outside the data, which runs from 1997-01-01 to 1998-06-30"),
    ("1998-07-01", None, "calibration_end: 1998-07-01 is outside the data"),
    ("1997-09-30", "1997-09-01", "holdout_end: 1997-09-01 must be after the calibration end 1997-09-30"),
    ("1997-09-30", "1999-01-01", "holdout_end: 1999-01-01 is after the last transaction (1998-06-30)"),
    ("30/09/1997", None, "calibration_end: '30/09/1997' is not a date"),
])
def test_windows_outside_the_data_are_refused(cdnow_csv, calibration_end, holdout_end, message):
    table = read_transactions(cdnow_csv, customer_col="customer", date_col="date", date_format="%Y%m%d")
    with pytest.raises(ValueError) as error:
        fit_report(table, calibration_end=calibration_end, holdout_end=holdout_end)
    assert message in str(error.value)
