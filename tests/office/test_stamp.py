"""Controlled-copy stamps reach every header of every section, on real-world Word files."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import docx
import pytest
from lxml import etree

from docctl.errors import UnsupportedFile
from docctl.office import StampInfo, build_docx, inspect_docx, stamp_copy
from docctl.office import pdf as office_pdf
from docctl.office.stamp import HistoryLine, SignatureLine, fingerprint, stamp_lines
from tests.office.linked import gone

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
UNUSUAL = [
    "python-docx_MIT/hdr-header-footer.docx",
    "python-docx_MIT/sct-first-page-hdrftr.docx",
    "python-docx_MIT/doc-odd-even-hdrs.docx",
    "python-docx_MIT/sty-having-no-styles-part.docx",
    "ace-centre_MIT/Main.docx",
    "pandoc_GPL-2.0-or-later/alternate_document_path.docx",
]
VML = "urn:schemas-microsoft-com:vml"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NS = {"v": VML, "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}

SIGNED = (SignatureLine("prepared", "Trần Thị Soạn", datetime(2026, 11, 18, 8, 30)),
          SignatureLine("reviewed", "Phạm Văn Xét", datetime(2026, 11, 19, 10, 0)),
          SignatureLine("approved", "Lê Văn Duyệt", datetime(2026, 11, 20, 9, 14)))
HISTORY = (HistoryLine(1, date(2025, 3, 1), "", "Lê Văn Duyệt"),
           HistoryLine(2, date(2025, 9, 1), "Bổ sung biểu mẫu BM-01-03", "Lê Văn Duyệt"),
           HistoryLine(3, date(2026, 12, 1), "Cập nhật theo TCVN ISO 9001:2015", "Lê Văn Duyệt"))
CONTROLLED = StampInfo(code="QT-01", title="Quy trình kiểm soát tài liệu", revision=3,
                       effective_date=date(2026, 12, 1), status="effective",
                       downloaded_by="Nguyễn Văn Tải (staff)",
                       downloaded_at=datetime(2026, 12, 5, 14, 5), signatures=SIGNED,
                       history=HISTORY)
SUPERSEDED = StampInfo(code="QT-01", title="Quy trình kiểm soát tài liệu", revision=1,
                       effective_date=date(2025, 3, 1), status="superseded",
                       downloaded_by="Kiểm Toán (auditor)",
                       downloaded_at=datetime(2026, 12, 5, 14, 5), kind="obsolete",
                       superseded_by=2, ended_on=date(2025, 9, 1), history=HISTORY[:1])
WITHDRAWN = StampInfo(code="BM-01-02", title="Phiếu đề nghị", revision=2,
                      effective_date=date(2025, 9, 1), status="obsolete",
                      downloaded_by="Kiểm Toán (auditor)",
                      downloaded_at=datetime(2026, 12, 5, 14, 5), kind="obsolete",
                      ended_on=date(2026, 1, 15),
                      withdrawn_reason="Bãi bỏ theo Quyết định 05/QĐ-UBND")


def _read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def _header_texts(data: bytes) -> list[tuple[int, str, str]]:
    """Return (section, variant, text) for every header a page of each section can show."""
    document = docx.Document(io.BytesIO(data))
    out = []
    for index, section in enumerate(document.sections):
        for variant in ("header", "first_page_header", "even_page_header"):
            element = getattr(section, variant)._element
            out.append((index, variant, "".join(t.text or "" for t in element.iter(W + "t"))))
    return out


def _header_xml(data: bytes) -> list[etree._Element]:
    document = docx.Document(io.BytesIO(data))
    return [getattr(s, v)._element for s in document.sections
            for v in ("header", "first_page_header", "even_page_header")]


@pytest.mark.parametrize("name", UNUSUAL)
def test_every_header_of_every_section_carries_the_stamp(name):
    original = _read(name)
    before = {t for _, _, text in _header_texts(original) for t in [text] if t.strip()}
    stamped = stamp_copy(original, CONTROLLED)
    headers = _header_texts(stamped)
    assert headers, "the stamped copy has no section"
    for section, variant, text in headers:
        for needle in ("QT-01 — Quy trình kiểm soát tài liệu", "Lần ban hành: 03",
                       "01/12/2026", "Đang hiệu lực / Effective",
                       "BẢN KIỂM SOÁT / CONTROLLED COPY",
                       "Nguyễn Văn Tải (staff) — 05/12/2026 14:05",
                       "Bản in ra không được kiểm soát / Uncontrolled when printed"):
            assert needle in text, f"{name}: section {section} {variant} lacks {needle!r}"
    after = "\n".join(text for _, _, text in headers)
    for text in before:   # what the headers said before is still there
        assert text.replace(" ", "") in after.replace(" ", "")
    info = inspect_docx(stamped)   # valid by our own checker
    assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in info.text
    assert _read(name) == original   # the input file is untouched


def test_existing_header_texts_survive_in_their_variants():
    stamped = stamp_copy(_read("python-docx_MIT/doc-odd-even-hdrs.docx"), CONTROLLED)
    texts = {variant: text for _, variant, text in _header_texts(stamped)}
    assert "Odd page header." in texts["header"]
    assert "Even page header." in texts["even_page_header"]
    stamped = stamp_copy(_read("python-docx_MIT/sct-first-page-hdrftr.docx"), CONTROLLED)
    firsts = [text for s, v, text in _header_texts(stamped) if v == "first_page_header"]
    assert "First Page Header (section 2)" in firsts[1]


def test_a_body_without_section_properties_gets_an_a4_section():
    stamped = stamp_copy(_read("ace-centre_MIT/Main.docx"), CONTROLLED)
    document = docx.Document(io.BytesIO(stamped))
    assert len(document.sections) == 1
    assert round(document.sections[0].page_width.mm) == 210


def test_signature_block_and_revision_history_are_appended_after_a_page_break():
    stamped = stamp_copy(_read("python-docx_MIT/hdr-header-footer.docx"), CONTROLLED)
    document = docx.Document(io.BytesIO(stamped))
    body = document.element.body
    breaks = body.findall(".//w:br[@w:type='page']", NS)
    assert breaks, "no page break before the control pages"
    texts = [p.text for p in document.paragraphs]
    original = [p.text for p in docx.Document(io.BytesIO(
        _read("python-docx_MIT/hdr-header-footer.docx"))).paragraphs]
    assert texts[:len(original)] == original   # the original content comes first, unchanged
    assert "THEO DÕI SỬA ĐỔI TÀI LIỆU / REVISION HISTORY" in texts
    signatures, history = document.tables[-2], document.tables[-1]
    rows = [[c.text for c in row.cells] for row in signatures.rows]
    assert rows[0] == ["Vai trò / Role", "Họ và tên / Name", "Thời điểm / Date-time",
                       "Ý nghĩa / Meaning"]
    assert ["Người phê duyệt / Approved by", "Lê Văn Duyệt", "20/11/2026 09:14",
            "Phê duyệt ban hành / Approved for issue"] in rows
    assert any(r[1] == "Trần Thị Soạn" for r in rows) and any(r[1] == "Phạm Văn Xét"
                                                               for r in rows)
    rows = [[c.text for c in row.cells] for row in history.rows]
    assert rows[0][0] == "Lần ban hành / Revision"
    assert rows[1:] == [["01", "01/03/2025", "Ban hành lần đầu / First issue", "Lê Văn Duyệt"],
                        ["02", "01/09/2025", "Bổ sung biểu mẫu BM-01-03", "Lê Văn Duyệt"],
                        ["03", "01/12/2026", "Cập nhật theo TCVN ISO 9001:2015",
                         "Lê Văn Duyệt"]]
    # The control pages come after all original content, before the final sectPr.
    assert body[-1].tag.endswith("sectPr")


@pytest.mark.parametrize("name", UNUSUAL)
def test_obsolete_copies_carry_the_mark_and_a_renderable_watermark(name):
    stamped = stamp_copy(_read(name), SUPERSEDED)
    for _, variant, text in _header_texts(stamped):
        assert "HẾT HIỆU LỰC / OBSOLETE" in text and "superseded by revision 02 on 01/09/2025" \
            in text, variant
        assert "BẢN KIỂM SOÁT" not in text
    for header in _header_xml(stamped):
        shapes = header.findall(".//v:shape", NS)
        assert any("HẾT HIỆU LỰC / OBSOLETE" in (tp.get("string") or "")
                   for s in shapes for tp in s.findall("v:textpath", NS))
        # Renders only with its shapetype definition and an active textpath (DESIGN §7).
        shapetype = header.find(".//v:shapetype", NS)
        assert shapetype is not None
        assert shapetype.find("v:textpath", NS).get("on") == "t"
        assert all(s.get("type") == "#" + shapetype.get("id") for s in shapes)
    inspect_docx(stamped)


def test_withdrawn_copies_say_when_and_why():
    stamped = stamp_copy(_read("python-docx_MIT/hdr-header-footer.docx"), WITHDRAWN)
    for _, _, text in _header_texts(stamped):
        assert ("HẾT HIỆU LỰC / OBSOLETE — đã thu hồi ngày 15/01/2026 / withdrawn on "
                "15/01/2026: Bãi bỏ theo Quyết định 05/QĐ-UBND") in text
        assert "Hết hiệu lực (đã thu hồi / bãi bỏ) / Obsolete (withdrawn)" in text


def test_controlled_copies_have_no_watermark():
    stamped = stamp_copy(_read("python-docx_MIT/hdr-header-footer.docx"), CONTROLLED)
    assert all(h.find(".//v:shape", NS) is None for h in _header_xml(stamped))


def test_every_accepted_corpus_file_can_be_stamped():
    stamped_any = 0
    for path in sorted(CORPUS.glob("*/*.doc*")):
        data = path.read_bytes()
        try:
            inspect_docx(data)
        except UnsupportedFile:
            continue
        out = stamp_copy(data, SUPERSEDED)
        assert "HẾT HIỆU LỰC / OBSOLETE" in inspect_docx(out).text, path.name
        docx.Document(io.BytesIO(out))
        stamped_any += 1
    assert stamped_any >= 20


def test_hostile_text_in_titles_and_reasons_cannot_break_the_xml():
    info = StampInfo(code="QT-01", title='A <b>&"\x01 Đ', revision=1,
                     effective_date=date(2026, 1, 1), status="obsolete",
                     downloaded_by="x\x0b", downloaded_at=datetime(2026, 1, 2, 3, 4),
                     kind="obsolete", ended_on=date(2026, 1, 2), withdrawn_reason="]]>\x00<")
    out = stamp_copy(_read("python-docx_MIT/hdr-header-footer.docx"), info)
    assert 'A <b>&" Đ' in inspect_docx(out).text


def test_not_a_word_file_is_refused_cleanly():
    with pytest.raises(UnsupportedFile):
        stamp_copy(b"PK\x03\x04 not really a zip", CONTROLLED)


def test_fingerprint_changes_with_every_printed_line():
    lines = stamp_lines(CONTROLLED)
    assert lines[3].startswith("Người tải / Downloaded by:")
    other = StampInfo(**{**CONTROLLED.__dict__, "downloaded_at": datetime(2026, 12, 5, 14, 6)})
    assert fingerprint(other) != fingerprint(CONTROLLED)
    assert fingerprint(StampInfo(**CONTROLLED.__dict__)) == fingerprint(CONTROLLED)


# -- PDF renditions --

def test_pdf_without_libreoffice_is_a_clear_503(tmp_path):
    with pytest.raises(office_pdf.RenditionUnavailable) as caught:
        office_pdf.to_pdf(b"x", soffice=str(tmp_path / "no-soffice"))
    assert caught.value.status == 503 and caught.value.code == "rendition_unavailable"
    assert "LibreOffice" in caught.value.message


def test_a_hung_converter_is_killed_at_the_time_limit(tmp_path):
    # The fake may run in a PID namespace, where $$ is not its pid here: find it by a marker.
    marker = f"docctl-hung-{uuid.uuid4().hex}"
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\n"
                    f"{sys.executable} -c 'import time; time.sleep(30)' {marker} &\nwait\n")
    fake.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(office_pdf.RenditionFailed):
        office_pdf.to_pdf(build_docx("T", ["x"]), soffice=str(fake), timeout=1)
    assert time.monotonic() - started < 10
    assert gone(marker) == []


def test_a_file_that_is_not_a_package_is_a_failed_rendition(tmp_path):
    with pytest.raises(office_pdf.RenditionFailed):
        office_pdf.to_pdf(b"x", soffice=shutil.which("true") or "/bin/true")


@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice (soffice) is not installed: PDF rendition not tested")
def test_an_obsolete_copy_converts_to_pdf_with_the_mark_on_every_page(tmp_path):
    stamped = stamp_copy(_read("python-docx_MIT/sct-first-page-hdrftr.docx"), SUPERSEDED)
    data = office_pdf.to_pdf(stamped, profile_dir=str(tmp_path / "profile"))
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        print("pdftotext not installed: page texts not checked")
        return
    (tmp_path / "out.pdf").write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "out.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 7   # 6 original pages + the control page
    for number, page in enumerate(pages, start=1):
        assert "HẾT HIỆU LỰC / OBSOLETE" in page, f"page {number} lacks the mark"
    assert "THEO DÕI SỬA ĐỔI TÀI LIỆU" in pages[-1]
