"""Read an uploaded file: check it, convert what must be, extract its text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l

from docctl import office
from docctl.domain import formats
from docctl.domain.formats import Media, Sniffed
from docctl.domain.textfold import clean_line
from docctl.errors import DocctlError, TooLarge, UnsupportedFile
from docctl.office import legacy, pdfdoc, xlsx
from docctl.office.safezip import member_names
from docctl.services.context import setting


@dataclass(frozen=True)
class Upload:
    """An accepted upload, ready to store as a revision's source."""

    media: str                    # docx, pdf or xlsx: what is stored
    data: bytes                   # the bytes stored (a converted .doc's .docx)
    filename: str                 # cleaned, ending in the stored format's extension
    size: int
    sha256: str
    text: str                     # for search, diff and reading printed metadata
    searchable: bool = True       # False: e.g. a scanned PDF with no text layer
    original: bytes | None = None         # a converted legacy .doc, byte-exact
    original_name: str | None = None
    notices: tuple[str, ...] = field(default_factory=tuple)   # translated, told to the user


# What the bytes turned out to be, as the user reads it.
KIND_NAMES = {
    "docx": _l("a Word document (.docx)"),
    "xlsx": _l("an Excel workbook (.xlsx)"),
    "pdf": _l("a PDF document (.pdf)"),
    "doc": _l("an old Word document (.doc)"),
}
TYPE_NAMES = {"manual": _l("quality manual"), "policy": _l("quality policy"),
              "objective": _l("quality objective"), "procedure": _l("procedure"),
              "instruction": _l("work instruction"), "form": _l("form"),
              "external": _l("external document")}

# Why a PDF, workbook or .doc was refused, with what to do instead. (Word's own reasons are
# worded in web/labels.UPLOAD_REASONS; these carry a prefixed reason so they are not taken
# for Word's.)
REASONS = {
    ("pdf", "empty"): _l("The file is empty. Choose the PDF again."),
    ("pdf", "not_pdf"): _l("The file is not a readable PDF."),
    ("pdf", "damaged"): _l("The PDF is damaged or cannot be read. Open it, print or save it "
                           "again as PDF, and upload the new file."),
    ("pdf", "encrypted"): _l("The PDF is password-protected or encrypted. Save an unprotected "
                             "copy (for instance with \"Print to PDF\") and upload that."),
    ("pdf", "too_many_pages"): _l("The PDF has more pages than allowed. Split it into parts."),
    ("pdf", "active_content"): _l("The PDF contains scripts, automatic actions or attached "
                                  "files, which are not allowed. Print it again to PDF and "
                                  "upload the new file."),
    ("pdf", "too_slow"): _l("Reading the PDF took too long, so it was refused. Print it again "
                            "to PDF and upload the new file."),
    ("xlsx", "macro"): _l("The workbook contains macros, which are not allowed. Save it as "
                          "\"Excel Workbook (*.xlsx)\" without macros."),
    ("xlsx", "external_links"): _l("The workbook links to other files or data sources. Break "
                                   "the links in Excel (Data › Edit Links › Break Link) and "
                                   "upload it again."),
    ("xlsx", "encrypted"): _l("The workbook is protected by a password. Remove the password "
                              "in Excel (File › Info › Protect Workbook) and upload it again."),
    ("xlsx", "legacy_xls"): _l("This is an old Excel 97–2003 file (.xls). Open it in Excel and "
                               "save it as \"Excel Workbook (*.xlsx)\"."),
    ("xlsx", "template"): _l("This is an Excel template. Save it as \"Excel Workbook "
                             "(*.xlsx)\"."),
    ("xlsx", "damaged"): _l("The workbook is damaged or cannot be read. Open it in Excel, save "
                            "it again and upload the new file."),
    ("xlsx", "dtd"): _l("The workbook contains XML declarations that are not allowed (DTD). "
                        "Save it again from Excel."),
    ("xlsx", "zip_bomb"): _l("The workbook expands to far more data than a form should. It "
                             "was refused."),
    ("xlsx", "too_many_entries"): _l("The workbook has too many internal parts to be a normal "
                                     "file."),
    ("xlsx", "not_excel"): _l("The file is not an Excel workbook (.xlsx)."),
    ("doc", "legacy_unavailable"): _l("Old Word files (.doc) cannot be converted on this "
                                      "server: install LibreOffice (libreoffice-writer-nogui) "
                                      "to accept .doc files, or save the file as .docx in "
                                      "Word."),
    ("doc", "conversion_failed"): _l("LibreOffice could not convert this .doc file. Save it as "
                                     ".docx in Word and upload that."),
    ("doc", "conversion_timeout"): _l("Converting the .doc file took too long and was stopped. "
                                      "Save it as .docx in Word and upload that."),
    ("doc", "conversion_busy"): _l("Other files are being converted; try again in a moment."),
    ("doc", "macro"): _l("The .doc file contains macros, which are not allowed. Save it as "
                         ".docx in Word without macros."),
    ("doc", "encrypted"): _l("The .doc file is protected by a password. Remove the password in "
                             "Word and upload it again."),
    ("ole", "other"): _l("This old Office file is not a Word document. Save it as .docx, "
                         ".xlsx or PDF."),
}
CONVERTED = _l("Converted from .doc with LibreOffice; the original is kept")
NO_TEXT = _l("This PDF has no text layer: it cannot be found by its words")
DEFAULT_MAX_PDF_PAGES = 1000
DEFAULT_PARSE_SECONDS = 20.0


def limits() -> dict:
    """Return the hostile-input limits every format is checked against."""
    return {"max_bytes": setting("MAX_UPLOAD_MB") * 1024 * 1024,
            "max_entries": setting("MAX_DOCX_ENTRIES"),
            "max_uncompressed": setting("MAX_DOCX_UNCOMPRESSED_MB") * 1024 * 1024}


def _config(name: str, default):
    from flask import current_app
    return current_app.config.get(name, default)


def _refused(media: str, exc: DocctlError) -> DocctlError:
    """Return the error to raise: the office refusal worded for this format and translated."""
    reason = exc.details.get("reason") or exc.code
    message = REASONS.get((media, reason))
    if message is None:
        return exc
    details = {k: v for k, v in exc.details.items() if k != "reason"}
    # Same class, so the same status (415, 413, 503 busy, 504 stopped at its limit).
    return type(exc)(message, reason=f"{media}_{reason}", **details)


def _mismatch(filename: str, kind: str) -> UnsupportedFile:
    return UnsupportedFile(_l("The file is named “%(name)s” but it is %(kind)s. Give it the "
                              "right extension, or save it in the format its name says.",
                              name=clean_line(filename, max_len=80), kind=KIND_NAMES[kind]),
                           reason="extension_mismatch", kind=kind)


def _not_allowed(doc_type: str, media: str) -> UnsupportedFile:
    allowed = ", ".join(f".{m}" for m in formats.accepted(doc_type))
    return UnsupportedFile(_l("A %(type)s is kept as %(allowed)s; %(kind)s is not accepted for "
                              "this type of document. PDF and Excel files are accepted for "
                              "forms and external documents.",
                              type=TYPE_NAMES.get(doc_type, doc_type), allowed=allowed,
                              kind=KIND_NAMES[media]),
                           # "not_word": pages word it as Word's own refusal (web/labels);
                           # the API and logs get this message and the refused format.
                           reason="not_word", refused_media=str(media), allowed=allowed)


# Extensions that claim a format: a name ending in one must agree with the bytes. Anything
# else after a dot ("QT.01", "v2") is part of the name, not a claim.
_CLAIMS = frozenset({"doc", "docx", "docm", "dot", "dotx", "dotm", "xls", "xlsx", "xlsm",
                     "xlsb", "xlt", "xltx", "xltm", "pdf", "odt", "ods", "rtf", "txt", "csv",
                     "ppt", "pptx", "zip", "htm", "html", "xml", "jpg", "jpeg", "png", "tif",
                     "tiff", "exe"})


def _has_extension(filename: str) -> bool:
    stem, dot, ext = filename.strip().rpartition(".")
    return bool(dot and stem and ext.lower() in _CLAIMS)


def _kind_of(data: bytes, sniffed: Sniffed, filename: str) -> str:
    """Return docx, xlsx, pdf or doc for the bytes; refuse what is none of them."""
    if sniffed == Sniffed.PDF:
        return "pdf"
    if sniffed == Sniffed.ZIP:
        names = member_names(data, limits()["max_entries"]) or frozenset()
        if "xl/workbook.xml" in names:
            return "xlsx"
        # An Office package that is no workbook is judged as Word; anything else (an
        # unreadable zip, too many parts, a plain zip) is unknown, refused by the Word checks.
        return "docx" if "[content_types].xml" in names else "unknown"
    if sniffed == Sniffed.OLE:
        kind = legacy.ole_kind(data)
        if kind in ("doc", "doc_macro"):
            return "doc"
        if kind == "encrypted":
            # Both Word and Excel encrypt into the same container: the name tells which.
            if filename.strip().lower().endswith((".xlsx", ".xlsm", ".xls")):
                raise UnsupportedFile(REASONS[("xlsx", "encrypted")], reason="xlsx_encrypted")
            return "docx"   # inspect_docx says "password-protected", in Word's words
        if kind == "xls":
            raise UnsupportedFile(REASONS[("xlsx", "legacy_xls")], reason="xlsx_legacy_xls")
        raise UnsupportedFile(REASONS[("ole", "other")], reason="ole_other")
    return "unknown"


def _name(filename: str, media: str) -> str:
    name = clean_line(filename, max_len=200) or f"document.{media}"
    if name.lower().endswith(f".{media}"):
        return name
    stem = name.rpartition(".")[0] if _has_extension(name) else name
    return formats.with_extension(f"{stem[:190] or 'document'}.x", media)


def read_upload(doc_type: str, filename: str, data: bytes) -> Upload:
    """Check an uploaded file for a document of doc_type; raise TooLarge/UnsupportedFile."""
    cap = limits()["max_bytes"]
    if len(data) > cap:
        raise TooLarge(f"The file is larger than {cap} bytes", reason="too_large",
                       size=len(data), limit=cap)
    kind = _kind_of(data, formats.sniff(data), filename)
    if kind == "unknown":
        # Bytes that are no format we know: the Word checks refuse them in their own words
        # ("not a Word document", "damaged", "too many parts"), whatever the name says.
        return Upload(**_docx(data, filename))
    if _has_extension(filename) and not formats.name_matches(filename, kind):
        raise _mismatch(filename, kind)
    media = Media.DOCX if kind == "doc" else Media(kind)
    if not formats.accepts(doc_type, media):
        raise _not_allowed(doc_type, media)
    if kind == "pdf":
        return Upload(**_pdf(data, filename))
    if kind == "xlsx":
        return Upload(**_xlsx(data, filename))
    if kind == "doc":
        return Upload(**_doc(data, filename))
    return Upload(**_docx(data, filename))


def _docx(data: bytes, filename: str) -> dict:
    info = office.inspect_docx(data, **limits())
    return {"media": "docx", "data": data, "filename": _name(filename, "docx"),
            "size": info.size, "sha256": info.sha256, "text": info.text}


def _pdf(data: bytes, filename: str) -> dict:
    try:
        info = pdfdoc.inspect_pdf(
            data, max_bytes=limits()["max_bytes"],
            max_pages=int(_config("MAX_PDF_PAGES", DEFAULT_MAX_PDF_PAGES)),
            seconds=float(_config("UPLOAD_PARSE_SECONDS", DEFAULT_PARSE_SECONDS)),
            text_seconds=float(_config("PDF_TEXT_SECONDS", DEFAULT_PARSE_SECONDS)))
    except (UnsupportedFile, TooLarge) as exc:
        raise _refused("pdf", exc) from None
    notices: tuple[str, ...] = ()
    if not info.searchable and info.pages_read == info.pages:
        notices = (str(NO_TEXT),)
    elif info.pages_read < info.pages:
        notices = (str(_l("Only the first %(read)s of %(pages)s pages of this PDF could be "
                           "read in time: words on later pages cannot be found",
                           read=info.pages_read, pages=info.pages)),)
    return {"media": "pdf", "data": data, "filename": _name(filename, "pdf"),
            "size": info.size, "sha256": info.sha256, "text": info.text,
            "searchable": info.searchable, "notices": notices}


def _xlsx(data: bytes, filename: str) -> dict:
    try:
        info = xlsx.inspect_xlsx(data, **limits())
    except (UnsupportedFile, TooLarge) as exc:
        raise _refused("xlsx", exc) from None
    return {"media": "xlsx", "data": data, "filename": _name(filename, "xlsx"),
            "size": info.size, "sha256": info.sha256, "text": info.text}


def _doc(data: bytes, filename: str) -> dict:
    kind = legacy.ole_kind(data)
    if kind == "doc_macro":
        raise UnsupportedFile(REASONS[("doc", "macro")], reason="doc_macro")
    if legacy.is_encrypted_doc(data):
        raise UnsupportedFile(REASONS[("doc", "encrypted")], reason="doc_encrypted")
    instance = _config("INSTANCE_DIR", None)
    try:
        converted = legacy.convert_doc(
            data, soffice=_config("SOFFICE_PATH", "") or None,
            profile_dir=str(Path(instance) / "lo-profile") if instance else None,
            timeout=float(_config("CONVERT_TIMEOUT", _config("PDF_TIMEOUT", 25.0))))
    except DocctlError as exc:
        raise _refused("doc", exc) from None
    # The conversion is an upload like any other: every Word check runs on it, macros too.
    info = office.inspect_docx(converted, **limits())
    original_name = clean_line(filename, max_len=200) or "document.doc"
    return {"media": "docx", "data": converted, "filename": _name(filename, "docx"),
            "size": info.size, "sha256": hashlib.sha256(converted).hexdigest(),
            "text": info.text, "original": data, "original_name": original_name,
            "notices": (str(CONVERTED),)}
