"""Write simple Word documents for the demo organisation and for tests."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import docx
from docx.shared import Pt

# Fixed zip timestamps make the same input give the same bytes, hence the same content hash.
_EPOCH = (1980, 1, 1, 0, 0, 0)
# Characters XML 1.0 cannot hold; python-docx would raise on them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    """Return text in NFC without characters XML cannot carry."""
    return _NOT_XML.sub("", unicodedata.normalize("NFC", text))


def _deterministic(data: bytes) -> bytes:
    """Rewrite a package with fixed timestamps and attributes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=_EPOCH)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info))
    return out.getvalue()


def build_docx(title: str, paragraphs: list[str], *, code: str | None = None,
               header: str | None = None, table: list[list[str]] | None = None) -> bytes:
    """Write a simple .docx (for the demo organisation and tests)."""
    document = docx.Document()
    # Vietnamese administrative documents are set in Times New Roman 13-14 pt.
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)

    props = document.core_properties
    props.title = _clean(title)
    props.identifier = _clean(code) if code else ""
    props.author = "docctl"
    props.comments = ""

    if header or code:
        section_header = document.sections[0].header
        section_header.is_linked_to_previous = False
        lines = [_clean(line) for line in (header, code) if line]
        section_header.paragraphs[0].text = lines[0]
        for line in lines[1:]:
            section_header.add_paragraph(line)

    document.add_heading(_clean(title), level=0)
    for paragraph in paragraphs:
        document.add_paragraph(_clean(paragraph))

    if table:
        width = max(len(row) for row in table)
        grid = document.add_table(rows=len(table), cols=max(width, 1))
        grid.style = "Table Grid"
        for cells, row in zip(grid.rows, table, strict=True):
            for cell, value in zip(cells.cells, row, strict=False):
                cell.text = _clean(value)

    buffer = io.BytesIO()
    document.save(buffer)
    return _deterministic(buffer.getvalue())
