"""Stamp a PDF copy: a band of its own added above every page, never over the page's content."""

from __future__ import annotations

import io
import unicodedata
import warnings

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    RectangleObject,
    TextStringObject,
)

from docctl.errors import UnsupportedFile
from docctl.office import ttf
from docctl.office.pdfdoc import open_pdf
from docctl.office.stamp import StampInfo, mark_line, stamp_lines

__all__ = ["band_height", "stamp_pdf"]

_FONT_KEY = "/DocctlStamp"
_SIZE = 7.0
_MARK_SIZE = 8.5
_PAD = 6.0
_SIDE = 18.0
_FALLBACK_NOTE = "(Vietnamese diacritics omitted: the server has no DejaVu Sans font)"


def _fold(text: str) -> str:
    """Return text without diacritics (đ → d): for the fallback font, and missing glyphs."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    return bare.encode("ascii", "replace").decode()


class _Writer:
    """Lay stamp text out in one font: the embedded TrueType, or Helvetica folded to ASCII."""

    def __init__(self, font: ttf.Font | None):
        self.font = font
        self.used: set[int] = set()

    def prepare(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        if self.font is None:
            return _fold(text)
        text = "".join(c if self.font.glyph(c) else _fold(c) for c in text)
        # The font's width table lists the glyphs used: known before any page is drawn.
        self.used.update(self.font.glyph(c) for c in text)
        return text

    def width(self, text: str, size: float) -> float:
        if self.font is None:
            return len(text) * size * 0.56   # Helvetica's average advance, near enough
        return self.font.text_width(text, size)

    def encode(self, text: str) -> bytes:
        if self.font is None:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            return f"({escaped})".encode("latin-1", "replace")
        gids = [self.font.glyph(c) for c in text]
        return ("<" + "".join(f"{g:04X}" for g in gids) + ">").encode()


def _wrap(writer: _Writer, text: str, size: float, width: float) -> list[str]:
    """Break text at spaces so each line fits width (a word longer than a line is cut)."""
    lines, current = [], ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        if writer.width(trial, size) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
        while writer.width(current, size) > width and len(current) > 1:
            cut = len(current)
            while cut > 1 and writer.width(current[:cut], size) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def _layout(writer: _Writer, info: StampInfo, width: float) -> list[tuple[str, float, bool]]:
    """Return (text, size, red) rows of the band for a page whose band is width wide."""
    rows: list[tuple[str, float, bool]] = []
    mark = mark_line(info)
    texts = stamp_lines(info)
    if writer.font is None:
        texts = [*texts, _FALLBACK_NOTE]
    for text in texts:
        red = text == mark
        size = _MARK_SIZE if red else _SIZE
        for line in _wrap(writer, writer.prepare(text), size, width):
            rows.append((line, size, red))
    return rows


def band_height(rows: list[tuple[str, float, bool]]) -> float:
    """Return the height of a band holding these rows."""
    return 2 * _PAD + sum(size * 1.25 for _text, size, _red in rows)


def _ops(writer: _Writer, rows, left: float, bottom: float, width: float,
         height: float) -> bytes:
    out = [b"q", b"1 1 1 rg",
           f"{left:.2f} {bottom:.2f} {width:.2f} {height:.2f} re f".encode(),
           b"0.5 0.5 0.5 RG 0.5 w",
           f"{left + _SIDE:.2f} {bottom + 2:.2f} m {left + width - _SIDE:.2f} "
           f"{bottom + 2:.2f} l S".encode()]
    y = bottom + height - _PAD
    for text, size, red in rows:
        y -= size * 1.25
        colour = b"0.75 0 0 rg" if red else b"0 0 0 rg"
        out += [b"BT", colour, f"{_FONT_KEY} {size:.2f} Tf".encode(),
                f"1 0 0 1 {left + _SIDE:.2f} {y + size * 0.25:.2f} Tm".encode(),
                writer.encode(text) + b" Tj", b"ET"]
    out.append(b"Q")
    return b"\n".join(out)


def _font_dict(pdf: PdfWriter, writer: _Writer):
    """Add the stamp font to the document once; return its reference."""
    font = writer.font
    if font is None:
        return pdf._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    # The whole font is embedded (no subsetting without fontTools), compressed once per copy.
    file = DecodedStreamObject()
    file.set_data(font.data)
    file = file.flate_encode()
    file[NameObject("/Length1")] = NumberObject(len(font.data))
    descriptor = DictionaryObject({
        NameObject("/Type"): NameObject("/FontDescriptor"),
        NameObject("/FontName"): NameObject(f"/{font.name}"),
        NameObject("/Flags"): NumberObject(32),
        NameObject("/FontBBox"): ArrayObject(NumberObject(round(v * 1000 / font.units))
                                             for v in font.bbox),
        NameObject("/ItalicAngle"): NumberObject(0),
        NameObject("/Ascent"): NumberObject(round(font.ascent * 1000 / font.units)),
        NameObject("/Descent"): NumberObject(round(font.descent * 1000 / font.units)),
        NameObject("/CapHeight"): NumberObject(round(font.cap_height * 1000 / font.units)),
        NameObject("/StemV"): NumberObject(80),
        NameObject("/FontFile2"): pdf._add_object(file)})
    widths = ArrayObject()
    for gid in sorted(writer.used):
        widths += [NumberObject(gid), ArrayObject([NumberObject(font.width(gid))])]
    cid = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/CIDFontType2"),
        NameObject("/BaseFont"): NameObject(f"/{font.name}"),
        NameObject("/CIDSystemInfo"): DictionaryObject({
            NameObject("/Registry"): TextStringObject("Adobe"),
            NameObject("/Ordering"): TextStringObject("Identity"),
            NameObject("/Supplement"): NumberObject(0)}),
        NameObject("/FontDescriptor"): pdf._add_object(descriptor),
        NameObject("/DW"): NumberObject(1000),
        NameObject("/W"): widths,
        NameObject("/CIDToGIDMap"): NameObject("/Identity")})
    to_unicode = DecodedStreamObject()
    to_unicode.set_data(_cmap(font, writer.used))
    return pdf._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type0"),
        NameObject("/BaseFont"): NameObject(f"/{font.name}"),
        NameObject("/Encoding"): NameObject("/Identity-H"),
        NameObject("/DescendantFonts"): ArrayObject([pdf._add_object(cid)]),
        NameObject("/ToUnicode"): pdf._add_object(to_unicode.flate_encode())}))


def _cmap(font: ttf.Font, used: set[int]) -> bytes:
    """Return a ToUnicode CMap, so the stamp's words can be found and copied."""
    reverse: dict[int, int] = {}
    for code, gid in font.cmap.items():
        if gid in used and (gid not in reverse or code < reverse[gid]):
            reverse[gid] = code
    pairs = sorted(reverse.items())
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
             "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for start in range(0, len(pairs), 100):
        block = pairs[start:start + 100]
        lines.append(f"{len(block)} beginbfchar")
        lines += [f"<{gid:04X}> <{code:04X}>" for gid, code in block]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode()


def stamp_pdf(data: bytes, info: StampInfo) -> bytes:
    """Return a copy of an accepted PDF with the stamp band above every page."""
    reader = open_pdf(data)
    writer = _Writer(ttf.stamp_font())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pdf = PdfWriter(clone_from=reader)
            plans = []
            for page in pdf.pages:
                if page.rotation % 360:
                    # Turn the content instead of the page, so "top" is the top people see.
                    page.transfer_rotation_to_content()
                box = page.cropbox
                left, bottom = float(box.left), float(box.bottom)
                right, top = float(box.right), float(box.top)
                rows = _layout(writer, info, right - left - 2 * _SIDE)
                plans.append((page, rows, (left, bottom, right, top)))
            font = _font_dict(pdf, writer)
            for page, rows, (left, bottom, right, top) in plans:
                _stamp_page(pdf, page, writer, rows, font, left, bottom, right, top)
            out = io.BytesIO()
            pdf.write(out)
    except UnsupportedFile:
        raise
    except Exception as exc:   # pypdf raises many kinds on odd files
        raise UnsupportedFile("This PDF cannot be stamped as a controlled copy",
                              reason=type(exc).__name__) from exc
    return out.getvalue()


def _stamp_page(pdf: PdfWriter, page, writer: _Writer, rows, font, left: float,
                bottom: float, right: float, top: float) -> None:
    height = band_height(rows)
    media = page.mediabox
    page.mediabox = RectangleObject([media.left, media.bottom, media.right,
                                     max(float(media.top), top + height)])
    page.cropbox = RectangleObject([left, bottom, right, top + height])
    for name in ("/TrimBox", "/BleedBox", "/ArtBox"):
        if name in page:   # they would cut the band off when printed
            del page[name]
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else None
    if resources is None:
        resources = DictionaryObject()
        page[NameObject("/Resources")] = resources
    fonts = resources.get("/Font")
    fonts = fonts.get_object() if fonts is not None else None
    if fonts is None:
        fonts = DictionaryObject()
        resources[NameObject("/Font")] = fonts
    fonts[NameObject(_FONT_KEY)] = font
    # The original runs inside q … Q, so whatever state it leaves cannot move the band.
    content = DecodedStreamObject()
    content.set_data(b"q\n" + (page._get_contents_as_bytes() or b"") + b"\nQ\n"
                     + _ops(writer, rows, left, top, right - left, height))
    page[NameObject("/Contents")] = pdf._add_object(content.flate_encode())
