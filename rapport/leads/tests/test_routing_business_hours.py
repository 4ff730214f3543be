"""The first-response deadline in business hours: weekends, evenings, holidays, lunch, DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from rapport.leads.routing.business_hours import ScheduleError, add_business_hours, business_hours_between

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def due(start, hours, **kwargs):
    kwargs.setdefault("business_hours", NINE_TO_FIVE)
    kwargs.setdefault("time_zone", "Europe/Berlin")
    return add_business_hours(start, hours, **kwargs)


@pytest.mark.parametrize("start, hours, expected", [
    (berlin(2026, 11, 23, 10, 0), 4, berlin(2026, 11, 23, 14, 0)),  # Monday morning: same day
    (berlin(2026, 11, 23, 15, 0), 4, berlin(2026, 11, 24, 11, 0)),  # runs over into Tuesday
    (berlin(2026, 11, 27, 16, 0), 4, berlin(2026, 11, 30, 12, 0)),  # Friday afternoon: Monday noon
    (berlin(2026, 11, 28, 11, 0), 4, berlin(2026, 11, 30, 13, 0)),  # Saturday: counts from Monday 9:00
    (berlin(2026, 11, 24, 20, 0), 2, berlin(2026, 11, 25, 11, 0)),  # evening: counts from next morning
    (berlin(2026, 11, 25, 7, 0), 1, berlin(2026, 11, 25, 10, 0)),  # before opening
    (berlin(2026, 11, 25, 17, 0), 8, berlin(2026, 11, 26, 17, 0)),  # at closing: one full day
    (berlin(2026, 11, 23, 10, 0), 40, berlin(2026, 11, 30, 10, 0)),  # a whole working week
    (berlin(2026, 11, 23, 10, 0), 0.5, berlin(2026, 11, 23, 10, 30)),
])
def test_deadline_skips_closed_time(start, hours, expected):
    assert due(start, hours) == expected


def test_the_deadline_is_returned_in_utc():
    result = due(berlin(2026, 11, 23, 10, 0), 1)
    assert result.utcoffset() == dt.timedelta(0) and result == dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def test_zero_hours_in_closed_time_is_the_next_opening():
    assert due(berlin(2026, 11, 28, 11, 0), 0) == berlin(2026, 11, 30, 9, 0)
    assert due(berlin(2026, 11, 23, 11, 0), 0) == berlin(2026, 11, 23, 11, 0)


def test_holidays_are_closed_all_day():
    # 25 December 2026 is a Friday: Thursday 16:00 + 4 h goes to Monday 28th.
    assert due(berlin(2026, 12, 24, 16, 0), 4, holidays=["2026-12-25"]) == berlin(2026, 12, 28, 12, 0)
    assert due(berlin(2026, 12, 24, 16, 0), 4) == berlin(2026, 12, 25, 12, 0)


def test_a_lunch_break_does_not_count():
    hours = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert due(berlin(2026, 11, 23, 11, 0), 2, business_hours=hours) == berlin(2026, 11, 23, 14, 0)


def test_the_lead_time_zone_is_the_teams_not_utc():
    # 08:30 UTC is 09:30 in Berlin: half an hour of the day already gone.
    start = dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC)
    assert due(start, 1) == berlin(2026, 11, 23, 10, 30)
    assert due(start, 1, time_zone="America/New_York") == dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def test_dst_spring_forward_over_a_weekend_keeps_wall_clock_hours():
    # Clocks go forward on Sunday 29 March 2026: Friday 16:00 CET + 4 h is Monday 12:00 CEST.
    result = due(berlin(2026, 3, 27, 16, 0), 4)
    assert result == berlin(2026, 3, 30, 12, 0)
    assert result == dt.datetime(2026, 3, 30, 10, 0, tzinfo=dt.UTC)


def test_dst_night_spans_last_what_the_clock_says():
    always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    # 29 March 2026: 02:00 does not exist, so three real hours after midnight it is 04:00.
    assert due(berlin(2026, 3, 29, 0, 0), 3, business_hours=always) == berlin(2026, 3, 29, 4, 0)
    # 25 October 2026: that day has 25 hours; 24 h after midnight it is still 23:00.
    assert due(berlin(2026, 10, 25, 0, 0), 24, business_hours=always) == berlin(2026, 10, 25, 23, 0)


def test_hours_between_is_the_inverse():
    start = berlin(2026, 11, 27, 16, 0)
    end = due(start, 4)
    kwargs = {"business_hours": NINE_TO_FIVE, "time_zone": "Europe/Berlin"}
    assert business_hours_between(start, end, **kwargs) == pytest.approx(4)
    assert business_hours_between(end, start, **kwargs) == 0
    assert business_hours_between(berlin(2026, 11, 28, 9), berlin(2026, 11, 29, 18), **kwargs) == 0


@pytest.mark.parametrize("kwargs, field", [
    ({"business_hours": {"mon": [["17:00", "09:00"]]}}, "business_hours.mon"),
    ({"business_hours": {"monday": [["09:00", "17:00"]]}}, "business_hours.monday"),
    ({"business_hours": {"mon": [["nine", "five"]]}}, "business_hours.mon"),
    ({"business_hours": {"mon": [["09:00", "12:00"], ["11:00", "17:00"]]}}, "business_hours.mon"),
    ({"business_hours": {}}, "business_hours"),
    ({"business_hours": ["09:00"]}, "business_hours"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"holidays": ["25/12/2026"]}, "holidays"),
])
def test_unusable_schedules_are_refused_with_the_part_named(kwargs, field):
    with pytest.raises(ScheduleError) as error:
        due(berlin(2026, 11, 23, 10, 0), 4, **kwargs)
    assert field in error.value.errors


def test_bad_starts_and_hours():
    with pytest.raises(ValueError):
        due(dt.datetime(2026, 11, 23, 10, 0), 4)  # naive: which zone?
    with pytest.raises(ValueError):
        due(berlin(2026, 11, 23, 10, 0), -1)


def test_a_schedule_closed_for_good_says_so():
    holidays = [(dt.date(2026, 11, 23) + dt.timedelta(days=i)).isoformat() for i in range(900)]
    with pytest.raises(ScheduleError) as error:
        due(berlin(2026, 11, 23, 10, 0), 4, holidays=holidays)
    assert "no open hours" in error.value.errors["holidays"]
