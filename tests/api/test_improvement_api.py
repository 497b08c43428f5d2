"""The improvement loop over /api/v1: audits, findings, nonconformities and their corrective
actions, management reviews; translated refusals that change nothing."""

from datetime import timedelta

from sqlalchemy import func, select

from docctl.models import AuditEvent
from docctl.models_improvement import InternalAudit, ManagementReview, Nonconformity
from docctl.models_records import Record
from docctl.services.context import today
from tests.helpers import PASSWORD


def _state(db):
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (InternalAudit, Nonconformity, ManagementReview, Record,
                               AuditEvent))


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_the_loop_over_the_api(client, token, db, procedure, users):
    # The lead internal auditor is staff trained to audit; the auditor role alone changes
    # nothing (tests/audit/test_auditor_reads_only.py).
    users["auditor"].role = "staff,auditor"
    db.session.commit()
    sec, lead, staff, head = (token("controller"), token("auditor"), token("staff"),
                              token("approver"))
    made = _ok(client.post("/api/v1/audits", headers=sec, json={
        "title": "Đánh giá nội bộ 2026", "start_date": today().isoformat(),
        "clauses": "7.5", "departments": ["VP"], "procedures": ["QT-01"],
        "lead_auditor": "auditor", "team": ["reviewer"]}), 201)
    assert made["status"] == "planned" and made["team"] == ["reviewer", "auditor"] or \
        sorted(made["team"]) == ["auditor", "reviewer"]
    listed = _ok(client.get(f"/api/v1/audits?year={today().year}", headers=lead))
    assert [a["id"] for a in listed["audits"]] == [made["id"]]
    finding = _ok(client.post(f"/api/v1/audits/{made['id']}/findings", headers=lead, json={
        "kind": "nonconformity", "clause": "7.5", "procedure": "QT-01",
        "description": "Không lưu hồ sơ theo BM-01"}), 201)
    nc_id = finding["nonconformity"]
    closed = _ok(client.post(f"/api/v1/audits/{made['id']}/close", headers=lead,
                             json={"conclusion": "Cơ bản phù hợp"}))
    assert closed["status"] == "reported" and closed["record"]["slug"].startswith("HS-")
    refused = client.patch(f"/api/v1/audits/{made['id']}", headers=sec, json={"title": "x"})
    assert refused.status_code == 409 and "đã đóng" in refused.get_json()["message"]

    _ok(client.patch(f"/api/v1/nonconformities/{nc_id}", headers=sec, json={
        "owner": "staff", "due_date": (today() + timedelta(days=7)).isoformat(),
        "cause": "Chưa phổ biến quy trình", "action": "Phổ biến lại QT-01"}))
    before = _state(db)
    early = client.post(f"/api/v1/nonconformities/{nc_id}/close", headers=sec)
    assert early.status_code == 409 and "hiệu lực" in early.get_json()["message"]
    assert _state(db) == before
    _ok(client.post(f"/api/v1/nonconformities/{nc_id}/action-done", headers=staff,
                    json={"action_taken": "Đã phổ biến ngày 12"}))
    own = client.post(f"/api/v1/nonconformities/{nc_id}/verify", headers=staff,
                      json={"effective": True})
    assert own.status_code == 403
    _ok(client.post(f"/api/v1/nonconformities/{nc_id}/verify", headers=head,
                    json={"effective": True, "comment": "Không tái diễn"}))
    done = _ok(client.post(f"/api/v1/nonconformities/{nc_id}/close", headers=sec))
    assert done["status"] == "closed" and done["record"]["sha256"]
    record = db.session.get(Record, done["record"]["id"])
    assert record.kind == "nonconformity" and record.sha256 == done["record"]["sha256"]

    review = _ok(client.post("/api/v1/management-reviews", headers=sec,
                             json={"review_date": today().isoformat()}), 201)
    assert [n["id"] for n in review["inputs"]["nonconformities"]] == [nc_id]
    assert review["inputs"]["audits"][0]["findings"]["nonconformity"] == 1
    _ok(client.patch(f"/api/v1/management-reviews/{review['id']}", headers=sec,
                     json={"texts": {"conclusions": "Duy trì hệ thống"}}))
    action = _ok(client.post(f"/api/v1/management-reviews/{review['id']}/actions",
                             headers=sec, json={"description": "Rà soát QT-01",
                                                "owner": "staff",
                                                "due_date": today().isoformat()}), 201)
    assert client.post(f"/api/v1/management-reviews/{review['id']}/close", headers=sec,
                       json={"password": PASSWORD}).status_code == 403
    minutes = _ok(client.post(f"/api/v1/management-reviews/{review['id']}/close",
                              headers=head, json={"password": PASSWORD}))
    assert minutes["status"] == "closed" and minutes["approved_by"] == "approver"
    assert minutes["record"]["slug"].startswith("HS-")
    marked = _ok(client.patch(f"/api/v1/management-reviews/{review['id']}/actions/"
                              f"{action['id']}", headers=staff, json={"status": "done"}))
    assert marked["status"] == "done" and marked["done_by"] == "staff"


def test_overdue_filter_and_roles(client, token, db, clock):
    sec = token("controller")
    nc = _ok(client.post("/api/v1/nonconformities", headers=sec, json={
        "source": "complaint", "source_reference": "PA-03", "description": "Trễ hạn",
        "owner": "staff", "due_date": today().isoformat()}), 201)
    assert _ok(client.get("/api/v1/nonconformities?overdue=1", headers=sec))[
        "nonconformities"] == []
    clock.advance(days=1)
    overdue = _ok(client.get("/api/v1/nonconformities?overdue=1",
                             headers=token("approver")))["nonconformities"]
    assert [(n["id"], n["overdue"]) for n in overdue] == [(nc["id"], True)]
    staff, auditor = token("staff"), token("auditor")
    before = _state(db)
    assert client.post("/api/v1/audits", headers=staff, json={
        "title": "x", "start_date": today().isoformat(),
        "lead_auditor": "auditor"}).status_code == 403
    assert client.post("/api/v1/audits", headers=auditor, json={
        "title": "x", "start_date": today().isoformat(),
        "lead_auditor": "auditor"}).status_code == 403
    assert client.post("/api/v1/nonconformities", headers=auditor, json={
        "source": "other", "description": "x"}).status_code == 403
    assert client.post("/api/v1/management-reviews", headers=auditor, json={
        "review_date": today().isoformat()}).status_code == 403
    assert client.get("/api/v1/audits/999", headers=auditor).status_code == 404
    assert _state(db) == before


def test_bad_input_answers_translated_json_and_changes_nothing(client, token, db):
    sec = token("controller")
    before = _state(db)
    cases = [
        ("/api/v1/audits", {"title": "x", "start_date": "hôm qua", "lead_auditor": "auditor"},
         400, "dd/mm/yyyy"),
        ("/api/v1/audits", {"title": "x", "start_date": today().isoformat(),
                            "lead_auditor": "auditor", "clauses": "bảy"}, 400, "điều khoản"),
        ("/api/v1/audits", {"title": "x", "start_date": today().isoformat(),
                            "lead_auditor": "auditor", "colour": "red"}, 400, "colour"),
        ("/api/v1/nonconformities", {"source": "rumour", "description": "x"}, 400, "source"),
        ("/api/v1/nonconformities", {"source": "other"}, 400, None),
        ("/api/v1/management-reviews", {}, 400, None),
    ]
    for url, body, status, words in cases:
        response = client.post(url, headers=sec, json=body)
        assert response.status_code == status, (url, body, response.get_json())
        if words:
            assert words in response.get_json()["message"], response.get_json()
    assert client.post("/api/v1/audits", headers=sec, data="nope",
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/nonconformities/5/verify", headers=sec,
                       json={"effective": "yes"}).status_code in (400, 404)
    assert _state(db) == before
    assert client.get("/api/v1/audits").status_code == 401
