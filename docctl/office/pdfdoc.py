"""Accept or refuse uploaded PDFs (pypdf: pure Python, no qpdf binary) and extract their text."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import warnings
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from docctl.domain.formats import PDF_HEADER_WINDOW, PDF_MAGIC
from docctl.errors import TooLarge, UnsupportedFile

__all__ = ["PdfInfo", "inspect_pdf", "open_pdf"]

DEFAULT_MAX_PAGES = 1000
DEFAULT_SECONDS = 20.0
MAX_TEXT = 5 * 1024 * 1024
# Actions that run code, open other files or programs, or send data somewhere.
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/RichMediaExecute",
                   "/Rendition", "/GoToE"}
_ACTIVE_ANNOTS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}
# The same names spelled in the raw bytes (incremental updates and unreferenced objects too).
_RAW_ACTIVE = re.compile(rb"/(JavaScript|Launch|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])")
# pypdf's own parsing logs recoverable damage; the upload is judged by what it raises.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class PdfInfo:
    """What docctl keeps about an accepted PDF."""

    sha256: str
    size: int
    pages: int
    text: str
    searchable: bool
    pages_read: int        # pages whose text was read in time (all, unless a limit cut it)


def _refuse(reason: str, message: str):
    raise UnsupportedFile(message, reason=reason)


def open_pdf(data: bytes) -> PdfReader:
    """Open PDF bytes with pypdf, refusing damaged and encrypted files."""
    if PDF_MAGIC not in data[:PDF_HEADER_WINDOW]:
        _refuse("not_pdf", "The file is not a PDF")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            encrypted = reader.is_encrypted
            if not encrypted:
                len(reader.pages)
    except RecursionError:
        _refuse("damaged", "The PDF is damaged or nested too deeply to read")
    except Exception:   # pypdf raises many kinds (PdfReadError, ValueError, KeyError …)
        _refuse("damaged", "The PDF is damaged or incomplete")
    if encrypted:
        # Stamping and indexing need the content; a copy without its protection would be
        # another document, so the agency must upload an unprotected one.
        _refuse("encrypted", "The PDF is password-protected or encrypted")
    return reader


def _resolve(value):
    return value.get_object() if isinstance(value, IndirectObject) else value


def _action_kinds(action, depth: int = 0) -> set[str]:
    """Return the kinds (/S) of an action and of the actions it chains (/Next)."""
    action = _resolve(action)
    if depth > 20 or not isinstance(action, DictionaryObject):
        return set()
    kinds = {str(action.get("/S", ""))}
    chained = _resolve(action.get("/Next"))
    for item in chained if isinstance(chained, ArrayObject) else [chained]:
        kinds |= _action_kinds(item, depth + 1)
    return kinds


def _active_in(holder) -> set[str]:
    """Return active action kinds in a dictionary's /A, /OpenAction and /AA entries."""
    found: set[str] = set()
    holder = _resolve(holder)
    if not isinstance(holder, DictionaryObject):
        return found
    for key in ("/A", "/OpenAction"):
        if key in holder:
            found |= _action_kinds(holder[key]) & _ACTIVE_ACTIONS
    extra = _resolve(holder.get("/AA"))
    if isinstance(extra, DictionaryObject):
        for value in extra.values():
            found |= _action_kinds(value) & _ACTIVE_ACTIONS
    return found


def active_content(reader: PdfReader, data: bytes, deadline: float) -> list[str]:
    """List what in the PDF could run code, open files or hold attachments."""
    found: set[str] = set()
    root = reader.trailer["/Root"]
    names = _resolve(root.get("/Names"))
    if isinstance(names, DictionaryObject):
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                found.add(key)
    form = _resolve(root.get("/AcroForm"))
    if isinstance(form, DictionaryObject) and "/XFA" in form:
        found.add("/XFA")
    found |= _active_in(root)
    for page in reader.pages:
        if time.monotonic() > deadline:
            _refuse("too_slow", "The PDF takes too long to read")
        found |= _active_in(page)
        annots = _resolve(page.get("/Annots"))
        for annot in annots if isinstance(annots, ArrayObject) else []:
            annot = _resolve(annot)
            if not isinstance(annot, DictionaryObject):
                continue
            if str(annot.get("/Subtype", "")) in _ACTIVE_ANNOTS:
                found.add(str(annot["/Subtype"]))
            found |= _active_in(annot)
    # Names hidden in object streams are found above; the raw scan finds the rest.
    found |= {"/" + m.decode() for m in _RAW_ACTIVE.findall(data)}
    return sorted(found)


def inspect_pdf(data: bytes, *, max_bytes: int, max_pages: int = DEFAULT_MAX_PAGES,
                seconds: float = DEFAULT_SECONDS, text_seconds: float | None = None) -> PdfInfo:
    """Check that the bytes are an acceptable PDF and extract its text layer.

    The checks must finish within seconds or the file is refused; text extraction then gets
    text_seconds (default: the same) and stops there, keeping the pages read so far.
    """
    if not data:
        _refuse("empty", "The file is empty")
    if len(data) > max_bytes:
        raise TooLarge(f"The file is larger than {max_bytes} bytes", reason="too_large",
                       size=len(data), limit=max_bytes)
    deadline = time.monotonic() + seconds
    reader = open_pdf(data)
    try:
        pages = len(reader.pages)
    except Exception:
        _refuse("damaged", "The PDF is damaged or incomplete")
    if pages == 0:
        _refuse("damaged", "The PDF has no pages")
    if pages > max_pages:
        _refuse("too_many_pages", f"The PDF has more than {max_pages} pages")
    try:
        active = active_content(reader, data, deadline)
    except UnsupportedFile:
        raise
    except Exception:
        _refuse("damaged", "The PDF is damaged or incomplete")
    if active:
        # Stored bytes are kept exactly as approved, so active content is refused, not
        # silently removed: the agency re-saves the file ("Print to PDF") and uploads that.
        raise UnsupportedFile("The PDF contains scripts, actions or attached files",
                              reason="active_content", found=active[:10])
    limit = seconds if text_seconds is None else text_seconds
    return PdfInfo(sha256=hashlib.sha256(data).hexdigest(), size=len(data), pages=pages,
                   **_text(reader, time.monotonic() + limit))


def _text(reader: PdfReader, deadline: float) -> dict:
    parts: list[str] = []
    total = read = 0
    for page in reader.pages:
        # Checked between pages: one page's extraction is bounded by pypdf's own limits on
        # stream sizes and by the upload size cap. A long PDF is kept, partly searchable.
        if time.monotonic() > deadline:
            break
        read += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chunk = page.extract_text() or ""
        except RecursionError:
            _refuse("damaged", "The PDF is damaged or nested too deeply to read")
        except Exception:
            chunk = ""   # one unreadable page leaves the rest searchable
        chunk = chunk.replace("\x00", "")
        total += len(chunk)
        if total > MAX_TEXT:
            break
        parts.append(chunk)
    text = "\n".join(p.strip() for p in parts if p.strip())
    return {"text": text, "searchable": bool(text.strip()), "pages_read": read}


def extract_pdf_text(data: bytes) -> str:
    """Extract the text of an already-accepted PDF."""
    return _text(open_pdf(data), time.monotonic() + DEFAULT_SECONDS)["text"]
