"""Crash at every publish step while a real server keeps running (R50, issue 9 point 2).

The worker handling the approval dies (os._exit, through docctl/faults.py) at one step; the
server goes on with its other worker and the replacement gunicorn starts. The scheduler that
`docctl serve` started settles the interrupted intent within a minute, and the approver's
retry over HTTP is answered "done" or finishes the approval: never a 500.
"""

import time
from pathlib import Path

from sqlalchemy import func, select

from docctl import dbengine
from docctl.models import IndexJob, Intent, Revision
from docctl.services import documents, reviews, verify
from docctl.services import users as user_service
from docctl.services.context import today
from tests.helpers import PASSWORD, docx_bytes
from tests.services._live import LiveServer, wait_for

STEPS = ("publish.after_intent", "publish.before_ref_update", "publish.after_commit",
         "publish.after_db")
CODES = ("QT-01", "QT-02", "QT-03", "QT-04")


def prepare(users, code: str) -> None:
    """Register code and take r1 to the approver, with a word of its own in its text."""
    documents.register_document(users["controller"], {
        "type": "procedure", "title": f"Quy trình {code}", "department": "VP", "code": code})
    documents.upload_revision(users["controller"], code, filename="a.docx",
                              data=docx_bytes(f"từkhóa{code[-1]} nội dung", code), change="reissue")
    reviews.submit(users["controller"], code, 1, reviewers=["reviewer"], approver="approver")
    reviews.review(users["reviewer"], code, 1, decision="accept")


def approve(server: LiveServer, token: str, code: str):
    return server.call("POST", f"/api/v1/documents/{code}/revisions/1/approve", token=token,
                       data={"password": PASSWORD, "effective_date": today().isoformat()})


def retry_until_answered(server, token, code, *, tries: int = 40) -> tuple[int, dict]:
    """The approver clicks again until answered: 200 (this click finished the approval) or
    409 naming the status (it was finished already); 503 means 'again in a moment'."""
    for _ in range(tries):
        status, body = approve(server, token, code)
        assert status in (None, 200, 409, 503), (status, body)
        if status == 200:
            assert body["status"] == "effective", body
            return status, body
        if status == 409:
            assert body["error"] == "invalid_transition", body
            assert "effective" in body["message"].lower() or "hiệu lực" in body["message"]
            return status, body
        time.sleep(0.25)
    raise AssertionError(f"{code}: no answer after {tries} tries")


def pending(db) -> int:
    db.session.rollback()   # read what the server committed
    return db.session.scalar(select(func.count()).select_from(Intent).where(
        Intent.state == "pending"))


def states(db, users, code: str) -> list[str]:
    db.session.rollback()
    document = documents.get_document(users["auditor"], code)
    return list(db.session.scalars(select(Intent.state).where(
        Intent.document_id == document.id).order_by(Intent.created_at)))


def status_of(db, users, code: str) -> str:
    db.session.rollback()
    return documents.get_revision(users["auditor"], code, 1).status


def test_crash_at_every_publish_step_while_the_server_runs(app, db, users, tmp_path):
    for code in CODES:
        prepare(users, code)
    token = user_service.issue_token("approver", PASSWORD)
    store = app.extensions["docctl.store"]
    fired = Path(app.config["INSTANCE_DIR"]) / "faults-fired"
    db.session.commit()
    tags = Path(app.config["REPO_STORE"]) / ".git" / "refs" / "tags"
    # The test only reads while the server runs: it must not hold SQLite's write lock.
    with LiveServer(app, tmp_path / "server.log", faults=STEPS) as server, dbengine.reading():
        # A tag lock left by a dead writer, which no approval would touch: the scheduler's
        # walk of refs/ (every 30 s) clears it while the rest of the test goes on.
        (tags / "ZZ-99").mkdir(parents=True)
        (tags / "ZZ-99" / "r9.lock").write_text("")
        # QT-01: each click dies one step later; between clicks nobody retries, and the
        # scheduler settles what the dead worker left.
        for step, outcome in ((STEPS[0], "abandoned"), (STEPS[1], "abandoned"),
                              (STEPS[2], "done")):
            assert approve(server, token, "QT-01") == (None, None), step
            assert (fired / step).exists()
            wait_for(lambda: pending(db) == 0)
            assert states(db, users, "QT-01")[-1] == outcome, step
            wait_for(lambda: store.stray_files() == [])   # the half-written tree is restored
        assert status_of(db, users, "QT-01") == "effective"   # finished by the scheduler
        # The retry is told it is done (409 naming the status "effective"), not a 500.
        assert retry_until_answered(server, token, "QT-01")[0] == 409

        # QT-02: dies after the commit; the approver retries at once, racing the scheduler.
        (fired / STEPS[2]).unlink()   # arm that step again
        assert approve(server, token, "QT-02") == (None, None)
        retry_until_answered(server, token, "QT-02")   # 200 if it won the race, else 409
        assert status_of(db, users, "QT-02") == "effective"

        # QT-03: dies after the database step: the answer was lost, the work was not.
        assert approve(server, token, "QT-03") == (None, None)
        assert (fired / STEPS[3]).exists()
        assert retry_until_answered(server, token, "QT-03")[0] == 409

        # QT-04: a dead writer's lock on the very tag it needs does not block its approval.
        slug = documents.get_document(users["auditor"], "QT-04").slug
        (tags / slug).mkdir(parents=True, exist_ok=True)
        (tags / slug / "r1.lock").write_text("")
        assert retry_until_answered(server, token, "QT-04")[0] == 200
        wait_for(lambda: not (tags / "ZZ-99" / "r9.lock").exists())

        # Index jobs are applied by the scheduler: every document is found, no job queued.
        def all_indexed():
            db.session.rollback()
            return db.session.scalar(select(func.count()).select_from(IndexJob).where(
                IndexJob.done_at.is_(None))) == 0
        wait_for(all_indexed)
        for code in CODES:
            status, body = server.call("GET", f"/api/v1/search?q=tukhoa{code[-1]}",
                                       token=token)
            assert status == 200 and [r["code"] for r in body["results"]] == [code], body
        assert " 500 " not in server.log()
    db.session.rollback()
    effective = db.session.execute(select(Revision.document_id, func.count()).where(
        Revision.status == "effective").group_by(Revision.document_id)).all()
    assert len(effective) == len(CODES) and all(n == 1 for _doc, n in effective)
    assert pending(db) == 0
    assert verify.run() == []
