"""What services need from the running app: the store, the clock, settings."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

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
