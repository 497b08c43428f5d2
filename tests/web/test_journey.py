"""The secretary → reviewer → approver → staff journey through the real forms."""

import re

from docctl.models import AuditEvent, Document
from docctl.office import extract_text
from tests.helpers import PASSWORD, csrf_token, docx_bytes

FIXED_TIME = "2001-01-01T00:00:00Z"


def test_journey_through_pages(users, login_as, departments, db):
    secretary = login_as("controller")
    token = csrf_token(secretary)
    response = secretary.post("/documents/new", data={
        "csrf_token": token, "type": "procedure", "title": "Quy trình <b>tiếp nhận</b> hồ sơ",
        "department": "VP", "review_months": "12", "status": "effective"})
    assert response.status_code == 302
    # R24: a status smuggled into the form is ignored, never applied.
    assert db.session.query(Document).filter_by(code="QT-01").one().status == "new"
    page = secretary.get("/documents/QT-01").get_data(as_text=True)
    assert "&lt;b&gt;tiếp nhận&lt;/b&gt;" in page and "<b>tiếp nhận</b>" not in page
    response = secretary.post("/documents/QT-01/upload", data={"change": "reissue",
        "csrf_token": token, "reason": "",
        "file": (__import__("io").BytesIO(docx_bytes()), "Quy trình \"x\";.docx")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    response = secretary.post("/documents/QT-01/revisions/1/submit", data={
        "csrf_token": token, "reviewers": ["reviewer"], "approver": "approver"})
    assert response.status_code == 302

    reviewer = login_as("reviewer")
    assert "QT-01" in reviewer.get("/").get_data(as_text=True)
    response = reviewer.post("/documents/QT-01/revisions/1/review", data={
        "csrf_token": csrf_token(reviewer), "decision": "accept", "comment": "Đồng ý"})
    assert response.status_code == 302

    approver = login_as("approver")
    token = csrf_token(approver)
    page = approver.get("/documents/QT-01/revisions/1/approve").get_data(as_text=True)
    today = re.search(r'name="effective_date"[^>]*value="([0-9-]+)"', page) or \
        re.search(r'value="([0-9-]+)"[^>]*name="effective_date"', page)
    assert today
    response = approver.post("/documents/QT-01/revisions/1/approve", data={
        "csrf_token": token, "password": "wrong", "effective_date": today.group(1),
        "signed_at": FIXED_TIME})
    assert response.status_code == 403
    response = approver.post("/documents/QT-01/revisions/1/approve", data={
        "csrf_token": token, "password": PASSWORD, "effective_date": today.group(1),
        "signed_at": FIXED_TIME})
    assert response.status_code == 302

    staff = login_as("staff")
    page = staff.get("/documents/QT-01").get_data(as_text=True)
    assert "Người dùng approver" in page        # the signature is on screen
    download = staff.get("/documents/QT-01/revisions/1/download")
    assert download.status_code == 200
    stamped = extract_text(download.data)       # a controlled copy, stamped for staff
    assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in stamped and "Người dùng staff" in stamped
    original = secretary.get("/documents/QT-01/revisions/1/download?original=1")
    assert original.data == docx_bytes()        # the stored bytes, exactly as approved
    assert staff.get("/documents/QT-01/revisions/1/download?original=1").status_code == 403
    # Only an explicit yes asks for the original: ?original=0 is the stamped copy.
    for no in ("0", "false", ""):
        copy = secretary.get(f"/documents/QT-01/revisions/1/download?original={no}")
        assert copy.data != docx_bytes() and "CONTROLLED COPY" in extract_text(copy.data)
    # R9: the server's clock, not the client's, stamps the approval.
    event = db.session.query(AuditEvent).filter_by(action="approved").one()
    assert not event.at.isoformat().startswith("2001")
