"""Periodic review: due dates in the organisation's zone, "no change" in git, "revise"."""

import subprocess
from datetime import UTC, date, datetime

import pytest

from docctl.domain.periodic import months_after, next_review
from docctl.errors import Conflict, Forbidden, SignatureError, ValidationError
from docctl.models import AuditEvent, Document, Intent, Revision, Signature
from docctl.services import documents, periodic, publishing, reconcile, review_dates, verify
from docctl.services.context import today
from tests.helpers import PASSWORD, publish


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def git(app, *args) -> str:
    return subprocess.run(["git", "-C", app.config["REPO_STORE"], *args], capture_output=True,
                          text=True, check=True).stdout


def commits(app) -> int:
    return int(git(app, "rev-list", "--count", "HEAD"))


def trailers(app) -> dict:
    out = git(app, "log", "-1", "--format=%(trailers:only,unfold)")
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def doc(db, code="QT-01") -> Document:
    db.session.expire_all()
    return documents.find_by_code(code)


def test_no_change_moves_the_due_date_in_one_commit_without_a_new_revision(
        app, db, users, procedure, clock):
    document = doc(db)
    effective = documents.effective_revision(document).effective_date
    due = document.next_review_date
    assert due == months_after(effective, 12)
    clock.advance(days=340)   # reviewed about a month before it falls due
    before, revisions = commits(app), len(document.revisions)
    result = periodic.confirm(users["controller"], "qt 01", outcome="no_change",
                              password=PASSWORD, comment="Còn phù hợp, không thay đổi")
    assert result.outcome == "no_change" and result.draft is None
    document = doc(db)
    day = today()
    assert document.reviewed_on == day
    assert document.next_review_date == next_review(effective, day, 12) == \
        months_after(day, 12) > due
    assert len(document.revisions) == revisions == 1
    assert commits(app) == before + 1
    found = trailers(app)
    assert found["Docctl-Document"] == "QT-01" and found["Docctl-Revision"] == "1"
    assert found["Docctl-Action"] == "review" and found["Review-Outcome"] == "no-change"
    assert found["Reviewed-By"].endswith("<controller>")
    assert found["Next-Review-Date"] == document.next_review_date.isoformat()
    assert found["Comment"] == "Còn phù hợp, không thay đổi"
    assert found["Reviewed-At"].endswith("+07:00") and "Docctl-Intent" in found
    assert found["Content-SHA256"] == document.revisions[0].sha256
    changed = git(app, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == ["documents/QT/QT-01/document.json"]
    facts = git(app, "show", "HEAD:documents/QT/QT-01/document.json")
    assert f'"next_review_date": "{document.next_review_date.isoformat()}"' in facts
    assert f'"reviewed_on": "{day.isoformat()}"' in facts
    signed = db.session.query(Signature).filter_by(meaning="periodic_review").one()
    assert signed.revision_id == document.revisions[0].id and signed.user_id == \
        users["controller"].id
    assert db.session.query(AuditEvent).filter_by(
        action="periodic_review_confirmed").count() == 1
    assert verify.run() == []


def test_the_owner_departments_reviewer_may_review_another_department_may_not(
        app, db, users, procedure):
    users["reviewer2"].department_id = 2   # Phòng Quản lý khoa học, not the owner (VP)
    db.session.commit()
    before = commits(app)
    with pytest.raises(Forbidden):
        periodic.confirm(users["reviewer2"], "QT-01", outcome="no_change", password=PASSWORD)
    with pytest.raises(Forbidden):
        periodic.confirm(users["staff"], "QT-01", outcome="no_change", password=PASSWORD)
    assert commits(app) == before
    periodic.confirm(users["reviewer"], "QT-01", outcome="no_change", password=PASSWORD)
    assert doc(db).reviewed_on == today() and commits(app) == before + 1
    # Reviewed today already: a second click is refused, nothing signed twice.
    with pytest.raises(Conflict):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    assert commits(app) == before + 1
    assert verify.run() == []


def test_wrong_password_signs_nothing(app, db, users, procedure):
    before, due = commits(app), doc(db).next_review_date
    with pytest.raises(SignatureError):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password="wrong")
    with pytest.raises(ValidationError):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password="")
    document = doc(db)
    assert commits(app) == before and document.next_review_date == due
    assert document.reviewed_on is None
    assert db.session.query(Signature).filter_by(meaning="periodic_review").count() == 0
    assert db.session.query(AuditEvent).filter_by(action="signature_failed").count() == 1


@pytest.mark.parametrize("outcome", ["", "no change", "approve", None, 1])
def test_a_bad_outcome_is_refused(app, db, users, procedure, outcome):
    before = commits(app)
    with pytest.raises(ValidationError) as caught:
        periodic.confirm(users["controller"], "QT-01", outcome=outcome, password=PASSWORD)
    assert caught.value.details["field"] == "outcome" and commits(app) == before


def test_a_document_not_in_force_cannot_be_reviewed(app, db, users, procedure):
    documents.register_document(users["controller"], {"type": "procedure", "title": "Mới",
                                                      "department": "VP"})
    with pytest.raises(Conflict):
        periodic.confirm(users["controller"], "QT-02", outcome="no_change", password=PASSWORD)
    publishing.withdraw(users["approver"], "QT-01", reason="Bãi bỏ", password=PASSWORD)
    assert doc(db).next_review_date is None
    before = commits(app)
    for outcome in ("no_change", "revise"):
        with pytest.raises(Conflict):
            periodic.confirm(users["controller"], "QT-01", outcome=outcome,
                             password=PASSWORD, comment="x")
    assert commits(app) == before


def test_revise_opens_a_draft_and_keeps_the_due_date_until_it_takes_effect(
        app, db, users, procedure):
    due = doc(db).next_review_date
    before = commits(app)
    with pytest.raises(ValidationError):   # the comment is the reason for change
        periodic.confirm(users["controller"], "QT-01", outcome="revise", password=None)
    result = periodic.confirm(users["controller"], "QT-01", outcome="revise", password=None,
                              comment="Cập nhật căn cứ pháp lý mới")
    assert result.outcome == "revise" and result.draft.number == 2
    assert result.draft.status == "draft" and result.draft.reason == "Cập nhật căn cứ pháp lý mới"
    document = doc(db)
    assert document.next_review_date == due and commits(app) == before
    assert db.session.query(AuditEvent).filter_by(action="periodic_review_revise").count() == 1
    # The change is already open: a second "revise" does not overwrite the draft.
    with pytest.raises(Conflict):
        periodic.confirm(users["controller"], "QT-01", outcome="revise", password=None,
                         comment="again")
    # A reviewer of the owner department may sign "no change" but not open drafts.
    with pytest.raises(Forbidden):
        periodic.confirm(users["reviewer"], "QT-01", outcome="revise", password=None,
                         comment="x")
    assert verify.run() == []


def test_the_new_revision_restarts_the_cycle_from_its_own_date(app, db, users, procedure,
                                                              clock):
    periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    clock.advance(days=40)
    publish(users, "QT-01", text="phiên bản hai", reason="Sửa đổi")
    document = doc(db)
    current = documents.effective_revision(document)
    assert current.number == 2 and current.effective_date == today()
    assert document.next_review_date == next_review(today(), None, 12)
    assert verify.run() == []


def test_recompute_follows_a_changed_review_period(app, db, users, procedure):
    document = doc(db)
    effective = documents.effective_revision(document).effective_date
    document.review_months = 36
    review_dates.recompute(document)
    assert document.next_review_date == next_review(effective, None, 36)
    db.session.rollback()


def test_effective_on_a_day_of_the_organisations_zone_that_utc_has_not_reached(
        app, db, users, clock):
    # 18:30 UTC on 31 Jan is 01:30 on 1 Feb in Hồ Chí Minh City (UTC+7).
    clock.moment = datetime(2027, 1, 30, 18, 30, tzinfo=UTC)
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình", "department": "VP", "review_months": 1})
    publish(users, "QT-01", text="một")
    document = doc(db)
    assert documents.effective_revision(document).effective_date == date(2027, 1, 31)
    assert document.next_review_date == date(2027, 2, 28)   # 31 Jan + 1 month, not 30 Jan's
    clock.moment = datetime(2027, 2, 28, 16, 59, tzinfo=UTC)   # 23:59 on 28 Feb there
    [item] = periodic.due(users["controller"], within_days=0)
    assert item.days_left == 0 and not item.overdue
    clock.moment = datetime(2027, 2, 28, 17, 0, tzinfo=UTC)    # 00:00 on 1 Mar there; UTC: 28 Feb
    [item] = periodic.due(users["controller"], within_days=0)
    assert item.overdue and item.days_left == -1
    # Reviewed then, on 1 Mar local: due again 1 Apr.
    periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    document = doc(db)
    assert document.reviewed_on == date(2027, 3, 1)
    assert document.next_review_date == date(2027, 4, 1)
    assert trailers(app)["Reviewed-At"].startswith("2027-03-01T00:00")
    assert verify.run() == []


def test_due_lists_overdue_first_then_due_soon_and_only_what_the_user_may_see(
        app, db, users, procedure, clock):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Hai", "department": "QLKH", "review_months": 2})
    publish(users, "QT-02", text="hai")
    clock.advance(days=75)   # QT-02 (2 months) overdue; QT-01 (12 months) not yet due
    rows = periodic.due(users["controller"])
    assert [(r.document.code, r.overdue) for r in rows] == [("QT-02", True)]
    assert [r.document.code for r in periodic.due(users["controller"], within_days=365)] == \
        ["QT-02", "QT-01"]
    assert periodic.overdue_count(users["controller"]) == 1
    # A reviewer of VP sees VP's documents only; staff see no list.
    assert [r.document.code for r in periodic.due(users["reviewer"], within_days=365)] == \
        ["QT-01"]
    assert periodic.overdue_count(users["staff"]) == 0
    with pytest.raises(Forbidden):
        periodic.due(users["staff"])
    for bad in (-1, 1.5, "30", 10**6):
        with pytest.raises(ValidationError):
            periodic.due(users["controller"], within_days=bad)


def test_crash_after_the_commit_is_finished_by_recovery(app, db, users, procedure,
                                                        monkeypatch):
    before = commits(app)
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    assert commits(app) == before + 1
    assert doc(db).reviewed_on is None                 # the database has not followed yet
    assert publishing.recover() == {"finished": 1, "abandoned": 0, "busy": 0, "failed": 0}
    document = doc(db)
    assert document.reviewed_on == today()
    assert document.next_review_date.isoformat() == trailers(app)["Next-Review-Date"]
    assert db.session.query(Signature).filter_by(meaning="periodic_review").count() == 1
    assert verify.run() == []


def test_the_reviewers_retry_finishes_an_interrupted_review(app, db, users, procedure,
                                                           monkeypatch):
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    before = commits(app)
    result = periodic.confirm(users["controller"], "QT-01", outcome="no_change",
                              password=PASSWORD)
    assert result.document.reviewed_on == today() and commits(app) == before
    assert {i.state for i in db.session.query(Intent)} == {"done"}
    assert db.session.query(Signature).filter_by(meaning="periodic_review").count() == 1
    assert verify.run() == []


def test_crash_before_the_commit_abandons_the_review(app, db, users, procedure, monkeypatch):
    before, due = commits(app), doc(db).next_review_date
    store = app.extensions["docctl.store"]
    monkeypatch.setattr(store, "write_revision", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    assert publishing.recover() == {"finished": 0, "abandoned": 1, "busy": 0, "failed": 0}
    assert commits(app) == before and doc(db).next_review_date == due
    periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    assert doc(db).reviewed_on == today() and verify.run() == []


def test_repair_names_a_review_the_database_lacks_instead_of_failing(app, db, users, procedure,
                                                                     monkeypatch):
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    # The database lost the intent's outcome (an older backup): git has a review it lacks.
    db.session.query(Intent).filter_by(kind="review").update({"state": "abandoned"})
    db.session.commit()
    done, problems = reconcile.repair()
    assert done == 0 and len(problems) == 1
    assert "review of QT-01 r1 is not replayed" in str(problems[0])
    assert db.session.get(Revision, doc(db).revisions[0].id).status == "effective"


def test_an_imported_document_falls_due_from_its_own_effective_date(app, db, users, tmp_path):
    from docctl.services import importing, importsource
    from tests.fixtures.agency import write_agency

    source = importsource.from_folder(str(write_agency(tmp_path / "agency")))
    run = importing.begin(users["controller"], source.name)
    assert importing.carry_out(users["controller"], run.id, source).ok
    document = doc(db)
    current = documents.effective_revision(document)
    assert current.effective_date == date(2026, 1, 26)
    assert document.next_review_date == months_after(date(2026, 1, 26),
                                                     document.review_months)
    # The importer's "imported" signature and a later "no change" verify side by side.
    periodic.confirm(users["controller"], "QT-01", outcome="no_change", password=PASSWORD)
    assert doc(db).next_review_date == next_review(current.effective_date, today(),
                                                   document.review_months)
    assert verify.run() == []
