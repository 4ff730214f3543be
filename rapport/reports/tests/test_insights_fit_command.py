"""`rapport insights fit`: one JSON document on stdout, or a clear error naming the option or line."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command


@pytest.fixture
def export(tmp_path):
    """Two years of purchases by 400 customers, with a European date format and a value column.

    Each customer's dropout rate is drawn from a gamma distribution, as Pareto/NBD assumes. With
    one lifetime rate for everyone, Pareto/NBD's s and beta run off to infinity together, and
    whether the search notices before it stops depended on the machine's floating point."""
    rng = np.random.default_rng(5)
    start = np.datetime64("2023-01-01")
    lines = ["Kunde;Datum;Betrag"]
    for customer in range(400):
        first = int(rng.integers(0, 180))
        rate = rng.gamma(0.8, 1 / 20)  # purchases per day while active
        life = int(rng.exponential(1 / rng.gamma(2.0, 1 / 600)))
        day = first
        while day <= min(first + life, 729):
            date = (start + np.timedelta64(day, "D")).astype(object)
            lines.append(f"K{customer};{date:%d.%m.%Y};{rng.gamma(3, 12):.2f}")
            day += 1 + int(rng.exponential(1 / max(rate, 1e-3)))
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args):
    out = io.StringIO()
    call_command("insights", "fit", *args, stdout=out)
    return json.loads(out.getvalue())


def test_prints_both_models_the_choice_and_the_holdout(export):
    report = run("--transactions", str(export), "--customer-col", "Kunde", "--date-col", "Datum",
                 "--value-col", "Betrag", "--date-format", "%d.%m.%Y", "--calibration-end", "2024-03-31",
                 "--holdout-end", "2024-12-30")
    assert set(report["models"]) >= {"bg_nbd", "pareto_nbd"}
    for model in ("bg_nbd", "pareto_nbd"):
        fitted = report["models"][model]
        assert set(fitted) == {"params", "standard_errors", "log_likelihood"}
        assert all(v > 0 for v in fitted["params"].values())
        assert np.isfinite(fitted["log_likelihood"])
    assert report["chosen"] in ("bg_nbd", "pareto_nbd")
    holdout = report["holdout"]
    assert holdout["actual_repeat_transactions"] > 0
    for predicted in holdout["predicted"].values():
        assert predicted["repeat_transactions"] > 0 and predicted["mean_absolute_error_per_customer"] >= 0
    assert report["customers"] <= 400 and report["period"] == "W"


def test_days_as_the_period_and_no_holdout(export):
    report = run("--transactions", str(export), "--customer-col", "Kunde", "--date-col", "Datum",
                 "--date-format", "%d.%m.%Y", "--period", "D", "--calibration-end", "2024-06-30")
    assert report["period"] == "D" and report["holdout_end"] is None
    assert report["chosen"] == max(("bg_nbd", "pareto_nbd"), key=lambda m: report["models"][m]["log_likelihood"])


@pytest.mark.parametrize(("args", "message"), [
    (["--calibration-end", "2020-01-01"], "--calibration-end: 2020-01-01 is outside the data"),
    (["--calibration-end", "2024-03-31", "--holdout-end", "2024-03-01"], "--holdout-end: 2024-03-01 must be after"),
    (["--calibration-end", "März"], "--calibration-end: 'März' is not a date"),
])
def test_bad_windows_name_the_option(export, args, message):
    with pytest.raises(CommandError, match=message):
        run("--transactions", str(export), "--customer-col", "Kunde", "--date-col", "Datum", "--date-format",
            "%d.%m.%Y", *args)


def test_unparsable_dates_and_negative_values_name_the_line(tmp_path, export):
    with pytest.raises(CommandError, match=r"line 2: column 'Datum': '\d\d\.\d\d\.\d{4}' is not a date in YYYY-MM-DD"):
        run("--transactions", str(export), "--customer-col", "Kunde", "--date-col", "Datum",
            "--calibration-end", "2024-03-31")
    bad = tmp_path / "refund.csv"
    bad.write_text("c,d,v\na,2024-01-01,10\na,2024-02-01,-10\n")
    with pytest.raises(CommandError, match="line 3: column 'v': -10 is negative"):
        run("--transactions", str(bad), "--customer-col", "c", "--date-col", "d", "--value-col", "v",
            "--calibration-end", "2024-01-15")


def test_a_file_where_nobody_bought_again_cannot_be_fitted(tmp_path):
    path = tmp_path / "once.csv"
    path.write_text("c,d\n" + "".join(f"{i},2024-01-{1 + i % 28:02d}\n" for i in range(50)))
    with pytest.raises(CommandError, match="every customer has zero repeat purchases"):
        run("--transactions", str(path), "--customer-col", "c", "--date-col", "d", "--calibration-end", "2024-01-28")
