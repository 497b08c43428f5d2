"""Append to the hash-chained audit trail and check the chain."""

import hashlib
import json

from flask import has_request_context, request
from sqlalchemy import func, select

from docctl.extensions import db
from docctl.models import AuditEvent
from docctl.services.context import now

GENESIS = "0" * 64


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


def record(action: str, actor=None, *, object_type: str = "", object_id: str = "",
           document=None, revision=None, details: dict | None = None,
           reason: str | None = None) -> AuditEvent:
    """Add an audit event to the current unit of work (the caller commits)."""
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        at=now(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", "") or getattr(actor, "username", "") or "",
        actor_role=getattr(actor, "role", "") or "",
        action=action,
        object_type=object_type or ("revision" if revision else "document" if document else ""),
        object_id=str(object_id or (revision.id if revision else document.id if document else "")),
        document_code=document.code if document is not None else None,
        revision_number=revision.number if revision is not None else None,
        details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False, default=str),
        reason=reason,
        source_ip=request.remote_addr if has_request_context() else None,
    )
    event.prev_hash = head.hash if head else GENESIS
    event.hash = chain_hash(event.prev_hash, event)
    db.session.add(event)
    db.session.flush()
    return event


def head_anchor() -> str:
    """Return "<seq>:<hash>" of the newest entry, to be anchored in a git commit."""
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return f"{head.seq}:{head.hash}" if head else f"0:{GENESIS}"


def verify_chain() -> list[str]:
    """Return a finding for every audit entry whose chain link is broken."""
    findings = []
    prev_hash, expected_seq = GENESIS, 1
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    for event in db.session.scalars(query):
        if event.seq != expected_seq:
            findings.append(f"audit: entry {expected_seq} is missing (next is {event.seq})")
        if event.prev_hash != prev_hash or chain_hash(event.prev_hash, event) != event.hash:
            findings.append(f"audit: entry {event.seq} was altered or its predecessor was")
        prev_hash, expected_seq = event.hash, event.seq + 1
    return findings


def count() -> int:
    """Return how many audit entries exist."""
    return db.session.scalar(select(func.count(AuditEvent.seq))) or 0
