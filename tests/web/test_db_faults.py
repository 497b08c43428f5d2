"""Faults answered, not crashed: a held lock → 503 + Retry-After, a full disk → 507."""

import errno
import io
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text

from config import Config
from docctl import dbengine
from docctl.models import AuditEvent, Document, DraftFile, Intent, Revision
from docctl.services import audit, documents, reviews
from docctl.services.context import today
from tests.helpers import PASSWORD, csrf_token, docx_bytes

BUSY_VI = "Hệ thống đang bận"
FULL_VI = "Máy chủ hết dung lượng lưu trữ"


def _counts(db) -> tuple[int, int, int]:
    db.session.remove()
    counts = (db.session.scalar(select(func.count(AuditEvent.seq))),
              db.session.scalar(select(func.count(Document.id))),
              db.session.scalar(select(func.count(Revision.id))))
    db.session.remove()   # outside a request a transaction holds SQLite's write lock
    return counts


@pytest.fixture
def short_busy(app, db):
    """Wait 0.3 s for a lock instead of the production 10 s (new connections only)."""
    app.config["DB_BUSY_TIMEOUT"] = 0.3
    db.session.remove()
    db.engine.dispose()
    return app


@contextmanager
def writer_holding_the_lock(db):
    """Hold what an appender needs: SQLite's write lock, or the PostgreSQL chain head."""
    with dbengine.immediate():
        holder = db.engine.connect()
    try:
        if db.engine.dialect.name == "postgresql":
            holder.execute(audit._PG_HEAD_LOCK)
        else:
            holder.exec_driver_sql("SELECT 1")   # BEGIN IMMEDIATE: the write lock is held
        yield holder
    finally:
        holder.rollback()
        holder.close()


def _token(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username,
                                                       "password": PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_the_engine_settings_hold_whatever_the_engine_options(app, db):
    # The test app passes its own SQLALCHEMY_ENGINE_OPTIONS: the settings come by event.
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1   # NORMAL
        else:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "10s"
    assert app.config["DB_BUSY_TIMEOUT"] < 30   # shorter than gunicorn's worker timeout


def test_postgresql_gets_a_sized_recycled_pool(monkeypatch):
    monkeypatch.setenv("DOCCTL_DATABASE_URL", "postgresql+psycopg2://u@127.0.0.1/x")
    monkeypatch.setenv("DOCCTL_DB_POOL_SIZE", "7")
    options = Config().as_flask()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {"pool_pre_ping": True, "pool_size": 7, "max_overflow": 5,
                       "pool_recycle": 1800, "pool_timeout": 10.0}
    monkeypatch.setenv("DOCCTL_DATABASE_URL", "sqlite:////tmp/x.sqlite")
    assert Config().as_flask()["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}


def test_pages_read_while_a_writer_holds_the_lock_and_a_view_waits_then_503(
        short_busy, db, procedure, login_as):
    client = login_as("staff")
    before = _counts(db)
    with writer_holding_the_lock(db):
        # Pages that only read never wait for the writer.
        assert client.get("/documents").status_code == 200
        assert client.get("/api/v1/documents/QT-01").status_code == 200
        # A page view must be recorded; the trail is locked past the busy timeout: 503.
        page = client.get("/documents/QT-01")
        assert page.status_code == 503
        assert page.headers["Retry-After"].isdigit()
        assert BUSY_VI in page.get_data(as_text=True)
        assert "Traceback" not in page.get_data(as_text=True)
    assert _counts(db) == before          # the view that was not recorded was not shown
    assert client.get("/documents/QT-01").status_code == 200   # the writer is gone: served
    assert _counts(db)[0] == before[0] + 1
    assert audit.verify_chain() == []


def test_a_change_that_cannot_get_the_lock_answers_503_and_writes_nothing(
        short_busy, db, procedure, login_as):
    headers = _token(short_busy.test_client(), "controller")
    client = login_as("controller")
    form = {"type": "procedure", "title": "Quy trình mua sắm", "department": "VP",
            "csrf_token": csrf_token(client)}
    before = _counts(db)
    with writer_holding_the_lock(db):
        api = short_busy.test_client().post("/api/v1/documents", headers=headers, json={
            "type": "procedure", "title": "Quy trình mua sắm", "department": "VP"})
        assert api.status_code == 503
        assert api.headers["Retry-After"].isdigit()
        assert api.get_json()["error"] == "busy"
        assert BUSY_VI in api.get_json()["message"]
        page = client.post("/documents/new", data=form)
        assert page.status_code == 503
        assert BUSY_VI in page.get_data(as_text=True)
    assert _counts(db) == before          # nothing half-written
    assert audit.verify_chain() == []


@contextmanager
def failing_insert(db, table: str, exc: BaseException):
    """Make the next INSERT into table fail as a full disk would."""
    def refuse(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
            raise exc
    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)


def test_a_full_disk_on_upload_answers_507_and_stores_nothing(app, db, procedure, login_as):
    client = login_as("controller")
    headers = _token(app.test_client(), "controller")
    before = _counts(db)
    drafts = db.session.scalar(select(func.count()).select_from(DraftFile))
    with failing_insert(db, "draft_file", OSError(errno.ENOSPC, "No space left on device")):
        page = client.post("/documents/QT-01/upload", data={"change": "reissue",
            "csrf_token": csrf_token(client), "reason": "Sửa đổi",
            "file": (io.BytesIO(docx_bytes("bản hai")), "QT-01.docx")},
            content_type="multipart/form-data")
        assert page.status_code == 507
        assert FULL_VI in page.get_data(as_text=True)
        api = app.test_client().post("/api/v1/documents/QT-01/revisions", headers=headers,
                                     data={"change": "reissue", "reason": "Sửa đổi", "file": (
                                         io.BytesIO(docx_bytes("bản hai")),
                                         "QT-01.docx")},
                                     content_type="multipart/form-data")
        assert api.status_code == 507
        assert api.get_json() == {"error": "storage_full", "message": api.get_json()["message"]}
        assert FULL_VI in api.get_json()["message"]
    assert _counts(db) == before
    assert db.session.scalar(select(func.count()).select_from(DraftFile)) == drafts
    assert audit.verify_chain() == []


def test_sqlite_reporting_disk_full_answers_507(app, db, procedure, login_as):
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL's disk_full (53100) is covered by the injected ENOSPC test above.
        print("SQLite's own SQLITE_FULL: checked on SQLite only")
        assert dbengine.fault_kind(type("DiskFull", (Exception,), {"pgcode": "53100"})()) \
            == "full"
        return
    client = login_as("controller")
    token = csrf_token(client)
    before = _counts(db)
    pages = db.session.execute(text("PRAGMA page_count")).scalar()

    def cap(conn):
        # SQLite's own "database or disk is full": the file may not grow past its size now.
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 1}")
    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "begin", cap)
    try:
        big = docx_bytes("nội dung rất dài " * 4000)
        page = client.post("/documents/QT-01/upload", data={"change": "reissue",
            "csrf_token": token, "reason": "Sửa đổi",
            "file": (io.BytesIO(big), "QT-01.docx")},
            content_type="multipart/form-data")
    finally:
        event.remove(db.engine, "begin", cap)
        db.session.remove()
        db.engine.dispose()
    assert page.status_code == 507, page.get_data(as_text=True)[:300]
    assert FULL_VI in page.get_data(as_text=True)
    assert _counts(db) == before
    assert audit.verify_chain() == []


def test_a_full_disk_during_approval_answers_507_and_leaves_the_intent_consistent(
        app, db, users, procedure, login_as):
    rev = documents.upload_revision(users["controller"], "QT-01", filename="QT-01.docx",
                                    data=docx_bytes("bản hai"), reason="Sửa đổi", change="reissue")
    reviews.submit(users["controller"], "QT-01", rev.number, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(users["reviewer"], "QT-01", rev.number, decision="accept")
    number = rev.number
    headers = _token(app.test_client(), "approver")
    store = app.extensions["docctl.store"]
    real = store.write_revision

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    store.write_revision = disk_full
    try:
        response = app.test_client().post(
            f"/api/v1/documents/QT-01/revisions/{number}/approve", headers=headers,
            json={"password": PASSWORD, "effective_date": today().isoformat()})
    finally:
        store.write_revision = real
    assert response.status_code == 507, response.get_data(as_text=True)
    assert FULL_VI in response.get_json()["message"]
    db.session.remove()
    revision = db.session.scalar(select(Revision).where(Revision.number == number))
    assert revision.status == "awaiting_approval" and revision.commit_sha is None
    intents = db.session.scalars(select(Intent).where(Intent.revision_id == revision.id)).all()
    assert [i.state for i in intents] == ["abandoned"]
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.revision_number == number)).all()
    assert "approved" not in actions
    assert audit.verify_chain() == []
