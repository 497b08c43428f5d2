"""No stuck workflow over HTTP: the revision page's buttons (CSRF), the tasks pages, the
admin's deactivation page and /api/v1 (recall, discard, reroute, return)."""

import io

import pytest
from sqlalchemy import func, select

from docctl.models import AuditEvent, Revision
from docctl.services import documents, reviews
from tests.helpers import PASSWORD, csrf_token, docx_bytes, make_user


@pytest.fixture
def in_review(users):
    """QT-01 r1 sent to reviewer and reviewer2, approver named."""
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    reviews.submit(users["controller"], "QT-01", 1, reviewers=["reviewer", "reviewer2"],
                   approver="approver")
    return users


def _status(db, number=1):
    db.session.rollback()
    return db.session.scalar(select(Revision.status).where(Revision.number == number))


def _trail(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


URL = "/api/v1/documents/QT-01/revisions/1"


# --- API --------------------------------------------------------------------------------------

def test_api_recall_then_discard(client, token, in_review, db):
    sec = token("controller")
    response = client.post(f"{URL}/recall", headers=sec)
    assert response.status_code == 200 and response.get_json()["status"] == "draft"
    count = _trail(db)
    response = client.delete(URL, headers=sec, json={})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid"
    assert "reason" in response.get_json()["message"]
    assert (_status(db), _trail(db)) == ("draft", count)
    response = client.delete(URL, headers=sec, json={"reason": "Soạn nhầm tài liệu"})
    assert response.status_code == 200 and response.get_json()["status"] == "discarded"
    # The next upload over the API is r2.
    response = client.post("/api/v1/documents/QT-01/revisions", headers=sec,
                           data={"file": (io.BytesIO(docx_bytes()), "b.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["revision"] == 2


def test_api_recall_after_a_reviewer_acted_is_409_naming_them(client, token, in_review, db):
    reviews.review(in_review["reviewer"], "QT-01", 1, decision="accept")
    sec = token("controller")
    count = _trail(db)
    response = client.post(f"{URL}/recall", headers=sec)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "conflict" and in_review["reviewer"].display_name in body["message"]
    assert (_status(db), _trail(db)) == ("in_review", count)


def test_api_reroute_and_its_refusals(client, token, in_review, db):
    sec = token("controller2")
    count = _trail(db)
    for data, status, named in (
            ({"reviewers": ["staff"], "reason": "x"}, 400, "staff"),
            ({"approver": "reviewer", "reason": "x"}, 400, "reviewer"),
            ({"reviewers": ["reviewer2"]}, 400, "reason"),
            ({"reviewers": ["reviewer2"], "reason": "x", "extra": 1}, 400, "extra")):
        response = client.post(f"{URL}/reroute", headers=sec, json=data)
        assert response.status_code == status, (data, response.get_json())
        assert named in response.get_json()["message"], response.get_json()
    assert (_status(db), _trail(db)) == ("in_review", count)
    response = client.post(f"{URL}/reroute", headers=token("staff"),
                           json={"reviewers": ["reviewer2"], "reason": "x"})
    assert response.status_code == 403
    response = client.post(f"{URL}/reroute", headers=sec,
                           json={"reviewers": ["reviewer2"], "reason": "reviewer nghỉ phép"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {r["user"]: r["decision"] for r in body["reviewers"]} == {
        "reviewer": "rerouted", "reviewer2": "pending"}
    # Drafts are not re-routed: 409.
    client.post(f"{URL}/recall", headers=token("controller"))
    response = client.post(f"{URL}/reroute", headers=sec,
                           json={"approver": "approver", "reason": "x"})
    assert response.status_code == 409


def test_api_return_only_when_awaiting_the_approver(client, token, in_review, db):
    app_h = token("approver")
    response = client.post(f"{URL}/return", headers=app_h, json={"comment": "Chưa đủ"})
    assert response.status_code == 409 and _status(db) == "in_review"
    for reviewer in ("reviewer", "reviewer2"):
        reviews.review(in_review[reviewer], "QT-01", 1, decision="accept")
    response = client.post(f"{URL}/return", headers=app_h, json={})
    assert response.status_code == 400 and _status(db) == "awaiting_approval"
    response = client.post(f"{URL}/return", headers=app_h, json={"comment": "Chưa đủ"})
    assert response.status_code == 200 and response.get_json()["status"] == "draft"
    returned = client.get(URL, headers=token("controller")).get_json()["returned"]
    assert [(r["by"], r["comment"]) for r in returned] == [("approver", "Chưa đủ")]


def test_api_upload_to_a_document_with_anothers_draft_is_409_naming_them(client, token,
                                                                         users, db):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    response = client.post("/api/v1/documents/QT-01/revisions", headers=token("controller2"),
                           data={"file": (io.BytesIO(docx_bytes()), "b.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 409
    assert users["controller"].display_name in response.get_json()["message"]


def test_api_needs_a_token_or_csrf(client, login_as, in_review):
    assert client.post(f"{URL}/recall",
                       headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post(f"{URL}/recall").status_code == 400   # no token, no CSRF
    secretary = login_as("controller")
    assert secretary.post(f"{URL}/recall").status_code == 400   # session without CSRF
    assert _status_ok(secretary.get("/documents/QT-01/revisions/1"))


def _status_ok(response) -> bool:
    return response.status_code == 200


# --- pages ------------------------------------------------------------------------------------

def test_discard_page_asks_for_a_reason_then_keeps_the_draft_in_the_history(login_as, users,
                                                                             db):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    secretary = login_as("controller")
    page = secretary.get("/documents/QT-01/revisions/1").get_data(as_text=True)
    assert "/documents/QT-01/revisions/1/discard" in page
    page = secretary.get("/documents/QT-01/revisions/1/discard").get_data(as_text=True)
    assert 'name="reason"' in page and "Hủy bản dự thảo này" in page
    url = "/documents/QT-01/revisions/1/discard"
    assert secretary.post(url, data={"reason": "x"}).status_code == 400   # no CSRF token
    response = secretary.post(url, data={"reason": "", "csrf_token": csrf_token(secretary)})
    assert response.status_code == 400 and _status(db) == "draft"
    response = secretary.post(url, data={"reason": "Soạn nhầm",
                                         "csrf_token": csrf_token(secretary)})
    assert response.status_code == 302 and _status(db) == "discarded"
    page = secretary.get("/documents/QT-01/revisions/1").get_data(as_text=True)
    assert "Đã hủy" in page and "Soạn nhầm" in page
    assert secretary.get("/documents/QT-01").status_code == 200
    # Another secretary sees no discard button on someone else's fresh draft.
    documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                              data=docx_bytes(), issue="1", amendment="0")
    other = login_as("controller2").get("/documents/QT-01/revisions/2").get_data(as_text=True)
    assert "/revisions/2/discard" not in other


def test_recall_button_then_gone_once_a_reviewer_acted(login_as, in_review, db):
    secretary = login_as("controller")
    page = secretary.get("/documents/QT-01/revisions/1").get_data(as_text=True)
    assert "/documents/QT-01/revisions/1/recall" in page
    reviews.review(in_review["reviewer"], "QT-01", 1, decision="accept")
    page = secretary.get("/documents/QT-01/revisions/1").get_data(as_text=True)
    assert "/documents/QT-01/revisions/1/recall" not in page
    response = secretary.post("/documents/QT-01/revisions/1/recall",
                              data={"csrf_token": csrf_token(secretary)},
                              follow_redirects=True)
    assert response.status_code == 200 and _status(db) == "in_review"
    assert in_review["reviewer"].display_name in response.get_data(as_text=True)


@pytest.mark.parametrize("route", ["approve", "return"])
def test_approver_return_lands_on_a_page_that_exists(login_as, in_review, db, route):
    approver = login_as("approver")
    url = ("/documents/QT-01/revisions/1/approve" if route == "approve"
           else "/documents/QT-01/revisions/1/return")
    data = {"decision": "reject", "comment": "Thiếu căn cứ pháp lý"}
    # While in review: refused (409 message), and the page answered exists.
    response = approver.post(url, data={**data, "csrf_token": csrf_token(approver)},
                             follow_redirects=True)
    assert response.status_code in (200, 409) and _status(db) == "in_review"
    for reviewer in ("reviewer", "reviewer2"):
        reviews.review(in_review[reviewer], "QT-01", 1, decision="accept")
    page = approver.get("/documents/QT-01/revisions/1").get_data(as_text=True)
    assert "/documents/QT-01/revisions/1/return" in page
    response = approver.post(url, data={**data, "csrf_token": csrf_token(approver)},
                             follow_redirects=True)
    assert response.status_code == 200 and _status(db) == "draft"
    assert response.request.path == "/"   # the approver's tasks: the draft is not theirs
    # The author sees "Bị trả lại" and the comment on the tasks page and the revision page.
    author = login_as("controller")
    for path in ("/", "/documents/QT-01/revisions/1"):
        page = author.get(path).get_data(as_text=True)
        assert "Bị trả lại" in page and "Thiếu căn cứ pháp lý" in page, path
    author.post("/language", data={"lang": "en", "csrf_token": csrf_token(author),
                                   "next": "/"})
    assert "Returned" in author.get("/").get_data(as_text=True)


def test_deactivated_approver_is_shown_to_admin_and_secretary_who_reroutes(
        client, login_as, token, in_review, db):
    for reviewer in ("reviewer", "reviewer2"):
        reviews.review(in_review[reviewer], "QT-01", 1, decision="accept")
    new = make_user("approver2", "approver", "Trần Văn Mới")
    admin = login_as("admin")
    response = admin.post(f"/admin/users/{in_review['approver'].id}",
                          data={"display_name": "Người dùng approver", "role": "approver",
                                "csrf_token": csrf_token(admin)})
    assert response.status_code == 200   # the confirmation page, listing what waits
    page = response.get_data(as_text=True)
    assert "QT-01" in page and "Các lần sửa đổi đang chờ" in page
    secretary = login_as("controller2")
    tasks = secretary.get("/").get_data(as_text=True)
    assert "Cần chuyển người xử lý" in tasks and "/documents/QT-01/revisions/1/reroute" in tasks
    form = secretary.get("/documents/QT-01/revisions/1/reroute").get_data(as_text=True)
    assert 'value="approver2"' in form
    response = secretary.post("/documents/QT-01/revisions/1/reroute",
                              data={"approver": "approver2", "reason": "",
                                    "csrf_token": csrf_token(secretary)})
    assert response.status_code == 400
    response = secretary.post("/documents/QT-01/revisions/1/reroute",
                              data={"approver": "approver2", "reason": "Nghỉ hưu",
                                    "csrf_token": csrf_token(secretary)})
    assert response.status_code == 302
    assert "Cần chuyển người xử lý" not in secretary.get("/").get_data(as_text=True)
    response = client.post(f"{URL}/approve", headers=token(new.username),
                           json={"password": PASSWORD,
                                 "effective_date": _today().isoformat()})
    assert response.status_code == 200 and response.get_json()["status"] == "effective"


def _today():
    from docctl.services.context import today
    return today()


def test_api_deactivation_answers_what_waits_for_the_user(client, token, in_review, db):
    response = client.patch("/api/v1/users/reviewer2", headers=token("admin"),
                            json={"active": False})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["waiting"] == [
        {"document": "QT-01", "revision": 1, "status": "in_review"}]
    response = client.post(f"{URL}/reroute", headers=token("controller"),
                           json={"reviewers": ["reviewer"], "reason": "reviewer2 đã nghỉ"})
    assert response.status_code == 200
    assert client.patch("/api/v1/users/reviewer", headers=token("admin"),
                        json={"active": False}).get_json()["waiting"][0]["revision"] == 1
