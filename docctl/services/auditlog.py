"""Read the audit trail: filter, page, export (CSV, .xlsx) — every reading is itself recorded."""

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from docctl.domain.permissions import Perm
from docctl.domain.textfold import clean_code, clean_line, code_key
from docctl.errors import ValidationError
from docctl.extensions import db
from docctl.models import AuditEvent, Document, User
from docctl.services import audit
from docctl.services.context import now, parse_day, zone
from docctl.services.copies import Download
from docctl.services.documents import require
from docctl.services.users import find_user

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
COLUMNS = ("seq", "at_utc", "at_local", "actor_id", "actor_name", "actor_role", "action",
           "object_type", "object_id", "document_code", "revision_number", "details", "reason",
           "source_ip", "prev_hash", "hash")
# A spreadsheet runs a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    """What the auditor asked to see."""

    user: str = ""
    document: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict:
        """Return the filters as plain data (for the audit entry and links)."""
        return {"user": self.user, "document": self.document, "action": self.action,
                "from": self.date_from.isoformat() if self.date_from else "",
                "to": self.date_to.isoformat() if self.date_to else ""}

    def __bool__(self) -> bool:
        return any((self.user, self.document, self.action, self.date_from, self.date_to))


def parse_filters(args) -> Filters:
    """Return the filters of a query string (user, document, action, from, to)."""
    filters = Filters(user=clean_line(args.get("user"), max_len=64),
                      document=clean_code(clean_line(args.get("document"), max_len=40)),
                      action=clean_line(args.get("action"), max_len=40),
                      date_from=parse_day(args.get("from"), "from"),
                      date_to=parse_day(args.get("to"), "to"))
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationError(_l("The start date is after the end date"), field="from")
    return filters


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone()).astimezone(UTC)


def _where(query, filters: Filters):
    if filters.user:
        user = find_user(filters.user)
        query = query.where(AuditEvent.actor_id == user.id) if user is not None else \
            query.where(AuditEvent.actor_name.icontains(filters.user, autoescape=True))
    if filters.document:
        # Any spelling (qt01, QT-01) names the code as registered, which the events carry.
        known = db.session.scalar(select(Document.code).where(
            Document.code_key == code_key(filters.document)))
        query = query.where(AuditEvent.document_code == (known or filters.document))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.date_from:
        query = query.where(AuditEvent.at >= _local_midnight(filters.date_from))
    if filters.date_to:   # inclusive: up to the end of that local day
        query = query.where(AuditEvent.at < _local_midnight(filters.date_to + timedelta(days=1)))
    return query


def entries(filters: Filters, *, page: int = 1, per_page: int = 50,
            newest_first: bool = True) -> tuple[list, int]:
    """Return (rows, total) of the entries matching filters, one page."""
    total = db.session.scalar(_where(select(func.count(AuditEvent.seq)), filters)) or 0
    order = AuditEvent.seq.desc() if newest_first else AuditEvent.seq
    rows = db.session.execute(_where(select(*audit.CHAIN_FIELDS), filters).order_by(order)
                              .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return rows, total


def iter_entries(filters: Filters):
    """Yield every entry matching filters in sequence order."""
    yield from db.session.execute(_where(select(*audit.CHAIN_FIELDS), filters)
                                  .order_by(AuditEvent.seq).execution_options(yield_per=2000))


def read_log(actor: User, filters: Filters, *, page: int = 1, per_page: int = 50,
             newest_first: bool = True) -> tuple[list, int]:
    """Return one page of the log for an auditor, recording the reading."""
    require(actor, Perm.AUDIT)
    rows, total = entries(filters, page=page, per_page=per_page, newest_first=newest_first)
    audit.record_reading("audit_read", actor, object_type="audit",
                         details={"filters": filters.as_dict(), "page": page,
                                  "shown": len(rows), "total": total})
    return rows, total


def actions() -> list[str]:
    """Return every action name present in the trail, for the filter's choices."""
    return list(db.session.scalars(select(AuditEvent.action).distinct()
                                   .order_by(AuditEvent.action)))


def raw_entry(row) -> dict:
    """Return an entry exactly as chained (details as stored text): for evidence."""
    return {"seq": row.seq, "at": row.at.isoformat(), "actor_id": row.actor_id,
            "actor_name": row.actor_name, "actor_role": row.actor_role, "action": row.action,
            "object_type": row.object_type, "object_id": row.object_id,
            "document_code": row.document_code, "revision_number": row.revision_number,
            "details": row.details, "reason": row.reason, "source_ip": row.source_ip,
            "prev_hash": row.prev_hash, "hash": row.hash}


def entry_json(row) -> dict:
    """Return the API form of an entry."""
    try:
        details = json.loads(row.details or "{}")
    except ValueError:
        details = row.details   # a tampered row still shows what it holds
    return {"seq": row.seq, "at": row.at.isoformat(),
            "actor": {"id": row.actor_id, "name": row.actor_name, "role": row.actor_role},
            "action": row.action, "object": {"type": row.object_type, "id": row.object_id},
            "document": row.document_code, "revision": row.revision_number,
            "details": details, "reason": row.reason, "source_ip": row.source_ip,
            "prev_hash": row.prev_hash, "hash": row.hash}


def neutralise(value):
    """Return a cell value a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cells(row) -> list:
    return [row.seq, row.at.isoformat(), row.at.astimezone(zone()).strftime("%d/%m/%Y %H:%M:%S"),
            row.actor_id, row.actor_name, row.actor_role, row.action, row.object_type,
            row.object_id, row.document_code, row.revision_number, row.details, row.reason,
            row.source_ip, row.prev_hash, row.hash]


def csv_bytes(rows) -> tuple[bytes, int]:
    """Return rows as CSV (UTF-8 with BOM, so Excel reads Vietnamese), and how many."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in _cells(row)])
        count += 1
    return out.getvalue().encode("utf-8-sig"), count


def xlsx_bytes(rows) -> tuple[bytes, int]:
    """Return rows as an .xlsx workbook, and how many."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    sheet.append(list(COLUMNS))
    count = 0
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(v)) if isinstance(v, str)
                      else v for v in _cells(row)])
        count += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), count


def export(actor: User, filters: Filters, fmt: str) -> Download:
    """Return the matching entries as CSV or .xlsx in sequence order, recording the export."""
    require(actor, Perm.AUDIT)
    if fmt not in FORMATS:
        raise ValidationError(_l("Unknown file format"), field="format")
    data, count = (csv_bytes if fmt == "csv" else xlsx_bytes)(iter_entries(filters))
    stamp = now().astimezone(zone()).strftime("%Y%m%d-%H%M")
    filename = f"audit-log_{stamp}.{fmt}"
    # The entry carries the file's hash: what was handed out can be proved later.
    audit.record_reading("audit_exported", actor, object_type="audit",
                         details={"format": fmt, "filters": filters.as_dict(),
                                  "entries": count, "sha256": hashlib.sha256(data).hexdigest(),
                                  "filename": filename})
    return Download(data, filename, CSV_MIME if fmt == "csv" else XLSX_MIME)
