"""Uploads of .doc, .pdf and .xlsx through documents.upload_revision: stored, refused, cleaned."""

import pytest
from sqlalchemy import func, select

from docctl.errors import StoreError, TooLarge, UnsupportedFile
from docctl.models import DraftFile, Revision
from docctl.services import copies, documents, indexing, publishing, reviews, uploads
from docctl.services.context import store, today
from tests.fixtures import formats as fx
from tests.helpers import PASSWORD, docx_bytes


@pytest.fixture
def registered(users):
    """A form BM-01 and a procedure QT-01, no revision yet."""
    documents.register_document(users["controller"], {
        "type": "form", "title": "Biểu mẫu đăng ký tạm trú", "department": "VP"})
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
    return users


def publish_file(users, code: str, filename: str, data: bytes, reason: str = "") -> Revision:
    """Drive one uploaded file from draft to effective today (a new issue); return it."""
    rev = documents.upload_revision(users["controller"], code, filename=filename, data=data,
                                    reason=reason, change="reissue")
    reviews.submit(users["controller"], code, rev.number, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(users["reviewer"], code, rev.number, decision="accept", comment="ok")
    publishing.approve(users["approver"], code, rev.number, password=PASSWORD,
                       effective_date=today())
    indexing.catch_up(rebuild=False)
    return documents.get_revision(users["controller"], code, rev.number)


def nothing_stored(db) -> bool:
    return db.session.scalar(select(func.count()).select_from(Revision)) == 0 and \
        db.session.scalar(select(func.count()).select_from(DraftFile)) == 0


def test_a_pdf_form_is_stored_byte_exact_and_published_as_source_pdf(app, db, registered):
    data = fx.text_pdf()
    rev = documents.upload_revision(registered["controller"], "BM-01", filename="Mẫu 07.pdf",
                                    data=data)
    assert (rev.media, rev.filename) == ("pdf", "Mẫu 07.pdf")
    assert "Bieu mau dang ky tam tru" in rev.text
    rev = publish_file(registered, "BM-01", "Mẫu 07.pdf", data)
    assert store().read_file(rev.commit_sha, "documents/BM/BM-01/source.pdf") == data
    with pytest.raises(StoreError):   # no Word source beside it
        store().read_file(rev.commit_sha, "documents/BM/BM-01/source.docx")
    original = copies.controlled_copy(registered["controller"], "BM-01", rev.number,
                                      kind="original")
    assert original.data == data and original.mimetype == "application/pdf"
    assert original.filename.endswith(".pdf")


def test_a_scanned_pdf_is_accepted_and_said_to_be_unsearchable(app, registered):
    upload = uploads.read_upload("form", "scan.pdf", fx.scanned_pdf())
    assert upload.media == "pdf" and not upload.searchable and upload.text == ""
    assert upload.notices == (str(uploads.NO_TEXT),)
    assert "không có lớp chữ" in upload.notices[0]


def test_a_workbook_form_is_stored_with_its_cells_as_text(app, db, registered):
    data = fx.workbook()
    rev = publish_file(registered, "BM-01", "bieu-mau.xlsx", data)
    assert rev.media == "xlsx" and rev.filename == "bieu-mau.xlsx"
    assert "Nguyễn Văn Đức" in rev.text and "Phụ lục" in rev.text
    assert store().read_file(rev.commit_sha, "documents/BM/BM-01/source.xlsx") == data


@pytest.mark.parametrize(("filename", "make"), [("quy-trinh.pdf", fx.text_pdf),
                                                ("quy-trinh.xlsx", fx.workbook)])
def test_a_procedure_must_be_a_word_document(app, db, registered, filename, make):
    with pytest.raises(UnsupportedFile) as caught:
        documents.upload_revision(registered["controller"], "QT-01", filename=filename,
                                  data=make())
    assert caught.value.details["reason"] == "not_word"
    assert caught.value.details["refused_media"] == filename.rpartition(".")[2]
    assert ".docx" in caught.value.message and "quy trình" in caught.value.message
    assert nothing_stored(db)


@pytest.mark.parametrize(("filename", "make", "reason", "words"), [
    # Messages are checked in Vietnamese, the language outside a request.
    ("m.pdf", fx.encrypted_pdf, "pdf_encrypted", "mật khẩu"),
    ("m.pdf", fx.javascript_pdf, "pdf_active_content", "mã lệnh"),
    ("m.pdf", fx.open_action_pdf, "pdf_active_content", "thao tác tự động"),
    ("m.pdf", fx.attachment_pdf, "pdf_active_content", "tệp đính kèm"),
    ("m.pdf", fx.malformed_pdf, "pdf_damaged", "bị hỏng"),
    ("m.xlsx", fx.macro_workbook, "xlsx_macro", "macro"),
    ("m.xlsm", fx.macro_workbook, "extension_mismatch", "“m.xlsm” nhưng thực chất là tệp Excel"),
    ("m.xlsx", fx.linked_workbook, "xlsx_external_links", "liên kết"),
    ("m.xlsx", fx.bomb_workbook, "xlsx_zip_bomb", "giải nén"),
    ("m.xlsx", fx.encrypted_workbook, "xlsx_encrypted", "mật khẩu"),
    ("m.docx", fx.text_pdf, "extension_mismatch", "tệp PDF"),
    ("m.pdf", docx_bytes, "extension_mismatch", "tệp Word"),
    ("m.txt", fx.workbook, "extension_mismatch", "tệp Excel"),
])
def test_hostile_or_mislabelled_files_are_refused_and_leave_nothing(
        app, db, registered, filename, make, reason, words):
    with pytest.raises(UnsupportedFile) as caught:
        documents.upload_revision(registered["controller"], "BM-01", filename=filename,
                                  data=make())
    assert caught.value.status == 415
    assert caught.value.details["reason"] == reason
    assert words in str(caught.value.message)
    assert nothing_stored(db)


def test_pdf_size_and_page_caps_come_from_the_settings(app, db, registered):
    app.config["MAX_PDF_PAGES"] = 2
    with pytest.raises(UnsupportedFile) as caught:
        documents.upload_revision(registered["controller"], "BM-01", filename="m.pdf",
                                  data=fx.text_pdf(pages=3))
    assert caught.value.details["reason"] == "pdf_too_many_pages"
    app.config["MAX_UPLOAD_MB"] = 1
    big = fx.text_pdf() + b"%" + b"0" * (1024 * 1024)   # a comment after the end
    assert len(big) > 1024 * 1024
    with pytest.raises(TooLarge):
        documents.upload_revision(registered["controller"], "BM-01", filename="m.pdf",
                                  data=big)
    assert nothing_stored(db)


def test_a_doc_without_libreoffice_is_refused_saying_what_to_install(app, db, registered):
    app.config["SOFFICE_PATH"] = "/nonexistent/soffice"
    with pytest.raises(UnsupportedFile) as caught:
        documents.upload_revision(registered["controller"], "QT-01", filename="qt.doc",
                                  data=fx._ole(["WordDocument"]))
    assert "libreoffice-writer-nogui" in str(caught.value.message)
    assert nothing_stored(db)


def test_a_hanging_doc_conversion_is_stopped_and_reported(app, db, registered, tmp_path):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    app.config.update(SOFFICE_PATH=str(fake), CONVERT_TIMEOUT=1.5)
    with pytest.raises(Exception) as caught:   # noqa: PT011 - the 504 kind is checked below
        documents.upload_revision(registered["controller"], "QT-01", filename="qt.doc",
                                  data=fx._ole(["WordDocument"]))
    assert caught.value.status == 504
    assert "quá nhiều thời gian" in str(caught.value.message)
    assert nothing_stored(db)


def test_a_doc_with_macros_is_refused_before_any_conversion(app, db, registered):
    app.config["SOFFICE_PATH"] = "/nonexistent/soffice"   # never reached
    with pytest.raises(UnsupportedFile) as caught:
        documents.upload_revision(registered["controller"], "QT-01", filename="qt.doc",
                                  data=fx._ole(["WordDocument", "Macros", "VBA"]))
    assert caught.value.details["reason"] == "doc_macro"


@pytest.mark.skipif(fx.soffice() is None,
                    reason="LibreOffice (soffice) is not installed: .doc conversion not tried")
def test_a_real_doc_is_converted_kept_and_its_original_downloadable(app, db, registered):
    data = fx.legacy_doc()
    with pytest.raises(UnsupportedFile) as caught:   # a .doc named .docx
        documents.upload_revision(registered["controller"], "QT-01", filename="qt.docx",
                                  data=data)
    assert caught.value.details["reason"] == "extension_mismatch"
    rev = publish_file(registered, "QT-01", "Quy trình cũ.doc", data)
    assert (rev.media, rev.filename, rev.original_name) == ("docx", "Quy trình cũ.docx",
                                                            "Quy trình cũ.doc")
    assert "Biểu mẫu đăng ký tạm trú" in rev.text
    folder = "documents/QT/QT-01"
    assert store().read_file(rev.commit_sha, f"{folder}/original.doc") == data
    assert store().read_file(rev.commit_sha, f"{folder}/source.docx")[:2] == b"PK"
    copy = copies.legacy_original(registered["controller"], "QT-01", rev.number)
    assert copy.data == data and copy.filename == "QT-01_r01_BAN-GOC-DOC.doc"
    assert copy.mimetype == "application/msword"
    with pytest.raises(Exception) as refused:   # noqa: PT011 - staff: Forbidden
        copies.legacy_original(registered["staff"], "QT-01", rev.number)
    assert refused.value.status == 403
    upload = uploads.read_upload("procedure", "x.doc", data)
    assert upload.notices == (str(uploads.CONVERTED),)


def test_a_pdf_read_only_in_part_is_kept_and_said_so(app, registered):
    app.config["PDF_TEXT_SECONDS"] = 0
    upload = uploads.read_upload("form", "dai.pdf", fx.text_pdf(pages=3))
    assert upload.media == "pdf" and not upload.searchable
    assert len(upload.notices) == 1 and "0" in upload.notices[0] and "3" in upload.notices[0]


@pytest.mark.parametrize(("filename", "data"), [("ghi-chu.txt", b"just some text"),
                                                ("bang.xlsx", b"PK\x03\x04broken"),
                                                ("anh.png", b"\x89PNG\r\n\x1a\n....")])
def test_unknown_bytes_are_refused_as_not_word_whatever_their_name(app, db, registered,
                                                                    filename, data):
    with pytest.raises(UnsupportedFile) as caught:
        documents.upload_revision(registered["controller"], "BM-01", filename=filename,
                                  data=data)
    assert caught.value.details["reason"] in ("not_word", "damaged")
    assert nothing_stored(db)
