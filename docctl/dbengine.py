"""Database engine settings: SQLite pragmas and transaction mode, PostgreSQL pool and locks."""

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeout

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# None: decide by the request; True/False: the caller knows whether it will write.
_immediate: ContextVar[bool | None] = ContextVar("docctl_immediate", default=None)


def init_app(app, db) -> None:
    """Hook the pragmas and transaction rules onto the app's engine (whatever its options)."""
    with app.app_context():
        engine = db.engine
    config = app.config   # read on each new connection: a changed setting takes effect

    def busy_ms() -> int:
        return int(float(config["DB_BUSY_TIMEOUT"]) * 1000)

    if engine.dialect.name == "sqlite":
        _sqlite(engine, busy_ms)
    elif engine.dialect.name == "postgresql":
        _postgresql(engine, busy_ms)


@contextmanager
def immediate(value: bool = True) -> Iterator[None]:
    """Make the transactions begun inside the block take the SQLite write lock at BEGIN."""
    token = _immediate.set(value)
    try:
        yield
    finally:
        _immediate.reset(token)


def reading() -> AbstractContextManager[None]:
    """Let a long read-only pass outside a request (verify, backup) leave writers free."""
    return immediate(False)


def end_keeping_objects(session) -> None:
    """End the session's transaction (commit), keeping the objects it loaded usable."""
    # Expiring them would reload each one, in a new transaction, at its next use.
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def _wants_write_lock() -> bool:
    chosen = _immediate.get()
    if chosen is not None:
        return chosen
    # A page or download only reads (its access is recorded in a short transaction of its
    # own); anything else (forms, API writes, CLI, background work) will write.
    return not (has_request_context() and request.method in READ_METHODS)


def _sqlite(engine: Engine, busy_ms) -> None:
    @event.listens_for(engine, "connect")
    def pragmas(dbapi_connection, _record):
        # SQLAlchemy emits BEGIN itself (below): the driver's implicit BEGIN, issued only at
        # the first write, let two writers read the same audit head (documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL: readers never wait for the writer; the writer never waits for readers.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")   # durable at checkpoints, safe in WAL
            cursor.execute(f"PRAGMA busy_timeout={busy_ms()}")
            # Deleted rows are overwritten, not left in free pages: a disposed record's key
            # must not be recoverable from the file (services/dispositions.scrub).
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def begin(conn):
        # A transaction that will write takes the write lock now, with a fresh snapshot: in
        # WAL a read transaction that later writes fails at once if another writer committed.
        write = _wants_write_lock()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        conn.info["docctl_write_lock"] = write
        conn.info["docctl_wrote"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def note_writes(conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA", "BEGIN"):
            conn.info["docctl_wrote"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def ended(conn):
        conn.info.pop("docctl_write_lock", None)
        conn.info.pop("docctl_wrote", None)


def _postgresql(engine: Engine, busy_ms) -> None:
    @event.listens_for(engine, "connect")
    def lock_timeout(dbapi_connection, _record):
        # A lock held past the busy timeout answers 503 instead of holding a worker forever.
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET lock_timeout = {busy_ms()}")
        finally:
            cursor.close()
        dbapi_connection.commit()   # SET inside the driver's open transaction: keep it


def only_read_so_far(session) -> bool:
    """Tell whether a session's SQLite transaction is a read snapshot with nothing to write.

    Such a transaction can end and begin again holding the write lock without losing work.
    """
    if not session.in_transaction() or session.new or session.deleted or session.dirty:
        return False
    info = session.connection().info
    return info.get("docctl_write_lock") is False and not info.get("docctl_wrote")


# -- faults: answered, not crashed ------------------------------------------------------------

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
# lock_not_available, serialization_failure, deadlock_detected, query_canceled,
# too_many_connections, cannot_connect_now
_PG_BUSY = frozenset({"55P03", "40001", "40P01", "57014", "53300", "57P03"})
_PG_FULL = frozenset({"53100"})   # disk_full
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _causes(exc: BaseException):
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 20:
        cause = todo.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        todo += [getattr(cause, "orig", None), cause.__cause__, cause.__context__]


def fault_kind(exc: BaseException) -> str | None:
    """Return "busy" or "full" when exc, or what caused it, is a lock or disk-space fault."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno in _NO_SPACE:
            return "full"
        if isinstance(cause, sqlite3.Error):
            code = (getattr(cause, "sqlite_errorcode", None) or 0) & 0xFF
            message = str(cause).lower()
            if code == _SQLITE_FULL or "disk is full" in message:
                return "full"
            if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "is locked" in message:
                return "busy"
        pgcode = getattr(cause, "pgcode", None)
        if pgcode in _PG_FULL:
            return "full"
        if pgcode in _PG_BUSY or isinstance(cause, PoolTimeout):
            return "busy"
        if (type(cause).__module__.startswith("psycopg2") and not pgcode
                and type(cause).__name__ == "OperationalError"):
            return "busy"   # the server is down or restarting: unavailable, not broken
        # git and other tools report a full disk only in their error text.
        if "no space left on device" in str(cause).lower():
            return "full"
    return None
