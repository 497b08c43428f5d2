"""Change requests (issue 11, item 3) through the services: submit, accept with a draft,
decline, done when the draft takes effect, open again when it is discarded; bad input."""

import csv
import io
import json
import unicodedata
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from docctl.errors import Conflict, Forbidden, NotFound, TooLarge, UnsupportedFile, ValidationError
from docctl.models import AuditEvent, ChangeRequest, Revision
from docctl.services import change_requests, documents, publishing, reviews, workflow
from docctl.services.context import today
from tests.fixtures.formats import javascript_pdf, text_pdf
from tests.helpers import PASSWORD, docx_bytes, publish

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _events(db, action):
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.seq)))


def _state(db):
    """What a refused action must leave unchanged: requests, revisions, the trail."""
    db.session.rollback()
    rows = db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)).all()
    return ([(r.id, r.status, r.revision_id, r.decided_by_id, r.decision_reason) for r in rows],
            db.session.scalar(select(func.count()).select_from(Revision)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def _approve(users, number, code="QT-01", effective=None):
    """Route a draft through review and approval, as the pages and the API do."""
    reviews.submit(users["controller"], code, number, reviewers=["reviewer"],
                   approver="approver", reason="theo đề nghị")
    reviews.review(users["reviewer"], code, number, decision="accept", comment="ok")
    return publishing.approve(users["approver"], code, number, password=PASSWORD,
                              effective_date=effective or today())


def test_request_accepted_becomes_done_when_its_revision_takes_effect(users, db, procedure):
    request = change_requests.submit(users["staff"], "qt 01",
                                     reason="  Căn cứ pháp lý đã thay đổi  ", revision=1)
    assert (request.status, request.revision_number, request.reason) == (
        "open", 1, "Căn cứ pháp lý đã thay đổi")
    submitted = _events(db, "change_request_submitted")[-1]
    assert (submitted.object_type, submitted.object_id, submitted.document_code) == (
        "change_request", str(request.id), "QT-01")

    accepted = change_requests.accept(users["controller"], request.id)
    draft = accepted.revision
    assert (accepted.status, draft.number, draft.status) == ("accepted", 2, "draft")
    assert accepted.decided_by_id == users["controller"].id and accepted.decided_at
    assert f"no. {request.id}" in draft.reason or f"số {request.id}" in draft.reason
    # The draft starts from the revision in force, byte for byte.
    first = documents.get_revision(users["controller"], "QT-01", 1)
    assert draft.sha256 == first.sha256
    event = _events(db, "change_request_accepted")[-1]
    assert json.loads(event.details)["revision"] == 2 and json.loads(event.details)["opened"]
    # The revision that results names the request.
    assert [r.id for r in change_requests.for_revision(draft)] == [request.id]

    documents.upload_revision(users["controller"], "QT-01", filename="QT-01.docx",
                              data=docx_bytes("phiên bản hai", "QT-01"))
    _approve(users, 2)
    db.session.expire_all()
    done = change_requests.get(users["staff"], request.id)
    assert done.status == "done" and done.revision.status == "effective"
    assert json.loads(_events(db, "change_request_done")[-1].details)["revision"] == 2
    assert [e.action for e in change_requests.history(done)] == [
        "change_request_submitted", "change_request_accepted", "change_request_done"]


def test_done_waits_for_the_effective_date(users, db, procedure, clock):
    request = change_requests.submit(users["staff"], "QT-01", reason="Sửa bước 3")
    change_requests.accept(users["controller"], request.id)
    _approve(users, 2, effective=today() + timedelta(days=3))
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "accepted"
    clock.advance(days=4)
    publishing.take_effect_due()
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "done"


def test_accept_joins_the_one_open_draft(users, db, procedure):
    draft = documents.upload_revision(users["controller2"], "QT-01", filename="QT-01.docx",
                                      data=docx_bytes("bản nháp", "QT-01"), reason="Sửa",
                                      change="amendment")
    first = change_requests.submit(users["staff"], "QT-01", reason="Thiếu biểu mẫu")
    second = change_requests.submit(users["reviewer"], "QT-01", reason="Sai thời hạn")
    change_requests.accept(users["controller"], first.id)
    change_requests.accept(users["controller"], second.id)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Revision)) == 2
    assert {r.id for r in change_requests.for_revision(draft)} == {first.id, second.id}
    assert not json.loads(_events(db, "change_request_accepted")[-1].details)["opened"]


def test_discarding_the_draft_opens_the_request_again(users, db, procedure):
    request = change_requests.submit(users["staff"], "QT-01", reason="Sửa bước 3")
    draft = change_requests.accept(users["controller"], request.id).revision
    workflow.discard(users["controller"], "QT-01", draft.number, reason="Soạn nhầm")
    db.session.expire_all()
    reopened = db.session.get(ChangeRequest, request.id)
    assert (reopened.status, reopened.revision_id, reopened.decided_by_id) == ("open", None,
                                                                               None)
    event = _events(db, "change_request_reopened")[-1]
    assert event.object_id == str(request.id)
    assert json.loads(event.details) == {"request": request.id, "revision": 2,
                                         "label": documents.label(draft),
                                         "why": "draft_discarded"}
    # It can be accepted again: a new draft, numbered after the discarded one.
    again = change_requests.accept(users["controller"], request.id)
    assert (again.status, again.revision.number) == ("accepted", 3)


def test_decline_needs_a_reason_and_tells_the_requester(users, db, procedure):
    request = change_requests.submit(users["staff"], "QT-01", reason="Đổi tên")
    before = _state(db)
    for reason in ("", "   ", None, ["x"]):
        with pytest.raises(ValidationError) as caught:
            change_requests.decline(users["controller"], request.id, reason=reason)
        assert caught.value.details["field"] == "reason"
        assert _state(db) == before
    declined = change_requests.decline(users["controller"], request.id,
                                       reason="Tên hiện tại đúng quy định")
    assert (declined.status, declined.decision_reason) == ("declined",
                                                           "Tên hiện tại đúng quy định")
    mine = change_requests.list_requests(users["staff"], requester="staff")
    assert [(r.id, r.status, r.decision_reason) for r in mine] == [
        (request.id, "declined", "Tên hiện tại đúng quy định")]


def test_only_an_open_request_can_be_decided(users, db, procedure):
    request = change_requests.submit(users["staff"], "QT-01", reason="Sửa")
    change_requests.accept(users["controller"], request.id)
    before = _state(db)
    with pytest.raises(Conflict):
        change_requests.accept(users["controller"], request.id)
    with pytest.raises(Conflict):
        change_requests.decline(users["controller2"], request.id, reason="không")
    assert _state(db) == before


def test_staff_cannot_accept_or_decline(users, db, procedure):
    request = change_requests.submit(users["staff"], "QT-01", reason="Sửa")
    before = _state(db)
    for who in ("staff", "reviewer", "approver", "auditor"):
        with pytest.raises(Forbidden):
            change_requests.accept(users[who], request.id)
        with pytest.raises(Forbidden):
            change_requests.decline(users[who], request.id, reason="không")
    assert _state(db) == before


def test_requests_only_against_the_revision_in_force(users, db, procedure):
    publish(users, "QT-01", text="phiên bản hai", reason="Cập nhật")     # r2 supersedes r1
    before = _state(db)
    with pytest.raises(Conflict) as caught:
        change_requests.submit(users["staff"], "QT-01", reason="Sửa", revision=1)
    assert "QT-01" in str(caught.value.message) and caught.value.details["field"] == "revision"
    with pytest.raises(ValidationError):
        change_requests.submit(users["staff"], "QT-01", reason="Sửa", revision="x")
    with pytest.raises(ValidationError):
        change_requests.submit(users["staff"], "QT-01", reason="  ")
    with pytest.raises(ValidationError):
        change_requests.submit(users["staff"], "QT-01", reason="x" * 4001)
    assert _state(db) == before
    assert change_requests.submit(users["staff"], "QT-01", reason="Sửa",
                                  revision=2).revision_number == 2


def test_no_request_to_a_withdrawn_or_unissued_document(users, db, procedure):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình mới", "department": "VP", "code": "QT-02"})
    publishing.withdraw(users["approver"], "QT-01", reason="Bãi bỏ", password=PASSWORD)
    before = _state(db)
    with pytest.raises(Conflict) as caught:
        change_requests.submit(users["controller"], "QT-01", reason="Sửa")
    assert "QT-01" in str(caught.value.message)
    with pytest.raises(Conflict) as caught:
        change_requests.submit(users["controller"], "QT-02", reason="Sửa")
    assert "QT-02" in str(caught.value.message)
    with pytest.raises(NotFound):   # staff cannot read it at all
        change_requests.submit(users["staff"], "QT-01", reason="Sửa")
    assert _state(db) == before


def test_staff_see_their_own_and_those_on_documents_they_read(users, db, procedure):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình hai", "department": "VP", "code": "QT-02"})
    publish(users, "QT-02")
    theirs = change_requests.submit(users["reviewer"], "QT-02", reason="Sửa QT-02")
    mine = change_requests.submit(users["staff"], "QT-01", reason="Sửa QT-01")
    assert {r.id for r in change_requests.list_requests(users["staff"])} == {theirs.id,
                                                                             mine.id}
    publishing.withdraw(users["approver"], "QT-02", reason="Bãi bỏ", password=PASSWORD)
    publishing.withdraw(users["approver"], "QT-01", reason="Bãi bỏ", password=PASSWORD)
    assert [r.id for r in change_requests.list_requests(users["staff"])] == [mine.id]
    assert change_requests.get(users["staff"], mine.id).id == mine.id
    with pytest.raises(NotFound):
        change_requests.get(users["staff"], theirs.id)
    with pytest.raises(NotFound):
        change_requests.get(users["staff"], 999)
    for who in ("controller", "auditor"):
        assert {r.id for r in change_requests.list_requests(users[who])} == {theirs.id,
                                                                             mine.id}


def test_filters(users, db, procedure):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình hai", "department": "VP", "code": "QT-02"})
    publish(users, "QT-02")
    a = change_requests.submit(users["staff"], "QT-01", reason="a")
    b = change_requests.submit(users["reviewer"], "QT-02", reason="b")
    c = change_requests.submit(users["staff"], "QT-02", reason="c")
    change_requests.decline(users["controller"], b.id, reason="không")
    sec = users["controller"]

    def ids(**kw):
        return [r.id for r in change_requests.list_requests(sec, **kw)]
    assert ids() == [c.id, b.id, a.id]
    assert ids(status="open") == [c.id, a.id]
    assert ids(status="declined") == [b.id]
    assert ids(document="qt02") == [c.id, b.id]
    assert ids(requester="staff") == [c.id, a.id]
    assert ids(requester="staff", document="QT-02", status="open") == [c.id]
    assert ids(document="NOPE-9") == [] and ids(requester="nobody") == []
    with pytest.raises(ValidationError):
        ids(status="closed")


def test_export_csv_and_xlsx(users, db, procedure):
    a = change_requests.submit(users["staff"], "QT-01", reason="=HYPERLINK(\"x\")")
    change_requests.accept(users["controller"], a.id)
    b = change_requests.submit(users["staff"], "QT-01", reason="Bổ sung biểu mẫu")
    change_requests.decline(users["controller"], b.id, reason="Đã có BM-01")
    out = change_requests.export(users["controller"], "csv")
    assert out.filename.endswith(".csv") and out.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.data.decode("utf-8-sig"))))
    assert len(rows) == 3
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id[str(b.id)][2] == "QT-01" and "Bổ sung biểu mẫu" in by_id[str(b.id)]
    assert "Đã có BM-01" in by_id[str(b.id)]
    assert by_id[str(a.id)][6] == "'=HYPERLINK(\"x\")"   # never run as a formula
    label = documents.label(db.session.get(ChangeRequest, a.id).revision)
    assert by_id[str(a.id)][-1] == label

    book = change_requests.export(users["controller"], "xlsx", status="declined")
    sheet = openpyxl.load_workbook(io.BytesIO(book.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][0] == b.id and values[1][11] == "Đã có BM-01"
    assert _events(db, "change_requests_exported")[-1].actor_id == users["controller"].id
    with pytest.raises(ValidationError):
        change_requests.export(users["controller"], "pdf")


def test_attachments_are_checked_like_uploads(users, db, procedure, app):
    pdf = change_requests.submit(users["staff"], "QT-01", reason="Xem tệp",
                                 attachment=("cong van.pdf", text_pdf(["Cong van"])))
    assert pdf.attachment_name == "cong van.pdf" and len(pdf.attachment_sha256) == 64
    png = change_requests.submit(users["staff"], "QT-01", reason="Ảnh chụp",
                                 attachment=("anh", PNG))
    assert png.attachment_name == "anh.png"
    request, data = change_requests.attachment(users["staff"], png.id)
    assert data == PNG
    before = _state(db)
    with pytest.raises(UnsupportedFile):
        change_requests.submit(users["staff"], "QT-01", reason="x",
                               attachment=("a.txt", b"plain text"))
    with pytest.raises(UnsupportedFile):
        change_requests.submit(users["staff"], "QT-01", reason="x",
                               attachment=("a.pdf", javascript_pdf()))
    with pytest.raises(ValidationError):
        change_requests.submit(users["staff"], "QT-01", reason="x", attachment=("a.pdf", b""))
    app.config["MAX_UPLOAD_MB"] = 1
    with pytest.raises(TooLarge):
        change_requests.submit(users["staff"], "QT-01", reason="x",
                               attachment=("a.png", PNG + b"\x00" * (1024 * 1024)))
    assert _state(db) == before


def test_the_auditor_reads_requests_but_does_not_file_them(users, db, procedure):
    made = change_requests.submit(users["staff"], "QT-01", reason="Sửa")
    before = _state(db)
    with pytest.raises(Forbidden):
        change_requests.submit(users["auditor"], "QT-01", reason="Sửa")
    assert _state(db) == before
    assert change_requests.get(users["auditor"], made.id).id == made.id


def test_reason_is_kept_as_nfc_text_without_control_characters(users, db, procedure):
    decomposed = unicodedata.normalize("NFD", "Điều chỉnh thời hạn giải quyết")
    made = change_requests.submit(users["staff"], "QT-01",
                                  reason=f"\u202e {decomposed}\x00\n  dòng hai ")
    assert made.reason == "Điều chỉnh thời hạn giải quyết\n  dòng hai"
    assert unicodedata.is_normalized("NFC", made.reason)
