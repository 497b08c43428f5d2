"""Issue #5 §1: every action writes exactly one complete audit entry (R1, R9, R10, R16)."""

import hashlib
import io
import json
from datetime import timedelta

from docctl.models import User, VerificationRun
from docctl.services import audit
from docctl.services.context import today
from tests.helpers import PASSWORD, csrf_token, docx_bytes, login

CLIENT_IP = "10.20.30.40"   # the as_user fixture's clients come from here


def complete(entry, user, *, document=None, revision=None, ip=CLIENT_IP) -> dict:
    """Check who, role, when (server UTC), where from, what object; return the details."""
    assert (entry.actor_id, entry.actor_name, entry.actor_role) == (
        user.id, user.display_name, user.role)
    assert entry.source_ip == ip
    assert entry.at.utcoffset() == timedelta(0)
    if document is not None:
        assert entry.document_code == document
    if revision is not None:
        assert entry.revision_number == revision and entry.object_type == "revision"
    assert entry.hash == audit.chain_hash(entry.prev_hash, entry)
    return json.loads(entry.details)


def test_sign_in_failure_and_sign_out(users, app, trail):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT_IP
    mark = trail.mark()
    login(client, "staff")
    entry = trail.one("login", mark)
    complete(entry, users["staff"])
    assert entry.object_type == "user" and entry.object_id == str(users["staff"].id)

    mark = trail.mark()
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = CLIENT_IP
    response = other.post("/login", data={"username": "staff", "password": "not-the-password",
                                          "csrf_token": csrf_token(other)})
    assert response.status_code == 401
    assert complete(trail.one("login_failed", mark), users["staff"]) == {"username": "staff"}

    mark = trail.mark()
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    complete(trail.one("logout", mark), users["staff"])
    assert len(trail.since(mark)) == 1


def test_views_and_every_kind_of_download(two_revisions, as_user, trail, bearer):
    people = two_revisions
    staff = as_user("staff")
    mark = trail.mark()
    assert staff.get("/documents/QT-01").status_code == 200
    complete(trail.one("viewed", mark), people["staff"], document="QT-01", revision=2)

    mark = trail.mark()
    assert staff.get("/documents/QT-01/revisions/2/download").status_code == 200
    details = complete(trail.one("download", mark), people["staff"], document="QT-01",
                       revision=2)
    assert details["kind"] == "controlled" and details["filename"] == "QT-01_r02.docx"

    auditor = as_user("auditor")
    mark = trail.mark()
    assert auditor.get("/documents/QT-01/revisions/1/download").status_code == 200
    details = complete(trail.one("download", mark), people["auditor"], document="QT-01",
                       revision=1)
    assert details["kind"] == "obsolete" and details["status"] == "superseded"

    secretary = as_user("controller")
    mark = trail.mark()
    assert secretary.get("/documents/QT-01/revisions/2/download?original=1").status_code == 200
    assert complete(trail.one("download", mark), people["controller"], document="QT-01",
                    revision=2)["kind"] == "original"

    headers = bearer("staff")
    mark = trail.mark()
    response = staff.get("/api/v1/documents/QT-01/revisions/2/file", headers=headers)
    assert response.status_code == 200
    complete(trail.one("download", mark), people["staff"], document="QT-01", revision=2)


def test_the_lifecycle_through_the_pages(users, procedure, as_user, trail, db):
    secretary, reviewer, approver = (as_user(r) for r in ("controller", "reviewer",
                                                           "approver"))
    mark = trail.mark()
    response = secretary.post("/documents/new", data={
        "csrf_token": csrf_token(secretary), "type": "procedure", "department": "VP",
        "title": "Quy trình đánh giá nội bộ"})
    assert response.status_code == 302
    details = complete(trail.one("document_registered", mark), users["controller"],
                       document="QT-02")
    assert details["title"] == "Quy trình đánh giá nội bộ" and details["type"] == "procedure"

    mark = trail.mark()
    data = docx_bytes("bản hai")
    response = secretary.post("/documents/QT-01/upload", data={"change": "reissue",
        "csrf_token": csrf_token(secretary), "reason": "Bổ sung bước 4",
        "file": (io.BytesIO(data), "QT-01.docx")}, content_type="multipart/form-data")
    assert response.status_code == 302
    details = complete(trail.one("draft_uploaded", mark), users["controller"],
                       document="QT-01", revision=2)
    assert details["sha256"] == hashlib.sha256(data).hexdigest()

    mark = trail.mark()
    secretary.post("/documents/QT-01/revisions/2/submit", data={
        "csrf_token": csrf_token(secretary), "reviewers": ["reviewer"], "approver": "approver"})
    details = complete(trail.one("submitted", mark), users["controller"], document="QT-01",
                       revision=2)
    assert details["reviewers"] == ["reviewer"] and details["approver"] == "approver"

    mark = trail.mark()
    reviewer.post("/documents/QT-01/revisions/2/review", data={
        "csrf_token": csrf_token(reviewer), "decision": "accept",
        "comment": "Đồng ý, sửa lỗi chính tả ở bước 2"})
    entry = trail.one("reviewed", mark)
    assert complete(entry, users["reviewer"], document="QT-01", revision=2)["decision"] == \
        "accept"
    assert entry.reason == "Đồng ý, sửa lỗi chính tả ở bước 2"

    mark = trail.mark()
    response = approver.post("/documents/QT-01/revisions/2/approve", data={
        "csrf_token": csrf_token(approver), "decision": "approve", "password": PASSWORD,
        "effective_date": today().strftime("%d/%m/%Y")})
    assert response.status_code == 302
    approved = complete(trail.one("approved", mark), users["approver"], document="QT-01",
                        revision=2)
    effective = complete(trail.one("effective", mark), users["approver"], document="QT-01",
                         revision=2)
    superseded = complete(trail.one("superseded", mark), users["approver"], document="QT-01",
                          revision=1)
    assert approved["commit"] == effective["commit"] == superseded["commit"]
    assert superseded["by"] == 2

    mark = trail.mark()
    response = secretary.post("/documents/QT-01/withdraw", data={
        "csrf_token": csrf_token(secretary), "reason": "Hợp nhất vào QT-02",
        "password": PASSWORD})
    assert response.status_code == 302
    entry = trail.one("withdrawn", mark)
    complete(entry, users["controller"], document="QT-01", revision=2)
    assert entry.reason == "Hợp nhất vào QT-02"


def test_user_and_role_changes(users, as_user, trail, db):
    admin = as_user("admin")
    mark = trail.mark()
    admin.post("/admin/users/new", data={
        "csrf_token": csrf_token(admin), "username": "newcomer", "display_name": "Người mới",
        "role": "staff", "password": "a long enough passphrase", "department": "VP"})
    entry = trail.one("user_created", mark)
    assert complete(entry, users["admin"]) == {"username": "newcomer", "role": "staff"}
    newcomer = db.session.query(User).filter_by(username="newcomer").one()
    assert entry.object_id == str(newcomer.id)

    mark = trail.mark()
    admin.post(f"/admin/users/{newcomer.id}", data={
        "csrf_token": csrf_token(admin), "role": "controller", "display_name": "Người mới",
        "active": "1"})
    details = complete(trail.one("user_changed", mark), users["admin"])
    assert details["before"]["role"] == "staff" and details["after"]["role"] == "controller"


def test_password_change(users, as_user, trail):
    client = as_user("staff")
    mark = trail.mark()
    client.post("/account/password", data={"csrf_token": csrf_token(client),
                                           "current": PASSWORD,
                                           "new": "another long passphrase"})
    complete(trail.one("password_changed", mark), users["staff"])


def test_token_issue_and_revoke(users, app, trail):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT_IP
    mark = trail.mark()
    token = client.post("/api/v1/auth/token", json={"username": "staff",
                                                    "password": PASSWORD}).get_json()["token"]
    complete(trail.one("token_issued", mark), users["staff"])
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    mark = trail.mark()
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    entry = trail.one("token_revoked", mark)
    complete(entry, users["staff"])
    assert entry.object_type == "api_token" and len(trail.since(mark)) == 1
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 401


def test_revoking_needs_a_bearer_token(users, as_user):
    client = as_user("staff")
    response = client.delete("/api/v1/auth/token",
                             headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 400
    assert client.delete("/api/v1/auth/token").status_code == 400   # no CSRF token either


def test_verification_runs_are_recorded_and_kept(users, procedure, as_user, trail, db,
                                                 bearer):
    auditor = as_user("auditor")
    mark = trail.mark()
    response = auditor.post("/audit/verify", data={"csrf_token": csrf_token(auditor)})
    assert response.status_code == 200
    details = complete(trail.one("verified", mark), users["auditor"])
    assert details["ok"] is True and details["findings"] == 0
    run = db.session.query(VerificationRun).one()
    assert run.ok and run.actor_id == users["auditor"].id

    mark = trail.mark()
    body = auditor.post("/api/v1/verify", headers=bearer("admin")).get_json()
    assert body["ok"] is True and body["findings"] == []
    complete(trail.one("verified", mark), users["admin"])


def test_auditor_reading_exports_and_evidence_are_recorded(users, procedure, as_user, trail,
                                                           bearer):
    auditor = as_user("auditor")
    mark = trail.mark()
    assert auditor.get("/audit?document=QT-01").status_code == 200
    details = complete(trail.one("audit_read", mark), users["auditor"])
    assert details["filters"]["document"] == "QT-01"

    mark = trail.mark()
    response = auditor.get("/audit/export?format=csv&action=approved")
    assert response.status_code == 200
    details = complete(trail.one("audit_exported", mark), users["auditor"])
    assert details["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert details["format"] == "csv" and details["entries"] == 1

    mark = trail.mark()
    response = auditor.get("/audit/documents/QT-01/evidence")
    assert response.status_code == 200
    details = complete(trail.one("evidence_downloaded", mark), users["auditor"],
                       document="QT-01")
    assert details["sha256"] == hashlib.sha256(response.data).hexdigest()

    mark = trail.mark()
    assert auditor.get("/audit/documents/QT-01/timeline").status_code == 200
    complete(trail.one("timeline_viewed", mark), users["auditor"], document="QT-01")

    mark = trail.mark()
    assert auditor.get("/api/v1/audit", headers=bearer("auditor")).status_code == 200
    assert trail.one("audit_read", mark).actor_id == users["auditor"].id
