"""Controlled copies, redlines and as-of through pages and the API (R5, R6, R32)."""

from datetime import timedelta

import pytest

from docctl.office import extract_text
from docctl.services import publishing
from tests.helpers import publish


@pytest.fixture
def two_revisions(users, procedure, clock):
    clock.advance(days=2)
    publish(users, "QT-01", text="phiên bản hai: kiểm tra hồ sơ", reason="Sửa đổi bước 2")
    return users


OBSOLETE_PATHS = ["/documents/QT-01/revisions/1/download",
                  "/documents/QT-01/revisions/1/download?format=pdf",
                  "/documents/QT-01/revisions/1/download?original=1",
                  "/api/v1/documents/QT-01/revisions/1/file",
                  "/api/v1/documents/QT-01/revisions/1/file?format=pdf",
                  "/api/v1/documents/QT-01/revisions/1/file?original=1",
                  "/documents/QT-01/compare?from=1&to=2",
                  "/api/v1/documents/QT-01/diff?from=1&to=2"]


def test_staff_never_get_an_obsolete_copy_by_any_path(two_revisions, login_as):
    staff = login_as("staff")
    for path in OBSOLETE_PATHS:
        assert staff.get(path).status_code == 404, path


def test_auditor_gets_an_obsolete_copy_marked_so(two_revisions, login_as):
    response = login_as("auditor").get("/documents/QT-01/revisions/1/download")
    assert response.status_code == 200
    assert "HET-HIEU-LUC" in response.headers["Content-Disposition"]
    text = extract_text(response.data)
    assert "HẾT HIỆU LỰC / OBSOLETE" in text and "superseded by revision 02" in text


def test_compare_page_and_api(two_revisions, login_as):
    auditor = login_as("auditor")
    page = auditor.get("/documents/QT-01/compare?from=1&to=2").get_data(as_text=True)
    assert '<ins class="diff-ins"' in page and '<del class="diff-del"' in page
    side = auditor.get("/documents/QT-01/compare?from=1&to=2&view=side")
    assert side.status_code == 200 and "diff-side" in side.get_data(as_text=True)
    body = auditor.get("/api/v1/documents/QT-01/diff?from=1&to=2").get_json()
    inserted = " ".join(c["text"] for c in body["changes"] if c["kind"] == "insert")
    deleted = " ".join(c["text"] for c in body["changes"] if c["kind"] == "delete")
    assert "hai:" in inserted and "một" in deleted
    assert auditor.get("/documents/QT-01/compare?from=x&to=2").status_code == 400
    assert auditor.get("/documents/QT-01/compare?from=1&to=1").status_code == 400
    assert auditor.get("/documents/QT-01/compare?from=1&to=9").status_code == 404


def test_history_links_compare_with_previous(two_revisions, login_as):
    page = login_as("controller").get("/documents/QT-01").get_data(as_text=True)
    assert "/documents/QT-01/compare?from=1&amp;to=2" in page


def test_as_of_register_and_document(two_revisions, login_as, clock):
    auditor = login_as("auditor")
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    listed = auditor.get(f"/api/v1/documents?as_of={yesterday}").get_json()
    assert [(d["code"], d["current_revision"]) for d in listed["documents"]] == [("QT-01", 1)]
    today = auditor.get(f"/api/v1/documents/QT-01?as_of={clock.today().isoformat()}").get_json()
    assert today["current_revision"] == 2
    long_ago = auditor.get("/api/v1/documents/QT-01?as_of=2000-01-01").get_json()
    assert long_ago["current_revision"] is None and long_ago["revision"] is None
    page = auditor.get(f"/documents?as_of={yesterday}").get_data(as_text=True)
    assert "QT-01" in page
    assert auditor.get("/documents?as_of=31/02/2026").status_code == 400
    # A day and today's status filter would mean two things at once: refused, not ignored.
    mixed = auditor.get(f"/api/v1/documents?as_of={yesterday}&status=effective")
    assert mixed.status_code == 400 and mixed.get_json()["field"] == "status"
    # As-of is for controllers and auditors: staff are refused, not shown obsolete revisions.
    assert login_as("staff").get(f"/api/v1/documents?as_of={yesterday}").status_code == 403


def test_pdf_says_clearly_when_libreoffice_is_missing(two_revisions, login_as, app):
    app.config["SOFFICE_PATH"] = "/nonexistent/soffice"
    response = login_as("staff").get("/documents/QT-01/revisions/2/download?format=pdf")
    # The configured path is used alone: soffice elsewhere on PATH does not hide the refusal.
    assert response.status_code == 503
    assert "LibreOffice" in response.get_data(as_text=True)
    assert publishing is not None
