"""The housekeeping scheduler: one leader per data set, due revisions, index jobs, tick."""

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from flask import Flask

from docctl import dbengine
from docctl.models import IndexJob, Intent
from docctl.services import documents, indexing, publishing, reviews, scheduler
from tests.helpers import PASSWORD, docx_bytes
from tests.services._live import ROOT, wait_for

LEADER = textwrap.dedent("""
    import sys
    from flask import Flask
    from docctl.services.scheduler import Scheduler
    app = Flask("leader")
    app.config["INSTANCE_DIR"] = sys.argv[1]
    print(Scheduler(app).try_lead(), flush=True)
    sys.stdin.read()   # lead until the test closes our stdin (or kills us)
""")


def bare_app(folder) -> Flask:
    app = Flask("follower")
    app.config["INSTANCE_DIR"] = str(folder)
    return app


def test_one_leader_per_data_set_and_a_dead_leaders_lock_frees_itself(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    leader = subprocess.Popen([sys.executable, "-c", LEADER, str(one)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert leader.stdout.readline().strip() == "True"
        follower = scheduler.Scheduler(bare_app(one))
        assert follower.try_lead() is False            # the other process leads this data set
        other = scheduler.Scheduler(bare_app(two))
        assert other.try_lead() is True                # another data set has its own leader
        other.stop()
        leader.kill()                                  # the leader dies without cleaning up
        leader.wait(timeout=10)
        assert wait_for(follower.try_lead, timeout=10) is True
        follower.stop()
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.wait(timeout=10)


def awaiting_approval(users, code: str = "QT-01") -> None:
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP", "code": code})
    documents.upload_revision(users["controller"], code, filename="a.docx",
                              data=docx_bytes("chuyển hiệu lực", code), change="reissue")
    reviews.submit(users["controller"], code, 1, reviewers=["reviewer"], approver="approver")
    reviews.review(users["reviewer"], code, 1, decision="accept")


def test_the_thread_makes_due_revisions_effective_and_applies_index_jobs(app, db, users,
                                                                        clock):
    awaiting_approval(users)
    later = clock.today() + timedelta(days=2)
    publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD, effective_date=later)
    # Pages no longer make revisions effective: only the scheduler (or tick) does.
    clock.advance(days=3)
    app.test_client().get("/login")
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "approved"
    db.session.commit()
    running = scheduler.start(app)
    try:
        assert scheduler.start(app) is running          # one scheduler per app (data set)

        def effective_and_indexed():
            db.session.rollback()
            # Look without SQLite's write lock, which the scheduler thread needs.
            with dbengine.reading():
                revision = documents.get_revision(users["auditor"], "QT-01", 1)
                queued = db.session.query(IndexJob).filter(IndexJob.done_at.is_(None)).count()
                done = revision.status == "effective" and queued == 0
                db.session.rollback()
            return done
        wait_for(effective_and_indexed, timeout=30)
        assert running.leader
    finally:
        running.stop()
    assert indexing.reader().doc_count() == 1


def test_tick_settles_an_interrupted_publish_at_once(app, db, users, monkeypatch):
    awaiting_approval(users)

    class Crash(BaseException):
        pass

    monkeypatch.setattr(publishing, "finish",
                        lambda intent, sha: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    monkeypatch.undo()
    db.session.rollback()
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "interrupted changes: 1 finished" in result.output
    assert "index jobs applied: 1" in result.output
    db.session.rollback()
    assert {i.state for i in db.session.query(Intent)} == {"done"}
    assert documents.get_revision(users["auditor"], "QT-01", 1).status == "effective"



def test_a_lock_file_of_an_intent_never_recorded_is_swept(app, db):
    from pathlib import Path

    from docctl.services import intents
    live = intents.own("a" * 32)      # a request at work on an intent not yet recorded
    dead = Path(intents.lock_path("d" * 32))
    dead.write_text("")               # a process that died there: its file stays, unlocked
    try:
        assert scheduler.run_pass()["intent_locks"] == 1
        assert Path(intents.lock_path("a" * 32)).exists() and not dead.exists()
    finally:
        live.release()
