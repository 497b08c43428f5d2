"""What the improvement loop's services share: who reads, input checks, filing a report."""

from __future__ import annotations

import hashlib
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import clean_line, has_control_chars, nfc
from docctl.errors import Conflict, Forbidden, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Department, User
from docctl.models_records import Record
from docctl.services import departments
from docctl.services.context import parse_day
from docctl.services.users import find_user

TEXT_MAX = 8000
LINE_MAX = 300
# Improvement records (audit reports, HĐKP reports, review minutes): ten years unless the
# agency's procedure says otherwise (the records procedure's usual period).
RETENTION = "10 năm"


def manages(user: User) -> bool:
    """Tell whether the user runs the improvement loop (the ISO secretary)."""
    return has_perm(user.role, Perm.MANAGE_IMPROVEMENT)


def reads_all(user: User) -> bool:
    """Tell whether the user reads every audit, nonconformity and review.

    The secretary, the head of agency (approvers) and auditors; others see what names them.
    """
    return (manages(user) or has_perm(user.role, Perm.READ_ALL)
            or has_perm(user.role, Perm.APPROVE))


def require_manage(user: User) -> None:
    """Raise Forbidden unless the user runs the improvement loop."""
    if not manages(user):
        raise Forbidden(_l("Only the ISO secretary can do this"))


def key(value) -> int | None:
    """Return an object id from a URL or a body, or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def get_row(model, value, message):
    """Return the row with this id or raise NotFound(message)."""
    number = key(value)
    row = db.session.get(model, number) if number is not None else None
    if row is None:
        raise NotFound(message)
    return row


def text(value, field: str, *, required: bool = False, message=None,
         max_len: int = TEXT_MAX) -> str:
    """Return a cleaned multi-line text (NFC, no control characters)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_l("%(field)s must be text", field=field), field=field)
    cleaned = "".join(ch for ch in nfc(value).replace("\r\n", "\n")
                      if ch in "\n\t" or not has_control_chars(ch)).strip()
    if required and not cleaned:
        raise ValidationError(message or _l("%(field)s is required", field=field), field=field)
    if len(cleaned) > max_len:
        raise ValidationError(_l("%(field)s is too long: at most %(n)s characters",
                                 field=field, n=max_len), field=field)
    return cleaned


def line(value, field: str, *, required: bool = False, message=None,
         max_len: int = LINE_MAX) -> str:
    """Return a cleaned one-line text."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(_l("%(field)s must be text", field=field), field=field)
    if value is not None and len(value) > max_len * 4:
        raise ValidationError(_l("%(field)s is too long: at most %(n)s characters",
                                 field=field, n=max_len), field=field)
    cleaned = clean_line(value, max_len=max_len * 4)
    if len(cleaned) > max_len:
        raise ValidationError(_l("%(field)s is too long: at most %(n)s characters",
                                 field=field, n=max_len), field=field)
    if required and not cleaned:
        raise ValidationError(message or _l("%(field)s is required", field=field), field=field)
    return cleaned


def day(value, field: str, *, required: bool = False) -> date | None:
    """Return a date from a date, "YYYY-MM-DD" or "dd/mm/yyyy"."""
    if isinstance(value, date):
        parsed = value
    elif value is None or isinstance(value, str):
        parsed = parse_day(value, field)
    else:
        raise ValidationError(_l("Enter the date as dd/mm/yyyy"), field=field)
    if required and parsed is None:
        raise ValidationError(_l("%(field)s is required", field=field), field=field)
    return parsed


def person(value, field: str, *, required: bool = True) -> User | None:
    """Return the active user a username names."""
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_l("Name a user for %(field)s", field=field), field=field)
    user = find_user(value.strip())
    if user is None or not user.active:
        raise ValidationError(_l("No active user %(name)s", name=clean_line(value, max_len=64)),
                              field=field)
    return user


def department(value, field: str = "department") -> Department | None:
    """Return the department a code names (None when none is given)."""
    if value in (None, ""):
        return None
    found = departments.find(value) if isinstance(value, str) else None
    if found is None:
        raise ValidationError(_l("Unknown department %(code)s",
                                 code=clean_line(str(value), max_len=20)), field=field)
    return found


def refuse_final(kind_message) -> None:
    """Raise the 409 every change to a closed audit, nonconformity or review gets."""
    raise Conflict(kind_message, reason="closed")


def keeper_id(*users: User | None) -> int:
    """Return the department that keeps an improvement record: the secretary's, else the first.

    Agencies keep ISO records with the ISO secretary (usually the Office, Văn phòng).
    """
    for user in users:
        if user is not None and user.department_id:
            return user.department_id
    first = db.session.scalar(select(Department.id).order_by(Department.id).limit(1))
    if first is None:
        raise Conflict(_l("Create a department first: records are kept by a department"))
    return first


def names(users) -> str:
    """Return "Nguyễn Văn A, Trần Thị B"."""
    return ", ".join(u.display_name for u in users if u is not None)


def file_report(actor: User, *, kind: str, title: str, filename: str, data: bytes,
                record_date: date, keeper: int, reference: str):
    """File a generated report as a record once: a retry after a crash (or a second click)
    finds the record already filed with the same bytes instead of filing it again.

    Call it with nothing else pending in the session: filing commits its intent first.
    """
    from docctl.services import records

    digest = hashlib.sha256(data).hexdigest()
    filed = db.session.scalar(select(Record).where(
        Record.kind == kind, Record.reference == reference, Record.sha256 == digest,
        Record.status == records.RecordStatus.FILED).order_by(Record.id).limit(1))
    if filed is not None:
        return filed
    return records.file_generated(actor, kind=kind, title=title, filename=filename, data=data,
                                  record_date=record_date, keeper_id=keeper,
                                  reference=reference, retention=RETENTION)
