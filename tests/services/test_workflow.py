"""No stuck workflow (issue 11, item 5) through the services: discard, recall, re-route,
the approver's return, deactivated reviewers and approvers, one open draft per document."""

import json

import pytest
from sqlalchemy import func, select

from docctl.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from docctl.models import AuditEvent, DraftFile, Review, Revision
from docctl.services import (
    documents,
    indexing,
    publishing,
    reviews,
    search,
    user_admin,
    workflow,
)
from docctl.services.context import today
from tests.helpers import PASSWORD, docx_bytes, make_user, publish


def _register(users, code="QT-01", title="Quy trình kiểm soát tài liệu"):
    documents.register_document(users["controller"], {"type": "procedure", "title": title,
                                                      "department": "VP", "code": code})


def _draft(users, code="QT-01", text="nội dung", change="reissue", who="controller"):
    return documents.upload_revision(users[who], code, filename=f"{code}.docx",
                                     data=docx_bytes(text, code), change=change)


def _submit(users, code="QT-01", number=1, reviewers=("reviewer",), approver="approver"):
    return reviews.submit(users["controller"], code, number, reviewers=list(reviewers),
                          approver=approver, reason="sửa đổi")


def _events(db, action):
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _snapshot(db, revision_id):
    """What a refused action must leave unchanged: the revision, its reviews, the trail."""
    db.session.rollback()
    revision = db.session.get(Revision, revision_id)
    return (revision.status, revision.approver_id, revision.review_round,
            sorted((r.reviewer_id, r.round, r.decision) for r in revision.reviews),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


# --- discard ----------------------------------------------------------------------------------

def test_discard_keeps_the_draft_in_the_trail_and_never_reuses_its_number(users, db):
    _register(users)
    publish(users, "QT-01", text="phiên bản một")                       # r1 in force
    draft = _draft(users, text="từkhoáhủy bản bị hủy", change="amendment")     # r2
    assert (draft.number, draft.issue, draft.amendment) == (2, 1, 1)
    sha = draft.sha256
    discarded = workflow.discard(users["controller"], "QT-01", 2, reason="Soạn nhầm")
    assert discarded.status == "discarded"
    event = _events(db, "draft_discarded")[-1]
    details = json.loads(event.details)
    assert (event.revision_number, event.reason) == (2, "Soạn nhầm")
    assert details["filename"] == "QT-01.docx" and details["sha256"] == sha
    # The row and its bytes are kept: never deleted silently.
    row = db.session.get(Revision, discarded.id)
    assert row.status == "discarded" and db.session.get(DraftFile, row.id) is not None

    # The next upload is r3, numbered after the revision in force, not after the discarded.
    again = _draft(users, text="bản mới", change="amendment")
    assert (again.number, again.issue, again.amendment) == (3, 1, 1)
    # The page of the document shows the draft that counts, the register the one in force.
    document = documents.get_document(users["controller"], "QT-01")
    assert documents.effective_revision(document).number == 1
    rows, _total = documents.list_register(users["staff"])
    assert [(d.code, r.number) for d, r in rows] == [("QT-01", 1)]
    indexing.reindex()   # everything the database says is searchable, from scratch
    assert search.search(users["staff"], "phiên bản").total >= 1   # the index answers
    for user in ("staff", "controller"):
        for scope in ("current", "all"):
            found = search.search(users[user], "từkhoáhủy", scope=scope)
            assert all(r.revision != 2 for r in found.results), (user, scope)


def test_the_first_draft_discarded_the_next_is_r2_with_first_numbers(users, db):
    _register(users)
    _draft(users)
    workflow.discard(users["controller"], "QT-01", 1, reason="Sai mẫu")
    fresh = documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                                      data=docx_bytes(), issue="2", amendment="0")
    assert (fresh.number, fresh.issue, fresh.amendment) == (2, 2, 0)


def test_discard_refusals_change_nothing(users, db):
    _register(users)
    draft = _draft(users)
    before = _snapshot(db, draft.id)
    with pytest.raises(ValidationError) as info:
        workflow.discard(users["controller"], "QT-01", 1, reason="  ")
    assert info.value.details["field"] == "reason"
    # Another secretary may not discard an active author's fresh draft: the author is named.
    with pytest.raises(Forbidden) as info:
        workflow.discard(users["controller2"], "QT-01", 1, reason="x")
    assert users["controller"].display_name in str(info.value.message)
    with pytest.raises(Forbidden):
        workflow.discard(users["staff"], "QT-01", 1, reason="x")
    assert _snapshot(db, draft.id) == before
    # Only a draft: in review it is a 409.
    _submit(users)
    with pytest.raises(InvalidTransition):
        workflow.discard(users["controller"], "QT-01", 1, reason="x")


def test_another_secretary_discards_when_the_author_is_gone_or_the_draft_is_stale(
        users, db, clock):
    _register(users)
    _register(users, "QT-02", "Quy trình hai")
    _draft(users)
    _draft(users, "QT-02")
    user_admin.update_user(None, "controller", {"active": False})
    assert workflow.discard(users["controller2"], "QT-01", 1, reason="Tác giả nghỉ").status \
        == "discarded"
    user_admin.update_user(None, "controller", {"active": True})
    clock.advance(days=workflow.STALE_DAYS + 1)
    assert workflow.discard(users["controller2"], "QT-02", 1, reason="Bỏ lâu").status \
        == "discarded"


# --- one open draft per document --------------------------------------------------------------

def test_another_secretarys_upload_is_refused_naming_the_holder(users, db):
    _register(users)
    _register(users, "QT-02", "Quy trình hai")
    _draft(users)
    with pytest.raises(Conflict) as info:
        _draft(users, who="controller2")
    message = str(info.value.message)
    assert users["controller"].display_name in message
    assert info.value.details["holder"] == "controller" and info.value.details["since"]
    # A different document is free for the second secretary.
    assert _draft(users, "QT-02", who="controller2").number == 1


# --- recall -----------------------------------------------------------------------------------

def test_recall_before_any_decision_returns_the_draft_to_its_author(users, db):
    _register(users)
    _draft(users)
    _submit(users, reviewers=("reviewer", "reviewer2"))
    revision = workflow.recall(users["controller"], "QT-01", 1)
    assert revision.status == "draft"
    assert {r.decision for r in revision.reviews} == {"recalled"}
    assert workflow.returned(revision) == []   # recalled, not returned
    assert _events(db, "recalled")
    assert documents.my_tasks(users["reviewer"])["reviews"] == []
    # Submitted again: a new round, the reviewer asked again.
    _submit(users)
    assert documents.my_tasks(users["reviewer"])["reviews"][0].review_round == 2


def test_recall_after_a_reviewer_acted_is_refused_naming_them(users, db):
    _register(users)
    draft = _draft(users)
    _submit(users, reviewers=("reviewer", "reviewer2"))
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    before = _snapshot(db, draft.id)
    with pytest.raises(Conflict) as info:
        workflow.recall(users["controller"], "QT-01", 1)
    assert users["reviewer"].display_name in str(info.value.message)
    assert info.value.details["reviewers"] == ["reviewer"]
    assert _snapshot(db, draft.id) == before
    with pytest.raises(Forbidden):
        workflow.recall(users["controller2"], "QT-01", 1)


# --- re-route ---------------------------------------------------------------------------------

def test_reroute_in_review_closes_the_removed_and_opens_the_added(users, db):
    _register(users)
    _draft(users)
    _submit(users, reviewers=("reviewer",))
    revision = workflow.reroute(users["controller2"], "QT-01", 1, reviewers=["reviewer2"],
                                reason="Người xem xét đi công tác")
    decisions = {r.reviewer.username: r.decision for r in revision.reviews}
    assert decisions == {"reviewer": "rerouted", "reviewer2": "pending"}
    assert revision.status == "in_review" and revision.review_round == 1
    event = _events(db, "rerouted")[-1]
    details = json.loads(event.details)
    assert details["before"]["reviewers"] == ["reviewer"]
    assert details["after"]["reviewers"] == ["reviewer2"]
    assert event.reason == "Người xem xét đi công tác"
    # The removed reviewer can no longer act (nor see it); the new one moves it on.
    with pytest.raises(NotFound):
        reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    assert reviews.review(users["reviewer2"], "QT-01", 1, decision="accept").status == \
        "awaiting_approval"


def test_reroute_awaiting_approval_changes_the_approver_who_then_approves(users, db):
    _register(users)
    _draft(users)
    _submit(users)
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    other = make_user("approver2", "approver")
    revision = workflow.reroute(users["controller"], "QT-01", 1, approver="approver2",
                                reason="Đổi lãnh đạo phê duyệt")
    assert revision.status == "awaiting_approval" and revision.approver_id == other.id
    with pytest.raises(NotFound):   # no longer theirs
        publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=today())
    done = publishing.approve(other, "QT-01", 1, password=PASSWORD, effective_date=today())
    assert done.status == "effective"
    # Awaiting approval, the review is complete: new reviewers are refused.
    _draft(users, change="amendment")
    _submit(users, number=2)
    reviews.review(users["reviewer"], "QT-01", 2, decision="accept")
    with pytest.raises(Conflict):
        workflow.reroute(users["controller"], "QT-01", 2, reviewers=["reviewer2"],
                         reason="x")


def test_reroute_refusals_name_the_user_and_change_nothing(users, db):
    _register(users)
    draft = _draft(users)
    _submit(users)
    before = _snapshot(db, draft.id)
    with pytest.raises(ValidationError) as info:
        workflow.reroute(users["controller"], "QT-01", 1, reviewers=["staff"], reason="x")
    assert "staff" in str(info.value.message)
    with pytest.raises(ValidationError) as info:
        workflow.reroute(users["controller"], "QT-01", 1, approver="reviewer2", reason="x")
    assert "reviewer2" in str(info.value.message)
    make_user("gone", "reviewer")
    user_admin.update_user(None, "gone", {"active": False})
    before = _snapshot(db, draft.id)
    with pytest.raises(ValidationError) as info:
        workflow.reroute(users["controller"], "QT-01", 1, reviewers=["gone"], reason="x")
    assert "gone" in str(info.value.message)
    with pytest.raises(ValidationError) as info:
        workflow.reroute(users["controller"], "QT-01", 1, reviewers=["reviewer2"], reason="")
    assert info.value.details["field"] == "reason"
    with pytest.raises(ValidationError):   # nothing would change
        workflow.reroute(users["controller"], "QT-01", 1, reviewers=["reviewer"], reason="x")
    with pytest.raises(Forbidden):
        workflow.reroute(users["reviewer"], "QT-01", 1, reviewers=["reviewer2"], reason="x")
    assert _snapshot(db, draft.id) == before


def test_deactivated_approver_is_listed_and_rerouted_then_the_new_approver_approves(users,
                                                                                   db):
    _register(users)
    _register(users, "QT-02", "Quy trình hai")
    _draft(users)
    _draft(users, "QT-02")
    _submit(users)
    _submit(users, "QT-02", reviewers=("reviewer2",))
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    assert workflow.needs_rerouting() == []
    user_admin.update_user(users["admin"], "approver", {"active": False})
    waiting = user_admin.left_waiting(users["approver"])
    assert sorted((r.document.code, r.status) for r in waiting) == [
        ("QT-01", "awaiting_approval"), ("QT-02", "in_review")]
    user_admin.update_user(users["admin"], "reviewer2", {"active": False})
    stuck = {s.revision.document.code: sorted(p.username for p in s.people)
             for s in workflow.needs_rerouting()}
    assert stuck == {"QT-01": ["approver"], "QT-02": ["approver", "reviewer2"]}
    new = make_user("approver2", "approver")
    workflow.reroute(users["controller2"], "QT-01", 1, approver="approver2",
                     reason="Người phê duyệt nghỉ hưu")
    workflow.reroute(users["controller2"], "QT-02", 1, reviewers=["reviewer"],
                     approver="approver2", reason="Người phê duyệt nghỉ hưu")
    assert workflow.needs_rerouting() == []
    assert publishing.approve(new, "QT-01", 1, password=PASSWORD,
                              effective_date=today()).status == "effective"


def test_reroute_keeps_an_accept_and_may_complete_the_review(users, db):
    _register(users)
    _draft(users)
    _submit(users, reviewers=("reviewer", "reviewer2"))
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    # reviewer2 never answers: the secretary keeps only the one who accepted.
    revision = workflow.reroute(users["controller"], "QT-01", 1, reviewers=["reviewer"],
                                reason="reviewer2 nghỉ phép dài")
    assert revision.status == "awaiting_approval"
    assert {r.reviewer.username: r.decision for r in revision.reviews} == {
        "reviewer": "accept", "reviewer2": "rerouted"}


# --- the approver's return --------------------------------------------------------------------

def test_approver_returns_only_when_awaiting_them(users, db):
    _register(users)
    draft = _draft(users)
    _submit(users)
    before = _snapshot(db, draft.id)
    with pytest.raises(InvalidTransition) as info:   # still in review: 409
        workflow.return_to_author(users["approver"], "QT-01", 1, comment="chưa")
    assert info.value.status == 409
    assert _snapshot(db, draft.id) == before
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    with pytest.raises(NotFound):   # not theirs to see: no probing
        workflow.return_to_author(users["reviewer2"], "QT-01", 1, comment="x")
    with pytest.raises(ValidationError):
        workflow.return_to_author(users["approver"], "QT-01", 1, comment=" ")
    revision = workflow.return_to_author(users["approver"], "QT-01", 1,
                                         comment="Thiếu căn cứ pháp lý")
    assert revision.status == "draft"
    back = workflow.returned(revision)
    assert [(r.reviewer.username, r.comment) for r in back] == [
        ("approver", "Thiếu căn cứ pháp lý")]


def test_a_reviewer_reject_is_a_returned_draft(users, db):
    _register(users)
    _draft(users)
    _submit(users)
    revision = reviews.review(users["reviewer"], "QT-01", 1, decision="reject",
                              comment="Sai mẫu biểu")
    assert [r.comment for r in workflow.returned(revision)] == ["Sai mẫu biểu"]
    # Discarding a returned draft is still the author's call.
    assert workflow.can_discard(users["controller"], revision)


def test_stale_is_measured_from_the_last_upload(users, db, clock):
    _register(users)
    _draft(users)
    clock.advance(days=workflow.STALE_DAYS - 1)
    _draft(users, text="nội dung mới")   # replaces the draft: touched again
    clock.advance(days=2)
    revision = documents.get_revision(users["controller"], "QT-01", 1)
    assert not workflow.orphaned(revision)
    with pytest.raises(Forbidden):
        workflow.discard(users["controller2"], "QT-01", 1, reason="x")
    clock.advance(days=workflow.STALE_DAYS)
    assert workflow.orphaned(documents.get_revision(users["controller"], "QT-01", 1))


def test_rerouted_reviews_are_never_counted_and_reopen_when_named_again(users, db):
    _register(users)
    _draft(users)
    _submit(users, reviewers=("reviewer",))
    workflow.reroute(users["controller"], "QT-01", 1, reviewers=["reviewer2"], reason="a")
    revision = workflow.reroute(users["controller"], "QT-01", 1,
                                reviewers=["reviewer", "reviewer2"], reason="b")
    assert sorted(r.decision for r in revision.reviews) == ["pending", "pending"]
    assert db.session.scalar(select(func.count()).select_from(Review)) == 2
