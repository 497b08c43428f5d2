"""Read a record's file: a filled form or report (.docx, .pdf, .xlsx) or a photo (.jpg, .png)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from docctl.domain import formats
from docctl.errors import TooLarge, UnsupportedFile
from docctl.services import uploads

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGE_MEDIA = {"jpg": "image/jpeg", "png": "image/png"}
MIMETYPE = {**{str(m): t for m, t in formats.MIMETYPE.items()}, **IMAGE_MEDIA}
ACCEPTED = (".docx", ".pdf", ".xlsx", ".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class RecordFile:
    """An accepted record file: its bytes exactly as filed, and its text for search."""

    media: str          # docx, pdf, xlsx, jpg, png
    data: bytes
    filename: str
    size: int
    sha256: str
    text: str


def read(filename: str, data: bytes) -> RecordFile:
    """Check a record's file; raise TooLarge/UnsupportedFile with the reason in words."""
    if not data:
        raise UnsupportedFile(_l("The file is empty"), reason="empty")
    image = _image_kind(data)
    if image is None:
        if formats.sniff(data) == formats.Sniffed.OLE:
            raise UnsupportedFile(_l("A record is kept exactly as filed: save an old Word or "
                                     "Excel file as .docx, .xlsx or PDF first"),
                                  reason="legacy_office")
        # .docx, .pdf, .xlsx: the same checks as a form's upload (size, structure, text).
        upload = uploads.read_upload("form", filename, data)
        return RecordFile(upload.media, upload.data, upload.filename, upload.size,
                          upload.sha256, upload.text)
    cap = uploads.limits()["max_bytes"]
    if len(data) > cap:
        raise TooLarge(f"The file is larger than {cap} bytes", reason="too_large",
                       size=len(data), limit=cap)
    name = (filename or "").strip()[:200] or f"record.{image}"
    if not name.lower().endswith((".jpg", ".jpeg") if image == "jpg" else (".png",)):
        raise UnsupportedFile(_l("The file's name does not match its content (a %(kind)s "
                                 "image)", kind=image.upper()), reason="name_mismatch")
    return RecordFile(image, bytes(data), name, len(data), hashlib.sha256(data).hexdigest(), "")


def _image_kind(data: bytes) -> str | None:
    """Return jpg or png for a whole image, None when the bytes are no image at all."""
    if data.startswith(JPEG_MAGIC):
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise UnsupportedFile(_l("The image is cut short or damaged"), reason="image_damaged")
        return "jpg"
    if data.startswith(PNG_MAGIC):
        if b"IEND" not in data[-16:]:
            raise UnsupportedFile(_l("The image is cut short or damaged"), reason="image_damaged")
        return "png"
    return None
