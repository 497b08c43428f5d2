"""The whole journey over the JSON API with bearer tokens; contract fields; refusals."""

import io

from docctl.models import ApiToken
from docctl.office import extract_text
from tests.helpers import PASSWORD, docx_bytes


def test_journey_over_the_api(client, token, db):
    sec, rev_h, app_h, staff_h = (token(u) for u in
                                  ("controller", "reviewer", "approver", "staff"))
    response = client.post("/api/v1/documents", headers=sec, json={
        "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
    assert response.status_code == 201
    assert response.get_json()["code"] == "QT-01"
    response = client.post("/api/v1/documents", headers=sec, json={
        "type": "form", "title": "Phiếu đề nghị", "department": "VP", "parent": "QT-01"})
    assert response.get_json()["code"] == "BM-01-01"
    response = client.post("/api/v1/documents/QT-01/revisions", headers=sec,
                           data={"change": "reissue",
                                 "file": (io.BytesIO(docx_bytes()), "qt01.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 201
    # The upload answers the revision as GET does (issue #10 added its numbers and label).
    uploaded = response.get_json()
    assert (uploaded["revision"], uploaded["status"], uploaded["issue"],
            uploaded["amendment"], uploaded["label"]) == (1, "draft", 1, 0, "01")
    assert len(uploaded["sha256"]) == 64
    assert client.get("/api/v1/documents/QT-01", headers=staff_h).status_code == 404
    response = client.post("/api/v1/documents/QT-01/revisions/1/submit", headers=sec,
                           json={"reviewers": ["reviewer"], "approver": "approver"})
    assert response.status_code == 200 and response.get_json()["status"] == "in_review"
    response = client.post("/api/v1/documents/QT-01/revisions/1/review", headers=rev_h,
                           json={"decision": "accept", "comment": "Đồng ý"})
    assert response.get_json()["status"] == "awaiting_approval"
    me = client.get("/api/v1/me", headers=app_h).get_json()
    assert me["role"] == "approver"
    from docctl.services.context import today
    response = client.post("/api/v1/documents/QT-01/revisions/1/approve", headers=app_h,
                           json={"password": PASSWORD, "effective_date": today().isoformat()})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "effective" and len(body["commit"]) == 40
    assert {s["meaning"] for s in body["signatures"]} == {"prepared", "reviewed", "approved"}
    assert set(body["signatures"][0]) >= {"user", "meaning", "signed_at"}
    listed = client.get("/api/v1/documents", headers=staff_h).get_json()["documents"]
    assert [d["code"] for d in listed] == ["QT-01"]     # BM-01-01 has nothing in force yet
    file = client.get("/api/v1/documents/QT-01/revisions/1/file", headers=staff_h)
    assert file.status_code == 200
    assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in extract_text(file.data)
    original = client.get("/api/v1/documents/QT-01/revisions/1/file?original=1", headers=sec)
    assert original.data == docx_bytes()
    assert client.get("/api/v1/documents/QT-01/revisions/1/file?original=1",
                      headers=staff_h).status_code == 403
    revisions = client.get("/api/v1/documents/QT-01/revisions", headers=staff_h).get_json()
    assert [r["revision"] for r in revisions["revisions"]] == [1]
    response = client.post("/api/v1/documents/QT-01/withdraw", headers=sec,
                           json={"reason": "Không còn áp dụng", "password": PASSWORD})
    assert response.status_code == 200 and response.get_json()["status"] == "obsolete"
    assert client.get("/api/v1/documents/QT-01/revisions/1/file",
                      headers=staff_h).status_code == 404
    assert client.get("/api/v1/documents/QT-01/revisions/1",
                      headers=token("auditor")).get_json()["status"] == "obsolete"


def test_read_only_and_unknown_fields_are_refused(client, token, users):
    sec = token("controller")
    response = client.post("/api/v1/documents", headers=sec, json={
        "type": "procedure", "title": "T", "department": "VP", "status": "effective"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid" and "status" in response.get_json()["fields"]
    response = client.post("/api/v1/documents", headers=sec, json=["not", "an", "object"])
    assert response.status_code == 400


def test_errors_are_json_with_the_right_status(client, token, users):
    sec = token("controller")
    assert client.get("/api/v1/documents/NOPE", headers=sec).status_code == 404
    assert client.get("/api/v1/documents/NOPE", headers=sec).get_json()["error"] == "not_found"
    response = client.post("/api/v1/documents", headers=token("staff"), json={
        "type": "procedure", "title": "T", "department": "VP"})
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    client.post("/api/v1/documents", headers=sec, json={"type": "procedure", "title": "T",
                                                        "department": "VP", "code": "QT-09"})
    response = client.post("/api/v1/documents", headers=sec, json={
        "type": "procedure", "title": "T", "department": "VP", "code": "qt-09"})
    assert response.status_code == 409


def test_upload_refusals_are_415_and_store_nothing(client, token, users, db):
    sec = token("controller")
    client.post("/api/v1/documents", headers=sec, json={"type": "procedure", "title": "T",
                                                        "department": "VP"})
    for data in (b"%PDF-1.7 not a word file", b"MZ\x90\x00 exe", b"\xd0\xcf\x11\xe0" + b"\0" * 600):
        response = client.post("/api/v1/documents/QT-01/revisions", headers=sec,
                               data={"change": "reissue", "file": (io.BytesIO(data), "qt01.docx")},
                               content_type="multipart/form-data")
        assert response.status_code == 415, response.get_json()
        assert response.get_json()["message"]
    assert client.get("/api/v1/documents/QT-01/revisions",
                      headers=sec).get_json()["revisions"] == []


def test_bad_tokens_are_401(client, users):
    for header in ("Bearer nope", "Basic abc", "Bearer " + "x" * 500):
        response = client.get("/api/v1/documents", headers={"Authorization": header})
        assert response.status_code == 401


def test_token_calls_get_no_session_cookie_and_ignore_one(client, token, login_as, users,
                                                          clock, db):
    headers = token("staff")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200 and response.get_json()["username"] == "staff"
    assert "Set-Cookie" not in response.headers
    # A signed-in browser sending a bad token is refused, not let in by its cookie.
    browser = login_as("controller")
    assert browser.get("/api/v1/me").get_json()["username"] == "controller"
    assert browser.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    # Expired and revoked tokens are refused (one query checks both).
    clock.advance(days=400)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_password_change_revokes_tokens(client, token, users, db):
    headers = token("staff")
    from docctl.services import users as user_service
    user_service.change_password(users["staff"], PASSWORD, "a new long passphrase 2026")
    assert client.get("/api/v1/documents", headers=headers).status_code == 401
    assert db.session.query(ApiToken).filter(ApiToken.revoked_at.is_(None)).count() == 0


def test_session_api_post_needs_csrf(login_as, users):
    client = login_as("controller")
    response = client.post("/api/v1/documents", json={"type": "procedure", "title": "T",
                                                      "department": "VP"})
    assert response.status_code == 400
