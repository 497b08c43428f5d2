"""Approve, take effect, withdraw: intent → git commit → database, in that order."""

import json
import uuid
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.lifecycle import Action, Status, next_status
from docctl.domain.permissions import Perm
from docctl.domain.textfold import nfc
from docctl.errors import Conflict, Forbidden, StoreError, ValidationError
from docctl.extensions import db
from docctl.models import Document, DraftFile, IndexJob, Intent, Revision, User
from docctl.services import audit, signatures
from docctl.services.context import now, store, today
from docctl.services.documents import (
    document_dir,
    effective_revision,
    get_document,
    get_revision,
    require,
    revision_bytes,
)
from docctl.services.gitfacts import commit_files, person
from docctl.store import layout


def approve(actor: User, code: str, number: int, *, password: str,
            effective_date: date) -> Revision:
    """Approve with an e-signature; publish to git; take effect now or on its date."""
    revision = get_revision(actor, code, number)
    require(actor, Perm.APPROVE)
    if revision.author_id == actor.id:
        raise Forbidden(_l("The author cannot approve their own revision"))
    if revision.approver_id != actor.id:
        raise Forbidden(_l("You are not the approver named for this revision"))
    next_status(revision.status, Action.APPROVE)
    if not isinstance(effective_date, date):
        raise ValidationError(_l("Effective date is required (YYYY-MM-DD)"),
                              field="effective_date")
    if effective_date < today():
        raise ValidationError(_l("The effective date cannot be in the past"),
                              field="effective_date")
    signatures.confirm_password(actor, password, revision=revision)
    revision_bytes(revision)   # refuse to publish bytes that no longer match their hash
    signed_at = now()
    payload = {"signer_id": actor.id, "signed_at": signed_at.isoformat(),
               "effective_date": effective_date.isoformat(),
               "takes_effect": effective_date <= today(),
               "tag": layout.revision_tag(revision.document.slug, revision.number)}
    intent = _run(actor, "publish", revision.document, revision, payload)
    return db.session.get(Revision, intent.revision_id)


def take_effect_due() -> int:
    """Make every approved revision whose date has come effective; return how many."""
    due = db.session.scalars(select(Revision).where(
        Revision.status == Status.APPROVED, Revision.effective_date <= today())
        .order_by(Revision.effective_date, Revision.id)).all()
    done = 0
    for revision in due:
        try:
            _run(None, "take_effect", revision.document, revision, {"at": now().isoformat()})
            done += 1
        except Conflict:
            db.session.rollback()   # another process got there first
    return done


def maybe_take_effect(app) -> None:
    """Run take_effect_due at most once a minute per process (on requests)."""
    state = app.extensions.setdefault("docctl.tick", {"next": datetime.min.replace(
        tzinfo=now().tzinfo)})
    if now() < state["next"]:
        return
    state["next"] = now() + timedelta(seconds=60)
    take_effect_due()


def withdraw(actor: User, code: str, *, reason: str, password: str) -> Document:
    """Withdraw a document: its revision in force becomes obsolete."""
    require(actor, Perm.WITHDRAW)
    document = get_document(actor, code)
    reason = nfc(reason)[:4000]
    if not reason.strip():
        raise ValidationError(_l("A reason is required to withdraw a document"),
                              field="reason")
    if document.status == "obsolete":
        raise Conflict(_l("This document is already withdrawn"))
    target = effective_revision(document) or next(
        (r for r in document.revisions if r.status == Status.APPROVED), None)
    if target is None:
        raise Conflict(_l("Nothing has been published for this document yet"))
    signatures.confirm_password(actor, password, document=document, revision=target)
    payload = {"signer_id": actor.id, "signed_at": now().isoformat(), "reason": reason}
    intent = _run(actor, "withdraw", document, target, payload)
    return db.session.get(Document, intent.document_id)


# The store's base check is repo-wide: a commit for another document also makes it stale.
STALE_RETRIES = 5


class _StaleBase(Exception):
    """Git moved between reading HEAD and committing."""


def _run(actor: User | None, kind: str, document: Document, revision: Revision,
         payload: dict) -> Intent:
    from docctl.services import reconcile
    reconcile.ensure_in_step()   # a store restored out of step with the DB: a clear 409
    expected = revision.status
    for _attempt in range(STALE_RETRIES):
        try:
            intent = _attempt_once(actor, kind, document, revision, payload)
        except _StaleBase:
            # Only retry if this revision is still where we found it (else someone won).
            if db.session.get(Revision, revision.id).status != expected:
                break
            continue
        # 4. Apply the queued index jobs; a failure leaves them queued, never fails the publish.
        from docctl.services import indexing
        indexing.catch_up(rebuild=False)   # a missing index is rebuilt at start-up, not here
        return intent
    raise Conflict(_l("Someone else changed this document store just now; "
                      "reload and try again"))


def _attempt_once(actor: User | None, kind: str, document: Document, revision: Revision,
                  payload: dict) -> Intent:
    gitstore = store()
    head = gitstore.head()
    intent = Intent(id=uuid.uuid4().hex, kind=kind, document_id=document.id,
                    revision_id=revision.id, payload=json.dumps(payload), expected_head=head,
                    state="pending", created_at=now())
    db.session.add(intent)
    db.session.commit()                                             # 1. intent is durable
    try:
        spec = commit_files(kind, document, revision, payload, actor)
        sha = gitstore.write_revision(                              # 2. one commit, locked
            document_dir(document), spec.files, subject=spec.subject, body=spec.body,
            trailers=spec.trailers + [("Docctl-Intent", intent.id),
                                      ("Audit-Head", audit.head_anchor())],
            author=person(actor), when=now(), tag=spec.tag, tag_message=spec.tag_message,
            expected_head=head)
    except Exception as exc:
        db.session.rollback()
        intent = db.session.get(Intent, intent.id)
        intent.state, intent.finished_at = "abandoned", now()
        db.session.commit()
        if isinstance(exc, StoreError) and "stale" in str(exc).lower():
            raise _StaleBase() from exc
        raise
    finish(intent, sha)                                             # 3. database follows git
    return intent


def finish(intent: Intent, sha: str) -> None:
    """Apply a committed intent to the database in one transaction."""
    payload = json.loads(intent.payload)
    revision = db.session.get(Revision, intent.revision_id)
    document = revision.document
    at = datetime.fromisoformat(payload.get("signed_at") or payload["at"])
    actor = db.session.get(User, payload["signer_id"]) if payload.get("signer_id") else None
    if intent.kind == "publish":
        revision.status = next_status(revision.status, Action.APPROVE)
        revision.approved_at = at
        revision.effective_date = date.fromisoformat(payload["effective_date"])
        revision.commit_sha, revision.tag = sha, payload["tag"]
        db.session.add(signatures.build(actor, revision, "approved", at, "password"))
        draft = db.session.get(DraftFile, revision.id)
        if draft is not None:
            db.session.delete(draft)   # git holds the controlled bytes from now on
        audit.record("approved", actor, document=document, revision=revision,
                     details={"commit": sha, "effective_date": payload["effective_date"]})
        if payload["takes_effect"]:
            _make_effective(revision, at, actor, sha)
    elif intent.kind == "take_effect":
        _make_effective(revision, at, None, sha)
    elif intent.kind == "withdraw":
        revision.status = next_status(revision.status, Action.WITHDRAW)
        revision.ended_at, revision.ended_reason = at, payload["reason"]
        db.session.add(signatures.build(actor, revision, "withdrawn", at, "password"))
        # A revision approved for a later date must not bring the document back.
        for pending in document.revisions:
            if pending.id != revision.id and pending.status == Status.APPROVED:
                pending.status = next_status(pending.status, Action.WITHDRAW)
                pending.ended_at, pending.ended_reason = at, payload["reason"]
        document.status, document.withdrawn_at = "obsolete", at
        document.withdrawn_reason = payload["reason"]
        db.session.add(IndexJob(document_id=document.id, revision_id=revision.id,
                                action="remove", created_at=at))
        audit.record("withdrawn", actor, document=document, revision=revision,
                     details={"commit": sha}, reason=payload["reason"])
    intent.state, intent.commit_sha, intent.finished_at = "done", sha, now()
    db.session.commit()


def _make_effective(revision: Revision, at: datetime, actor: User | None, sha: str) -> None:
    document = revision.document
    previous = effective_revision(document)
    if previous is not None and previous.id != revision.id:
        previous.status = next_status(previous.status, Action.SUPERSEDE)
        previous.ended_at, previous.superseded_by = at, revision.number
        # The partial unique index allows one effective row: retire the old one first.
        db.session.flush()
        db.session.add(IndexJob(document_id=document.id, revision_id=previous.id,
                                action="status", created_at=at))
        audit.record("superseded", actor, document=document, revision=previous,
                     details={"by": revision.number, "commit": sha})
    revision.status = next_status(revision.status, Action.TAKE_EFFECT)
    revision.effective_at = at
    if revision.commit_sha is None:
        revision.commit_sha = sha
    document.status = "effective"
    db.session.add(IndexJob(document_id=document.id, revision_id=revision.id, action="index",
                            created_at=at))
    audit.record("effective", actor, document=document, revision=revision,
                 details={"commit": sha, "effective_date": revision.effective_date.isoformat()})


def recover(*, min_age_seconds: float = 120.0) -> dict:
    """Finish intents whose commit exists; abandon those whose commit never happened."""
    cutoff = now() - timedelta(seconds=min_age_seconds)
    result = {"finished": 0, "abandoned": 0}
    pending = db.session.scalars(select(Intent).where(
        Intent.state == "pending", Intent.created_at <= cutoff).order_by(Intent.created_at)).all()
    for intent in pending:
        sha = store().find_intent(intent.id)
        if sha:
            finish(intent, sha)
            result["finished"] += 1
        else:
            intent.state, intent.finished_at = "abandoned", now()
            audit.record("intent_abandoned", None, object_type="intent", object_id=intent.id,
                         details={"kind": intent.kind})
            db.session.commit()
            result["abandoned"] += 1
    if pending:
        current_app.logger.warning("recovered intents: %s", result)
    return result

