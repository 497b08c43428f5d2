"""Issue #5 §4: auditors read everything and change nothing — 403 on every changing route."""

import pytest
from sqlalchemy import func, select

from docctl.models import Document, Review, Revision, Signature, User
from docctl.services import documents, reviews
from tests.helpers import PASSWORD, csrf_token, docx_bytes

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# The auditor's own session and account, and the audit functions (a check writes no document).
ALLOWED = {"/login", "/login/code", "/logout", "/language", "/account/password",
           "/account/two-step", "/api/v1/auth/token", "/audit/verify", "/api/v1/verify"}


@pytest.fixture
def register(users, procedure):
    documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                              data=docx_bytes("bản hai"), reason="Sửa đổi", change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer"], approver="approver")
    return users


def changing_routes(app, users) -> list[tuple[str, str, str]]:
    values = {"code": "QT-01", "number": 2, "user_id": users["staff"].id}
    found = []
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & CHANGING
        if not methods or rule.rule in ALLOWED:
            continue
        url = rule.build({arg: values.get(arg, 1) for arg in rule.arguments},
                         append_unknown=False)[1]
        found += [(method, url, rule.endpoint) for method in sorted(methods)]
    return found


def state(db) -> list:
    db.session.expire_all()
    return [db.session.execute(select(Revision.id, Revision.status, Revision.commit_sha)
                               .order_by(Revision.id)).all(),
            db.session.execute(select(Document.id, Document.status, Document.version)
                               .order_by(Document.id)).all(),
            db.session.execute(select(User.id, User.role, User.active, User.password_hash,
                                      User.display_name).order_by(User.id)).all(),
            db.session.scalar(select(func.count(Signature.id))),
            db.session.execute(select(Review.id, Review.decision, Review.comment)
                               .order_by(Review.id)).all()]


def test_every_changing_route_refuses_the_auditor(register, app, db, login_as):
    routes = changing_routes(app, register)
    endpoints = {endpoint for _m, _u, endpoint in routes}
    # The walk must see the lifecycle, the admin pages and the API, or it proves nothing.
    assert {"documents.new", "documents.upload", "documents.review", "documents.approve",
            "documents.withdraw", "admin.user_edit", "api.document_create",
            "api.revision_approve"} <= endpoints
    before = state(db)
    page = login_as("auditor")
    token = csrf_token(page)
    api_token = app.test_client().post("/api/v1/auth/token", json={
        "username": "auditor", "password": PASSWORD}).get_json()["token"]
    form = {"csrf_token": token, "decision": "accept", "comment": "x", "reason": "x",
            "password": PASSWORD, "effective_date": "31/12/2099", "role": "admin",
            "display_name": "x", "type": "procedure", "title": "x", "department": "VP",
            "reviewers": "reviewer", "approver": "approver", "username": "x"}
    refused = []
    for method, url, endpoint in routes:
        session = page.open(url, method=method, data=form, headers={"X-CSRFToken": token})
        refused.append((endpoint, "session", session.status_code))
        if url.startswith("/api/"):   # and with the auditor's own API token
            bearer = app.test_client().open(url, method=method, json={"reason": "x"},
                                            headers={"Authorization": f"Bearer {api_token}"})
            refused.append((endpoint, "token", bearer.status_code))
    assert [r for r in refused if r[2] != 403] == []
    assert len(refused) > len(routes)
    assert state(db) == before


def test_the_auditor_reads_every_revision_and_the_trail(register, login_as):
    auditor = login_as("auditor")
    for path in ("/documents/QT-01/revisions/1", "/documents/QT-01/revisions/2",
                 "/documents/QT-01/revisions/2/download", "/audit",
                 "/audit/documents/QT-01/timeline", "/audit/verify"):
        assert auditor.get(path).status_code == 200, path


def test_the_nav_shows_audit_to_auditors_and_admins_only(register, login_as):
    for role, shown in (("auditor", True), ("admin", True), ("controller", False),
                        ("staff", False)):
        page = login_as(role).get("/documents").get_data(as_text=True)
        assert ('href="/audit"' in page) is shown, role
