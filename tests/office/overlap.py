"""What a person sees on a stamped copy: do the stamp's words cover the original's?

Both files are rendered by LibreOffice (all of them in one run, offline: office/offline.py
strips external references first). Word boxes come from `pdftotext -bbox` and image boxes from
`pdftohtml -xml -zoom 1` (poppler-utils; both in PDF points, origin top-left). The stamp's words
on a page are the copy's words the stamp prints (its text is known): when the original has the
same word on that page, the instances nearest the stamp's unambiguous words are the stamp's.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from docctl.office import pdf
from docctl.office.offline import strip_external

# The appended control page: all of it is the stamp's.
CONTROL_HEADING = "THÔNG TIN KIỂM SOÁT TÀI LIỆU / DOCUMENT CONTROL"
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                   r"(.*?)</word>")
_PAGE = re.compile(r"<page width=")
_IMAGE = re.compile(r'<image top="(-?[\d.]+)" left="(-?[\d.]+)" width="([\d.]+)" '
                    r'height="([\d.]+)"')
# Boxes touching or sharing a hairline are not covering each other.
_TOLERANCE = 0.5


@dataclass(frozen=True)
class Box:
    """A word or an image on a page, in PDF points."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def covers(self, other: Box) -> bool:
        """Tell whether the two boxes overlap by more than a hairline."""
        return (min(self.x1, other.x1) - max(self.x0, other.x0) > _TOLERANCE
                and min(self.y1, other.y1) - max(self.y0, other.y0) > _TOLERANCE)


@dataclass
class Report:
    """The outcome of the check for one document."""

    pages: int = 0
    stamp_words: int = 0
    covered: list[tuple[int, Box, Box]] = field(default_factory=list)
    missing: Counter = field(default_factory=Counter)

    @property
    def covered_words(self) -> int:
        """Return how many of the original's words or images a stamp word covers."""
        return len({(page, box) for page, _, box in self.covered})


def tools_missing() -> str | None:
    """Return why the check cannot run here, or None."""
    for tool in ("soffice", "pdftotext", "pdftohtml"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def render_many(documents: dict[str, bytes], workdir: Path) -> dict[str, Path]:
    """Render .docx files to PDF in one LibreOffice run (one start-up for them all)."""
    sources = []
    for name, data in documents.items():
        path = workdir / f"{name}.docx"
        path.write_bytes(strip_external(data))
        sources.append(str(path))
    profile = (workdir / "lo-profile").resolve().as_uri()
    subprocess.run([*pdf.sandbox(), pdf.find_soffice(), f"-env:UserInstallation={profile}",
                    "--headless", "--norestore", "--nologo", "--nolockcheck",
                    "--convert-to", "pdf", "--outdir", str(workdir), *sources],
                   cwd=workdir, capture_output=True, timeout=600, check=True)
    out = {name: workdir / f"{name}.pdf" for name in documents}
    for name, path in out.items():
        assert path.exists(), f"LibreOffice made no PDF of {name}"
    return out


def words(path: Path) -> list[list[Box]]:
    """Return each page's word boxes."""
    xhtml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                           text=True, check=True).stdout
    pages = []
    for chunk in _PAGE.split(xhtml)[1:]:
        pages.append([Box(html.unescape(m.group(5)), *map(float, m.groups()[:4]))
                      for m in _WORD.finditer(chunk)])
    return pages


def images(path: Path) -> list[list[Box]]:
    """Return each page's image boxes."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = subprocess.run(["pdftohtml", "-xml", "-zoom", "1", "-q", "-stdout", str(path),
                              str(Path(tmp) / "img")], capture_output=True, text=True,
                             check=True).stdout
    pages = []
    for chunk in re.split(r"<page number=", xml)[1:]:
        boxes = []
        for m in _IMAGE.finditer(chunk):
            top, left, width, height = map(float, m.groups())
            boxes.append(Box("<image>", left, top, left + width, top + height))
        pages.append(boxes)
    return pages


def _split_page(page: list[Box], stamp: Counter) -> tuple[list[Box], list[Box]]:
    """Return (stamp words, original words) of one page of the copy."""
    if CONTROL_HEADING in " ".join(b.text for b in page):
        return page, []
    by_text: dict[str, list[Box]] = {}
    for box in page:
        by_text.setdefault(box.text, []).append(box)
    sure = [box for text, boxes in by_text.items()
            if text in stamp and len(boxes) <= stamp[text] for box in boxes]
    centres = [(b.y0 + b.y1) / 2 for b in sure]
    ours = list(sure)
    for text, boxes in by_text.items():
        if text in stamp and len(boxes) > stamp[text]:
            # The original prints this word too: the stamp's are on the stamp's lines.
            ranked = sorted(boxes, key=lambda b: min((abs((b.y0 + b.y1) / 2 - c)
                                                      for c in centres), default=0.0))
            ours += ranked[:stamp[text]]
    chosen = {id(b) for b in ours}
    return ours, [b for b in page if id(b) not in chosen]


def check(original_pdf: Path, copy_pdf: Path, stamp_text: str) -> Report:
    """Compare a copy with its original: stamp words covering the original's, words lost."""
    stamp = Counter(stamp_text.split())
    copy_words, copy_images = words(copy_pdf), images(copy_pdf)
    report = Report(pages=len(copy_words))
    for number, page in enumerate(copy_words, start=1):
        ours, theirs = _split_page(page, stamp)
        report.stamp_words += len(ours)
        pictures = copy_images[number - 1] if number <= len(copy_images) else []
        for mine in ours:
            for other in [*theirs, *pictures]:
                if mine.covers(other):
                    report.covered.append((number, mine, other))
    original = words(original_pdf)
    first = Counter(b.text for b in original[0]) if original else Counter()
    everything = Counter(b.text for page in copy_words for b in page)
    report.missing = first - everything
    return report
