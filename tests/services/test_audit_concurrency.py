"""The audit chain under concurrency: appenders in threads and processes never fork it."""

import multiprocessing
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from docctl import dbengine
from docctl.models import AuditEvent, Department
from docctl.services import audit
from tests.services._audit_workers import append_entries, append_rounds

THREADS, ROUNDS = 6, 12          # each round: one page read recorded, one write recorded
PROCESSES, PROCESS_ROUNDS = 2, 15


def _run_rounds(app, db, label: str, rounds: int, errors: list) -> None:
    """Append from a thread as a busy worker would; keep what failed for the test."""
    try:
        append_rounds(app, label, rounds)
    except Exception as exc:   # noqa: BLE001 (reported by the test)
        errors.append(f"{label}: {exc!r}")


def _trail(db) -> list:
    db.session.expire_all()
    return list(db.session.execute(select(AuditEvent.seq, AuditEvent.object_id)
                                   .order_by(AuditEvent.seq)))


def test_threads_and_processes_append_at_once_and_the_chain_verifies(app, db):
    db.session.remove()   # the test's own transaction must not hold the lock
    errors: list[str] = []
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    processes = [ctx.Process(target=append_entries, args=(
        app.config["DATA_DIR"], app.config["DATABASE_URL"],
        app.config["SQLALCHEMY_ENGINE_OPTIONS"], f"p{n}", PROCESS_ROUNDS, results))
        for n in range(PROCESSES)]
    for process in processes:
        process.start()
    threads = [threading.Thread(target=_run_rounds, args=(app, db, f"t{n}", ROUNDS, errors))
               for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert errors == []
    assert [kind for kind, _detail in outcomes] == ["ok"] * PROCESSES, outcomes
    rows = _trail(db)
    expected = 2 * (THREADS * ROUNDS + PROCESSES * PROCESS_ROUNDS)
    assert [row.seq for row in rows] == list(range(1, expected + 1))   # contiguous, no gap
    # Every view and every change is there exactly once.
    wanted = {f"{who}-{kind}-{i}" for who, rounds in
              [*((f"t{n}", ROUNDS) for n in range(THREADS)),
               *((f"p{n}", PROCESS_ROUNDS) for n in range(PROCESSES))]
              for kind in ("read", "write") for i in range(rounds)}
    assert sorted(row.object_id for row in rows) == sorted(wanted)
    assert audit.verify_chain() == []


def _append_elsewhere(app, db, object_id: str) -> None:
    """Append one entry from another worker (thread, app context, connection) and commit."""
    errors: list[str] = []

    def work():
        try:
            with app.app_context(), app.test_request_context("/other", method="POST"):
                audit.record("probe_changed", None, object_type="probe", object_id=object_id)
                db.session.commit()
                db.session.remove()
        except Exception as exc:   # noqa: BLE001 (reported below)
            errors.append(repr(exc))
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert errors == []


def test_a_page_that_read_before_another_writer_committed_still_records(app, db):
    db.session.remove()
    with app.test_request_context("/documents/QT-01", method="GET"):
        before = db.session.scalar(select(func.count(AuditEvent.seq)))   # snapshot begins
        _append_elsewhere(app, db, "meanwhile")
        # On SQLite this snapshot may not write any more; the entry must still go in, after
        # the other one, on the head as it is now.
        event = audit.record("audit_read", None, object_type="audit", object_id="late")
        db.session.commit()
        assert event.seq == before + 2
    db.session.remove()
    assert [row.object_id for row in _trail(db)][-2:] == ["meanwhile", "late"]
    assert audit.verify_chain() == []


def test_a_stale_snapshot_with_changes_is_refused_and_never_forks_the_chain(app, db):
    db.session.remove()
    postgres = db.engine.dialect.name == "postgresql"
    with app.test_request_context("/some/page", method="GET"):
        db.session.scalar(select(func.count(AuditEvent.seq)))   # the page's snapshot
        if not postgres:
            _append_elsewhere(app, db, "meanwhile")
            # SQLite cannot let this snapshot write after another commit: a clean refusal,
            # which the web layer answers 503, never a second entry with the same seq.
            with pytest.raises(OperationalError) as refused:
                db.session.add(Department(code="KT", name="Phòng Kế toán"))
                audit.record("probe_changed", None, object_type="probe", object_id="stale")
                db.session.commit()
            assert dbengine.fault_kind(refused.value) == "busy"
            db.session.rollback()
        else:
            # PostgreSQL: the head lock makes the other appender wait for this commit.
            db.session.add(Department(code="KT", name="Phòng Kế toán"))
            audit.record("probe_changed", None, object_type="probe", object_id="first")
            db.session.commit()
            _append_elsewhere(app, db, "meanwhile")
    db.session.remove()
    trail = [row.object_id for row in _trail(db)]
    assert trail == (["first", "meanwhile"] if postgres else ["meanwhile"])
    assert audit.verify_chain() == []
