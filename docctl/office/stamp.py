"""Stamp a copy of an approved .docx: a header band, obsolete watermark, signatures, history."""

from __future__ import annotations

import copy
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import docx
from docx.enum.section import WD_HEADER_FOOTER
from lxml import etree

from docctl.errors import UnsupportedFile
from docctl.office import stampband
from docctl.office.watermark import watermark_run
from docctl.office.words import day as _d
from docctl.office.words import meaning_text, status_text
from docctl.office.words import moment as _dt

__all__ = ["HistoryLine", "SignatureLine", "StampInfo", "fingerprint", "stamp_copy",
           "stamp_lines"]

# Bump when the stamp's look changes, so cached renditions of the old look are not reused.
# 2: renditions are made offline (office/offline.py); older ones may hold fetched content.
# 3: the marks sit in a band of their own above the header; labels and organisation printed.
STAMP_VERSION = "3"

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = f"{{{_W_NS}}}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FONT = "Times New Roman"   # Vietnamese administrative typeface; has every Vietnamese glyph
_RED = "C00000"
_HEADER_TYPES = (WD_HEADER_FOOTER.PRIMARY, WD_HEADER_FOOTER.FIRST_PAGE,
                 WD_HEADER_FOOTER.EVEN_PAGE)
# A4 with 2 cm side margins, for documents that carry no section properties at all.
_A4 = {"w": "11906", "h": "16838"}
_MARGINS = {"top": "1134", "right": "1134", "bottom": "1134", "left": "1701",
            "header": "567", "footer": "567", "gutter": "0"}
_DEFAULT_TEXT_WIDTH = 9071   # twips between the A4 margins above

CONTROLLED_MARK = "BẢN KIỂM SOÁT / CONTROLLED COPY"
UNCONTROLLED_PRINT = "Bản in ra không được kiểm soát / Uncontrolled when printed"
OBSOLETE_MARK = "HẾT HIỆU LỰC / OBSOLETE"
PENDING_MARK = "CHƯA CÓ HIỆU LỰC / NOT YET IN FORCE"
DRAFT_MARK = "DỰ THẢO / DRAFT"



@dataclass(frozen=True)
class SignatureLine:
    """One electronic signature as printed on a copy (times already in local time)."""

    meaning: str
    name: str
    signed_at: datetime


@dataclass(frozen=True)
class HistoryLine:
    """One row of the revision-history table."""

    revision: int
    effective_date: date | None
    reason: str
    approver: str
    label: str = ""


@dataclass(frozen=True)
class StampInfo:
    """Everything printed on a copy; kind is controlled, obsolete, pending or draft."""

    code: str
    title: str
    revision: int
    effective_date: date | None
    status: str
    downloaded_by: str
    downloaded_at: datetime
    kind: str = "controlled"
    superseded_by: int | None = None
    # The successor's label as the organisation prints it ("" → its two-digit sequence).
    superseded_label: str = ""
    ended_on: date | None = None
    withdrawn_reason: str | None = None
    signatures: tuple[SignatureLine, ...] = field(default_factory=tuple)
    history: tuple[HistoryLine, ...] = field(default_factory=tuple)
    # The issue/amendment label as the organisation prints it (03, 03sđ01); "" → revision.
    label: str = ""
    # The organisation's name, printed on every copy.
    organisation: str = ""


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", unicodedata.normalize("NFC", text or "")).strip()


def _label(number: int, label: str = "") -> str:
    return _clean(label) or f"{number:02d}"


def mark_line(info: StampInfo) -> str:
    """Return the line that says what kind of copy this is."""
    if info.kind == "controlled":
        return CONTROLLED_MARK
    if info.kind == "draft":
        return f"{DRAFT_MARK} — chưa được phê duyệt, không sử dụng / not approved, not for use"
    if info.kind == "pending":
        return (f"{PENDING_MARK} — có hiệu lực từ {_d(info.effective_date)} / "
                f"effective from {_d(info.effective_date)}")
    if info.superseded_by is not None:
        return (f"{OBSOLETE_MARK} — đã được thay thế bởi lần ban hành "
                f"{_label(info.superseded_by, info.superseded_label)} ngày {_d(info.ended_on)} "
                f"/ superseded by revision {_label(info.superseded_by, info.superseded_label)} "
                f"on {_d(info.ended_on)}")
    return (f"{OBSOLETE_MARK} — đã thu hồi ngày {_d(info.ended_on)} / withdrawn on "
            f"{_d(info.ended_on)}: {_clean(info.withdrawn_reason)}")


def stamp_lines(info: StampInfo) -> list[str]:
    """Return the band's lines, in print order (the downloader line is [3])."""
    organisation = _clean(info.organisation)
    heading = f"{_clean(info.code)} — {_clean(info.title)}"
    return [
        f"{organisation} · {heading}" if organisation else heading,
        f"Lần ban hành: {_label(info.revision, info.label)} · Ngày hiệu lực / Effective date: "
        f"{_d(info.effective_date)} · Trạng thái / Status: {status_text(info.status)}",
        mark_line(info),
        f"Người tải / Downloaded by: {_clean(info.downloaded_by)} — "
        f"{_dt(info.downloaded_at)}",
        UNCONTROLLED_PRINT,
    ]


def fingerprint(info: StampInfo) -> str:
    """Return a hash of everything the stamp prints (for caching renditions)."""
    parts = [STAMP_VERSION, *stamp_lines(info)]
    parts += [f"{s.meaning}|{s.name}|{_dt(s.signed_at)}" for s in info.signatures]
    parts += [f"{h.revision}|{h.label}|{_d(h.effective_date)}|{h.reason}|{h.approver}"
              for h in info.history]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# -- WordprocessingML builders (plain lxml: no styles needed, so any document takes them) --

def _el(tag: str, parent=None, **attrs) -> etree._Element:
    qattrs = {W + k: v for k, v in attrs.items()}
    if parent is None:
        return etree.Element(W + tag, qattrs, nsmap={"w": _W_NS})
    return etree.SubElement(parent, W + tag, qattrs)


def _run(p, text: str, *, size: int = 16, bold: bool = False, color: str | None = None,
         fixed: bool = False):
    r = _el("r", p)
    rpr = _el("rPr", r)
    _el("rFonts", rpr, ascii=_FONT, hAnsi=_FONT, cs=_FONT, eastAsia=_FONT)
    if bold:
        _el("b", rpr)
        _el("bCs", rpr)
    if color:
        _el("color", rpr, val=color)
    if fixed:   # the band is measured in advance: no spacing or scaling from the styles
        _el("spacing", rpr, val="0")
        _el("w", rpr, val="100")
        _el("kern", rpr, val="0")
        _el("position", rpr, val="0")
    _el("sz", rpr, val=str(size))
    _el("szCs", rpr, val=str(size))
    t = _el("t", r)
    t.text = text
    t.set(_XML_SPACE, "preserve")
    return r


def _para(text: str = "", *, size: int = 16, bold: bool = False, color: str | None = None,
          border_top: bool = False, center: bool = False, after: int = 0):
    p = _el("p")
    ppr = _el("pPr", p)
    if border_top:
        bdr = _el("pBdr", ppr)
        _el("top", bdr, val="single", sz="6", space="1", color="auto")
    _el("spacing", ppr, before="0", after=str(after), line="240", lineRule="auto")
    if center:
        _el("jc", ppr, val="center")
    if text:
        _run(p, text, size=size, bold=bold, color=color)
    return p


# The band: (line, size in half-points, bold, red); each line has an exact height, so the
# band's height is known before any renderer sees it.
_BAND_LINE = {16: 190, 20: 240}   # half-points → exact line height in twips
_BAND_RULE = 40                   # the rule under the band and its gap (twips)
_BAND_GAP = 60                    # white space between the band and the original header


def _band_rows(info: StampInfo) -> list[tuple[str, int, bool, bool]]:
    lines = stamp_lines(info)
    strong = info.kind != "controlled"
    return [(lines[0], 16, True, False), (lines[1], 16, False, False),
            (lines[2], 20 if strong else 16, True, True), (lines[3], 16, False, False),
            (lines[4], 16, True, False)]


def band_height(info: StampInfo, width: int) -> int:
    """Return the band's height in twips when set in a column width twips wide."""
    return sum(stampband.text_lines(text, size / 2, width, bold=bold) * _BAND_LINE[size]
               for text, size, bold, _ in _band_rows(info)) + _BAND_RULE + _BAND_GAP


def _band(info: StampInfo, after: int) -> list[etree._Element]:
    """Return the band's paragraphs; the last one keeps `after` twips below it."""
    rows = _band_rows(info)
    out = []
    for index, (text, size, bold, red) in enumerate(rows):
        last = index == len(rows) - 1
        p = _el("p")
        ppr = _el("pPr", p)
        if last:
            _el("bottom", _el("pBdr", ppr), val="single", sz="6", space="1", color="auto")
        _el("snapToGrid", ppr, val="0")
        _el("spacing", ppr, before="0", after=str(after if last else 0),
            line=str(_BAND_LINE[size]), lineRule="exact")
        _el("ind", ppr, left="0", right="0", firstLine="0")
        _el("contextualSpacing", ppr, val="0")
        _el("jc", ppr, val="left")
        _run(p, text, size=size, bold=bold, color=_RED if red else None, fixed=True)
        out.append(p)
    return out


def _cell(tr, text: str, width: int, *, bold: bool = False, shade: bool = False):
    tc = _el("tc", tr)
    tcpr = _el("tcPr", tc)
    _el("tcW", tcpr, w=str(width), type="dxa")
    if shade:
        _el("shd", tcpr, val="clear", color="auto", fill="E7E6E6")
    p = _el("p", tc)
    ppr = _el("pPr", p)
    _el("spacing", ppr, before="20", after="20")
    _run(p, text, size=20, bold=bold)


def _table(header: list[str], rows: list[list[str]], widths: list[int]) -> etree._Element:
    """Return a bordered table that needs no table style (some documents have none)."""
    tbl = _el("tbl")
    tblpr = _el("tblPr", tbl)
    _el("tblW", tblpr, w=str(sum(widths)), type="dxa")
    borders = _el("tblBorders", tblpr)
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        _el(side, borders, val="single", sz="4", space="0", color="auto")
    _el("tblLayout", tblpr, type="fixed")
    grid = _el("tblGrid", tbl)
    for width in widths:
        _el("gridCol", grid, w=str(width))
    for index, row in enumerate([header, *rows]):
        tr = _el("tr", tbl)
        if index == 0:
            _el("tblHeader", _el("trPr", tr))
        for text, width in zip(row, widths, strict=True):
            _cell(tr, text, width, bold=index == 0, shade=index == 0)
    return tbl


def _control_pages(info: StampInfo, width: int) -> list[etree._Element]:
    """Return the appended signature block and revision-history table."""
    brk = _el("p")
    _el("br", _el("r", brk), type="page")
    out = [brk, _para("THÔNG TIN KIỂM SOÁT TÀI LIỆU / DOCUMENT CONTROL", size=26, bold=True,
                      center=True, after=120),
           _para(stamp_lines(info)[0], size=22, after=60),
           _para(f"Lần ban hành: {_label(info.revision, info.label)}", size=22, after=120),
           _para("Chữ ký điện tử / Electronic signatures", size=22, bold=True, after=60)]
    cols = [round(width * f) for f in (0.27, 0.27, 0.18)]
    cols.append(width - sum(cols))
    signed = [[meaning_text(s.meaning)[0], _clean(s.name), _dt(s.signed_at),
               meaning_text(s.meaning)[1]] for s in info.signatures] or [["—", "—", "—", "—"]]
    out.append(_table(["Vai trò / Role", "Họ và tên / Name", "Thời điểm / Date-time",
                       "Ý nghĩa / Meaning"], signed, cols))
    out.append(_para("", after=120))
    out.append(_para("THEO DÕI SỬA ĐỔI TÀI LIỆU / REVISION HISTORY", size=22, bold=True,
                     after=60))
    cols = [round(width * f) for f in (0.14, 0.18, 0.43)]
    cols.append(width - sum(cols))
    history = [[_label(h.revision, h.label), _d(h.effective_date),
                _clean(h.reason) or "Ban hành lần đầu / First issue", _clean(h.approver)]
               for h in info.history] or [["—", "—", "—", "—"]]
    out.append(_table(["Lần ban hành / Revision", "Ngày hiệu lực / Effective date",
                       "Lý do sửa đổi / Reason for change", "Người phê duyệt / Approver"],
                      history, cols))
    out.append(_para(stamp_lines(info)[3], size=16, after=0))
    return out


# -- the package walk (python-docx finds the parts, lxml edits them) --

def _ensure_section(document) -> None:
    """Give a body without section properties an A4 section, so it can carry headers."""
    body = document.element.body
    if body.find(W + "sectPr") is not None or document.element.sectPr_lst:
        return
    sectpr = body.get_or_add_sectPr()
    _el("pgSz", sectpr, **_A4)
    _el("pgMar", sectpr, **_MARGINS)


def _text_widths(document) -> list[int]:
    """Return each section's text width in twips (a safe default for odd values)."""
    widths = []
    for section in document.sections:
        try:
            width = int((section.page_width - section.left_margin - section.right_margin) / 635)
        except TypeError:   # a section without page size or margins
            width = _DEFAULT_TEXT_WIDTH
        widths.append(width if 2000 <= width <= 30000 else _DEFAULT_TEXT_WIDTH)
    return widths or [_DEFAULT_TEXT_WIDTH]


def _header_parts(document) -> list:
    """Return every header part a page can show, adding the first section's missing ones."""
    part = document.part
    parts, seen = [], set()
    for index, sectpr in enumerate(document.element.sectPr_lst):
        for kind in _HEADER_TYPES:
            ref = sectpr.get_headerReference(kind)
            if ref is None:
                if index:
                    continue   # a later section without its own header shows the previous one
                header_part, rid = part.add_header_part()
                sectpr.add_headerReference(kind, rid)
            else:
                header_part = part.related_parts.get(ref.rId)
                if header_part is None:   # dangling reference: replace it with a fresh header
                    sectpr.remove_headerReference(kind)
                    header_part, rid = part.add_header_part()
                    sectpr.add_headerReference(kind, rid)
            if id(header_part) not in seen:
                seen.add(id(header_part))
                parts.append(header_part)
    return parts


def _make_room(document, info: StampInfo, headers: list) -> list[etree._Element]:
    """Move the original content down and return the band that fills the space it left."""
    sectprs = list(document.element.sectPr_lst)
    band = band_height(info, min(_text_widths(document)))
    roots = [part.element for part in headers] + [document.element.body]
    stampband.pin_to_page(roots, stampband.first_top(sectprs))
    distance = stampband.header_distance(sectprs)
    highest = stampband.highest_top(roots)
    # Anything anchored above the header distance moves too, so the band must clear it.
    lift = max(0, distance - highest) if highest is not None else 0
    shift = band + lift
    stampband.shift_anchors(roots, shift)
    stampband.grow_top(sectprs, shift)
    return _band(info, after=_BAND_GAP + lift)


def stamp_copy(data: bytes, info: StampInfo) -> bytes:
    """Return a stamped copy of an accepted .docx; the input bytes are never modified."""
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:   # python-docx raises many kinds on odd packages
        raise UnsupportedFile("This Word document cannot be stamped as a controlled copy",
                              reason=type(exc).__name__) from exc
    _ensure_section(document)
    watermark = {"obsolete": OBSOLETE_MARK, "pending": PENDING_MARK,
                 "draft": DRAFT_MARK}.get(info.kind)
    headers = _header_parts(document)
    band = _make_room(document, info, headers)
    for n, header_part in enumerate(headers, start=1):
        paragraphs = [copy.deepcopy(p) for p in band]
        if watermark:   # in the band's first line: a paragraph of its own would take a line
            paragraphs[0].append(watermark_run(watermark, n))
        root = header_part.element
        for index, p in enumerate(paragraphs):
            root.insert(index, p)
    body = document.element.body
    anchor = body.find(W + "sectPr")
    for element in _control_pages(info, min(_text_widths(document))):
        if anchor is not None:
            anchor.addprevious(element)
        else:
            body.append(element)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
