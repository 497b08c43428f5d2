"""Read what a PDF needs from a TrueType font: glyph ids, advance widths and metrics."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# DejaVu Sans carries every Vietnamese letter precomposed (Latin Extended Additional).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Font:
    """A TrueType font's bytes and the metrics a PDF font dictionary states."""

    name: str
    data: bytes
    units: int                   # units per em
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int
    cmap: dict[int, int]         # code point → glyph id
    widths: tuple[int, ...]      # advance width per glyph id, in font units

    def glyph(self, char: str) -> int:
        """Return the glyph id of a character (0, the .notdef box, if the font lacks it)."""
        return self.cmap.get(ord(char), 0)

    def width(self, gid: int) -> int:
        """Return a glyph's advance in thousandths of an em (the PDF unit)."""
        units = self.widths[min(gid, len(self.widths) - 1)] if self.widths else self.units
        return round(units * 1000 / self.units)

    def text_width(self, text: str, size: float) -> float:
        """Return the width of text set at size points."""
        return sum(self.width(self.glyph(c)) for c in text) * size / 1000


def _tables(data: bytes) -> dict[bytes, tuple[int, int]]:
    count = struct.unpack_from(">H", data, 4)[0]
    return {data[12 + 16 * i:16 + 16 * i]: struct.unpack_from(">II", data, 20 + 16 * i)
            for i in range(count)}


def _cmap(data: bytes, offset: int) -> dict[int, int]:
    """Read the Unicode BMP subtable (format 4): Vietnamese needs nothing beyond it."""
    count = struct.unpack_from(">H", data, offset + 2)[0]
    for i in range(count):
        platform, encoding, sub = struct.unpack_from(">HHI", data, offset + 4 + 8 * i)
        at = offset + sub
        if (platform, encoding) in ((3, 1), (0, 3)) and \
                struct.unpack_from(">H", data, at)[0] == 4:
            return _format4(data, at)
    return {}


def _format4(data: bytes, at: int) -> dict[int, int]:
    segs = struct.unpack_from(">H", data, at + 6)[0] // 2
    ends = struct.unpack_from(f">{segs}H", data, at + 14)
    starts = struct.unpack_from(f">{segs}H", data, at + 16 + 2 * segs)
    deltas = struct.unpack_from(f">{segs}h", data, at + 16 + 4 * segs)
    range_at = at + 16 + 6 * segs
    offsets = struct.unpack_from(f">{segs}H", data, range_at)
    out: dict[int, int] = {}
    for i in range(segs):
        for code in range(starts[i], ends[i] + 1):
            if code == 0xFFFF:
                continue
            if offsets[i] == 0:
                gid = (code + deltas[i]) & 0xFFFF
            else:
                where = range_at + 2 * i + offsets[i] + 2 * (code - starts[i])
                gid = struct.unpack_from(">H", data, where)[0]
                gid = (gid + deltas[i]) & 0xFFFF if gid else 0
            if gid:
                out[code] = gid
    return out


def parse(data: bytes, name: str = "DejaVuSans") -> Font:
    """Read a TrueType font's metrics and BMP character map."""
    tables = _tables(data)
    head = tables[b"head"][0]
    units = struct.unpack_from(">H", data, head + 18)[0]
    bbox = struct.unpack_from(">hhhh", data, head + 36)
    hhea = tables[b"hhea"][0]
    ascent, descent = struct.unpack_from(">hh", data, hhea + 4)
    metrics = struct.unpack_from(">H", data, hhea + 34)[0]
    hmtx = tables[b"hmtx"][0]
    widths = tuple(struct.unpack_from(">H", data, hmtx + 4 * i)[0] for i in range(metrics))
    cap = ascent
    if b"OS/2" in tables:
        os2, length = tables[b"OS/2"]
        if length >= 90:
            cap = struct.unpack_from(">h", data, os2 + 88)[0] or ascent
    return Font(name=name, data=data, units=units, bbox=bbox, ascent=ascent, descent=descent,
                cap_height=cap, cmap=_cmap(data, tables[b"cmap"][0]), widths=widths)


@lru_cache(maxsize=1)
def stamp_font() -> Font | None:
    """Return the font stamps are drawn with, or None if no candidate is installed."""
    for candidate in FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            try:
                return parse(path.read_bytes())
            except (struct.error, KeyError, IndexError):
                continue
    return None
