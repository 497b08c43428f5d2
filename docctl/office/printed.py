"""Read what a document prints about itself: code, issue, amendment, dates."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from lxml import etree

from docctl.domain.labels import AMENDMENT_LABEL, ISSUE_LABEL, REVIEW_LABEL, find_numbers
from docctl.office.safezip import Package

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_OFFICE_DOCUMENT = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                    "officeDocument")
_HEADER_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"
_FOOTER_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer"

FIRST_PAGE_LINES = 60      # lines of the body (or of extracted text) taken as "the first page"
HEADER_LINES = 200         # a header is small; a hostile one is cut here
BLOB_MAX = 20_000          # characters of one header, table or page that are searched
_MAX_ENTRIES = 2000
_MAX_UNCOMPRESSED = 200 * 1024 * 1024
# Property blocks, deleted text and field instructions are never what the page shows.
_SKIP = frozenset(W + name for name in (
    "del", "delText", "delInstrText", "moveFrom", "instrText", "rPr", "pPr", "sdtPr",
    "tblPr", "tblGrid", "trPr", "tcPr", "sectPr", "fldData"))


@dataclass(frozen=True)
class Printed:
    """What the file prints in its header, text boxes, first table or first page."""

    code: str | None = None
    issue: int | None = None
    amendment: int | None = None
    issued_on: date | None = None
    effective_date: date | None = None
    number: str | None = None     # a Decree-30 "Số: 12/2024/QĐ-UBND" (not a register code)

    def found(self) -> bool:
        """Tell whether the file printed anything we could read."""
        return any(v is not None for v in (self.code, self.issue, self.amendment,
                                           self.issued_on, self.effective_date, self.number))


def read_printed(media: str, data: bytes, text: str = "") -> Printed:
    """Return what the file prints about itself (media: docx, pdf, xlsx; text: extracted)."""
    # Runs on every upload and import row: odd input yields "nothing found", never an error.
    if media == "docx" and data:
        found = _safely(lambda: _read_blobs(_docx_blobs(data)))
        if found.found() or not text:
            return found
    return _safely(lambda: _read_blobs([_first_page(text)]))


def _safely(read) -> Printed:
    """Return what a reader found, or nothing when the input defeats it."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - a reader of hints must not break the upload it serves
        return Printed()


# --- Walking a Word package --------------------------------------------------------------------

class _Lines:
    """Collect the visible lines of a story; table rows become cells joined by tabs."""

    def __init__(self, limit: int, *, stop_at_page: bool = False) -> None:
        self.lines: list[str] = []
        self.limit = limit
        self.stop_at_page = stop_at_page
        self.done = False
        self._page_break = False

    def block(self, el: etree._Element) -> None:
        """Read a container of paragraphs and tables (body, cell, header, text box)."""
        for child in el:
            if self.done:
                return
            tag = child.tag
            if tag == W + "p":
                self._paragraph(child)
            elif tag == W + "tbl":
                self.table(child)
            elif tag in (W + "sdt", W + "sdtContent", W + "customXml", W + "ins",
                         W + "moveTo") or tag == MC + "AlternateContent":
                self.block(_branch(child) if tag == MC + "AlternateContent" else child)

    def table(self, tbl: etree._Element) -> None:
        """Read a table row by row; a row of bare labels is paired with the row below it."""
        previous: list[str] = []
        for row in _children(tbl, W + "tr"):
            cells = []
            for cell in _children(row, W + "tc"):
                inner = _Lines(HEADER_LINES)
                inner.block(cell)
                cells.append("\n".join(line for line in inner.lines if line.strip()))
            if previous and len(previous) == len(cells) and any(map(_is_label, previous)):
                self._add("\n".join(f"{label}\t{value}" for label, value
                                    in zip(previous, cells, strict=True) if _is_label(label)))
            self._add("\t".join(cells))
            previous = cells

    def _paragraph(self, p: etree._Element) -> None:
        buf: list[str] = []
        boxes: list[etree._Element] = []
        self._runs(p, buf, boxes)
        self._add("".join(buf))
        for box in boxes:   # a text box's lines follow its anchor, never mixed into it
            self.block(box)
        if self._page_break and self.stop_at_page:
            self.done = True

    def _runs(self, el: etree._Element, buf: list[str], boxes: list[etree._Element]) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            if tag == W + "t":
                buf.append(child.text or "")
            elif tag == W + "noBreakHyphen":   # Ctrl+Shift+- keeps "QT-01" on one line
                buf.append("-")
            elif tag in (W + "tab", W + "ptab"):
                buf.append("\t")
            elif tag in (W + "br", W + "cr"):
                if child.get(W + "type") == "page":
                    self._page_break = True
                else:
                    buf.append("\n")
            elif tag == W + "lastRenderedPageBreak":
                self._page_break = True
            elif tag == W + "txbxContent":
                boxes.append(child)
            elif tag == MC + "AlternateContent":
                # Word saves a text box twice (DrawingML choice, VML fallback): read one.
                self._runs(_branch(child), buf, boxes)
            elif len(child):
                self._runs(child, buf, boxes)

    def _add(self, line: str) -> None:
        if line.strip():
            self.lines.append(line)
            if len(self.lines) >= self.limit:
                self.done = True


def _branch(alternate: etree._Element) -> etree._Element:
    """Return the one branch of an mc:AlternateContent that is read."""
    choice = alternate.find(MC + "Choice")
    if choice is None:
        choice = alternate.find(MC + "Fallback")
    return choice if choice is not None else etree.Element("empty")


def _children(el: etree._Element, tag: str):
    """Yield the rows or cells of a table, also those wrapped in content controls."""
    for child in el:
        if child.tag == tag:
            yield child
        elif child.tag in (W + "sdt", W + "sdtContent", W + "customXml"):
            yield from _children(child, tag)


def _docx_blobs(data: bytes) -> list[str]:
    """Return the texts to search, most telling first: headers, footers, first table, first
    page."""
    pkg = Package(data, max_entries=_MAX_ENTRIES, max_uncompressed=_MAX_UNCOMPRESSED)
    main_rel = next((rel for rel in pkg.relationships("")
                     if rel.type == _OFFICE_DOCUMENT and not rel.external), None)
    main = pkg.resolve("", main_rel.target) if main_rel else None
    if main is None:
        return []
    root = pkg.tree(main, keep=False)
    blobs = []
    # Many agencies print "QT-01 | Lần ban hành: 01 | Trang 1/5" in the footer instead.
    parts = _story_parts(pkg, main, root, "header") + _story_parts(pkg, main, root, "footer")
    for key in parts:
        lines = _Lines(HEADER_LINES)
        lines.block(pkg.tree(key, keep=False))
        blobs.append("\n".join(lines.lines))
    body = root.find(W + "body")
    if body is None:
        return blobs
    table = next(body.iter(W + "tbl"), None)
    if table is not None:
        lines = _Lines(HEADER_LINES)
        lines.table(table)
        blobs.append("\n".join(lines.lines))
    first = _Lines(FIRST_PAGE_LINES, stop_at_page=True)
    first.block(body)
    blobs.append("\n".join(first.lines))
    return blobs


def _story_parts(pkg: Package, main: str, root: etree._Element, kind: str) -> list[str]:
    """Return header (or footer) part keys: the first section's first, default, even; then
    the other sections' in order."""
    rel_type = _HEADER_REL if kind == "header" else _FOOTER_REL
    rels = {rel.id: rel for rel in pkg.relationships(main)
            if rel.type == rel_type and not rel.external}
    order = {"first": 0, "default": 1, "even": 2}
    keys: list[str] = []
    for sect in root.iter(W + "sectPr"):
        refs = sorted(sect.iter(W + kind + "Reference"),
                      key=lambda ref: order.get(ref.get(W + "type") or "default", 1))
        for ref in refs:
            rel = rels.get(ref.get(R + "id") or "")
            key = pkg.resolve(main, rel.target) if rel else None
            if key and key not in keys:
                keys.append(key)
    return keys


def _first_page(text: str) -> str:
    """Return the first page of extracted text (up to a form feed), at most 60 lines."""
    page = (text or "").split("\f", 1)[0]
    lines = [line for line in page.splitlines() if line.strip()]
    return "\n".join(lines[:FIRST_PAGE_LINES])


# --- The label grammar -------------------------------------------------------------------------

# Folding that keeps every character's position, so a match in folded text points at the
# printed spelling (the code keeps its case: PGL-TT21-BM02a, QT-ĐT-03).
_FOLD = {cp: unicodedata.normalize("NFD", chr(cp))[0]
         for cp in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00))
         if unicodedata.normalize("NFD", chr(cp))[0] != chr(cp)}
_FOLD.update({ord("đ"): "d", ord("Đ"): "D", 0x130: "I"})


def _fold(text: str) -> str:
    return text.translate(_FOLD).lower()


_CODE_LABEL = (
    r"(?:\bma\s*hieu(?:\s*tai\s*lieu)?|\bky\s*hieu(?:\s*tai\s*lieu)?|\bma\s*tai\s*lieu"
    r"|\bso\s*hieu(?:\s*tai\s*lieu)?"
    # A letterhead's "Mã số thuế / doanh nghiệp" is the company's, not the document's.
    r"|\bma\s*so\b(?!\s*(?:thue|doanh|dn\b|ho\s*so|bhxh|bao\s*hiem|ca\s*nhan))"
    r"|\bdoc(?:ument)?\b\.?\s*(?:code|no\b\.?|number|id\b)|(?:^|(?<=[\t\n]))\s*code)")
_CODE = re.compile(_CODE_LABEL + r"\s*(?:[:：]\s*)?")
# Word's non-breaking hyphen and typographic dashes in a code are its plain hyphen.
_HYPHENS = str.maketrans({ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2212"})
_CODE_TOKEN = re.compile(r"[^\s:;,|()\[\]{}]+")
_LABEL_AFTER_SLASH = re.compile(r"/(?=(?:lan|ngay|trang|ma|bh|sd)\b)")
# Decree 30: "Số: 3494/QĐ-UBND", "Số: 12/2024/QĐ-UBND" at the start of a line or cell.
_NUMBER = re.compile(r"(?:^|(?<=[\t\n]))\s*so\s*[:：]\s*"
                     r"(\d{1,6}(?:/\d{4})?/[a-z]{1,6}(?:-[a-z0-9]{1,12}){0,3})\b")
_DATE = (r"(?:(\d{1,2})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{4})"
         r"|(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*(?:,\s*)?nam\s*(\d{4}))(?!\d)")
_DATE_SEP = r"\s*(?:[:：]\s*)?(?:la\s+)?"
_ISSUED_LABEL = (r"(?:\bngay\s*(?:ban\s*hanh|bh\b)|\bban\s*hanh\s*ngay|\bissued?\s*(?:date|on)"
                 r"|\bdate\s*of\s*issue)")
# "… có hiệu lực (thi hành) (kể) từ ngày 15/3/2024" is how a decision states it.
_EFFECTIVE_LABEL = (r"(?:\bngay\s*(?:co\s*)?hieu\s*luc|\b(?:co\s*)?hieu\s*luc(?:\s*thi\s*hanh)?"
                    r"(?:\s*ke)?(?:\s*tu)?(?:\s*ngay)?"
                    r"|\bngay\s*ap\s*dung|\bap\s*dung\s*tu(?:\s*ngay)?"
                    r"|\beffective(?:\s*(?:date|from|on))?)")
_BOTH_DATES = re.compile(_ISSUED_LABEL + r"\s*(?:[/&-]|va)\s*(?:ngay\s*)?(?:co\s*)?hieu\s*luc"
                         + _DATE_SEP + _DATE)
_ISSUED = re.compile(_ISSUED_LABEL + _DATE_SEP + _DATE)
_EFFECTIVE = re.compile(_EFFECTIVE_LABEL + _DATE_SEP + _DATE)
# Decree 30's place and date line: "Lào Cai, ngày 05 tháng 3 năm 2024".
_PLACE_DATE = re.compile(r"(?:^|(?<=[\t\n]))[^\t\n,]{2,40},\s*" + _DATE)
_LABEL_ONLY = re.compile(
    rf"\s*(?:{_CODE_LABEL}|{ISSUE_LABEL}|{AMENDMENT_LABEL}|{REVIEW_LABEL}|{_ISSUED_LABEL}"
    rf"|{_EFFECTIVE_LABEL})\s*[:：]?\s*")


def _is_label(cell: str) -> bool:
    """Tell whether a table cell holds nothing but a label ("Mã hiệu:", "Lần ban hành")."""
    return bool(cell) and len(cell) < 40 and bool(_LABEL_ONLY.fullmatch(_fold(cell)))


def _date(match: re.Match | None) -> date | None:
    if match is None:
        return None
    groups = match.groups()[-7:]
    day, month, year = (groups[0], groups[2], groups[3]) if groups[0] else groups[4:7]
    try:
        return date(int(year), int(month), int(day))
    except (TypeError, ValueError):
        return None


def _first_date(pattern: re.Pattern, low: str) -> date | None:
    for match in pattern.finditer(low):
        value = _date(match)
        if value:
            return value
    return None


def _code(raw: str, low: str) -> str | None:
    for match in _CODE.finditer(low):
        token = _CODE_TOKEN.match(raw, match.end())
        if not token:
            continue
        value = token.group()
        cut = _LABEL_AFTER_SLASH.search(_fold(value))
        value = value[:cut.start()] if cut else value
        value = value.translate(_HYPHENS).strip("./-")
        letters = [ch for ch in value if ch.isalpha()]
        if 2 <= len(value) <= 40 and (any(ch.isdigit() for ch in value)
                                      or (letters and all(ch.isupper() for ch in letters))):
            return unicodedata.normalize("NFC", value)
    return None


def _read_blob(raw: str) -> dict:
    """Return the fields one text prints."""
    raw = unicodedata.normalize("NFC", raw)[:BLOB_MAX]
    low = _fold(raw)
    issue, amendment = find_numbers(low)
    both = _first_date(_BOTH_DATES, low)
    number = _NUMBER.search(low)
    return {
        "code": _code(raw, low),
        "issue": issue, "amendment": amendment,
        "issued_on": both or _first_date(_ISSUED, low),
        "effective_date": both or _first_date(_EFFECTIVE, low),
        "number": raw[number.start(1):number.end(1)] if number else None,
        "place_date": _first_date(_PLACE_DATE, low),
    }


def _read_blobs(blobs: list[str]) -> Printed:
    """Merge the texts' fields: each field from the first text that prints it."""
    found: dict = {}
    issue_seen = None
    for blob in blobs:
        if not blob or not blob.strip():
            continue
        fields = _read_blob(blob)
        for name, value in fields.items():
            if value is None or found.get(name) is not None:
                continue
            # An amendment belongs to the issue it is printed with: take one from another
            # text only when that text prints no other issue.
            if name == "amendment" and fields["issue"] not in (None, issue_seen) \
                    and issue_seen is not None:
                continue
            found[name] = value
        if issue_seen is None:
            issue_seen = fields["issue"]
    place_date = found.pop("place_date", None)
    if found.get("issued_on") is None:
        found["issued_on"] = place_date
    return Printed(**found)
