"""Append to the hash-chained audit trail, keep it append-only, and check the chain."""

import hashlib
import json
import re

from flask import has_request_context, request
from sqlalchemy import DDL, event, func, select, text
from sqlalchemy.orm import Session

from docctl import dbengine
from docctl.extensions import db
from docctl.models import AuditEvent
from docctl.services.context import now
from docctl.services.findings import Finding

GENESIS = "0" * 64
_ANCHOR = re.compile(r"(\d{1,18}):([0-9a-f]{64})")
# Never stored, whatever a caller passes in details (R45).
_SECRET_KEYS = frozenset({"password", "new_password", "current", "token", "csrf_token",
                          "secret", "authorization"})
CHAIN_FIELDS = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.actor_name,
                AuditEvent.actor_role, AuditEvent.action, AuditEvent.object_type,
                AuditEvent.object_id, AuditEvent.document_code, AuditEvent.revision_number,
                AuditEvent.details, AuditEvent.reason, AuditEvent.source_ip,
                AuditEvent.prev_hash, AuditEvent.hash)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an audit entry."""


def _canonical(event: AuditEvent) -> str:
    fields = {
        "seq": event.seq, "at": event.at.isoformat(), "actor_id": event.actor_id,
        "actor_name": event.actor_name, "actor_role": event.actor_role, "action": event.action,
        "object_type": event.object_type, "object_id": event.object_id,
        "document_code": event.document_code, "revision_number": event.revision_number,
        "details": event.details, "reason": event.reason, "source_ip": event.source_ip,
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    """Return the hash that seals an event onto its predecessor."""
    return hashlib.sha256((prev_hash + _canonical(event)).encode()).hexdigest()


def _scrub(details: dict | None) -> dict:
    return {k: "[redacted]" if str(k).lower() in _SECRET_KEYS else v
            for k, v in (details or {}).items()}


def record(action: str, actor=None, *, object_type: str = "", object_id: str = "",
           document=None, revision=None, details: dict | None = None,
           reason: str | None = None) -> AuditEvent:
    """Add an audit event to the current unit of work (the caller commits)."""
    session = db.session()
    previous = _tail(session)
    if previous is not None:   # this transaction holds the head and appended it last
        head_seq, head_hash = previous.seq, previous.hash
    else:
        _hold_head()
        head = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    event = AuditEvent(
        seq=head_seq + 1,
        at=now(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", "") or getattr(actor, "username", "") or "",
        actor_role=getattr(actor, "role", "") or "",
        action=action,
        object_type=object_type or ("revision" if revision else "document" if document else ""),
        object_id=str(object_id or (revision.id if revision else document.id if document else "")),
        document_code=document.code if document is not None else None,
        revision_number=revision.number if revision is not None else None,
        details=json.dumps(_scrub(details), sort_keys=True, ensure_ascii=False, default=str),
        reason=reason,
        source_ip=request.remote_addr if has_request_context() else None,
    )
    event.prev_hash = head_hash
    event.hash = chain_hash(event.prev_hash, event)
    session.add(event)
    # The next entry of this transaction chains on this one without asking the database:
    # a release appends a hundred entries (bench/release_bench.py). Flushed with the rest.
    session.info[_TAIL_KEY] = (session.get_transaction(), event)
    return event


_TAIL_KEY = "docctl.audit_tail"


def _tail(session) -> AuditEvent | None:
    """Return the entry this very transaction appended last, if it still stands."""
    cached = session.info.get(_TAIL_KEY)
    if cached is None:
        return None
    transaction, event = cached
    # Another transaction, a savepoint, or an entry a rollback took away: ask the database.
    if transaction is None or session.get_transaction() is not transaction or \
            session.in_nested_transaction() or event not in session:
        session.info.pop(_TAIL_KEY, None)
        return None
    return event


# One lock per schema: the tests (and a provincial deployment) keep several trails in one
# PostgreSQL database, and each trail has its own head.
_PG_HEAD_LOCK = text("SELECT pg_advisory_xact_lock("
                     "hashtextextended(current_schema() || '.docctl.audit_head', 0))")


def _hold_head() -> None:
    """Serialise appenders: hold the chain head until this transaction ends."""
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        # Released at commit or rollback; READ COMMITTED then shows the head as it is now.
        session.execute(_PG_HEAD_LOCK)
        return
    if dbengine.only_read_so_far(session):
        # A read snapshot cannot take the write lock once another writer committed (SQLite
        # refuses: SQLITE_BUSY_SNAPSHOT). It holds nothing to write: end it, keeping what
        # the caller loaded, and begin again below.
        dbengine.end_keeping_objects(session)
    if not session.in_transaction():
        # Begin holding the write lock: the head read below is the newest, and no other
        # writer can append before this transaction commits.
        with dbengine.immediate():
            session.connection()
    # Any other SQLite transaction under way began IMMEDIATE (it holds the lock) or has
    # written on a read snapshot; SQLite refuses the latter's commit if another writer got
    # there first (answered 503): the chain cannot fork either way.


def record_reading(action: str, actor=None, **fields) -> AuditEvent:
    """Record a view or download now, in a short transaction of its own, and commit it.

    The page's objects stay loaded; the read snapshot the request held is ended first, so the
    entry is appended under the write lock with a fresh view of the head.
    """
    session = db.session()
    # Only the entry is written: expiring the page's objects would reload them row by row.
    if session.in_transaction():
        dbengine.end_keeping_objects(session)
    event = record(action, actor, **fields)
    dbengine.end_keeping_objects(session)
    return event


def head_anchor() -> str:
    """Return "<seq>:<hash>" of the newest entry, to be anchored in a git commit."""
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return f"{head.seq}:{head.hash}" if head else f"0:{GENESIS}"


def parse_anchor(value: str) -> tuple[int, str] | None:
    """Return (seq, hash) of an Audit-Head trailer value, or None when it is malformed."""
    match = _ANCHOR.fullmatch((value or "").strip())
    return (int(match.group(1)), match.group(2)) if match else None


def verify_chain(anchors: dict[int, list[tuple[str, str]]] | None = None) -> list[Finding]:
    """Return a finding for every broken link, and every git anchor the trail contradicts.

    anchors maps an anchored seq to [(hash, commit sha), ...] read from Audit-Head trailers.
    """
    anchors = anchors or {}
    findings = []
    prev_hash, expected_seq, last = GENESIS, 1, 0
    seen: set[int] = set()
    # Plain rows, not ORM objects: the walk reads every entry and must stay fast at 100k+.
    rows = db.session.execute(select(*CHAIN_FIELDS).order_by(AuditEvent.seq)
                              .execution_options(yield_per=2000))
    for row in rows:
        if row.seq != expected_seq:
            findings.append(Finding("audit", f"audit: entry {expected_seq} is missing "
                                             f"(next is {row.seq})"))
        if row.prev_hash != prev_hash or chain_hash(row.prev_hash, row) != row.hash:
            findings.append(Finding("audit", f"audit: entry {row.seq} was altered or its "
                                             "predecessor was", row.document_code))
        for anchored, commit in anchors.get(row.seq, ()):
            seen.add(row.seq)
            if anchored != row.hash:
                findings.append(Finding("anchor", f"audit: entry {row.seq} differs from the "
                                                  f"hash anchored in git commit {commit[:12]}",
                                        row.document_code))
        prev_hash, expected_seq, last = row.hash, row.seq + 1, row.seq
    for seq in sorted(s for s in anchors if 0 < s <= last and s not in seen):
        findings.append(Finding("anchor", f"audit: entry {seq}, anchored in git commit "
                                          f"{anchors[seq][0][1][:12]}, is missing"))
    anchored_max = max((seq for seq in anchors if seq > 0), default=0)
    if anchored_max > last:
        commit = anchors[anchored_max][0][1]
        findings.append(Finding("anchor", f"audit: the trail ends at entry {last} but git commit "
                                          f"{commit[:12]} anchors entry {anchored_max}: entries "
                                          f"{last + 1}–{anchored_max} were deleted (truncated)"))
    return findings


def count() -> int:
    """Return how many audit entries exist."""
    return db.session.scalar(select(func.count(AuditEvent.seq))) or 0


# -- append-only, in code and in the database (R2) --------------------------------------------

@event.listens_for(Session, "before_flush")
def _refuse_rewrites(session, _flush_context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AppendOnlyViolation(f"audit entry {obj.seq} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AppendOnlyViolation(f"audit entry {obj.seq} cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_rewrites(state) -> None:
    if (state.is_update or state.is_delete) and any(
            mapper.class_ is AuditEvent for mapper in state.all_mappers):
        raise AppendOnlyViolation("audit entries cannot be updated or deleted")


APPEND_ONLY_DDL = {
    "sqlite": [
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION docctl_audit_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'audit_event is append-only'; END $$",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION docctl_audit_append_only()",
    ],
}

# Tables made by create_all (tests, the bench) get the same triggers as the migration gives.
for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create",
                     DDL(_statement).execute_if(dialect=_dialect))
