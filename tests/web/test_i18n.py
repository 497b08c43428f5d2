"""Vietnamese by default, English on request: the catalog is complete and the pages follow it."""

import io
import os
import re
import tempfile
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from docctl.errors import ValidationError
from docctl.services import documents
from tests.helpers import PASSWORD, csrf_token

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "docctl" / "translations"
PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def ensure_compiled() -> None:
    """Compile the .po when its .mo is missing or older (a fresh clone has no .mo: *.mo is
    ignored by git and `make` compiles it), so the suite does not depend on `make`."""
    if MO.exists() and MO.stat().st_mtime >= PO.stat().st_mtime:
        return
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    fd, tmp = tempfile.mkstemp(dir=MO.parent, suffix=".mo.tmp")
    with os.fdopen(fd, "wb") as handle:
        write_mo(handle, catalog)
    os.replace(tmp, MO)        # atomic: a parallel run never reads half a file


ensure_compiled()   # at collection, before any test of the session builds an app


def catalog():
    with PO.open("rb") as handle:
        return read_po(handle, locale="vi")


def extracted_ids() -> dict[str, str]:
    """Extract every message from the sources now, as `pybabel extract -F babel.cfg` would."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


# --- the catalog -------------------------------------------------------------------------------

def test_every_message_is_translated_and_not_fuzzy():
    cat = catalog()
    assert cat.locale_identifier == "vi" and cat.num_plurals == 1
    assert not cat.fuzzy, "the catalog header is marked fuzzy"
    messages = [m for m in cat if m.id]
    assert len(messages) > 200
    untranslated = [m.id for m in messages
                    if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, f"empty msgstr: {untranslated}"
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    not_nfc = [m.id for m in messages if not unicodedata.is_normalized("NFC", str(m.string))]
    assert not not_nfc, f"msgstr not in NFC: {not_nfc}"


def test_every_string_in_the_sources_is_in_the_catalog():
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog() if m.id}
    missing = {msgid: where for msgid, where in extracted_ids().items() if msgid not in known}
    assert not missing, ("strings without a Vietnamese translation (run pybabel extract/update "
                         f"and translate them): {missing}")


def test_extraction_sees_templates_services_and_lazy_strings():
    found = extracted_ids()
    assert found["Document register"].startswith("templates/")          # _() in a template
    assert found["Title is required"].startswith("docctl/services/")    # _l() in a service
    assert "Obsolete (withdrawn)" in found                               # _l() in labels.py


def test_placeholders_are_kept():
    wrong = {}
    for m in catalog():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != expected:
                wrong[m.id] = text
    assert not wrong, f"placeholders differ between msgid and msgstr: {wrong}"


# --- the pages ---------------------------------------------------------------------------------

def switch(client, lang: str) -> None:
    response = client.post("/language", data={"lang": lang, "csrf_token": csrf_token(client),
                                               "next": "/documents"})
    assert response.status_code == 302


def test_register_page_is_vietnamese_then_english(users, procedure, login_as):
    secretary = login_as("controller")
    page = secretary.get("/documents").get_data(as_text=True)
    assert '<html lang="vi">' in page
    for text in ("Danh mục tài liệu", "Mã hiệu", "Tên tài liệu", "Đơn vị chủ trì",
                 "Lần ban hành", "Ngày hiệu lực", "Đang hiệu lực", "Đăng ký tài liệu mới",
                 "Bản in ra không được kiểm soát"):
        assert text in page, text
    for text in ("Document register", "Owner department", "Effective date", "Sign out"):
        assert text not in page, text

    switch(secretary, "en")
    page = secretary.get("/documents").get_data(as_text=True)
    assert '<html lang="en">' in page
    for text in ("Document register", "Code", "Title", "Owner department", "Effective date",
                 "Register a document", "Uncontrolled when printed"):
        assert text in page, text
    assert "Mã hiệu" not in page and "Đơn vị chủ trì" not in page

    switch(secretary, "vi")
    assert "Mã hiệu" in secretary.get("/documents").get_data(as_text=True)


def test_language_choice_outlives_sign_in(users, client):
    switch(client, "en")
    response = client.post("/login", data={"username": "controller", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert "My tasks" in client.get("/").get_data(as_text=True)


def test_upload_refusal_is_in_vietnamese(users, procedure, login_as):
    secretary = login_as("controller")
    response = secretary.post("/documents/QT-01/upload", data={"change": "reissue",
        "csrf_token": csrf_token(secretary), "reason": "Sửa đổi",
        "file": (io.BytesIO(PDF), "quy-trinh.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 415
    page = response.get_data(as_text=True)
    assert "Đây không phải tài liệu Word (.docx)" in page
    assert "This is not a Word document" not in page

    switch(secretary, "en")
    response = secretary.post("/documents/QT-01/upload", data={"change": "reissue",
        "csrf_token": csrf_token(secretary), "reason": "Amendment",
        "file": (io.BytesIO(PDF), "procedure.pdf")}, content_type="multipart/form-data")
    assert "This is not a Word document (.docx)" in response.get_data(as_text=True)


def test_service_and_lifecycle_errors_follow_the_language(users, procedure, login_as):
    secretary = login_as("controller")
    form = {"type": "procedure", "title": "   ", "department": "VP"}
    response = secretary.post("/documents/new", data={**form,
                                                      "csrf_token": csrf_token(secretary)})
    assert response.status_code == 400
    assert "Cần nhập tên tài liệu" in response.get_data(as_text=True)

    approver = login_as("approver")   # revision 01 of QT-01 is in force: no second approval
    response = approver.post("/documents/QT-01/revisions/1/approve", data={
        "csrf_token": csrf_token(approver), "decision": "approve", "password": PASSWORD,
        "effective_date": "31/12/2099"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Không thể thực hiện bước này" in page and "Đang hiệu lực" in page
    assert "Cannot approve" not in page

    switch(secretary, "en")
    response = secretary.post("/documents/new", data={**form,
                                                      "csrf_token": csrf_token(secretary)})
    assert "Title is required" in response.get_data(as_text=True)


def test_api_messages_use_the_same_language(users, client, login_as):
    """The API has no language of its own: a bearer client gets the default (Vietnamese), a
    browser session gets the language it chose with POST /language."""
    token = client.post("/api/v1/auth/token", json={"username": "controller",
                                                    "password": PASSWORD}).get_json()["token"]
    bad = {"type": "procedure", "title": "   ", "department": "VP"}
    response = client.post("/api/v1/documents", json=bad,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid", "field": "title",
                                   "message": "Cần nhập tên tài liệu"}

    browser = login_as("controller")
    switch(browser, "en")
    response = browser.post("/api/v1/documents", json=bad,
                            headers={"X-CSRFToken": csrf_token(browser)})
    assert response.status_code == 400
    assert response.get_json()["message"] == "Title is required"


def test_service_errors_outside_a_request_use_the_default_language(users):
    with pytest.raises(ValidationError) as caught:
        documents.register_document(users["controller"], {"type": "procedure", "title": "",
                                                          "department": "VP"})
    assert str(caught.value.message) == "Cần nhập tên tài liệu"
