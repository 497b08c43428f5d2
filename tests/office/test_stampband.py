"""The band's room is made in the XML: margins, header distance and page-anchored things."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from lxml import etree

from docctl.office import stamp_copy
from docctl.office.stamp import band_height
from docctl.office.stampband import text_lines
from tests.fixtures.letterheads import LETTERHEADS
from tests.office.test_overlap import INFO

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"


def _margins(data: bytes) -> list[tuple[int, int]]:
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))
    return [(int(m.get(W + "top")), int(m.get(W + "header"))) for m in root.iter(W + "pgMar")]


def _header_roots(data: bytes) -> list[etree._Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [etree.fromstring(package.read(n)) for n in package.namelist()
                if n.startswith("word/header")]


@pytest.mark.parametrize("name", sorted(LETTERHEADS))
def test_every_top_margin_grows_and_the_header_distance_stays(name):
    original = LETTERHEADS[name]()
    stamped = stamp_copy(original, INFO)
    before, after = _margins(original), _margins(stamped)
    assert len(before) == len(after) >= 1
    band = band_height(INFO, 9000)
    for (top0, header0), (top1, header1) in zip(before, after, strict=True):
        assert header1 == header0
        assert top1 - top0 >= band


@pytest.mark.parametrize("name", sorted(LETTERHEADS))
def test_every_header_part_starts_with_the_band(name):
    for root in _header_roots(stamp_copy(LETTERHEADS[name](), INFO)):
        first = "".join(t.text for t in root[0].iter(W + "t"))
        assert first.startswith("Công ty Cổ phần Cấp nước Lào Cai · QT-01"), first
        texts = ["".join(t.text for t in p.iter(W + "t")) for p in root[:5]]
        assert texts[2] == "BẢN KIỂM SOÁT / CONTROLLED COPY"
        assert "Lần ban hành: 03sđ01" in texts[1]


def test_first_page_and_even_headers_all_print_the_band():
    for name, variants in (("d_first_page_header", ("header", "first_page_header")),
                           ("e_odd_even_headers", ("header", "even_page_header"))):
        document = docx.Document(io.BytesIO(stamp_copy(LETTERHEADS[name](), INFO)))
        for section in document.sections:
            for variant in variants:
                text = "".join(t.text or "" for t in
                               getattr(section, variant)._element.iter(W + "t"))
                assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in text, (name, variant)


def test_page_anchored_text_box_moves_down_by_the_shift_in_both_forms():
    original = LETTERHEADS["b_header_text_box"]()
    stamped = stamp_copy(original, INFO)
    (top0, _), (top1, _) = _margins(original)[0], _margins(stamped)[0]
    shift = top1 - top0

    def offsets(data):
        roots = _header_roots(data)
        dml = [int(p.findtext(WP + "posOffset")) for r in roots for p in r.iter(WP + "positionV")]
        vml = [s.get("style") for r in roots
               for s in r.iter("{urn:schemas-microsoft-com:vml}shape")
               if s.get("id") == "TitleBlock"]
        return dml, vml

    (dml0, vml0), (dml1, vml1) = offsets(original), offsets(stamped)
    assert [b - a for a, b in zip(dml0, dml1, strict=True)] == [shift * 635]
    top = float(vml0[0].split("margin-top:")[1].split("pt")[0])
    moved = float(vml1[0].split("margin-top:")[1].split("pt")[0])
    assert moved == pytest.approx(top + shift / 20, abs=0.05)   # kept to the twip


def test_exact_top_margins_stay_exact_and_frames_move():
    document = docx.Document(io.BytesIO(LETTERHEADS["f_no_header"]()))
    sectpr = document.sections[0]._sectPr
    sectpr.find(W + "pgMar").set(W + "top", "-1418")
    p = document.paragraphs[0]._p
    frame = etree.SubElement(p.get_or_add_pPr(), W + "framePr")
    frame.set(W + "vAnchor", "page")
    frame.set(W + "y", "300")
    out = io.BytesIO()
    document.save(out)
    stamped = stamp_copy(out.getvalue(), INFO)
    top, header = _margins(stamped)[0]
    assert top < -1418
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(stamped)).read("word/document.xml"))
    y = int(next(root.iter(W + "framePr")).get(W + "y"))
    # The frame sat above the header distance: it moves by the band and by the lift.
    assert y - 300 == -1418 - top
    assert y >= header + band_height(INFO, 9000) - 300


def test_long_lines_are_measured_as_several_lines():
    assert text_lines("ngắn", 8, 9000) == 1
    assert text_lines(" ".join(["Quy trình kiểm soát tài liệu"] * 20), 8, 9000) >= 4
    assert text_lines("x" * 5000, 8, 9000) >= 20
    long = INFO.__class__(**{**INFO.__dict__, "title": "Quy trình " * 60})
    assert band_height(long, 9000) > band_height(INFO, 9000)


def test_stamping_is_deterministic():
    data = LETTERHEADS["b_header_text_box"]()
    assert stamp_copy(data, INFO) == stamp_copy(data, INFO)


def test_margin_anchored_shapes_become_page_anchored_where_word_prints_them():
    original = LETTERHEADS["b2_header_text_box_margin"]()
    stamped = stamp_copy(original, INFO)
    (top0, _), (top1, _) = _margins(original)[0], _margins(stamped)[0]
    before = next(_header_roots(original)[0].iter(WP + "positionV"))
    after = next(_header_roots(stamped)[0].iter(WP + "positionV"))
    assert (before.get("relativeFrom"), after.get("relativeFrom")) == ("margin", "page")
    moved = int(after.findtext(WP + "posOffset")) - int(before.findtext(WP + "posOffset"))
    assert moved == (top0 + (top1 - top0)) * 635   # the margin it hung from, plus the shift
    vml = [s.get("style") for r in _header_roots(stamped)
           for s in r.iter("{urn:schemas-microsoft-com:vml}shape") if s.get("id") == "TitleBlock"]
    assert "mso-position-vertical-relative:page" in vml[0]
