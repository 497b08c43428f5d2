"""The register as it stood on a day, exported for an auditor (CSV or .xlsx)."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from docctl.errors import ValidationError
from docctl.models import User
from docctl.office import sheets
from docctl.services import asof, organisation
from docctl.services.auditlog import CSV_MIME, XLSX_MIME, neutralise
from docctl.services.copies import Download

FORMATS = ("csv", "xlsx")


def _columns() -> list[str]:
    return [gettext("No."), gettext("Code"), gettext("Title"), gettext("Type"),
            gettext("Owner department"), gettext("Issue"), gettext("Effective date"),
            gettext("Issued by decision")]


def export_as_of(user: User, day: date, fmt: str, type_names: dict) -> Download:
    """Return every document with its revision in force on day, one line each."""
    if fmt not in FORMATS:
        raise ValidationError(_l("Unknown file format"), field="format")
    rows = asof.snapshot(user, day)
    table = [[index, *(neutralise(v) for v in (
        row.code, row.title, str(type_names.get(row.doc_type, row.doc_type)), row.department,
        organisation.label(row.issue, row.amendment), row.effective_date.strftime("%d/%m/%Y"),
        row.decision or ""))] for index, row in enumerate(rows, start=1)]
    filename = f"register_as_of_{day.isoformat()}.{fmt}"
    if fmt == "xlsx":
        return Download(sheets.write_xlsx([_columns(), *table]), filename, XLSX_MIME)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_columns())
    writer.writerows(table)
    return Download(out.getvalue().encode("utf-8-sig"), filename, CSV_MIME)
