"""Periodic review dates: n months on, clamped at month ends, leap years included."""

from datetime import date

import pytest

from docctl.domain.periodic import months_after, next_review


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),      # short February
    (date(2028, 1, 31), 1, date(2028, 2, 29)),      # leap February
    (date(2028, 2, 29), 12, date(2029, 2, 28)),     # leap day, a year on
    (date(2028, 2, 29), 48, date(2032, 2, 29)),     # leap day, four years on
    (date(2026, 8, 31), 6, date(2027, 2, 28)),      # 31 Aug + 6
    (date(2027, 8, 31), 6, date(2028, 2, 29)),      # 31 Aug + 6 into a leap February
    (date(2026, 11, 30), 3, date(2027, 2, 28)),     # 30 Nov + 3
    (date(2026, 3, 31), 1, date(2026, 4, 30)),      # 31 Mar + 1: April has 30
    (date(2026, 12, 31), 1, date(2027, 1, 31)),     # across a year end
    (date(2026, 12, 15), 12, date(2027, 12, 15)),
    (date(2026, 5, 31), 24, date(2028, 5, 31)),     # review_months 24
    (date(2026, 2, 28), 24, date(2028, 2, 28)),     # 28 Feb stays 28 Feb in a leap year
    (date(2026, 10, 31), 36, date(2029, 10, 31)),   # review_months 36
    (date(2025, 2, 28), 36, date(2028, 2, 28)),
    (date(2026, 7, 15), 0, date(2026, 7, 15)),
    (date(2026, 1, 1), 120, date(2036, 1, 1)),
])
def test_months_after_clamps_to_the_end_of_a_short_month(day, months, expected):
    assert months_after(day, months) == expected


@pytest.mark.parametrize("months", [-1, 1.5, "12", None, True])
def test_months_after_refuses_what_is_not_a_number_of_months(months):
    with pytest.raises(ValueError):
        months_after(date(2026, 1, 31), months)


def test_next_review_counts_from_the_later_of_taking_effect_and_the_last_review():
    effective = date(2026, 1, 31)
    assert next_review(effective, None, 12) == date(2027, 1, 31)
    # Reviewed "no change" later: the period runs from the review.
    assert next_review(effective, date(2027, 1, 29), 12) == date(2028, 1, 29)
    assert next_review(effective, date(2027, 8, 31), 6) == date(2028, 2, 29)
    # A review older than the revision in force does not pull the date back.
    assert next_review(effective, date(2025, 6, 1), 12) == date(2027, 1, 31)
    assert next_review(date(2028, 2, 29), None, 12) == date(2029, 2, 28)
