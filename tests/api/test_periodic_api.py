"""Periodic review over /api/v1: confirm "no change" or "revise", list what is due."""

from datetime import date

import pytest

from docctl.domain.periodic import next_review
from docctl.models import Document, Revision
from docctl.services import verify
from docctl.services.context import today
from tests.helpers import PASSWORD

URL = "/api/v1/documents/QT-01/periodic-review"


def test_no_change_over_the_api_moves_the_due_date(client, token, db, procedure):
    sec = token("controller")
    before = client.get("/api/v1/documents/QT-01", headers=sec).get_json()
    effective = before["effective_date"]
    assert before["next_review_date"] is not None
    response = client.post(URL, headers=sec, json={"outcome": "no_change", "password": PASSWORD,
                                                   "comment": "Vẫn phù hợp"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    day = today()
    expected = next_review(date.fromisoformat(effective), day, 12)
    assert body["outcome"] == "no_change" and body["reviewed_on"] == day.isoformat()
    assert body["next_review_date"] == expected.isoformat()
    assert body["document"]["next_review_date"] == expected.isoformat()
    assert client.get("/api/v1/documents/QT-01", headers=sec).get_json()[
        "next_review_date"] == expected.isoformat()
    assert db.session.query(Revision).count() == 1
    assert verify.run() == []


def test_revise_over_the_api_opens_a_draft(client, token, db, procedure):
    response = client.post(URL, headers=token("controller"),
                           json={"outcome": "revise", "comment": "Căn cứ pháp lý đã thay đổi"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["outcome"] == "revise" and body["draft"]["revision"] == 2
    assert body["draft"]["status"] == "draft"
    assert body["draft"]["reason"] == "Căn cứ pháp lý đã thay đổi"
    assert body["next_review_date"] == body["document"]["next_review_date"]


@pytest.mark.parametrize(("payload", "status", "error"), [
    ({"outcome": "no_change", "password": "wrong"}, 403, "signature_failed"),
    ({"outcome": "no_change"}, 400, "invalid"),                    # no password
    ({"outcome": "maybe", "password": PASSWORD}, 400, "invalid"),
    ({"password": PASSWORD}, 400, "invalid"),                      # no outcome
    ({"outcome": "no_change", "password": PASSWORD, "date": "x"}, 400, "invalid"),
    ({"outcome": ["no_change"], "password": PASSWORD}, 400, "invalid"),
    ({"outcome": "revise"}, 400, "invalid"),                       # no reason for change
])
def test_bad_requests_change_nothing(client, token, db, procedure, payload, status, error):
    before = db.session.query(Document).one().next_review_date
    response = client.post(URL, headers=token("controller"), json=payload)
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"] == error and body["message"]
    db.session.expire_all()
    document = db.session.query(Document).one()
    assert document.next_review_date == before and document.reviewed_on is None
    assert db.session.query(Revision).count() == 1


def test_a_document_not_in_force_answers_409(client, token, db, procedure):
    sec = token("controller")
    client.post("/api/v1/documents", headers=sec, json={
        "type": "procedure", "title": "Chưa ban hành", "department": "VP"})
    response = client.post("/api/v1/documents/QT-02/periodic-review", headers=sec,
                           json={"outcome": "no_change", "password": PASSWORD})
    assert response.status_code == 409 and response.get_json()["error"] == "conflict"


def test_who_may_review_and_list(client, token, db, procedure):
    response = client.post(URL, headers=token("staff"),
                           json={"outcome": "no_change", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/api/v1/reviews/due", headers=token("staff")).status_code == 403
    assert client.post(URL, json={"outcome": "no_change"}).status_code == 401
    assert client.get("/api/v1/reviews/due").status_code == 401
    # The owner department's reviewer signs "no change".
    response = client.post(URL, headers=token("reviewer"),
                           json={"outcome": "no_change", "password": PASSWORD})
    assert response.status_code == 200, response.get_json()


def test_reviews_due_lists_overdue_and_due_soon(client, token, db, procedure, clock):
    sec = token("controller")
    body = client.get("/api/v1/reviews/due", headers=sec).get_json()
    assert body["documents"] == [] and body["within_days"] == 30
    assert [d["code"] for d in client.get("/api/v1/reviews/due?within_days=400",
                                          headers=sec).get_json()["documents"]] == ["QT-01"]
    clock.advance(days=370)
    sec = token("controller")   # a year on: the first token has expired
    body = client.get("/api/v1/reviews/due", headers=sec).get_json()
    [item] = body["documents"]
    assert item["code"] == "QT-01" and item["overdue"] and item["days_left"] < 0
    assert body["overdue"] == 1 and body["today"] == today().isoformat()
    for bad in ("-1", "x", "99999"):
        response = client.get(f"/api/v1/reviews/due?within_days={bad}", headers=sec)
        assert response.status_code == 400 and response.get_json()["error"] == "invalid"


def test_the_document_list_filters_overdue_reviews(client, token, db, procedure, clock):
    sec = token("controller")
    assert client.get("/api/v1/documents?review=overdue", headers=sec).get_json()[
        "documents"] == []
    clock.advance(days=370)
    sec = token("controller")
    listed = client.get("/api/v1/documents?review=overdue", headers=sec).get_json()
    assert [d["code"] for d in listed["documents"]] == ["QT-01"]
    response = client.get("/api/v1/documents?review=someday", headers=sec)
    assert response.status_code == 400 and response.get_json()["field"] == "review"
