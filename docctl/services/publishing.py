"""The one unit of work for every git-backed change, and the revision actions that use it.

intent → one git commit → the database → index jobs, in that order (DESIGN §4). `run` takes a
kind (its plan, services/plans, builds the commit and applies it), the documents it changes and
a payload; `finish`, `settle`, `settle_pending` and `recover` complete or abandon a change a
crash interrupted, whatever its kind. approve, take_effect_due, withdraw and publish_imported
are the revision actions built on it; releases and periodic reviews use it the same way.
"""

import json
import logging
import time
import uuid
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl import faults
from docctl.domain.decisions import ReleaseStatus
from docctl.domain.lifecycle import Action, Status, next_status
from docctl.domain.permissions import Perm
from docctl.domain.textfold import nfc
from docctl.errors import (
    Conflict,
    Forbidden,
    InProgress,
    StaleHead,
    TagExists,
    ValidationError,
)
from docctl.extensions import db
from docctl.models import Document, Intent, IntentDocument, Release, ReleaseItem, Revision, User
from docctl.services import audit, forms, intents, plans, printed_facts, signatures
from docctl.services.context import now, store, today
from docctl.services.documents import (
    effective_revision,
    get_document,
    get_revision,
    require,
    revision_bytes,
)
from docctl.services.gitfacts import person
from docctl.store import StoreLock, layout

log = logging.getLogger(__name__)


def approve(actor: User, code: str, number: int, *, password: str,
            effective_date: date) -> Revision:
    """Approve with an e-signature; publish to git; take effect now or on its date.

    A retry after an interrupted approval finishes it; once finished, approving again is
    refused (409) with the revision's status, which tells the approver it is done.
    """
    revision = get_revision(actor, code, number)
    require(actor, Perm.APPROVE)
    if revision.author_id == actor.id:
        raise Forbidden(_l("The author cannot approve their own revision"))
    if revision.approver_id != actor.id:
        raise Forbidden(_l("You are not the approver named for this revision"))
    # A second click waits for the first to end, then meets its outcome (done: 409 naming
    # the status), instead of a "try again" answer.
    revision = locked_row(revision)
    settled = settle_pending(revision_id=revision.id, wait=IN_PROGRESS_WAIT)
    revision = locked_row(revision)   # waiting let go of the row: hold it again for the checks
    if any(i.kind == "publish" for i in settled):
        return revision   # the interrupted approval, finished now: done, not an error
    next_status(revision.status, Action.APPROVE)
    _not_in_a_release(revision)
    if not isinstance(effective_date, date):
        raise ValidationError(_l("Effective date is required (YYYY-MM-DD)"),
                              field="effective_date")
    if effective_date < today():
        raise ValidationError(_l("The effective date cannot be in the past"),
                              field="effective_date")
    forms.check_before_approve(revision)   # no form left pointing at a superseded procedure
    signatures.confirm_password(actor, password, revision=revision)
    revision_bytes(revision)   # refuse to publish bytes that no longer match their hash
    # The date the file prints, against the one chosen: the warning stays with the revision.
    printed_facts.recheck(revision, effective_date)
    signed_at = now()
    payload = {"signer_id": actor.id, "signed_at": signed_at.isoformat(),
               "effective_date": effective_date.isoformat(),
               "takes_effect": effective_date <= today(),
               "tag": layout.revision_tag(revision.document.slug, revision.number)}
    intent = run(actor, "publish", payload, documents=[revision.document], revision=revision)
    return db.session.get(Revision, intent.revision_id)


def _not_in_a_release(revision: Revision) -> None:
    """Refuse to approve alone a revision a decision will issue with its set."""
    from docctl.services import releases
    release = releases.open_release_of(revision)
    if release is not None:
        raise Conflict(_l("This revision is to be issued by decision %(n)s; sign the decision "
                          "instead", n=release.decision_number))


def take_effect_due() -> int:
    """Make every approved revision whose date has come effective; return how many."""
    # Revisions issued by a decision take effect together, with their release (releases).
    # Only a signed release's own: a revision once in a discarded release is approved alone.
    in_release = select(ReleaseItem.revision_id).join(
        Release, Release.id == ReleaseItem.release_id).where(
        ReleaseItem.revision_id.is_not(None), Release.status == ReleaseStatus.APPROVED)
    due = db.session.scalars(select(Revision.id).where(
        Revision.status == Status.APPROVED, Revision.effective_date <= today(),
        Revision.id.not_in(in_release))
        .order_by(Revision.effective_date, Revision.id)).all()
    done = 0
    for revision_id in due:
        try:
            settle_pending(revision_id=revision_id)
            revision = db.session.get(Revision, revision_id)
            if revision.status != Status.APPROVED:
                continue   # a settled intent already made it effective
            run(None, "take_effect", {"at": now().isoformat()}, documents=[revision.document],
                revision=revision)
            done += 1
        except (Conflict, InProgress):
            db.session.rollback()   # another process got there first, or is at it now
    from docctl.services import releases
    return done + releases.take_effect_due()


def withdraw(actor: User, code: str, *, reason: str, password: str) -> Document:
    """Withdraw a document: its revision in force becomes obsolete."""
    require(actor, Perm.WITHDRAW)
    document = get_document(actor, code)
    reason = nfc(reason)[:4000]
    if not reason.strip():
        raise ValidationError(_l("A reason is required to withdraw a document"),
                              field="reason")
    document = locked_row(document)
    finished = settle_pending(document_id=document.id, wait=IN_PROGRESS_WAIT)
    document = locked_row(document)   # waiting let go of the row: hold it again for the checks
    if any(i.kind == "withdraw" for i in finished):
        return document   # an interrupted withdrawal, finished now: done, not an error
    if document.status == "obsolete":
        raise Conflict(_l("This document is already withdrawn"))
    target = effective_revision(document) or next(
        (r for r in document.revisions if r.status == Status.APPROVED), None)
    if target is None:
        raise Conflict(_l("Nothing has been published for this document yet"))
    signatures.confirm_password(actor, password, document=document, revision=target)
    payload = {"signer_id": actor.id, "signed_at": now().isoformat(), "reason": reason}
    intent = run(actor, "withdraw", payload, documents=[document], revision=target)
    return db.session.get(Document, intent.document_id)


def locked_row(row):
    """Hold a row (revision, document, release, request) for this change and re-read it.

    Two clicks on approve must not both pass the status check: the second waits here, then
    meets the first's intent (in progress) or its outcome (done). SQLite's write transaction
    already serialises them; PostgreSQL needs the row lock.
    """
    db.session.execute(select(type(row).id).where(type(row).id == row.id).with_for_update())
    db.session.refresh(row)
    return row


# The store's base check is repo-wide: a commit for another document also makes it stale.
STALE_RETRIES = 5
# Seconds a repeated click waits for the same change, still at work, to end (well under the
# worker timeout).
IN_PROGRESS_WAIT = 5.0
# One more try of the database step after a commit, before the scheduler takes it over.
FINISH_TRIES = 2


def run(actor: User | None, kind: str, payload: dict, *, documents: list[Document],
        revision: Revision | None = None, release: Release | None = None,
        unchanged=None) -> Intent:
    """Carry out one change of a kind as intent → commit → database; return its intent.

    A stale store head (someone else committed first) is retried while `unchanged()` says
    the change still applies (by default: the revision's status is what it was).
    """
    from docctl.services import reconcile
    reconcile.ensure_in_step()   # a store restored out of step with the DB: a clear 409
    if unchanged is None and revision is not None:
        revision_id, expected = revision.id, revision.status
        unchanged = lambda: db.session.get(Revision, revision_id).status == expected  # noqa: E731
    for _attempt in range(STALE_RETRIES):
        try:
            # Index jobs queued by finish() are applied by the scheduler, not in the request.
            return _attempt_once(actor, kind, payload, documents, revision, release)
        except StaleHead:
            # Only retry if the change still applies (else someone else won).
            if unchanged is not None and not unchanged():
                break
    raise Conflict(_l("Someone else changed this document store just now; "
                      "reload and try again"))


def _attempt_once(actor: User | None, kind: str, payload: dict, documents: list[Document],
                  revision: Revision | None, release: Release | None) -> Intent:
    plan = plans.get(kind)
    gitstore = store()
    head = gitstore.head()
    intent_id = uuid.uuid4().hex
    # Hold the intent's lock from before it is recorded until it is settled: recovery
    # leaves it alone while this process lives, and takes it over the moment it dies.
    with intents.own(intent_id):
        intent = Intent(id=intent_id, kind=kind,
                        document_id=documents[0].id if len(documents) == 1 else None,
                        revision_id=revision.id if revision is not None else None,
                        release_id=release.id if release is not None else None,
                        payload=json.dumps(payload), expected_head=head, state="pending",
                        created_at=now())
        db.session.add(intent)
        for document_id in dict.fromkeys(d.id for d in documents):
            db.session.add(IntentDocument(intent_id=intent_id, document_id=document_id))
        db.session.commit()                                         # 1. intent is durable
        faults.point("publish.after_intent")
        try:
            spec = plan.build(intent, payload, actor)
            sha = _write(gitstore, spec,                            # 2. one commit, locked
                         trailers=spec.trailers + [("Docctl-Intent", intent.id),
                                                   ("Audit-Head", audit.head_anchor())],
                         author=person(actor), when=now(),
                         expected_head=head if plan.needs_head else None)
        except Exception as exc:
            db.session.rollback()
            if isinstance(exc, TagExists):
                # Another request published this first: it is done, not broken.
                _abandon(intent_id)
                db.session.commit()
                raise Conflict(_l("This revision has just been approved by another "
                                  "request")) from None
            # A failure reported after the ref moved must not abandon what git now holds;
            # if git cannot even be asked, the scheduler settles the intent later.
            sha = None if isinstance(exc, StaleHead) else gitstore.find_intent(
                intent_id, since=head)
            if sha is None:
                _abandon(intent_id)
                db.session.commit()
                raise
        faults.point("publish.after_commit")
        _finish_after_commit(intent_id, sha)                        # 3. database follows git
        faults.point("publish.after_db")
    return db.session.get(Intent, intent_id)


def _abandon(intent_id: str) -> bool:
    """Mark an intent abandoned and let its plan undo what it recorded; False if settled."""
    if not intents.mark(intent_id, "abandoned"):
        return False
    intent = db.session.get(Intent, intent_id)
    plan = plans.get(intent.kind)
    if plan.abandon is not None:
        plan.abandon(intent, json.loads(intent.payload))
    return True


def _write(gitstore, spec: plans.CommitSpec, **common) -> str:
    """Commit a plan's files: one document folder as a revision write, one record folder
    written once, else one change."""
    folders = {path.rsplit("/", 1)[0] for path in spec.files}
    if len(folders) == 1 and not spec.tags and \
            next(iter(folders)).startswith(layout.RECORDS + "/"):
        folder = folders.pop()
        return gitstore.commit_files(
            folder, {path.rsplit("/", 1)[1]: data for path, data in spec.files.items()},
            subject=spec.subject, body=spec.body, **common)
    if len(folders) == 1 and len(spec.tags) <= 1 and \
            next(iter(folders)).startswith(layout.DOCUMENTS + "/"):
        folder = folders.pop()
        tag, tag_message = spec.tags[0] if spec.tags else (None, None)
        return gitstore.write_revision(
            folder, {path.rsplit("/", 1)[1]: data for path, data in spec.files.items()},
            subject=spec.subject, body=spec.body, tag=tag, tag_message=tag_message, **common)
    return gitstore.write_change(spec.files, subject=spec.subject, body=spec.body,
                                 tags=spec.tags, **common)


def _finish_after_commit(intent_id: str, sha: str) -> None:
    """Apply the committed intent; if the database refuses, leave it to the scheduler."""
    for attempt in range(1, FINISH_TRIES + 1):
        try:
            finish(db.session.get(Intent, intent_id), sha)
            return
        except Exception:
            db.session.rollback()
            log.exception("finishing intent %s failed (try %d)", intent_id, attempt)
    # git holds the change; the intent stays pending and the scheduler finishes it within
    # a second or so, once this request lets go of it.
    raise InProgress(_l("The change is saved in the document store and is being completed; "
                        "reload the page in a moment"))


def settle_pending(*, revision_id: int | None = None, document_id: int | None = None,
                   release_id: int | None = None, wait: float = 0.0) -> list[Intent]:
    """Finish or abandon the interrupted intents of a revision, document or release first.

    Returns the intents it finished. An intent whose request is still at work (a double
    click) is waited for up to `wait` seconds; raises InProgress if it is still at work
    then, or while the database refuses to finish one.
    """
    finished = []
    waiting = intents.pending(revision_id=revision_id, document_id=document_id,
                              release_id=release_id)
    for intent in waiting:
        outcome = _settle_waiting(intent, wait)
        if outcome in ("busy", "failed"):
            raise InProgress(_l("This change is being completed; try again in a moment"))
        if outcome == "finished":
            finished.append(intent)
    if waiting:
        db.session.expire_all()   # what was settled changed rows this session may hold
    return finished


def _settle_waiting(intent: Intent, wait: float) -> str:
    intent_id, deadline = intent.id, time.monotonic() + wait
    outcome = settle(intent)
    while outcome == "busy" and time.monotonic() < deadline:
        # Hold no lock while the other request finishes: it needs the rows (and SQLite's
        # write lock) that this transaction may hold.
        db.session.rollback()
        time.sleep(0.05)
        state = db.session.scalar(select(Intent.state).where(Intent.id == intent_id))
        outcome = settle(db.session.get(Intent, intent_id)) if state == "pending" else "settled"
    return outcome


def settle(intent: Intent) -> str:
    """Finish an intent whose owner is gone if git has its commit, else abandon it.

    Returns "finished", "abandoned", "busy" (its owner is still at work), "failed" (the
    database refused; try later) or "settled" (someone else settled it first).
    """
    intent_id = intent.id
    ownership = intents.claim(intent_id)
    if ownership is None:
        return "busy"
    with ownership:
        db.session.rollback()   # read the intent's state as it is now, after taking its lock
        intent = db.session.get(Intent, intent_id)
        if intent is None or intent.state != "pending":
            return "settled"
        gitstore = store()
        # Under the store lock no commit of this intent can still be on its way.
        with StoreLock(gitstore.path, gitstore.lock_timeout):
            sha = gitstore.find_intent(intent_id, since=intent.expected_head)
        if sha:
            try:
                return "finished" if finish(intent, sha) else "settled"
            except Exception:   # the database refused: the scheduler tries again soon
                db.session.rollback()
                log.exception("finishing intent %s failed", intent_id)
                return "failed"
        if not _abandon(intent_id):
            db.session.rollback()
            return "settled"
        audit.record("intent_abandoned", None, object_type="intent", object_id=intent_id,
                     details={"kind": intent.kind})
        db.session.commit()
        return "abandoned"


def finish(intent: Intent, sha: str) -> bool:
    """Apply a committed intent to the database in one transaction; False if already settled."""
    if not intents.mark(intent.id, "done", commit_sha=sha):   # claim-once, same transaction
        db.session.rollback()
        return False
    payload = json.loads(intent.payload)
    actor = db.session.get(User, payload["signer_id"]) if payload.get("signer_id") else None
    plan = plans.get(intent.kind)
    plan.apply(intent, payload, sha, actor)
    db.session.commit()
    if plan.after_commit is not None:
        plan.after_commit()   # outside the transaction (a disposition scrubs destroyed keys)
    return True


def publish_imported(actor: User, revision: Revision, *, run_id: int) -> Revision:
    """Publish an imported draft in force at its own numbers and date, signed "imported".

    The same unit of work as an approval (intent, commit, database), without a docctl
    approval: whoever approved it in the agency's old system is text on the revision.
    """
    require(actor, Perm.REGISTER)
    if revision.status != Status.DRAFT or revision.import_run_id is None or \
            revision.effective_date is None or revision.effective_date > today():
        raise ValidationError(_l("Only an imported draft already in force can be published "
                                 "this way"))
    revision_bytes(revision)   # the bytes still match their hash
    payload = {"signer_id": actor.id, "signed_at": now().isoformat(),
               "effective_date": revision.effective_date.isoformat(), "run_id": run_id,
               "tag": layout.revision_tag(revision.document.slug, revision.number)}
    intent = run(actor, "import", payload, documents=[revision.document], revision=revision)
    return db.session.get(Revision, intent.revision_id)


# What recover() counts, per interrupted intent it looked at.
RECOVERY_OUTCOMES = ("finished", "abandoned", "busy", "failed")


def recover() -> dict:
    """Settle every interrupted intent whose owner is gone; leave those still at work."""
    result = dict.fromkeys(RECOVERY_OUTCOMES, 0)
    for intent in intents.pending():
        outcome = settle(intent)
        if outcome in result:
            result[outcome] += 1
    if result["finished"] or result["abandoned"]:
        current_app.logger.warning("recovered intents: %s", result)
    return result
