"""One document's whole history in order: who did what, when, and why."""

import heapq
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from docctl.domain.permissions import Perm
from docctl.extensions import db
from docctl.models import AuditEvent, Document, Revision, User
from docctl.services import audit, organisation, signatures
from docctl.services.documents import get_document, require

# Page views (and auditors reading this very timeline) would drown the changes: shown on request.
READS = ("viewed", "timeline_viewed")
# The signature each kind of entry makes, so the two are shown as one event.
SIGNED_BY = {"submitted": "prepared", "reviewed": "reviewed", "approved": "approved",
             "withdrawn": "withdrawn",
             "periodic_review_confirmed": "periodic_review"}
REVIEW_ACTIONS = ("reviewed", "approval_rejected")
_FIELDS = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.actor_name,
           AuditEvent.actor_role, AuditEvent.action, AuditEvent.revision_number,
           AuditEvent.details, AuditEvent.reason, AuditEvent.source_ip)


@dataclass(slots=True)
class Event:
    """One thing that happened to the document."""

    at: datetime
    action: str
    actor_name: str
    actor_role: str
    actor_id: int | None = None
    revision: int | None = None
    details: dict = field(default_factory=dict)
    reason: str | None = None
    source_ip: str | None = None
    seq: int | None = None
    source: str = "audit"        # audit, or signature / review rows no entry accounts for
    # Tuples, empty by default: thousands of events must not each allocate a list (GC cost).
    signatures: tuple[dict, ...] = ()
    review: dict | None = None
    summary: str = ""            # filled by a page that shows the details as one line

    def as_dict(self) -> dict:
        """Return the event as JSON-ready data."""
        return {"at": self.at.isoformat(), "seq": self.seq, "source": self.source,
                "action": self.action, "revision": self.revision,
                "actor": {"id": self.actor_id, "name": self.actor_name,
                          "role": self.actor_role},
                "details": self.details, "reason": self.reason, "source_ip": self.source_ip,
                "signatures": tuple({**s, "signed_at": s["signed_at"].isoformat()}
                                    for s in self.signatures),
                "review": None if self.review is None else {
                    **self.review, "decided_at": self.review["decided_at"].isoformat()}}


@dataclass
class Timeline:
    """A document, its revisions, and its events in order."""

    document: Document
    revisions: list[Revision]
    events: list[Event]
    hidden_reads: int
    # Each revision's issue/amendment label in the organisation's format, by sequence number.
    labels: dict[int, str] = field(default_factory=dict)


def _signature(signature, revision: Revision) -> dict:
    return {"id": signature.id, "meaning": signature.meaning, "signer": signature.signer_name,
            "username": signature.user.username, "signed_at": signature.signed_at,
            "content_sha256": signature.content_sha256, "method": signature.method,
            "verifies": signatures.verifies(signature),
            "current": signature.content_sha256 == revision.sha256}


def _review(review, names: dict[int, str]) -> dict:
    return {"reviewer": names.get(review.reviewer_id, str(review.reviewer_id)),
            "round": review.round, "decision": review.decision, "comment": review.comment,
            "decided_at": review.decided_at}


def _details(text: str, seen: dict) -> dict:
    # Downloads of one revision repeat the same details: parse each text once.
    if text in seen:
        return seen[text]
    try:
        value = json.loads(text or "{}")
    except ValueError:
        value = {"raw": text}
    seen[text] = value if isinstance(value, dict) else {"raw": value}
    return seen[text]


def build(document: Document, *, include_reads: bool = False) -> Timeline:
    """Merge audit entries, signatures and reviews of a document into one timeline."""
    reviewer_ids = {r.reviewer_id for rev in document.revisions for r in rev.reviews}
    names = dict(db.session.execute(select(User.id, User.display_name).where(
        User.id.in_(reviewer_ids))).all()) if reviewer_ids else {}

    signed: dict[tuple, deque] = defaultdict(deque)
    reviewed: dict[tuple, deque] = defaultdict(deque)
    for revision in document.revisions:
        for signature in sorted(revision.signatures, key=lambda s: (s.signed_at, s.id)):
            signed[(revision.number, signature.user_id, signature.meaning)].append(
                _signature(signature, revision))
        for review in sorted((r for r in revision.reviews if r.decided_at),
                             key=lambda r: (r.decided_at, r.id)):
            reviewed[(revision.number, review.reviewer_id)].append(_review(review, names))

    query = select(*_FIELDS).where(AuditEvent.document_code == document.code)
    if not include_reads:
        query = query.where(AuditEvent.action.not_in(READS))
    events, seen = [], {}
    # Plain tuples: 5,000 events must cost milliseconds, not attribute lookups on rows.
    for seq, at, actor_id, name, role, action, number, text, reason, ip in db.session.execute(
            query.order_by(AuditEvent.seq)):
        details = _details(text, seen)
        event = Event(at, action, name, role, actor_id, number, details, reason, ip, seq)
        meaning = SIGNED_BY.get(action)
        if meaning and not (action == "reviewed" and details.get("decision") != "accept"):
            queue = signed.get((number, actor_id, meaning))   # a returned draft is unsigned
            if queue:
                event.signatures = (queue.popleft(),)
        if action in REVIEW_ACTIONS:
            queue = reviewed.get((number, actor_id))
            if queue:
                event.review = queue.popleft()
        events.append(event)

    # All entries of the document, counted from the index alone, less those shown.
    hidden = (db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.document_code == document.code)) or 0) - len(events)
    # Rows no audit entry accounts for still belong in the story (e.g. imported history).
    loose = [Event(at=s["signed_at"], action="signed", actor_name=s["signer"], actor_role="",
                   revision=number, source="signature", signatures=(s,))
             for (number, _user, _meaning), queue in signed.items() for s in queue]
    loose += [Event(at=r["decided_at"], action="reviewed", actor_name=r["reviewer"],
                    actor_role="", actor_id=user, revision=number, source="review",
                    reason=r["comment"] or None, review=r)
              for (number, user), queue in reviewed.items() for r in queue]
    loose.sort(key=lambda e: e.at)
    merged = list(heapq.merge(events, loose, key=lambda e: e.at))
    return Timeline(document=document, revisions=list(document.revisions), events=merged,
                    hidden_reads=hidden,
                    labels={r.number: organisation.label(r.issue, r.amendment)
                            for r in document.revisions})


def read_timeline(actor: User, code: str, *, include_reads: bool = False) -> Timeline:
    """Return a document's timeline for an auditor, recording the reading."""
    require(actor, Perm.AUDIT)
    story = build(get_document(actor, code), include_reads=include_reads)
    audit.record_reading("timeline_viewed", actor, document=story.document,
                         details={"events": len(story.events), "include_reads": include_reads})
    return story
