"""Change requests over /api/v1: submit (JSON, multipart), list, read, accept, decline."""

import io

import pytest
from sqlalchemy import func, select

from docctl.models import AuditEvent, ChangeRequest, Revision
from tests.helpers import PASSWORD, docx_bytes, publish

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _state(db):
    db.session.rollback()
    rows = db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)).all()
    return ([(r.id, r.status, r.revision_id, r.decision_reason) for r in rows],
            db.session.scalar(select(func.count()).select_from(Revision)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def _submit(client, headers, reason="Căn cứ pháp lý đã thay đổi", code="QT-01"):
    response = client.post(f"/api/v1/documents/{code}/change-requests", headers=headers,
                           json={"reason": reason})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_submit_accept_and_the_revision_that_results(client, token, db, procedure):
    staff, sec = token("staff"), token("controller")
    made = _submit(client, staff)
    assert (made["document"], made["revision"], made["status"], made["requester"]) == (
        "QT-01", 1, "open", "staff")
    assert made["draft"] is None and made["attachment"] is None

    accepted = client.post(f"/api/v1/change-requests/{made['id']}/accept", headers=sec)
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert body["status"] == "accepted" and body["decided_by"] == "controller"
    assert body["draft"]["revision"] == 2 and body["draft"]["status"] == "draft"
    # The revision names the request in its own JSON.
    revision = client.get("/api/v1/documents/QT-01/revisions/2", headers=sec).get_json()
    assert revision["change_requests"] == [made["id"]]
    # The requester is told: the request reads accepted, with its draft.
    seen = client.get(f"/api/v1/change-requests/{made['id']}", headers=staff).get_json()
    assert seen["status"] == "accepted" and seen["draft"]["revision"] == 2

    # Through the real route: new content, review, approval; the request becomes done.
    upload = client.post("/api/v1/documents/QT-01/revisions", headers=sec,
                         data={"file": (io.BytesIO(docx_bytes("bản hai", "QT-01")),
                                        "QT-01.docx")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    assert client.post("/api/v1/documents/QT-01/revisions/2/submit", headers=sec,
                       json={"reviewers": ["reviewer"], "approver": "approver",
                             "reason": "Theo đề nghị"}).status_code == 200
    assert client.post("/api/v1/documents/QT-01/revisions/2/review",
                       headers=token("reviewer"),
                       json={"decision": "accept"}).status_code == 200
    from docctl.services.context import today
    approved = client.post("/api/v1/documents/QT-01/revisions/2/approve",
                           headers=token("approver"),
                           json={"password": PASSWORD,
                                 "effective_date": today().isoformat()})
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["change_requests"] == [made["id"]]
    done = client.get(f"/api/v1/change-requests/{made['id']}", headers=staff).get_json()
    assert done["status"] == "done" and done["draft"]["status"] == "effective"


def test_multipart_with_attachment(client, token, db, procedure):
    staff = token("staff")
    response = client.post("/api/v1/documents/QT-01/change-requests", headers=staff,
                           data={"reason": "Xem ảnh chụp", "revision": "1",
                                 "attachment": (io.BytesIO(PNG), "man hinh.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["attachment"]["name"] == "man hinh.png"
    file = client.get(f"/api/v1/change-requests/{body['id']}/attachment", headers=staff)
    assert file.status_code == 200 and file.data == PNG
    assert file.mimetype == "image/png" and "attachment" in file.headers["Content-Disposition"]


def test_decline_and_filters(client, token, db, procedure):
    staff, sec = token("staff"), token("controller")
    a = _submit(client, staff, "Một")
    b = _submit(client, token("reviewer"), "Hai")
    declined = client.post(f"/api/v1/change-requests/{a['id']}/decline", headers=sec,
                           json={"reason": "Không cần thiết"})
    assert declined.status_code == 200, declined.get_json()
    assert declined.get_json()["decision_reason"] == "Không cần thiết"

    def ids(query=""):
        response = client.get(f"/api/v1/change-requests{query}", headers=sec)
        assert response.status_code == 200, response.get_json()
        return [r["id"] for r in response.get_json()["change_requests"]]
    assert ids() == [b["id"], a["id"]]
    assert ids("?status=declined") == [a["id"]]
    assert ids("?status=open&requester=reviewer") == [b["id"]]
    assert ids("?document=qt-01&requester=staff") == [a["id"]]
    bad = client.get("/api/v1/change-requests?status=closed", headers=sec)
    assert bad.status_code == 400 and bad.get_json()["field"] == "status"


@pytest.mark.parametrize(("payload", "field"), [
    ({}, None), ({"reason": ""}, None), ({"reason": "   "}, "reason"),
    ({"reason": ["x"]}, "reason"), ({"reason": "x", "status": "done"}, None),
    ({"reason": "x", "revision": "abc"}, "revision"),
])
def test_bad_submissions_change_nothing(client, token, db, procedure, payload, field):
    staff = token("staff")
    before = _state(db)
    response = client.post("/api/v1/documents/QT-01/change-requests", headers=staff,
                           json=payload)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == "invalid" and body["message"]
    if field:
        assert body["field"] == field
    assert _state(db) == before


def test_against_a_superseded_revision_or_withdrawn_document(client, token, db, procedure,
                                                              users):
    publish(users, "QT-01", text="bản hai", reason="Cập nhật")
    staff, sec = token("staff"), token("controller")
    before = _state(db)
    response = client.post("/api/v1/documents/QT-01/change-requests", headers=staff,
                           json={"reason": "Sửa", "revision": 1})
    assert response.status_code == 409
    body = response.get_json()
    # Vietnamese first: the message names the revision and the one in force.
    assert body["error"] == "conflict" and "QT-01" in body["message"]
    assert "không phải lần ban hành đang hiệu lực" in body["message"]
    assert _state(db) == before
    client.post("/api/v1/documents/QT-01/withdraw", headers=token("approver"),
                json={"reason": "Bãi bỏ", "password": PASSWORD})
    before = _state(db)
    response = client.post("/api/v1/documents/QT-01/change-requests", headers=sec,
                           json={"reason": "Sửa"})
    assert response.status_code == 409 and "đã bị thu hồi" in response.get_json()["message"]
    assert _state(db) == before


def test_deciding_is_for_the_secretary_and_only_once(client, token, db, procedure):
    heads = {who: token(who) for who in ("staff", "reviewer", "auditor", "controller")}
    made = _submit(client, heads["staff"])
    url = f"/api/v1/change-requests/{made['id']}"
    before = _state(db)
    for who in ("staff", "reviewer", "auditor"):
        assert client.post(f"{url}/accept", headers=heads[who]).status_code == 403
        assert client.post(f"{url}/decline", headers=heads[who],
                           json={"reason": "không"}).status_code == 403
    sec = heads["controller"]
    missing = client.post(f"{url}/decline", headers=sec, json={"reason": ""})
    assert missing.status_code == 400
    assert _state(db) == before
    assert client.post(f"{url}/accept", headers=sec).status_code == 200
    before = _state(db)
    again = client.post(f"{url}/accept", headers=sec)
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    assert "đã được chấp nhận" in again.get_json()["message"]
    assert client.post(f"{url}/decline", headers=sec,
                       json={"reason": "không"}).status_code == 409
    assert _state(db) == before
    assert client.post("/api/v1/change-requests/999/accept", headers=sec).status_code == 404


def test_anonymous_and_hidden(client, token, db, procedure, users):
    assert client.get("/api/v1/change-requests").status_code == 401
    assert client.post("/api/v1/documents/QT-01/change-requests",
                       json={"reason": "x"}).status_code == 401
    made = _submit(client, token("reviewer"))
    client.post("/api/v1/documents/QT-01/withdraw", headers=token("approver"),
                json={"reason": "Bãi bỏ", "password": PASSWORD})
    staff = token("staff")
    assert client.get(f"/api/v1/change-requests/{made['id']}", headers=staff).status_code == 404
    assert client.get("/api/v1/change-requests", headers=staff).get_json() == {
        "change_requests": []}


def test_discarding_the_linked_draft_over_the_api_reopens_the_request(client, token, db,
                                                                       procedure):
    sec = token("controller")
    made = _submit(client, token("staff"))
    url = f"/api/v1/change-requests/{made['id']}"
    assert client.post(f"{url}/accept", headers=sec).get_json()["draft"]["revision"] == 2
    gone = client.delete("/api/v1/documents/QT-01/revisions/2", headers=sec,
                         json={"reason": "Soạn nhầm"})
    assert gone.status_code == 200, gone.get_json()
    again = client.get(url, headers=sec).get_json()
    assert (again["status"], again["draft"], again["decided_by"]) == ("open", None, None)
    reopened = client.post(f"{url}/accept", headers=sec).get_json()
    assert reopened["status"] == "accepted" and reopened["draft"]["revision"] == 3
