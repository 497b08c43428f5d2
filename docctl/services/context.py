"""What services need from the running app: the store, the clock, settings."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from docctl.errors import ValidationError
from docctl.models import utcnow


def store():
    """Return the app's git store."""
    return current_app.extensions["docctl.store"]


def setting(name: str):
    """Return one configuration value."""
    return current_app.config[name]


def now() -> datetime:
    """Return the server's current UTC time (tests may install a clock)."""
    clock = current_app.config.get("DOCCTL_CLOCK")
    return clock() if clock else utcnow()


def zone() -> ZoneInfo:
    """Return the organisation's time zone."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def today() -> date:
    """Return today's date in the organisation's time zone."""
    return now().astimezone(zone()).date()


def parse_day(value: str | None, field: str) -> date | None:
    """Parse dd/mm/yyyy (or YYYY-MM-DD, from a date input); empty gives None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if "/" in value:
            day, month, year = value.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(_l("Enter the date as dd/mm/yyyy"), field=field) from None
