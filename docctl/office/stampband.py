"""Make room for the stamp band: move each page's original content down by the band's height.

The band goes at the top of every header, at the header distance. Everything the original
prints below it moves down by one amount: the header's own content (it follows the band), the
body (the top margin grows by the same amount) and shapes, frames and floating tables that are
positioned from the page edge (their offsets grow by it, because margins do not move them).
Footers and the bottom margin stay as they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from lxml import etree

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = f"{{{_W_NS}}}"
_WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
_VML = "urn:schemas-microsoft-com:vml"
_EMU_PER_TWIP = 635
# Word's defaults when a section gives no margins (twips).
_DEFAULT_TOP, _DEFAULT_HEADER = 1440, 720
# Vertical references that are fixed to the page, not to a margin or a paragraph.
_PAGE_FIXED = {"page", "topMargin", "insideMargin", "outsideMargin"}
_VML_PAGE_FIXED = {"page", "top-margin-area", "inner-margin-area", "outer-margin-area"}
_LENGTH = re.compile(r"^\s*(-?[0-9.]+)\s*(pt|in|cm|mm|px|pc|emu)?\s*$")
_TWIPS_PER = {"pt": 20.0, "in": 1440.0, "cm": 1440 / 2.54, "mm": 144 / 2.54, "px": 15.0,
              "pc": 240.0, "emu": 1 / 635, None: 15.0}

# Times New Roman advance widths (fractions of an em), rounded up: the band is measured
# before any renderer sees it, so an estimate too wide only costs white space, one too narrow
# lets a line wrap into the original. With the safety factor a line is measured ~30 % wider
# than Times (Liberation Serif) sets it, so a substitute such as DejaVu Serif (~20 % wider,
# where Times is not installed) still fits.
_UPPER, _LOWER, _NARROW, _WIDE = 0.74, 0.52, 0.30, 1.0
_BOLD = 1.08
_SAFETY = 1.18


def _char_em(char: str) -> float:
    if char == " ":
        return 0.25
    if char in "—–@%&WMmw":
        return _WIDE
    if char in ".,:;·'|!ilIjft()[]/-":
        return _NARROW
    if char.isupper():
        return _UPPER
    return _LOWER


def text_lines(text: str, size_pt: float, width_twips: int, *, bold: bool = False) -> int:
    """Return how many lines text needs at size_pt in a column width_twips wide."""
    scale = size_pt * 20 * (_BOLD if bold else 1.0) * _SAFETY

    def measure(word: str) -> float:
        return sum(_char_em(c) for c in word) * scale

    space = _char_em(" ") * scale
    lines, used = 1, 0.0
    for word in text.split(" "):
        size = measure(word)
        if used and used + space + size > width_twips:
            lines += 1
            used = 0.0
        if size > width_twips:   # a word longer than the line breaks inside itself
            extra = math.ceil(size / width_twips) - 1
            lines += extra
            used = size - extra * width_twips
        else:
            used += (space if used else 0.0) + size
    return lines


def _int(value: str | None, default: int) -> int:
    try:
        return int(float(value)) if value is not None else default
    except ValueError:
        return default


def _margins(sectpr) -> etree._Element:
    pgmar = sectpr.find(W + "pgMar")
    if pgmar is None:
        pgmar = etree.SubElement(sectpr, W + "pgMar")
        pgmar.set(W + "top", str(_DEFAULT_TOP))
        pgmar.set(W + "header", str(_DEFAULT_HEADER))
        for side in ("right", "bottom", "left"):
            pgmar.set(W + side, "1440")
        pgmar.set(W + "footer", "720")
        pgmar.set(W + "gutter", "0")
    return pgmar


def header_distance(sectprs: Iterable) -> int:
    """Return the largest header distance of the sections, in twips."""
    return max((_int(_margins(s).get(W + "header"), _DEFAULT_HEADER) for s in sectprs),
               default=_DEFAULT_HEADER)


def grow_top(sectprs: Iterable, shift: int) -> None:
    """Enlarge every section's top margin by shift twips (an exact top margin stays exact)."""
    for sectpr in sectprs:
        pgmar = _margins(sectpr)
        top = _int(pgmar.get(W + "top"), _DEFAULT_TOP)
        pgmar.set(W + "top", str(top - shift if top < 0 else top + shift))


def first_top(sectprs: list) -> int:
    """Return the first section's top margin in twips (its size, exact or not)."""
    if not sectprs:
        return _DEFAULT_TOP
    return abs(_int(_margins(sectprs[0]).get(W + "top"), _DEFAULT_TOP))


def pin_to_page(roots: Iterable, top: int) -> None:
    """Re-anchor things placed from the top margin to the page edge, where they print.

    A title block hung from the top margin (a negative offset, as Word writes it) may start
    above the header distance: as a page offset it counts when the band is made to clear
    everything anchored above it, and it then moves by the same shift as the rest.
    """
    for root in roots:
        for pos in root.iter(_WP + "positionV"):
            if pos.get("relativeFrom") != "margin":
                continue
            offset, align = pos.find(_WP + "posOffset"), pos.find(_WP + "align")
            if offset is None and (align is None or align.text != "top"):
                continue   # centred or bottom-aligned in the margin box: left as it is
            if offset is None:
                pos.remove(align)
                offset = etree.SubElement(pos, _WP + "posOffset")
                offset.text = "0"
            offset.text = str(_int(offset.text, 0) + top * _EMU_PER_TWIP)
            pos.set("relativeFrom", "page")
        for shape in root.iter(f"{{{_VML}}}shape", f"{{{_VML}}}rect", f"{{{_VML}}}group"):
            style = _style(shape.get("style"))
            if (style.get("position") != "absolute"
                    or style.get("mso-position-vertical-relative") != "margin"):
                continue
            y = _vml_top(shape)
            if y is None:
                continue
            items = [i for i in (shape.get("style") or "").split(";") if i.strip() and
                     i.split(":")[0].strip().lower() not in
                     ("margin-top", "mso-position-vertical", "mso-position-vertical-relative")]
            items += [f"margin-top:{(y + top) / 20:g}pt", "mso-position-vertical-relative:page"]
            shape.set("style", ";".join(items))


# -- things positioned from the page edge --

def _anchors(root) -> Iterable[tuple[etree._Element, str]]:
    for pos in root.iter(_WP + "positionV"):
        if pos.get("relativeFrom") in _PAGE_FIXED:
            yield pos, "dml"
    for shape in root.iter(f"{{{_VML}}}shape", f"{{{_VML}}}rect", f"{{{_VML}}}roundrect",
                           f"{{{_VML}}}group", f"{{{_VML}}}line", f"{{{_VML}}}oval",
                           f"{{{_VML}}}image"):
        style = _style(shape.get("style"))
        if (style.get("position") == "absolute"
                and style.get("mso-position-vertical-relative") in _VML_PAGE_FIXED
                and not shape.get("id", "").startswith("DocctlWatermark")):
            yield shape, "vml"
    for frame in root.iter(W + "framePr"):
        if frame.get(W + "vAnchor") == "page":
            yield frame, "frame"
    for table in root.iter(W + "tblpPr"):
        if table.get(W + "vertAnchor") == "page":
            yield table, "table"


def _style(text: str | None) -> dict[str, str]:
    out = {}
    for item in (text or "").split(";"):
        key, _, value = item.partition(":")
        if key.strip():
            out[key.strip().lower()] = value.strip()
    return out


def _vml_top(shape) -> int | None:
    style = _style(shape.get("style"))
    if style.get("mso-position-vertical") not in (None, "absolute"):
        return 0 if style.get("mso-position-vertical") == "top" else None
    match = _LENGTH.match(style.get("margin-top", "0"))
    if match is None:
        return None
    return round(float(match.group(1)) * _TWIPS_PER[match.group(2)])


def _top(element, kind: str) -> int | None:
    """Return an anchored thing's distance from the page top in twips (None: not known)."""
    if kind == "dml":
        offset = element.find(_WP + "posOffset")
        if offset is not None:
            return _int(offset.text, 0) // _EMU_PER_TWIP
        align = element.find(_WP + "align")
        return 0 if align is not None and align.text == "top" else None
    if kind == "vml":
        return _vml_top(element)
    if kind == "frame":
        return _int(element.get(W + "y"), 0)
    return _int(element.get(W + "tblpY"), 0)


def highest_top(roots: Iterable) -> int | None:
    """Return the smallest page-top distance of anything anchored to the page in roots."""
    tops = [t for root in roots for element, kind in _anchors(root)
            if (t := _top(element, kind)) is not None]
    return min(tops, default=None)


def shift_anchors(roots: Iterable, shift: int) -> int:
    """Move everything anchored to the page in roots down by shift twips; return the count."""
    moved = 0
    for root in roots:
        for element, kind in list(_anchors(root)):
            if kind == "dml":
                _shift_dml(element, shift)
            elif kind == "vml":
                if not _shift_vml(element, shift):
                    continue
            elif kind == "frame":
                element.set(W + "y", str(_int(element.get(W + "y"), 0) + shift))
            else:
                element.set(W + "tblpY", str(_int(element.get(W + "tblpY"), 0) + shift))
            moved += 1
    return moved


def _shift_dml(position, shift: int) -> None:
    offset = position.find(_WP + "posOffset")
    if offset is None:
        align = position.find(_WP + "align")
        if align is None or align.text != "top":
            return   # centred or bottom-aligned on the page: clear of the band already
        position.remove(align)
        offset = etree.SubElement(position, _WP + "posOffset")
        offset.text = "0"
    offset.text = str(_int(offset.text, 0) + shift * _EMU_PER_TWIP)


def _shift_vml(shape, shift: int) -> bool:
    top = _vml_top(shape)
    if top is None:
        return False
    items = [i for i in (shape.get("style") or "").split(";") if i.strip()]
    items = [i for i in items if i.split(":")[0].strip().lower() not in
             ("margin-top", "mso-position-vertical")]
    items.append(f"margin-top:{(top + shift) / 20:g}pt")
    shape.set("style", ";".join(items))
    return True
