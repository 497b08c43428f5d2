"""The improvement loop end to end: an audit finds a nonconformity, its corrective action is
done, verified and closed, each closing files its report as a record, and the management
review's draft gathers it all; who may do what; overdue actions on the agency's clock."""

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from docctl.errors import Conflict, Forbidden, NotFound, SignatureError, ValidationError
from docctl.models import AuditEvent
from docctl.models_improvement import AuditFinding, InternalAudit, Nonconformity
from docctl.models_records import Record
from docctl.office import extract_text
from docctl.services import audits, management_reviews, nonconformities, records
from docctl.services.context import today
from tests.helpers import PASSWORD


def _audit(users, **extra):
    data = {"title": "Đánh giá nội bộ đợt 1", "start_date": today().isoformat(),
            "clauses": "7.5, 8.1", "departments": ["VP"], "procedures": "QT-01",
            "lead_auditor": "auditor", "team": ["reviewer"], **extra}
    return audits.create(users["controller"], data)


def _state(db):
    db.session.rollback()
    return ([(a.id, a.status, a.conclusion, a.record_id)
             for a in db.session.scalars(select(InternalAudit))],
            [(n.id, n.status, n.owner_id, n.due_date, n.effective, n.record_id)
             for n in db.session.scalars(select(Nonconformity))],
            db.session.scalar(select(func.count()).select_from(AuditFinding)),
            db.session.scalar(select(func.count()).select_from(Record)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def _filed(users, record_id, kind, heading):
    """Assert the record exists, is of its kind, and holds the report whose hash it names."""
    record = records.get(users["controller"], record_id)
    assert record.kind == kind and record.status == "filed"
    data = records.open_content(record)
    assert hashlib.sha256(data).hexdigest() == record.sha256
    assert heading in extract_text(data)
    return record, extract_text(data)


def test_the_loop_from_an_audit_finding_to_a_closed_action_and_the_review(users, db,
                                                                         procedure):
    sec, lead, member = users["controller"], users["auditor"], users["reviewer"]
    planned = _audit(users)
    assert (planned.status, planned.year, planned.clauses) == ("planned", today().year,
                                                                "7.5, 8.1")
    assert {m.user.username for m in planned.team} == {"auditor", "reviewer"}

    # A team member records the findings; the first one starts the audit.
    audits.add_finding(member, planned.id, {"kind": "conformity", "clause": "8.1",
                                            "description": "Tiếp nhận hồ sơ đúng quy trình"})
    finding = audits.add_finding(lead, planned.id, {
        "kind": "nonconformity", "clause": "7.5", "department": "VP", "procedure": "qt01",
        "description": "Hồ sơ BM-01 không ghi ngày tiếp nhận", "evidence": "Hồ sơ số 12/2026"})
    assert db.session.get(InternalAudit, planned.id).status == "in_progress"
    nc = db.session.get(Nonconformity, finding.nonconformity_id)
    assert (nc.source, nc.status, nc.description, finding.procedure.code) == (
        "audit", "open", "Hồ sơ BM-01 không ghi ngày tiếp nhận", "QT-01")

    # Closing the audit files its report; nothing on it changes after.
    closed = audits.close(lead, planned.id, conclusion="Hệ thống cơ bản phù hợp")
    assert closed.status == "reported" and closed.record_id
    _record, text = _filed(users, closed.record_id, "audit_report", "BÁO CÁO ĐÁNH GIÁ NỘI BỘ")
    assert "Hồ sơ BM-01 không ghi ngày tiếp nhận" in text and "Hệ thống cơ bản phù hợp" in text
    before = _state(db)
    for change in (lambda: audits.add_finding(lead, planned.id, {"kind": "observation",
                                                                  "description": "x"}),
                   lambda: audits.update(sec, planned.id, {"title": "Đổi tên"}),
                   lambda: audits.close(sec, planned.id)):
        with pytest.raises(Conflict):
            change()
    assert _state(db) == before

    # The secretary assigns the action; the owner analyses, acts and reports it done.
    nonconformities.update(sec, nc.id, {"owner": "staff", "due_date":
                                        (today() + timedelta(days=14)).isoformat()})
    with pytest.raises(Conflict):   # no cause and no action written yet
        nonconformities.report_done(users["staff"], nc.id, action_taken="Đã bổ sung")
    nonconformities.update(users["staff"], nc.id, {
        "cause": "Cán bộ mới chưa được hướng dẫn", "correction": "Bổ sung ngày vào hồ sơ 12",
        "action": "Tập huấn lại QT-01 cho bộ phận một cửa"})
    nonconformities.report_done(users["staff"], nc.id, action_taken="Đã tập huấn ngày 10")

    # Closing before verification: refused, nothing changed.
    before = _state(db)
    with pytest.raises(Conflict):
        nonconformities.close(sec, nc.id)
    assert _state(db) == before

    # Not effective sends it back; verified effective, then closed with its HĐKP report.
    nonconformities.verify(sec, nc.id, effective=False, comment="Vẫn còn hồ sơ thiếu ngày")
    assert db.session.get(Nonconformity, nc.id).status == "open"
    nonconformities.report_done(users["staff"], nc.id, action_taken="Kiểm tra chéo hằng tuần")
    nonconformities.verify(users["approver"], nc.id, effective=True, comment="Đã hiệu quả")
    done = nonconformities.close(sec, nc.id)
    assert (done.status, done.rounds, done.effective) == ("closed", 1, True)
    _record, text = _filed(users, done.record_id, "nonconformity",
                           "BÁO CÁO THỰC HIỆN HÀNH ĐỘNG KHẮC PHỤC")
    assert "Tập huấn lại QT-01" in text and "Có hiệu lực" in text
    with pytest.raises(Conflict):
        nonconformities.update(sec, nc.id, {"action": "khác"})

    # The management review's draft gathers the audit, the closed action and the changes.
    review = management_reviews.open_review(sec, {"review_date": today().isoformat()})
    facts = management_reviews.inputs(review)
    assert [a["title"] for a in facts["audits"]] == ["Đánh giá nội bộ đợt 1"]
    assert facts["audits"][0]["findings"] == {"conformity": 1, "observation": 0,
                                              "nonconformity": 1}
    assert [(n["id"], n["status"], n["effective"]) for n in facts["nonconformities"]] == [
        (nc.id, "closed", True)]
    assert facts["nonconformity_counts"] == {"total": 1, "closed": 1, "open": 0, "overdue": 0}
    assert [c["code"] for c in facts["changes"]["issued"]] == ["QT-01"]
    drafted = management_reviews.texts(review)
    assert "Đánh giá nội bộ đợt 1" in drafted["audit_results"]
    assert "1 đã đóng" in drafted["nonconformities"] and "QT-01" in drafted["changes"]
    assert drafted["customer_feedback"] == "" and drafted["objectives"] == ""
    # Every step is in the audit trail.
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"improvement_audit_planned", "improvement_finding_recorded",
            "improvement_nc_raised", "improvement_audit_closed", "improvement_nc_updated",
            "improvement_nc_action_done", "improvement_nc_verified", "improvement_nc_closed",
            "improvement_review_opened"} <= actions


def test_roles_staff_cannot_plan_auditors_only_read_owners_never_verify(users, db,
                                                                      procedure):
    with pytest.raises(Forbidden):
        audits.create(users["staff"], {"title": "x", "start_date": today().isoformat(),
                                       "lead_auditor": "auditor"})
    item = _audit(users, lead_auditor="reviewer2", team=[])
    before = _state(db)
    for reader in ("auditor", "approver"):   # they read; they neither plan nor audit
        with pytest.raises(Forbidden):
            audits.update(users[reader], item.id, {"title": "khác"})
        with pytest.raises(Forbidden):
            audits.update(users[reader], item.id, {"status": "in_progress"})
        with pytest.raises(Forbidden):
            audits.add_finding(users[reader], item.id, {"kind": "observation",
                                                        "description": "x"})
        with pytest.raises(Forbidden):
            audits.close(users[reader], item.id)
    with pytest.raises(Forbidden):
        nonconformities.raise_nc(users["auditor"], {"source": "complaint",
                                                    "description": "x"})
    assert _state(db) == before
    # Who reads: secretary, approver and auditor see the programme; staff see nothing of it.
    for name in ("controller", "approver", "auditor"):
        assert [a.id for a in audits.list_audits(users[name], year=today().year)] == [item.id]
    assert audits.list_audits(users["staff"]) == []
    with pytest.raises(NotFound):
        audits.get(users["staff"], item.id)

    nc = nonconformities.raise_nc(users["controller"], {
        "source": "complaint", "source_reference": "Phản ánh số 05/PA", "description": "Trả "
        "kết quả trễ hạn", "owner": "approver", "cause": "Thiếu người", "action": "Bổ sung",
        "due_date": today().isoformat()})
    nonconformities.report_done(users["approver"], nc.id, action_taken="Đã bổ sung")
    with pytest.raises(Forbidden):   # the owner never verifies their own action
        nonconformities.verify(users["approver"], nc.id, effective=True)
    with pytest.raises(NotFound):   # nor staff, who do not even see it
        nonconformities.verify(users["staff"], nc.id, effective=True)
    with pytest.raises(Forbidden):   # nor the auditor, who reads
        nonconformities.verify(users["auditor"], nc.id, effective=True)
    with pytest.raises(Forbidden):   # only the owner reports done
        nonconformities.report_done(users["controller"], nc.id, action_taken="x")
    with pytest.raises(NotFound):   # staff neither own nor raised it
        nonconformities.get(users["staff"], nc.id)
    assert db.session.get(Nonconformity, nc.id).status == "action_done"


def test_overdue_actions_follow_the_agencys_clock(users, db, clock):
    sec = users["controller"]
    due = today() + timedelta(days=2)
    nc = nonconformities.raise_nc(sec, {"source": "objective", "source_reference": "MT-2026 "
                                        "mục 1", "description": "Tỷ lệ đúng hạn 92 %",
                                        "owner": "staff", "due_date": due.isoformat()})
    assert nonconformities.list_ncs(sec, overdue="1") == []
    assert nonconformities.overdue_for_home(sec) == []
    clock.advance(days=3)
    assert today() > due
    assert [n.id for n in nonconformities.list_ncs(sec, overdue="1")] == [nc.id]
    assert [n.id for n in nonconformities.overdue_for_home(users["approver"])] == [nc.id]
    assert nonconformities.overdue_for_home(users["staff"]) is None
    assert nonconformities.overdue(db.session.get(Nonconformity, nc.id))
    # Reported done: no longer overdue (it waits for verification, not for its owner).
    nonconformities.update(users["staff"], nc.id, {"cause": "c", "action": "a"})
    nonconformities.report_done(users["staff"], nc.id, action_taken="xong")
    assert nonconformities.list_ncs(sec, overdue="1") == []


def test_bad_input_is_refused_and_nothing_changes(users, db, procedure):
    sec = users["controller"]
    before = _state(db)
    bad = [{"title": "", "start_date": today().isoformat(), "lead_auditor": "auditor"},
           {"title": "x", "start_date": "32/13/2026", "lead_auditor": "auditor"},
           {"title": "x", "start_date": today().isoformat(), "lead_auditor": "nobody"},
           {"title": "x", "start_date": today().isoformat(), "lead_auditor": "auditor",
            "clauses": "7.5, abc"},
           {"title": "x", "start_date": today().isoformat(), "lead_auditor": "auditor",
            "procedures": ["QT-99"]},
           {"title": "x", "start_date": today().isoformat(), "lead_auditor": "auditor",
            "departments": "XX"},
           {"title": "x", "start_date": today().isoformat(), "lead_auditor": "auditor",
            "end_date": (today() - timedelta(days=1)).isoformat()},
           {"title": "x", "start_date": today().isoformat(), "lead_auditor": "auditor",
            "status": "reported"}]
    for data in bad:
        with pytest.raises(ValidationError):
            audits.create(sec, data)
    item = _audit(users)
    middle = _state(db)
    with pytest.raises(ValidationError):
        audits.add_finding(sec, item.id, {"kind": "bad", "description": "x"})
    with pytest.raises(ValidationError):
        audits.add_finding(sec, item.id, {"kind": "observation", "description": " "})
    with pytest.raises(Conflict):   # a planned audit is not closed: it was never conducted
        audits.close(sec, item.id)
    with pytest.raises(ValidationError):
        nonconformities.raise_nc(sec, {"source": "rumour", "description": "x"})
    with pytest.raises(NotFound):
        audits.get(sec, 9999)
    assert _state(db) == middle
    assert len(middle[0]) == len(before[0]) + 1


def test_a_management_review_closes_by_the_head_with_password_and_tracks_actions(
        users, db, procedure):
    sec, head = users["controller"], users["approver"]
    first = management_reviews.open_review(sec, {"review_date": today().isoformat(),
                                                 "attendees": "Ban lãnh đạo, trưởng phòng"})
    management_reviews.update(sec, first.id, {"texts": {
        "customer_feedback": "Không có phản ánh về thái độ phục vụ",
        "conclusions": "Hệ thống phù hợp và có hiệu lực"}})
    action = management_reviews.add_action(sec, first.id, {
        "description": "Cập nhật QT-01 theo Nghị định mới", "owner": "staff",
        "due_date": (today() + timedelta(days=30)).isoformat()})
    with pytest.raises(Forbidden):   # the secretary prepares; the head approves
        management_reviews.close(sec, first.id, password=PASSWORD)
    with pytest.raises(SignatureError):
        management_reviews.close(head, first.id, password="wrong")
    assert db.session.get(type(first), first.id).status == "draft"
    closed = management_reviews.close(head, first.id, password=PASSWORD)
    assert closed.status == "closed" and closed.approved_by_id == head.id
    _record, text = _filed(users, closed.record_id, "management_review",
                           "BIÊN BẢN HỌP XEM XÉT CỦA LÃNH ĐẠO")
    assert "Cập nhật QT-01 theo Nghị định mới" in text
    assert "Không có phản ánh về thái độ phục vụ" in text
    for change in (lambda: management_reviews.update(sec, first.id, {"title": "x"}),
                   lambda: management_reviews.add_action(sec, first.id, {
                       "description": "x", "owner": "staff",
                       "due_date": today().isoformat()}),
                   lambda: management_reviews.close(head, first.id, password=PASSWORD)):
        with pytest.raises(Conflict):
            change()
    # The action stays tracked: its owner sees the review and marks it done later.
    assert [r.id for r in management_reviews.list_reviews(users["staff"])] == [first.id]
    with pytest.raises(NotFound):   # not theirs: the review is not even shown
        management_reviews.set_action(users["reviewer"], first.id, action.id,
                                      {"status": "done"})
    # The next review reads its status among the inputs.
    second = management_reviews.open_review(sec, {"review_date": today().isoformat()})
    previous = management_reviews.inputs(second)["previous_actions"]
    assert [(a["id"], a["status"]) for a in previous] == [(action.id, "open")]
    management_reviews.set_action(users["staff"], first.id, action.id,
                                  {"status": "done", "note": "Đã trình ban hành"})
    refreshed = management_reviews.update(sec, second.id, {"refresh_inputs": True})
    previous = json.loads(refreshed.inputs)["previous_actions"]
    assert [(a["id"], a["status"]) for a in previous] == [(action.id, "done")]


def test_closing_without_conclusions_is_refused(users, db):
    review = management_reviews.open_review(users["controller"],
                                            {"review_date": today().isoformat()})
    with pytest.raises(Conflict):
        management_reviews.close(users["approver"], review.id, password=PASSWORD)
    assert db.session.scalar(select(func.count()).select_from(Record)) == 0
