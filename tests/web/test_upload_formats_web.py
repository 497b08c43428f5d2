"""What the pages and the API tell about a PDF/workbook upload: accepted kinds, notices, links."""

import io
import json
import zipfile

import pytest

from docctl.services import documents, evidence, organisation
from tests.fixtures import formats as fx
from tests.helpers import csrf_token
from tests.services.test_uploads import publish_file


@pytest.fixture
def registered(users):
    documents.register_document(users["controller"], {
        "type": "form", "title": "Biểu mẫu đăng ký tạm trú", "department": "VP"})
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
    return users


def _upload(client, code: str, data: bytes, name: str):
    return client.post(f"/documents/{code}/upload",
                       data={"csrf_token": csrf_token(client), "reason": "",
                             "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def test_the_upload_page_offers_the_kinds_the_type_accepts(registered, login_as):
    client = login_as("controller")
    form = client.get("/documents/BM-01/upload").get_data(as_text=True)
    procedure = client.get("/documents/QT-01/upload").get_data(as_text=True)
    assert 'accept=".docx,.doc,.pdf,.xlsx"' in form
    assert 'accept=".docx,.doc"' in procedure and ".pdf" not in procedure.split("accept=")[1][:40]


def test_a_scanned_pdf_says_on_its_page_and_in_the_api_that_it_cannot_be_found(
        registered, login_as):
    client = login_as("controller")
    page = _upload(client, "BM-01", fx.scanned_pdf(), "Mẫu quét.pdf").get_data(as_text=True)
    # Vietnamese by default: the notice is flashed after the upload and stays on the page.
    assert page.count("không có lớp chữ") >= 1, page[:2000]
    revision = client.get("/documents/BM-01/revisions/1").get_data(as_text=True)
    assert "không có lớp chữ" in revision
    assert "(.pdf)" in revision and "(.docx)" not in revision
    api = client.get("/api/v1/documents/BM-01/revisions/1").get_json()
    assert api["notices"] and "PDF" in api["notices"][0]


def test_a_pdf_page_offers_no_pdf_rendition_and_its_evidence_is_a_pdf(app, registered,
                                                                      login_as):
    rev = publish_file(registered, "BM-01", "Mẫu 07.pdf", fx.text_pdf())
    assert rev.media == "pdf"
    page = login_as("staff").get("/documents/BM-01").get_data(as_text=True)
    assert "(.pdf)" in page and "format=pdf" not in page
    package = evidence.document_package(registered["auditor"], "BM-01")
    archive = zipfile.ZipFile(package.file)
    names = archive.namelist()
    assert any(n.endswith("/original/BM-01_r01.pdf") for n in names), names
    stamped = [n for n in names if "/stamped/" in n]
    assert stamped and all(n.endswith(".pdf") for n in stamped), stamped
    manifest = json.loads(archive.read(next(n for n in names if n.endswith("manifest.json"))))
    assert "BM-01_r01.pdf" in json.dumps(manifest)


def test_a_new_document_gets_the_organisations_review_period(app, db, users):
    organisation.put(organisation.REVIEW_MONTHS, "24")
    db.session.commit()
    document = documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình mới", "department": "VP"})
    assert document.review_months == 24
    own = documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình khác", "department": "VP",
        "review_months": "6"})
    assert own.review_months == 6
