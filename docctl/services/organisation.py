"""The organisation's own settings: its name, code patterns, label format, review period."""

import json

from sqlalchemy import select

from docctl.domain.labels import DEFAULT_FORMAT, LabelFormat, format_label
from docctl.extensions import db
from docctl.models import Setting
from docctl.services.context import now, setting

# Setting rows (the `setting` table); absent rows fall back to the defaults below.
NAME = "org_name"
NAME_EN = "org_name_en"
LABEL_FORMAT = "label_format"
CODE_PATTERNS = "code_patterns"
REVIEW_MONTHS = "default_review_months"

DEFAULT_REVIEW_MONTHS = 12


def _get(name: str) -> str | None:
    row = db.session.scalar(select(Setting).where(Setting.name == name))
    return row.value if row is not None else None


def put(name: str, value: str) -> None:
    """Store one organisation setting in the caller's unit of work (no commit)."""
    row = db.session.get(Setting, name)
    if row is None:
        db.session.add(Setting(name=name, value=value, updated_at=now()))
    else:
        row.value, row.updated_at = value, now()


def name() -> str:
    """Return the organisation's name as printed on every page and stamp."""
    return _get(NAME) or setting("ORG_NAME") or ""


def label_format() -> LabelFormat:
    """Return how revision labels are printed."""
    value = _get(LABEL_FORMAT)
    return LabelFormat(value) if value in LabelFormat._value2member_map_ else DEFAULT_FORMAT


def label(issue: int, amendment: int) -> str:
    """Return the label of an issue and amendment in the organisation's format."""
    return format_label(issue, amendment, label_format())


def code_patterns() -> dict[str, str]:
    """Return the organisation's code patterns by document type ({} means the defaults)."""
    try:
        value = json.loads(_get(CODE_PATTERNS) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def default_review_months() -> int:
    """Return the review period new documents get unless registered with their own."""
    value = _get(REVIEW_MONTHS)
    return int(value) if value and value.isdigit() else DEFAULT_REVIEW_MONTHS
