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
    result = publishing.recover(min_age_seconds=0)     # what start-up does
    assert result == {"finished": 1, "abandoned": 0}
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
    assert publishing.recover(min_age_seconds=0) == {"finished": 0, "abandoned": 1}
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
