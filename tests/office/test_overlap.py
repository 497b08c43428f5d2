"""A stamped copy's marks never cover the original: checked on what LibreOffice prints."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import docx
import pytest

from docctl.errors import UnsupportedFile
from docctl.office import inspect_docx, stamp_copy, stampband
from docctl.office import stamp as stamp_module
from tests.fixtures.letterheads import LETTERHEADS
from tests.office import overlap
from tests.office.test_stamp import CONTROLLED, SUPERSEDED

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
INFO = dataclasses.replace(CONTROLLED, label="03sđ01",
                           organisation="Công ty Cổ phần Cấp nước Lào Cai")
OBSOLETE = dataclasses.replace(SUPERSEDED, label="01", organisation="Sở Khoa học và Công nghệ")


def _corpus() -> dict[str, bytes]:
    out = {}
    for path in sorted(CORPUS.glob("*/*.docx")):
        data = path.read_bytes()
        try:
            inspect_docx(data)
        except UnsupportedFile:
            continue   # refused at upload: never stamped
        out[f"{path.parent.name}__{path.stem}"] = data
    return out


def _without(step: str, data: bytes) -> bytes:
    """Return a copy stamped with one step of making room left out (what the check must see)."""
    saved = getattr(stampband, step)
    setattr(stampband, step, lambda *args: None)
    try:
        return stamp_copy(data, INFO)
    finally:
        setattr(stampband, step, saved)


def _band_in_header_only(data: bytes) -> bytes:
    """Return a copy with the band put in the header and nothing moved (the naive stamp)."""
    document = docx.Document(io.BytesIO(data))
    header = document.sections[0].header._element
    for index, p in enumerate(stamp_module._band(INFO, after=0)):
        header.insert(index, p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


ORIGINALS = {**{name: make() for name, make in LETTERHEADS.items()}, **_corpus()}
STAMP_TEXT = " ".join(stamp_module.stamp_lines(INFO))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Render every original and its copies once, in a single LibreOffice run."""
    reason = overlap.tools_missing()
    if reason:
        pytest.skip(f"stamp-overlap check not run: {reason}")
    documents = {}
    for name, data in ORIGINALS.items():
        documents[name] = data
        documents[f"{name}__copy"] = stamp_copy(data, INFO)
    text_box = ORIGINALS["b_header_text_box"]
    documents["b__unshifted"] = _without("shift_anchors", text_box)
    documents["b2__unpinned"] = _without("pin_to_page", ORIGINALS["b2_header_text_box_margin"])
    documents["b__naive"] = _band_in_header_only(text_box)
    documents["d__obsolete"] = stamp_copy(ORIGINALS["d_first_page_header"], OBSOLETE)
    return overlap.render_many(documents, tmp_path_factory.mktemp("overlap"))


@pytest.mark.parametrize("name", sorted(ORIGINALS))
def test_no_stamp_word_covers_the_original_and_page_one_survives(rendered, name):
    report = overlap.check(rendered[name], rendered[f"{name}__copy"], STAMP_TEXT)
    assert report.covered == [], f"{name}: stamp words cover the original: {report.covered[:5]}"
    assert not report.missing, f"{name}: page-1 words lost: {dict(report.missing)}"
    # The band is on every page: each page of the copy carries the mark line.
    pages = overlap.words(rendered[f"{name}__copy"])
    for number, page in enumerate(pages, start=1):
        text = " ".join(b.text for b in page)
        assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in text, f"{name}: page {number} lacks the mark"
        assert "03sđ01" in text and "Cấp nước Lào Cai" in text, f"{name}: page {number}"
    assert report.stamp_words >= len(pages) * len(STAMP_TEXT.split()) - 5


def test_the_check_sees_a_stamp_printed_over_a_letterhead(rendered):
    naive = overlap.check(rendered["b_header_text_box"], rendered["b__naive"], STAMP_TEXT)
    assert naive.covered_words > 0
    assert any(other.text in ("TÀI", "LIỆU", "QUY", "TRÌNH") for _, _, other in naive.covered)


def test_page_anchored_title_blocks_move_with_the_content(rendered):
    # Without moving the page-anchored text box the band and the title block collide.
    stuck = overlap.check(rendered["b_header_text_box"], rendered["b__unshifted"], STAMP_TEXT)
    assert stuck.covered_words > 0
    moved = overlap.check(rendered["b_header_text_box"], rendered["b_header_text_box__copy"],
                          STAMP_TEXT)
    assert moved.covered == []


def test_margin_anchored_title_blocks_are_pinned_to_the_page(rendered):
    # Hung from the top margin it starts above the header distance: unless it counts as
    # anchored from the page, the band is not made to clear it and prints over it.
    name = "b2_header_text_box_margin"
    stuck = overlap.check(rendered[name], rendered["b2__unpinned"], STAMP_TEXT)
    assert stuck.covered_words > 0
    assert overlap.check(rendered[name], rendered[f"{name}__copy"], STAMP_TEXT).covered == []


def test_obsolete_band_also_clears_first_page_letterheads(rendered):
    text = " ".join(stamp_module.stamp_lines(OBSOLETE))
    report = overlap.check(rendered["d_first_page_header"], rendered["d__obsolete"], text)
    # The diagonal watermark is a drawn shape (no words); the band's words cover nothing.
    assert report.covered == []
    assert not report.missing
    for number, page in enumerate(overlap.words(rendered["d__obsolete"]), start=1):
        assert "HẾT HIỆU LỰC / OBSOLETE" in " ".join(b.text for b in page), f"page {number}"
