"""Periodic review dates: the same day n months on, clamped to the end of a short month."""

import calendar
from datetime import date


def months_after(day: date, months: int) -> date:
    """Return the day `months` months after `day` (31 Jan + 1 → 28/29 Feb)."""
    if type(months) is not int or months < 0:
        raise ValueError("months must be a non-negative integer")
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_review(effective: date, reviewed: date | None, months: int) -> date:
    """Return when a document falls due: its period after the later of taking effect and
    its last "reviewed, no change"."""
    base = max(effective, reviewed) if reviewed else effective
    return months_after(base, months)
