"""Files of change requests: the requester's attachment, and the list exported (.xlsx, CSV)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from docctl.domain import formats
from docctl.domain.formats import Sniffed
from docctl.domain.textfold import clean_line
from docctl.errors import DocctlError, TooLarge, UnsupportedFile, ValidationError
from docctl.office import sheets
from docctl.services import documents, uploads
from docctl.services.auditlog import CSV_MIME, XLSX_MIME, neutralise
from docctl.services.context import now, zone
from docctl.services.copies import Download

# Screenshots and photos of a problem are as common as documents.
IMAGE_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff"}
IMAGE_NAMES = {"png": (".png",), "jpg": (".jpg", ".jpeg")}
MIMETYPES = {"pdf": formats.MIMETYPE[formats.Media.PDF],
             "docx": formats.MIMETYPE[formats.Media.DOCX],
             "xlsx": formats.MIMETYPE[formats.Media.XLSX],
             "png": "image/png", "jpg": "image/jpeg"}
ALLOWED = _l("An attachment may be a PDF, a Word document (.docx), an Excel workbook (.xlsx), "
             "or a PNG or JPEG picture.")
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Attachment:
    """A checked attachment, stored with its request byte for byte."""

    name: str
    data: bytes
    sha256: str
    kind: str


def _image(data: bytes) -> str | None:
    return next((kind for kind, magic in IMAGE_MAGIC.items() if data.startswith(magic)), None)


def check_attachment(filename, data: bytes) -> Attachment:
    """Check an attachment as uploads are checked; raise TooLarge (413) or UnsupportedFile."""
    name = clean_line(filename if isinstance(filename, str) else "", max_len=200)
    if not data:
        raise ValidationError(_l("The attachment is empty. Choose the file again."),
                              field="attachment")
    cap = uploads.limits()["max_bytes"]
    if len(data) > cap:
        raise TooLarge(_l("The attachment is larger than %(mb)s MB.", mb=cap // (1024 * 1024)),
                       field="attachment", size=len(data), limit=cap)
    kind = _image(data)
    if kind is not None:
        if not name.lower().endswith(IMAGE_NAMES[kind]):
            name = f"{name.rpartition('.')[0] or name or 'attachment'}.{kind}"
    elif formats.sniff(data) in (Sniffed.ZIP, Sniffed.PDF):
        try:
            # The same checks as a revision's file: no macros, links, scripts or zip bombs.
            info = uploads.read_upload("external", name or "attachment", data)
        except DocctlError as exc:
            exc.details.setdefault("field", "attachment")   # worded as for any upload
            raise
        kind, name = info.media, info.filename
    else:
        raise UnsupportedFile(_l("This file cannot be attached. %(allowed)s", allowed=ALLOWED),
                              field="attachment", reason="attachment_type")
    return Attachment(name or f"attachment.{kind}", data, hashlib.sha256(data).hexdigest(),
                      str(kind))


def mimetype(name: str) -> str:
    """Return the type to send an attachment as (never one a browser would run)."""
    ext = name.rpartition(".")[2].lower()
    return MIMETYPES.get("jpg" if ext == "jpeg" else ext, "application/octet-stream")


# --- export ---------------------------------------------------------------------------------

def _columns() -> list[str]:
    return [gettext("No."), gettext("Sent on"), gettext("Code"), gettext("Title"),
            gettext("Revision"), gettext("Requested by"), gettext("Reason"),
            gettext("Attachment"), gettext("Status"), gettext("Decided by"),
            gettext("Decided at"), gettext("Decision reason"), gettext("Draft / revision")]


def _when(moment) -> str:
    return moment.astimezone(zone()).strftime("%d/%m/%Y %H:%M") if moment else ""


def _cells(request, status_names) -> list:
    current = next((r for r in request.document.revisions
                    if r.number == request.revision_number), None)
    carried = request.revision
    return [request.id, _when(request.created_at), request.document.code,
            request.document.title, documents.label(current) if current else "",
            request.requester.display_name, request.reason, request.attachment_name or "",
            str(status_names.get(request.status, request.status)),
            request.decided_by.display_name if request.decided_by else "",
            _when(request.decided_at), request.decision_reason or "",
            documents.label(carried) if carried is not None else ""]


def export(rows, fmt: str, status_names: dict) -> Download:
    """Return the requests as CSV (UTF-8 with BOM, for Excel) or as a .xlsx workbook."""
    if fmt not in FORMATS:
        raise ValidationError(_l("Unknown file format"), field="format")
    table = [[neutralise(v) for v in _cells(r, status_names)] for r in rows]
    stamp = now().astimezone(zone()).strftime("%Y%m%d-%H%M")
    filename = f"change-requests_{stamp}.{fmt}"
    if fmt == "xlsx":
        return Download(sheets.write_xlsx([_columns(), *table]), filename, XLSX_MIME)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_columns())
    writer.writerows(table)
    return Download(out.getvalue().encode("utf-8-sig"), filename, CSV_MIME)
