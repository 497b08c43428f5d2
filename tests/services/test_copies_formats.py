"""Controlled copies of PDF and Excel revisions, stamped in their own format."""

import hashlib
import io
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from docctl.errors import UnsupportedFile
from docctl.models import AuditEvent
from docctl.services import copies, documents
from tests.fixtures import formats as fx
from tests.services.test_uploads import publish_file

MOMENT = datetime(2026, 11, 22, 7, 5, tzinfo=UTC)   # 14:05 in Hà Nội
WORD = re.compile(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">'
                  r"([^<]*)</word>")


@pytest.fixture
def forms(clock, users):
    """Form BM-01 as a PDF and form BM-02 as a workbook, both effective on 22/11/2026."""
    clock.moment = MOMENT
    for title in ("Biểu mẫu đăng ký tạm trú", "Sổ theo dõi hồ sơ"):
        documents.register_document(users["controller"], {
            "type": "form", "title": title, "department": "VP"})
    publish_file(users, "BM-01", "mau.pdf", fx.text_pdf(pages=2))
    publish_file(users, "BM-02", "so.xlsx", fx.workbook())
    return users


def pdf_words(data: bytes, tmp_path) -> list[list[tuple[float, float, str]]]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: word boxes not checked")
    path = tmp_path / "copy.pdf"
    path.write_bytes(data)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return [[(float(a), float(b), t) for a, b, t in WORD.findall(page)]
            for page in html.split("<page ")[1:]]


def sheet_stamps(data: bytes) -> dict[str, str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = {}
    for sheet in book.worksheets:
        parts = [getattr(getattr(sheet, hf), side).text or ""
                 for hf in ("oddHeader", "oddFooter") for side in ("left", "center", "right")]
        out[sheet.title] = " ".join(parts)
    return out


def downloads(db) -> list[dict]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "download")
                                .order_by(AuditEvent.seq)).all()
    return [json.loads(e.details) for e in events]


def test_a_pdf_copy_has_its_band_outside_every_original_page(app, db, forms, tmp_path):
    copy = copies.controlled_copy(forms["staff"], "BM-01", 1)
    assert (copy.filename, copy.mimetype) == ("BM-01_r01.pdf", "application/pdf")
    reader = PdfReader(io.BytesIO(copy.data))
    assert len(reader.pages) == 2
    for page, found in zip(reader.pages, pdf_words(copy.data, tmp_path), strict=True):
        band = float(page.mediabox.height) - fx.A4[1]
        stamp = " ".join(t for _top, bottom, t in found if bottom <= band)
        body = [t for top, _bottom, t in found if top >= band]
        assert len(body) + len(stamp.split()) == len(found)   # no word straddles the edge
        assert "TOPEDGE" in body and "Bieu" in body
        for needle in ("BM-01", "BẢN KIỂM SOÁT", "22/11/2026", "Đang hiệu lực",
                       "Người dùng staff (staff)", "14:05"):
            assert needle in stamp
    assert [(d["kind"], d["filename"]) for d in downloads(db)] == [("controlled",
                                                                    "BM-01_r01.pdf")]


def test_a_workbook_copy_is_stamped_on_every_sheet(app, db, forms):
    copy = copies.controlled_copy(forms["staff"], "BM-02", 1, fmt="docx")   # the pages' default
    assert copy.filename == "BM-02_r01.xlsx" and copy.mimetype.endswith("spreadsheetml.sheet")
    stamps = sheet_stamps(copy.data)
    assert set(stamps) == {"Đăng ký", "Phụ lục"}
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ" in stamps["Đăng ký"]   # the agency's header kept
    for text in stamps.values():
        for needle in ("BM-02", "BẢN KIỂM SOÁT", "22/11/2026", "Người dùng staff"):
            assert needle in text
        assert "2026-11-22" not in text and "effective" not in text.split()


def test_superseded_pdf_and_workbook_copies_are_marked_obsolete(app, db, forms, clock,
                                                                tmp_path):
    clock.advance(days=3)
    publish_file(forms, "BM-01", "mau-2.pdf", fx.text_pdf(["Ban moi"]), "Sửa đổi")
    publish_file(forms, "BM-02", "so-2.xlsx", fx.workbook(header=None), "Sửa đổi")
    old_pdf = copies.controlled_copy(forms["controller"], "BM-01", 1)
    assert old_pdf.filename == "BM-01_r01_HET-HIEU-LUC.pdf"
    words = " ".join(t for page in pdf_words(old_pdf.data, tmp_path) for _a, _b, t in page)
    assert "HẾT HIỆU LỰC" in words and "25/11/2026" in words
    old_book = copies.controlled_copy(forms["controller"], "BM-02", 1)
    assert old_book.filename == "BM-02_r01_HET-HIEU-LUC.xlsx"
    for text in sheet_stamps(old_book.data).values():
        assert "HẾT HIỆU LỰC" in text and "25/11/2026" in text


def test_no_pdf_rendition_of_a_workbook_and_no_word_original_of_a_pdf(app, db, forms):
    with pytest.raises(UnsupportedFile) as caught:
        copies.controlled_copy(forms["staff"], "BM-02", 1, fmt="pdf")
    assert caught.value.status == 415 and "Excel" in str(caught.value.message)
    with pytest.raises(UnsupportedFile):
        copies.controlled_copy(forms["staff"], "BM-01", 1, fmt="xlsx")
    original = copies.controlled_copy(forms["controller"], "BM-02", 1, kind="original")
    stored = documents.get_revision(forms["controller"], "BM-02", 1)
    assert original.filename == "BM-02_r01_BAN-GOC.xlsx"
    assert hashlib.sha256(original.data).hexdigest() == stored.sha256
    assert [d["kind"] for d in downloads(db)] == ["original"]


def test_the_original_doc_route_sends_it_to_controllers_only(app, db, forms, login_as):
    if fx.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: .doc conversion not tried")
    documents.register_document(forms["controller"], {
        "type": "procedure", "title": "Quy trình cũ", "department": "VP"})
    data = fx.legacy_doc()
    publish_file(forms, "QT-01", "quy-trinh.doc", data)
    url = "/documents/QT-01/revisions/1/original-doc"
    response = login_as("controller").get(url)
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/msword"
    assert "QT-01_r01_BAN-GOC-DOC.doc" in response.headers["Content-Disposition"]
    assert login_as("staff").get(url).status_code == 403
    assert login_as("controller").get("/documents/BM-01/revisions/1/original-doc") \
        .status_code == 404
    kinds = [d["kind"] for d in downloads(db)]
    assert kinds == ["original_doc"]


def test_pages_are_offered_each_revision_in_its_own_format(app, db, forms):
    pdf_form = documents.get_revision(forms["staff"], "BM-01", 1)
    book = documents.get_revision(forms["staff"], "BM-02", 1)
    assert copies.offered_formats(pdf_form) == ("pdf",)
    assert copies.offered_formats(book) == ("xlsx",)
