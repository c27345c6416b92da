"""The period a report covers: its defaults, the refusals named under ``from`` and ``to``,
its whole days in the installation's zone, and ``every`` telling all refusals at once."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from core import report_periods
from core.errors import ValidationError
from core.report_periods import Period, checked, day, every, period

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture(autouse=True)
def in_warsaw(monkeypatch):
    """Today is 20 May 2026 in Warsaw."""
    monkeypatch.setattr(report_periods, "today", lambda: date(2026, 5, 20))
    monkeypatch.setattr(report_periods, "zone", lambda: WARSAW)


def refusal(first, last, **kwargs) -> dict:
    with pytest.raises(ValidationError) as refused:
        period(first, last, **kwargs)
    return refused.value.errors


def test_the_period_runs_to_today_from_the_first_of_its_year_or_month():
    assert period(None, None) == Period(date(2026, 1, 1), date(2026, 5, 20))
    assert period("", "2025-03-14") == Period(date(2025, 1, 1), date(2025, 3, 14))
    assert period(None, None, default="month") == Period(date(2026, 5, 1), date(2026, 5, 20))
    assert period(None, date(2025, 3, 14), default="month").first == date(2025, 3, 1)
    given = period(datetime(2026, 2, 1, 13, 30), " 2026-02-28 ")
    assert (given.first, given.last, given.days) == (date(2026, 2, 1), date(2026, 2, 28), 28)
    assert period("2026-05-20", "2026-05-20").days == 1


def test_what_cannot_be_used_is_refused_under_its_field():
    assert refusal("2026-13-01", "someday") == {"from": "Give a date as YYYY-MM-DD.",
                                                "to": "Give a date as YYYY-MM-DD."}
    assert refusal("1899-12-31", "9001-01-01") == {
        "from": "Give a year from 1900 to 9000.", "to": "Give a year from 1900 to 9000."}
    assert refusal("2026-05-02", "2026-05-01") == {
        "to": "The period cannot end before it starts."}
    assert refusal("2026-06-01", None) == {"to": "The period cannot end before it starts."}


def test_a_day_is_checked_on_its_own_under_the_name_given():
    errors: dict = {}
    assert day("2026-03-01", "since", errors) == date(2026, 3, 1)
    assert day(None, "since", errors) is None and errors == {}
    assert day("0001-01-01", "since", errors) is None
    assert errors == {"since": "Give a year from 1900 to 9000."}


def test_the_bounds_are_the_local_midnights_in_utc_across_a_change_of_time():
    march = period("2026-03-29", "2026-03-29")  # summer time starts at 2:00
    assert march.start == datetime(2026, 3, 29, tzinfo=WARSAW)
    assert march.end == datetime(2026, 3, 30, tzinfo=WARSAW)
    assert march.bounds() == (datetime(2026, 3, 28, 23, tzinfo=UTC),
                              datetime(2026, 3, 29, 22, tzinfo=UTC))
    autumn = period("2026-10-01", "2026-10-31")  # winter time from 25 October
    assert autumn.bounds() == (datetime(2026, 9, 30, 22, tzinfo=UTC),
                               datetime(2026, 10, 31, 23, tzinfo=UTC))


def test_every_refusal_is_told_at_once():
    def region():
        raise ValidationError({"region": "Choose a voivodeship from the list."})

    errors: dict = {}
    assert checked(errors, lambda: period("2026-01-01", "2026-01-31")).days == 31
    assert checked(errors, region) is None
    assert errors == {"region": "Choose a voivodeship from the list."}
    with pytest.raises(ValidationError) as refused:
        every(lambda: period("2026-02-30", None), region, lambda: True)
    assert refused.value.errors == {"from": "Give a date as YYYY-MM-DD.",
                                    "region": "Choose a voivodeship from the list."}
    every(lambda: period(None, None), lambda: None)  # nothing refused: nothing raised
