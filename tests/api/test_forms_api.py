"""GET/PUT a procedure revision's forms over /api/v1, and the forms in a document's JSON."""

from datetime import UTC, datetime

import pytest

from docctl.models import AuditEvent
from tests.helpers import PASSWORD
from tests.services.test_forms import approve, build_world, draft, reviewed


@pytest.fixture
def world(clock, users):
    return build_world(clock, users)


BOTH = [{"code": "BM-01-01", "revision": 1, "label": "01"},
        {"code": "BM-01-02", "revision": 1, "label": "01"}]


def test_forms_are_read_and_written_over_the_api(client, token, world, users):
    staff, sec = token("staff"), token("controller")
    response = client.get("/api/v1/documents/QT-01/revisions/1/forms", headers=staff)
    assert response.status_code == 200 and response.get_json() == BOTH
    number = draft(users, "QT-01")
    url = f"/api/v1/documents/QT-01/revisions/{number}/forms"
    assert client.get(url, headers=sec).get_json() == BOTH   # a new draft keeps them
    response = client.put(url, headers=sec, json=[{"code": "bm.01.02", "revision": 1}])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == [{"code": "BM-01-02", "revision": 1, "label": "01"}]
    assert client.get(url, headers=sec).get_json() == response.get_json()
    assert client.put(url, headers=staff, json=[]).status_code == 403
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("body, status", [
    ([{"code": "BM-09-09", "revision": 1}], 422),                 # unknown code
    ([{"code": "QT-02", "revision": 1}], 422),                    # not a form
    ([{"code": "BM-01-01", "revision": 4}], 422),                 # no such revision
    ([{"code": "BM-01-01", "revision": 1}, {"code": "BM-01-01", "revision": 1}], 422),
    ([{"code": "BM-01-01"}], 400),
    ({"code": "BM-01-01", "revision": 1}, 400),
    ("BM-01-01", 400),
])
def test_bad_input_is_refused_with_a_message_and_nothing_changes(client, token, world, users,
                                                                 db, body, status):
    sec = token("controller")
    number = draft(users, "QT-01")
    url = f"/api/v1/documents/QT-01/revisions/{number}/forms"
    events = AuditEvent.query.count()
    response = client.put(url, headers=sec, json=body)
    assert response.status_code == status
    answer = response.get_json()
    assert answer["error"] and answer["message"] and answer.get("field") == "forms"
    assert client.get(url, headers=sec).get_json() == BOTH
    assert AuditEvent.query.count() == events


def test_controlled_and_unknown_revisions_are_refused(client, token, world):
    sec = token("controller")
    body = [{"code": "BM-01-01", "revision": 1}]
    response = client.put("/api/v1/documents/QT-01/revisions/1/forms", headers=sec, json=body)
    assert response.status_code == 409 and "QT-01" in response.get_json()["message"]
    assert client.put("/api/v1/documents/QT-01/revisions/9/forms", headers=sec,
                      json=body).status_code == 404
    assert client.put("/api/v1/documents/QT-77/revisions/1/forms", headers=sec,
                      json=body).status_code == 404
    assert client.get("/api/v1/documents/QT-01/revisions/1/forms",
                      headers=sec).get_json() == BOTH


def test_approval_over_the_api_names_the_forms_left_out(client, token, world, users):
    number = draft(users, "QT-01")
    client.put(f"/api/v1/documents/QT-01/revisions/{number}/forms",
               headers=token("controller"), json=[{"code": "BM-01-01", "revision": 1}])
    reviewed(users, "QT-01", number)
    response = client.post(f"/api/v1/documents/QT-01/revisions/{number}/approve",
                           headers=token("approver"),
                           json={"password": PASSWORD,
                                 "effective_date": world.today().isoformat()})
    assert response.status_code == 409 and "BM-01-02" in response.get_json()["message"]


def test_document_json_has_the_forms_in_force_with_it_on_the_day(client, token, world, users):
    world.moment = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
    bm, qt = draft(users, "BM-01-01"), draft(users, "QT-01")
    client.put(f"/api/v1/documents/QT-01/revisions/{qt}/forms", headers=token("controller"),
               json=[{"code": "BM-01-01", "revision": bm}, {"code": "BM-01-02", "revision": 1}])
    reviewed(users, "BM-01-01", bm)
    approve(users, "BM-01-01", bm, world.today())
    reviewed(users, "QT-01", qt)
    approve(users, "QT-01", qt, world.today())
    auditor = token("auditor")
    now = client.get("/api/v1/documents/QT-01", headers=token("staff")).get_json()
    assert [(f["code"], f["revision"]) for f in now["forms"]] == [("BM-01-01", 2),
                                                                  ("BM-01-02", 1)]
    then = client.get("/api/v1/documents/QT-01?as_of=2026-01-20", headers=auditor).get_json()
    assert then["current_revision"] == 1
    assert then["forms"] == BOTH
    before = client.get("/api/v1/documents/QT-01?as_of=2026-01-04", headers=auditor).get_json()
    assert before["forms"] == []
    listed = client.get("/api/v1/documents?as_of=2026-01-20&type=procedure",
                        headers=auditor).get_json()["documents"]
    assert [d["forms"] for d in listed if d["code"] == "QT-01"] == [BOTH]
    assert client.get("/api/v1/documents/BM-01-01", headers=auditor).get_json()["forms"] == []
