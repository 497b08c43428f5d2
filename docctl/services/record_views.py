"""What the records pages show besides a record itself: choices, links, holds, its disposal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Document, User
from docctl.models_records import Disposition, Record, RecordType
from docctl.services import audit, record_files, record_types, records
from docctl.services.context import today

# HS-2026-000123: the number ends with the record's id (services/records.py names it so).
SLUG = re.compile(r"^\s*HS-(\d{4})-(\d{1,12})\s*$", re.IGNORECASE)
MAX_NAMED = 500


@dataclass(frozen=True)
class FormChoice:
    """A form a user may file records on today, with what its procedure says of them."""

    code: str
    title: str
    keeper: str
    retention: str
    location: str


@dataclass(frozen=True)
class Disposal:
    """Who destroyed a record's content, under which signed list, and when."""

    slug: str
    disposition_id: int | None
    signer: str
    signed_at: datetime | None
    disposed_at: datetime | None


def form_choices(user: User) -> list[FormChoice]:
    """Return the forms whose records the user's department keeps under procedures in force."""
    everyone = has_perm(user.role, Perm.MANAGE_RECORDS)
    seen: dict[str, FormChoice] = {}
    for record_type in record_types.in_force(today()):
        if record_type.form is None or record_type.form.code in seen:
            continue
        if not everyone and record_type.keeper_id != user.department_id:
            continue
        seen[record_type.form.code] = FormChoice(
            record_type.form.code, record_type.name or record_type.form.title,
            record_type.keeper.name, record_type.retention, record_type.location)
    return sorted(seen.values(), key=lambda c: c.code)


def record_id(user: User, number: str, field: str = "records") -> int:
    """Return the id of the record a số hồ sơ (or a bare id) names, if the user sees it."""
    text = (number or "").strip()
    match = SLUG.match(text)
    wanted = int(match.group(2)) if match else int(text) if text.isdigit() else None
    if wanted is None:
        raise ValidationError(_l("%(text)s is not a record number (e.g. HS-2026-000123)",
                                 text=text[:40]), field=field)
    try:
        record = records.get(user, wanted)
    except NotFound:
        record = None
    if record is None or (match and record.slug.upper() != text.upper()):
        raise ValidationError(_l("No record numbered %(text)s", text=text[:40]), field=field)
    return record.id


def record_ids(user: User, text: str | list, field: str = "records") -> list[int]:
    """Return the ids of the records a list of numbers names (one a line, or commas)."""
    parts = text if isinstance(text, list) else re.split(r"[\s,;]+", text or "")
    parts = [p for p in parts if p.strip()]
    if len(parts) > MAX_NAMED:
        raise ValidationError(_l("Name at most %(n)s records at a time", n=MAX_NAMED),
                              field=field)
    return list(dict.fromkeys(record_id(user, p, field) for p in parts))


def link_targets(user: User, record: Record) -> list[tuple[Record | None, Document | None]]:
    """Return what a record links to: the records the user sees, and documents."""
    found = []
    for link in records.links_of(record):
        if link.target_record_id:
            target = db.session.get(Record, link.target_record_id)
            if target is not None and records.can_see(user, target):
                found.append((target, None))
        elif link.target_document_id:
            found.append((None, db.session.get(Document, link.target_document_id)))
    return found


def linked_from(user: User, record: Record) -> list[Record]:
    """Return the records that link to this one, those the user sees."""
    from docctl.models_records import RecordLink
    rows = db.session.scalars(select(Record).join(
        RecordLink, RecordLink.record_id == Record.id).where(
        RecordLink.target_record_id == record.id).order_by(Record.id))
    return [r for r in rows if records.can_see(user, r)]


def disposal(record: Record) -> Disposal | None:
    """Return how a disposed record was destroyed; None while it is filed."""
    if record.status != records.RecordStatus.DISPOSED:
        return None
    row = db.session.get(Disposition, record.disposition_id) if record.disposition_id else None
    signer = row.approver.display_name if row is not None and row.approver else ""
    return Disposal(row.slug if row else "", row.id if row else None, signer,
                    row.approved_at if row else None, record.disposed_at)


def gone_message(record: Record) -> str:
    """Return the sentence a disposed record's page and file state."""
    facts = disposal(record)
    when = facts.signed_at or facts.disposed_at if facts else None
    return str(_l("Destroyed under disposition list %(list)s, signed by %(who)s on %(day)s",
                  list=facts.slug if facts else "?", who=facts.signer if facts else "?",
                  day=when.astimezone(_zone()).strftime("%d/%m/%Y") if when else "?"))


def _zone():
    from docctl.services.context import zone
    return zone()


def download(user: User, record_id) -> tuple[bytes, Record, str]:
    """Return a record's content as filed, its row and media type; the read is recorded."""
    data, record = records.content(user, record_id)
    audit.record_reading("record_downloaded", user, object_type="record",
                         object_id=record.slug, details={"sha256": record.sha256,
                                                         "filename": record.filename})
    return data, record, record_files.MIMETYPE.get(record.media, "application/octet-stream")


def viewed(user: User, record: Record) -> None:
    """Record that a user opened a record's page (its description, not its content)."""
    audit.record_reading("viewed", user, object_type="record", object_id=record.slug)


def procedure_of(record: Record) -> Document | None:
    """Return the procedure whose records list names a record's type."""
    if record.record_type_id is None:
        return None
    record_type = db.session.get(RecordType, record.record_type_id)
    revision = record_types.revision_of(record_type) if record_type else None
    return revision.document if revision is not None else None
