"""Releases over /api/v1: assemble, sign, the decision and its scan, and what documents say."""

import io
import subprocess

import docx
import pytest

from docctl.models import Release
from docctl.services import verify
from docctl.services.context import today
from tests.helpers import PASSWORD
from tests.services.test_releases import SIGNER, TITLE, reviewed


@pytest.fixture
def ready(users):
    """QT-01 and QT-02 reviewed, BM-01-01 (a form of QT-01) reviewed."""
    reviewed(users, "QT-01")
    reviewed(users, "QT-02")
    reviewed(users, "BM-01-01", doc_type="form", title="Phiếu tiếp nhận", parent="QT-01")
    return users


def body(**changes) -> dict:
    values = {"title": TITLE, "decision_number": "4500/QĐ-UBND",
              "decision_date": today().isoformat(), "signer": SIGNER,
              "effective_date": today().isoformat(),
              "items": [{"code": "QT-01", "revision": 1}, {"code": "QT-02", "revision": 1},
                        {"code": "BM-01-01", "revision": 1}]}
    values.update(changes)
    return values


def test_a_set_issued_by_one_decision_over_the_api(app, client, token, ready, db):
    sec, boss, staff = token("controller"), token("approver"), token("staff")
    created = client.post("/api/v1/releases", headers=sec, json=body())
    assert created.status_code == 201, created.get_json()
    release = created.get_json()
    assert release["status"] == "draft" and release["slug"] == "4500-QD-UBND"
    assert [i["code"] for i in release["items"]] == ["QT-01", "QT-02", "BM-01-01"]
    # Staff cannot see an unsigned decision, nor sign one.
    assert client.get(f"/api/v1/releases/{release['id']}", headers=staff).status_code == 404
    assert client.post(f"/api/v1/releases/{release['id']}/approve", headers=staff,
                       json={"password": PASSWORD}).status_code == 403
    wrong = client.post(f"/api/v1/releases/{release['id']}/approve", headers=boss,
                        json={"password": "sai"})
    assert wrong.status_code == 403 and wrong.get_json()["error"] == "signature_failed"
    signed = client.post(f"/api/v1/releases/{release['id']}/approve", headers=boss,
                         json={"password": PASSWORD})
    assert signed.status_code == 200, signed.get_json()
    result = signed.get_json()
    assert result["status"] == "effective" and result["tag"] == "release/4500-QD-UBND"
    assert {i["status"] for i in result["items"]} == {"effective"}
    head = subprocess.run(["git", "-C", app.config["REPO_STORE"], "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert result["commit"] == head
    # The document JSON names the decision; the register filters by it.
    qt01 = client.get("/api/v1/documents/QT-01", headers=staff).get_json()
    assert qt01["release"]["decision_number"] == "4500/QĐ-UBND"
    assert qt01["forms"] == [{"code": "BM-01-01", "revision": 1, "label": qt01["forms"][0][
        "label"]}]
    listed = client.get("/api/v1/documents?release=4500-QD-UBND", headers=staff).get_json()
    assert sorted(d["code"] for d in listed["documents"]) == ["BM-01-01", "QT-01", "QT-02"]
    by_number = client.get("/api/v1/documents", headers=staff,
                           query_string={"release": "4500/QĐ-UBND"}).get_json()
    assert by_number["total"] == 3
    auditor = token("auditor")
    as_of = client.get("/api/v1/documents", headers=auditor,
                       query_string={"as_of": today().isoformat()}).get_json()
    assert as_of["release_in_force"]["decision_number"] == "4500/QĐ-UBND"
    assert {d["code"]: d["release"]["decision_number"] for d in as_of["documents"]} == {
        "QT-01": "4500/QĐ-UBND", "QT-02": "4500/QĐ-UBND", "BM-01-01": "4500/QĐ-UBND"}
    rev = client.get("/api/v1/documents/QT-02/revisions/1", headers=staff).get_json()
    assert rev["release"]["decision_number"] == "4500/QĐ-UBND"
    # The generated decision, and the signed scan kept beside it.
    decision = client.get(f"/api/v1/releases/{release['id']}/decision", headers=staff)
    assert decision.status_code == 200 and decision.mimetype.endswith("document")
    text = "\n".join(c.text for t in docx.Document(io.BytesIO(decision.data)).tables
                     for row in t.rows for c in row.cells)
    assert "Số: 4500/QĐ-UBND" in text and "BM-01-01" in text
    scan = client.post(f"/api/v1/releases/{release['id']}/scan", headers=sec,
                       data={"file": (io.BytesIO(b"%PDF-1.5\nscan"), "qd-4500.pdf")},
                       content_type="multipart/form-data")
    assert scan.status_code == 201, scan.get_json()
    assert scan.get_json()["signed_scan"]["filename"] == "qd-4500.pdf"
    kept = client.get(f"/api/v1/releases/{release['id']}/scan", headers=staff)
    assert kept.status_code == 200 and kept.data == b"%PDF-1.5\nscan"
    listing = client.get("/api/v1/releases", headers=staff).get_json()["releases"]
    assert [r["decision_number"] for r in listing] == ["4500/QĐ-UBND"]
    assert verify.run() == []


@pytest.mark.parametrize(("changes", "status", "field"), [
    ({"decision_number": "4500/UBND"}, 400, "decision_number"),
    ({"decision_number": "QĐ-4500"}, 400, "decision_number"),
    ({"items": [{"code": "QT-01", "revision": 1}, {"code": "QT-01", "revision": 1}]}, 400,
     "items"),
    ({"items": [{"code": "QT-02", "action": "abolish"}]}, 409, "items"),
    ({"items": [{"code": "QT-01", "revision": 1, "extra": 1}]}, 400, "items"),
    ({"effective_date": "2000-01-01", "decision_date": "2000-01-01"}, 400, "effective_date"),
    ({"effective_date": "07/12/2026"}, 400, "effective_date"),
    ({"replaces": "1/QĐ-UBND"}, 400, "replaces"),
])
def test_bad_releases_are_refused_in_the_users_language(client, token, ready, db, changes,
                                                        status, field):
    headers = {**token("controller"), "Accept-Language": "vi"}
    response = client.post("/api/v1/releases", headers=headers, json=body(**changes))
    assert response.status_code == status, response.get_json()
    answer = response.get_json()
    assert answer["field"] == field and answer["message"]
    assert db.session.query(Release).count() == 0


def test_a_revision_not_reviewed_is_refused_in_vietnamese(client, token, users, db):
    from docctl.services import documents
    from tests.helpers import docx_bytes
    documents.register_document(users["controller"], {"type": "procedure", "title": "Nháp",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    response = client.post("/api/v1/releases",
                           headers={**token("controller"), "Accept-Language": "vi"},
                           json=body(items=[{"code": "QT-01", "revision": 1}]))
    assert response.status_code == 409
    assert "chưa được xem xét" in response.get_json()["message"]
    assert db.session.query(Release).count() == 0


def test_unknown_fields_and_staff_are_refused(client, token, ready):
    assert client.post("/api/v1/releases", headers=token("controller"),
                       json={**body(), "approver": "x"}).status_code == 400
    assert client.post("/api/v1/releases", headers=token("staff"),
                       json=body()).status_code == 403
    assert client.get("/api/v1/releases/999", headers=token("staff")).status_code == 404
