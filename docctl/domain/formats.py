"""File formats: which stored formats each document type accepts, and how bytes name theirs."""

from enum import StrEnum

from docctl.domain.numbering import DocType


class Media(StrEnum):
    """Formats a revision is stored in (legacy .doc is converted to DOCX on upload)."""

    DOCX = "docx"
    PDF = "pdf"
    XLSX = "xlsx"


class Sniffed(StrEnum):
    """What the first bytes of an upload say it is, whatever its name claims."""

    ZIP = "zip"        # an OOXML package: .docx or .xlsx, told apart by its parts
    OLE = "ole"        # an OLE2 compound file: legacy .doc, or an encrypted OOXML package
    PDF = "pdf"
    UNKNOWN = "unknown"


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"
# PDF readers accept the header anywhere in the first KiB; so do we, but nowhere later.
PDF_HEADER_WINDOW = 1024

# Procedures, instructions, the manual, the policy and the objectives are written and revised
# by the agency in Word: their controlled copies carry the full stamp, signature and history
# pages, and a PDF or sheet would freeze text the next revision must edit. Forms are filled in
# and are often Excel sheets or fixed PDFs; external documents (laws, decrees, standards) and
# scanned signed decisions arrive as PDF and are never edited here. Records are not
# revisions of a document (issue #12 files them apart).
ACCEPTS: dict[DocType, frozenset[Media]] = {
    DocType.MANUAL: frozenset({Media.DOCX}),
    DocType.POLICY: frozenset({Media.DOCX}),
    DocType.OBJECTIVE: frozenset({Media.DOCX}),
    DocType.PROCEDURE: frozenset({Media.DOCX}),
    DocType.INSTRUCTION: frozenset({Media.DOCX}),
    DocType.FORM: frozenset({Media.DOCX, Media.PDF, Media.XLSX}),
    DocType.EXTERNAL: frozenset({Media.DOCX, Media.PDF, Media.XLSX}),
}

EXTENSION: dict[Media, str] = {Media.DOCX: "docx", Media.PDF: "pdf", Media.XLSX: "xlsx"}
MIMETYPE: dict[Media, str] = {
    Media.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Media.PDF: "application/pdf",
    Media.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What a file's name may end in for each thing its bytes turn out to be.
NAME_SUFFIXES: dict[str, tuple[str, ...]] = {
    "docx": (".docx",),
    "xlsx": (".xlsx",),
    "pdf": (".pdf",),
    "doc": (".doc",),
}


def accepts(doc_type: str, media: str) -> bool:
    """Tell whether documents of doc_type may be stored in this format."""
    return Media(media) in ACCEPTS.get(DocType(doc_type), frozenset())


def upload_extensions(doc_type: str) -> tuple[str, ...]:
    """Return the file name endings an upload for this type may have (.doc becomes .docx)."""
    kinds = accepted(doc_type)
    return tuple(f".{k}" for k in ("docx", "doc", "pdf", "xlsx")
                 if k in kinds or (k == "doc" and "docx" in kinds))


def accepted(doc_type: str) -> tuple[str, ...]:
    """Return the formats a type accepts, in a stable order (docx, pdf, xlsx)."""
    allowed = ACCEPTS.get(DocType(doc_type), frozenset())
    return tuple(m.value for m in Media if m in allowed)


def sniff(data: bytes) -> Sniffed:
    """Tell the container format from the first bytes, never from the name."""
    if data.startswith(ZIP_MAGIC):
        return Sniffed.ZIP
    if data.startswith(OLE_MAGIC):
        return Sniffed.OLE
    if PDF_MAGIC in data[:PDF_HEADER_WINDOW]:
        return Sniffed.PDF
    return Sniffed.UNKNOWN


def name_matches(filename: str, kind: str) -> bool:
    """Tell whether a file name's extension agrees with what its bytes are."""
    lowered = (filename or "").strip().lower()
    return lowered.endswith(NAME_SUFFIXES[kind])


def with_extension(filename: str, media: str) -> str:
    """Return the name with its extension replaced by the stored format's."""
    stem, dot, _ext = filename.rpartition(".")
    base = stem if dot and stem else filename
    return f"{base}.{EXTENSION[Media(media)]}"
