"""The whole lifecycle through the services, checked in git and in the database."""

import hashlib
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from docctl.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from docctl.models import IndexJob, Revision
from docctl.services import documents, publishing, reviews, verify
from tests.helpers import PASSWORD, docx_bytes, publish


def git(app, *args) -> str:
    return subprocess.run(["git", "-C", app.config["REPO_STORE"], *args], check=True,
                          capture_output=True, text=True).stdout


def test_publish_makes_one_commit_with_trailers_and_a_tag(app, users, procedure):
    rev = documents.get_revision(users["auditor"], "QT-01", 1)
    assert rev.status == "effective"
    message = git(app, "log", "-1", "--format=%B", rev.commit_sha)
    for trailer in ("Docctl-Document: QT-01", "Docctl-Revision: 1", "Docctl-Action: publish",
                    "Approved-By: Người dùng approver <approver>",
                    "Prepared-By: Người dùng controller <controller>",
                    "Reviewed-By: Người dùng reviewer <reviewer>",
                    f"Content-SHA256: {rev.sha256}", "Docctl-Intent: "):
        assert trailer in message
    assert git(app, "log", "-1", "--format=%an|%cn", rev.commit_sha).strip() == \
        "Người dùng approver|docctl"
    assert git(app, "cat-file", "-t", "QT-01/r1").strip() == "tag"   # annotated
    assert git(app, "rev-parse", "QT-01/r1^{commit}").strip() == rev.commit_sha
    stored = subprocess.run(["git", "-C", app.config["REPO_STORE"], "show",
                             f"{rev.commit_sha}:documents/QT/QT-01/source.docx"],
                            capture_output=True, check=True).stdout
    assert hashlib.sha256(stored).hexdigest() == rev.sha256   # byte-exact


def test_second_revision_supersedes_the_first_in_one_step(app, users, procedure, db):
    with pytest.raises(ValidationError):   # reason required from revision 2 on
        rev = documents.upload_revision(users["controller"], "QT-01", filename="x.docx",
                                        data=docx_bytes("phiên bản hai"), change="reissue")
        reviews.submit(users["controller"], "QT-01", rev.number, reviewers=["reviewer"],
                       approver="approver")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer"],
                   approver="approver", reason="Cập nhật biểu mẫu")
    reviews.review(users["reviewer"], "QT-01", 2, decision="accept")
    publishing.approve(users["approver"], "QT-01", 2, password=PASSWORD,
                       effective_date=publishing.today())
    first = documents.get_revision(users["auditor"], "QT-01", 1)
    second = documents.get_revision(users["auditor"], "QT-01", 2)
    assert (first.status, second.status) == ("superseded", "effective")
    assert first.superseded_by == 2
    assert db.session.query(Revision).filter_by(status="effective").count() == 1
    assert "Supersedes: 1" in git(app, "log", "-1", "--format=%B")
    jobs = {(j.revision_id, j.action) for j in db.session.query(IndexJob)}
    assert (second.id, "index") in jobs and (first.id, "status") in jobs
    # Staff meet the new revision only.
    with pytest.raises(NotFound):
        documents.get_revision(users["staff"], "QT-01", 1)
    assert documents.get_revision(users["staff"], "QT-01", 2).status == "effective"
    assert verify.run() == []


def test_future_effective_date_waits_then_supersedes(app, users, procedure, clock):
    publish(users, "QT-01", text="bản hai", reason="Sửa đổi",
            effective=clock.today() + timedelta(days=3))
    assert documents.get_revision(users["auditor"], "QT-01", 2).status == "approved"
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "effective"
    assert publishing.take_effect_due() == 0
    clock.advance(days=3)
    assert publishing.take_effect_due() == 1
    assert documents.get_revision(users["auditor"], "QT-01", 2).status == "effective"
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "superseded"
    assert "Docctl-Action: supersede" in git(app, "log", "-1", "--format=%B")
    assert verify.run() == []


def test_withdraw_makes_obsolete_and_hides_from_staff(app, users, procedure):
    with pytest.raises(ValidationError):
        publishing.withdraw(users["controller"], "QT-01", reason="", password=PASSWORD)
    with pytest.raises(Forbidden):
        publishing.withdraw(users["controller"], "QT-01", reason="Hết phạm vi",
                            password="wrong password")
    publishing.withdraw(users["controller"], "QT-01", reason="Hết phạm vi", password=PASSWORD)
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "obsolete"
    with pytest.raises(NotFound):
        documents.get_document(users["staff"], "QT-01")
    message = git(app, "log", "-1", "--format=%B")
    assert "Docctl-Action: withdraw" in message and "Reason-For-Change: Hết phạm vi" in message
    with pytest.raises(Conflict):
        publishing.withdraw(users["controller"], "QT-01", reason="again", password=PASSWORD)


def test_reject_returns_to_draft_with_comment(users, procedure):
    documents.upload_revision(users["controller"], "QT-01", filename="x.docx",
                              data=docx_bytes("hai"), reason="Sửa", change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer", "reviewer2"],
                   approver="approver")
    reviews.review(users["reviewer"], "QT-01", 2, decision="accept")
    with pytest.raises(ValidationError):
        reviews.review(users["reviewer2"], "QT-01", 2, decision="reject", comment="")
    rev = reviews.review(users["reviewer2"], "QT-01", 2, decision="reject",
                         comment="Thiếu căn cứ pháp lý")
    assert rev.status == "draft"
    assert any(r.comment == "Thiếu căn cứ pháp lý" for r in rev.reviews)


def test_all_reviewers_must_accept(users, procedure):
    documents.upload_revision(users["controller"], "QT-01", filename="x.docx",
                              data=docx_bytes("hai"), reason="Sửa", change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer", "reviewer2"],
                   approver="approver")
    assert reviews.review(users["reviewer"], "QT-01", 2,
                          decision="accept").status == "in_review"
    with pytest.raises(InvalidTransition):
        publishing.approve(users["approver"], "QT-01", 2, password=PASSWORD,
                           effective_date=publishing.today())
    assert reviews.review(users["reviewer2"], "QT-01", 2,
                          decision="accept").status == "awaiting_approval"


def test_author_cannot_review_or_approve_own_revision(users, db, departments):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    with pytest.raises(ValidationError):   # a controller is not a reviewer
        reviews.submit(users["controller"], "QT-01", 1, reviewers=["controller"],
                       approver="approver")
    reviews.submit(users["controller"], "QT-01", 1, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    # Even if the author later holds the approver role and is named, they cannot sign.
    rev = documents.get_revision(users["auditor"], "QT-01", 1)
    rev.approver_id = users["controller"].id
    users["controller"].role = "approver"
    db.session.commit()
    with pytest.raises(Forbidden):
        publishing.approve(users["controller"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "awaiting_approval"


def test_publish_unapproved_draft_is_409(users, departments):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    with pytest.raises(NotFound):   # a draft not routed to the approver is invisible
        publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    reviews.submit(users["controller"], "QT-01", 1, reviewers=["reviewer"],
                   approver="approver")
    with pytest.raises(InvalidTransition) as info:   # in review: approval would skip a step
        publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    assert info.value.status == 409


def test_effective_date_in_the_past_refused(users, departments, clock):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    with pytest.raises(ValidationError):
        publish(users, "QT-01", effective=clock.today() - timedelta(days=1))


def test_two_effective_rows_rejected_by_the_database(users, procedure, db):
    publish(users, "QT-01", text="hai", reason="Sửa", effective=publishing.today()
            + timedelta(days=5))
    second = documents.get_revision(users["auditor"], "QT-01", 2)
    second.status = "effective"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_published_revision_cannot_be_replaced(users, procedure):
    """R4: a correction is a new revision; the published one stays as it was."""
    rev = documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                                    data=docx_bytes("sửa lỗi"), reason="Sửa lỗi chính tả",
                                    change="reissue")
    assert rev.number == 2
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "effective"
    data, _ = documents.download(users["auditor"], "QT-01", 1)
    assert data[:2] == b"PK"


def test_staff_cannot_register_or_upload(users, departments):
    with pytest.raises(Forbidden):
        documents.register_document(users["staff"], {"type": "procedure", "title": "T",
                                                     "department": "VP"})


def test_withdraw_also_retires_a_revision_waiting_for_its_date(users, procedure, clock):
    publish(users, "QT-01", text="bản hai", reason="Sửa đổi",
            effective=clock.today() + timedelta(days=3))
    publishing.withdraw(users["controller"], "QT-01", reason="Bãi bỏ", password=PASSWORD)
    assert documents.get_revision(users["auditor"], "QT-01", 2).status == "obsolete"
    clock.advance(days=4)
    assert publishing.take_effect_due() == 0
    assert documents.get_document(users["auditor"], "QT-01").status == "obsolete"
    assert verify.run() == []
