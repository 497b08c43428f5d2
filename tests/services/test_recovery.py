"""Crash at each boundary of a publish: state afterwards is fully old or fully new (R50)."""

import subprocess

import pytest

from docctl.models import Intent
from docctl.services import documents, publishing, verify
from tests.helpers import PASSWORD


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def commits(app) -> int:
    return int(subprocess.run(["git", "-C", app.config["REPO_STORE"], "rev-list", "--count",
                               "HEAD"], capture_output=True, text=True, check=True).stdout)


def test_crash_after_commit_before_database_is_finished_on_restart(app, awaiting, db,
                                                                   monkeypatch):
    before = commits(app)
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    monkeypatch.undo()
    db.session.rollback()
    assert commits(app) == before + 1
    rev = documents.get_revision(awaiting["auditor"], "QT-01", 1)
    assert rev.status == "awaiting_approval"          # the database has not followed yet
    assert verify.run(fsck=False) != [] or db.session.query(Intent).filter_by(
        state="pending").count() == 1
    result = publishing.recover()     # what the scheduler does, at once: the owner is gone
    assert result == {"finished": 1, "abandoned": 0, "busy": 0, "failed": 0}
    rev = documents.get_revision(awaiting["auditor"], "QT-01", 1)
    assert rev.status == "effective" and rev.commit_sha
    assert [s.meaning for s in rev.signatures].count("approved") == 1
    assert verify.run() == []


def test_crash_before_commit_abandons_the_intent(app, awaiting, db, monkeypatch):
    before = commits(app)
    store = app.extensions["docctl.store"]
    monkeypatch.setattr(store, "write_revision",
                        lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    monkeypatch.undo()
    db.session.rollback()
    assert commits(app) == before
    assert publishing.recover() == {"finished": 0, "abandoned": 1, "busy": 0, "failed": 0}
    rev = documents.get_revision(awaiting["auditor"], "QT-01", 1)
    assert rev.status == "awaiting_approval" and rev.commit_sha is None
    # The approver can simply approve again.
    publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                       effective_date=publishing.today())
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "effective"
    assert verify.run() == []


def test_git_failure_leaves_nothing_half_done(app, awaiting, db, monkeypatch):
    from docctl.errors import StoreError
    store = app.extensions["docctl.store"]
    monkeypatch.setattr(store, "write_revision",
                        lambda *a, **k: (_ for _ in ()).throw(StoreError("disk full")))
    with pytest.raises(StoreError):
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    intent = db.session.query(Intent).one()
    assert intent.state == "abandoned"
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "awaiting_approval"


def test_stale_head_means_one_of_two_concurrent_approvals_wins(app, awaiting, db, monkeypatch):
    """R53: if git moved between reading HEAD and committing, the publish answers 409."""
    from docctl.errors import Conflict
    store = app.extensions["docctl.store"]
    real_write = store.write_revision

    def another_writer_first(*args, **kwargs):
        # Someone else commits after this publish read HEAD and before it writes.
        subprocess.run(["git", "-C", app.config["REPO_STORE"], "-c", "user.name=x", "-c",
                        "user.email=x@x", "commit", "--allow-empty", "-qm", "other"], check=True)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(store, "write_revision", another_writer_first)
    with pytest.raises(Conflict):
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    monkeypatch.undo()
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "awaiting_approval"
    assert {i.state for i in db.session.query(Intent)} == {"abandoned"}


def test_a_commit_for_another_document_does_not_fail_a_publish(app, awaiting, db,
                                                              monkeypatch):
    """The store's base check is repo-wide; one stale base is retried, not shown as 409."""
    store = app.extensions["docctl.store"]
    real_write = store.write_revision
    calls = []

    def another_document_first(*args, **kwargs):
        if not calls:
            subprocess.run(["git", "-C", app.config["REPO_STORE"], "-c", "user.name=x", "-c",
                            "user.email=x@x", "commit", "--allow-empty", "-qm", "other"],
                           check=True)
        calls.append(1)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(store, "write_revision", another_document_first)
    publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                       effective_date=publishing.today())
    assert len(calls) == 2
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "effective"
    assert sorted(i.state for i in db.session.query(Intent)) == ["abandoned", "done"]


def crash_after_commit(monkeypatch, awaiting):
    """Approve QT-01 r1 and 'die' between the git commit and the database step."""
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    monkeypatch.undo()


def test_the_approvers_retry_finishes_the_interrupted_approval(app, awaiting, db, monkeypatch):
    crash_after_commit(monkeypatch, awaiting)
    db.session.rollback()
    before = commits(app)
    # The same approver clicks again: no "tag already exists", the approval is finished.
    rev = publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                             effective_date=publishing.today())
    assert rev.status == "effective" and commits(app) == before
    assert [s.meaning for s in rev.signatures].count("approved") == 1
    assert {i.state for i in db.session.query(Intent)} == {"done"}
    # And once more: it is done, said cleanly (409 naming its status), nothing signed twice.
    from docctl.errors import InvalidTransition
    with pytest.raises(InvalidTransition) as caught:
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    assert caught.value.details["status"] == "effective" and commits(app) == before
    assert [s.meaning for s in rev.signatures].count("approved") == 1
    assert verify.run() == []


def test_recovery_leaves_an_intent_whose_owner_still_works(app, awaiting, db, monkeypatch):
    from docctl.errors import InProgress
    from docctl.services import intents
    crash_after_commit(monkeypatch, awaiting)
    db.session.rollback()
    intent = db.session.query(Intent).one()
    held = intents.claim(intent.id)   # stands for the request that is still at work
    assert held is not None
    try:
        assert publishing.recover()["busy"] == 1
        with pytest.raises(InProgress) as caught:
            publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                               effective_date=publishing.today())
        assert caught.value.status == 503
        db.session.rollback()
        assert db.session.get(Intent, intent.id).state == "pending"
    finally:
        held.release()
    assert publishing.recover()["finished"] == 1
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "effective"


def test_finishing_is_claim_once(app, awaiting, db, monkeypatch):
    crash_after_commit(monkeypatch, awaiting)
    db.session.rollback()
    intent = db.session.query(Intent).one()
    sha = app.extensions["docctl.store"].find_intent(intent.id)
    assert publishing.finish(intent, sha) is True
    assert publishing.finish(db.session.get(Intent, intent.id), sha) is False  # a second settler
    rev = documents.get_revision(awaiting["auditor"], "QT-01", 1)
    assert [s.meaning for s in rev.signatures].count("approved") == 1
    assert verify.run() == []


def test_a_database_failure_after_the_commit_is_503_then_finished(app, awaiting, db,
                                                                  monkeypatch):
    from docctl.errors import InProgress
    from docctl.services import scheduler
    from tests.helpers import docx_bytes
    real_finish = publishing.finish
    calls = []

    def refused(intent, sha):
        calls.append(sha)
        raise RuntimeError("UNIQUE constraint failed: audit_event.seq")

    monkeypatch.setattr(publishing, "finish", refused)
    with pytest.raises(InProgress) as caught:
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    assert caught.value.status == 503 and len(calls) == 2   # tried twice, then handed over
    monkeypatch.setattr(publishing, "finish", real_finish)
    assert db.session.query(Intent).one().state == "pending"
    done = scheduler.run_pass()
    assert done["intents"]["finished"] == 1 and done["index_jobs"] >= 1
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "effective"
    # The document takes the next upload (no 409 left over from the failure).
    rev = documents.upload_revision(awaiting["controller"], "QT-01", filename="b.docx",
                                    data=docx_bytes("bản hai"), reason="Sửa", change="reissue")
    assert rev.number == 2
    assert verify.run() == []


def test_a_stale_tag_lock_does_not_block_the_approval(app, awaiting, db):
    from pathlib import Path
    git_dir = Path(app.config["REPO_STORE"]) / ".git"
    tag = documents.get_document(awaiting["auditor"], "QT-01").slug
    lock = git_dir / "refs" / "tags" / tag / "r1.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("left by a writer that died\n")
    other = git_dir / "refs" / "tags" / "XX-99" / "r7.lock"
    other.parent.mkdir(parents=True)
    other.write_text("")
    rev = publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                             effective_date=publishing.today())
    assert rev.status == "effective" and not lock.exists()
    assert other.exists()   # only the scheduler's pass walks all of refs/
    from docctl.services import scheduler
    assert "refs/tags/XX-99/r7.lock" in scheduler.run_pass()["store"]["locks"]
    assert not other.exists()


def test_a_crash_before_the_ref_update_leaves_no_stray_file(app, awaiting, db, monkeypatch):
    from docctl import faults
    store = app.extensions["docctl.store"]
    monkeypatch.setattr(faults, "point", lambda name: (_ for _ in ()).throw(Crash())
                        if name == "publish.before_ref_update" else None)
    # A dead process does not clean up after itself either.
    monkeypatch.setattr(store, "_restore_after_failure", lambda paths: None)
    with pytest.raises(Crash):
        publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    monkeypatch.undo()
    db.session.rollback()
    strays = store.stray_files()
    assert any(p.endswith("source.docx") for p in strays), strays   # verify can see it
    from docctl.services import scheduler
    done = scheduler.run_pass()
    assert done["store"].get("restored") and done["intents"]["abandoned"] == 1
    assert store.stray_files() == []
    assert publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                              effective_date=publishing.today()).status == "effective"
    assert verify.run() == []


def test_a_withdrawal_interrupted_after_its_commit_is_finished_by_the_retry(app, awaiting, db,
                                                                            monkeypatch):
    publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                       effective_date=publishing.today())
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        publishing.withdraw(awaiting["controller"], "QT-01", reason="Hết hiệu lực",
                            password=PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    before = commits(app)
    document = publishing.withdraw(awaiting["controller"], "QT-01", reason="Hết hiệu lực",
                                   password=PASSWORD)
    assert document.status == "obsolete" and commits(app) == before   # finished, not redone
    from docctl.errors import Conflict
    with pytest.raises(Conflict):   # a later click: already withdrawn, said cleanly
        publishing.withdraw(awaiting["controller"], "QT-01", reason="x", password=PASSWORD)
    assert verify.run() == []


def test_a_take_effect_interrupted_after_its_commit_is_finished_by_the_next_pass(
        app, awaiting, db, clock, monkeypatch):
    from datetime import timedelta

    from docctl.services import scheduler
    publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                       effective_date=clock.today() + timedelta(days=1))
    clock.advance(days=2)
    monkeypatch.setattr(publishing, "finish", lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        publishing.take_effect_due()
    monkeypatch.undo()
    db.session.rollback()
    before = commits(app)
    done = scheduler.run_pass()
    assert done["intents"]["finished"] == 1 and done["took_effect"] == 0
    assert commits(app) == before
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "effective"
    assert verify.run() == []
