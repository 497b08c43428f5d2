"""The records master list (Danh mục hồ sơ): the record types in force on a day, in one table.

Derived, never kept: each line is a record type declared by a procedure revision in force on
the day (services/record_types.in_force), so the list as of a past day is the list the agency
had then. Exported as .xlsx and .docx; every export is in the audit trail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from docctl.domain.permissions import Perm
from docctl.errors import ValidationError
from docctl.models import User
from docctl.office.lists import ListTable, write_list_docx, write_list_xlsx
from docctl.services import audit, documents, organisation, record_types
from docctl.services.auditlog import XLSX_MIME, neutralise
from docctl.services.context import today
from docctl.services.copies import DOCX_MIME, Download

FORMATS = ("xlsx", "docx")
TITLE = "DANH MỤC HỒ SƠ"
HEADER = ["STT", "Tên hồ sơ", "Mã biểu mẫu", "Đơn vị lưu", "Nơi lưu", "Thời gian lưu",
          "Quy trình"]
WIDTHS = [1.3, 7.5, 3.2, 4.2, 4.5, 3.8, 3.2]


@dataclass(frozen=True)
class Line:
    """One line of the master list."""

    number: int
    name: str                   # the record's name, else its form's title
    form: str | None            # BM-03-01
    form_label: str | None      # the form's issue label as printed (01)
    keeper: str                 # the keeping department's name
    keeper_code: str
    location: str
    retention: str              # as the procedure writes it
    retention_years: int | None
    procedure: str              # QT-03
    procedure_title: str
    procedure_label: str        # the procedure revision's label


def check_day(day) -> date:
    """Return the day asked for, refusing anything that is not a date (400)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValidationError(_l("Give the day as a date (dd/mm/yyyy)"), field="as_of")
    return day


def lines(user: User, day: date | None = None) -> list[Line]:
    """Return the master list as of day (today by default), one line per record type.

    Everyone may read today's list; another day shows superseded procedures, so it needs
    READ_ALL, as the register as of a day does.
    """
    documents.require(user, Perm.READ)
    day = check_day(day) if day is not None else today()
    if day != today():
        documents.require(user, Perm.READ_ALL)
    result = []
    for index, (rt, procedure, revision) in enumerate(
            record_types.in_force_with_procedures(day), start=1):
        form = rt.form
        form_revision = next((r for r in form.revisions if r.number == rt.form_revision),
                             None) if form else None
        result.append(Line(
            number=index, name=rt.name or (form.title if form else ""),
            form=form.code if form else None,
            form_label=documents.label(form_revision) if form_revision else None,
            keeper=rt.keeper.name, keeper_code=rt.keeper.code, location=rt.location,
            retention=rt.retention, retention_years=rt.retention_years,
            procedure=procedure.code, procedure_title=procedure.title,
            procedure_label=documents.label(revision)))
    return result


def as_json(line: Line) -> dict:
    """Return the API form of a line."""
    return {"number": line.number, "name": line.name, "form": line.form,
            "form_label": line.form_label, "keeper": line.keeper_code,
            "keeper_name": line.keeper, "location": line.location,
            "retention": line.retention, "retention_years": line.retention_years,
            "procedure": line.procedure, "procedure_label": line.procedure_label}


def date_line(day: date) -> str:
    """Return the line under the title: the day the list stands at."""
    return f"(Tính đến ngày {day.strftime('%d/%m/%Y')})"


def _table(rows: list[Line], day: date) -> ListTable:
    cells = [[line.number, *(neutralise(v) for v in (
        line.name, line.form or "", line.keeper, line.location, line.retention,
        line.procedure))] for line in rows]
    return ListTable(organisation=organisation.name(), title=TITLE, date_line=date_line(day),
                     header=HEADER, rows=cells, widths=WIDTHS, sheet_name="Danh mục hồ sơ")


def export(user: User, day: date | None, fmt: str) -> Download:
    """Return the master list as of day as .xlsx or .docx, and record the export."""
    if fmt not in FORMATS:
        raise ValidationError(_l("Unknown file format"), field="format")
    day = check_day(day) if day is not None else today()
    rows = lines(user, day)
    table = _table(rows, day)
    if fmt == "xlsx":
        data, mimetype = write_list_xlsx(table), XLSX_MIME
    else:
        data, mimetype = write_list_docx(table), DOCX_MIME
    download = Download(data, f"danh_muc_ho_so_{day.isoformat()}.{fmt}", mimetype)
    audit.record_reading("records_master_list_exported", user, object_type="master_list",
                         object_id="records",
                         details={"format": fmt, "as_of": day.isoformat(), "rows": len(rows),
                                  "filename": download.filename,
                                  "sha256": hashlib.sha256(data).hexdigest()})
    return download
