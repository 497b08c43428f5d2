"""Retention periods as agencies write them ("05 năm", "vĩnh viễn", "hết hiệu lực + 01 năm").

A period parses to a number of years (None: kept permanently) and what it counts from: the
record's date, an event named in it ("kể từ khi kết thúc hồ sơ"), or the day the record stops
being in force ("đến khi hết hiệu lực"). With or without diacritics, any case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from docctl.domain.periodic import months_after
from docctl.domain.textfold import fold

MAX_YEARS = 100


class RetentionFrom(StrEnum):
    """What a retention period counts from."""

    RECORD_DATE = "record_date"
    EVENT = "event"          # a named event: case closed, contract ended, ...
    EXPIRY = "expiry"        # the record (or what it is about) stops being in force


class RetentionError(ValueError):
    """A retention period that does not parse."""


@dataclass(frozen=True)
class Retention:
    """A parsed retention period."""

    years: int | None                 # None: permanently
    counts_from: RetentionFrom
    event: str | None = None          # the event's words, as written

    @property
    def permanent(self) -> bool:
        """Tell whether records of this period are never disposed of."""
        return self.years is None

    def until(self, record_date: date, event_date: date | None = None) -> date | None:
        """Return the last day to keep a record; None while permanent or the event is awaited."""
        if self.years is None:
            return None
        start = record_date if self.counts_from == RetentionFrom.RECORD_DATE else event_date
        if start is None:
            return None
        return months_after(start, 12 * self.years)


_PERMANENT = re.compile(r"^(vinh vien|lau dai|permanent(ly)?|forever)$")
_YEARS = r"(\d{1,3})\s*(nam|years?|yrs?)"
_PLAIN = re.compile(rf"^{_YEARS}$")
# "đến khi hết hiệu lực + 01 năm", "hết hiệu lực + 1 năm", "until expiry + 1 year"
_EXPIRY = re.compile(rf"^(den khi\s+)?(het hieu luc|until expiry|expiry)\s*(\+|cong|and)?\s*"
                     rf"(?:{_YEARS})?$")
# "05 năm kể từ khi kết thúc hồ sơ", "10 năm từ ngày đóng hồ sơ", "5 years after case closed"
_EVENT = re.compile(rf"^{_YEARS}\s*(ke tu|tinh tu|tu|sau|after|from)\s+(?P<event>.+)$")


def parse(text: str | None) -> Retention:
    """Parse a retention period; RetentionError if it is not one."""
    raw = " ".join((text or "").split())
    if not raw or len(raw) > 120:
        raise RetentionError(raw[:40])
    folded = fold(raw).strip(" .")
    if _PERMANENT.match(folded):
        return Retention(None, RetentionFrom.RECORD_DATE)
    if m := _PLAIN.match(folded):
        return Retention(_years(m.group(1)), RetentionFrom.RECORD_DATE)
    if m := _EXPIRY.match(folded):
        years = _years(m.group(4)) if m.group(4) else 0
        return Retention(years, RetentionFrom.EXPIRY, raw)
    if m := _EVENT.match(folded):
        # The event's own words, as written (diacritics kept): the tail of the raw text.
        words = len(m.group("event").split())
        event = " ".join(raw.split()[-words:])
        return Retention(_years(m.group(1)), RetentionFrom.EVENT, event)
    raise RetentionError(raw[:40])


def _years(digits: str) -> int:
    years = int(digits)
    if not 1 <= years <= MAX_YEARS:
        raise RetentionError(digits)
    return years


def label(retention: Retention) -> str:
    """Return the period as the agency prints it ("05 năm", "Vĩnh viễn")."""
    if retention.years is None:
        return "Vĩnh viễn"
    if retention.counts_from == RetentionFrom.EXPIRY:
        return "Đến khi hết hiệu lực" + (f" + {retention.years:02d} năm" if retention.years
                                          else "")
    text = f"{retention.years:02d} năm"
    if retention.counts_from == RetentionFrom.EVENT:
        text += f" kể từ {retention.event}"
    return text
