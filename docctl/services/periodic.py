"""Periodic review: what falls due, and the owner's review ("no change" or open a change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from docctl.domain.lifecycle import Status
from docctl.domain.periodic import next_review
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import nfc
from docctl.errors import Conflict, DocctlError, Forbidden, ValidationError
from docctl.extensions import db
from docctl.models import Document, Revision, User
from docctl.services import audit, documents, drafts, plans, publishing, signatures
from docctl.services.context import now, today
from docctl.services.plans import review as review_plan

plans.add_module("docctl.services.plans.review")

OUTCOMES = ("no_change", "revise")
# How far ahead "due soon" looks by default, and the most a caller may ask for.
DUE_WITHIN_DAYS = 30
MAX_WITHIN_DAYS = 3660
COMMENT_MAX = 2000
# A change already on its way: a second one would overwrite it or queue behind it.
_OPEN = (Status.DRAFT, Status.IN_REVIEW, Status.AWAITING_APPROVAL, Status.APPROVED)


@dataclass(frozen=True)
class Due:
    """A document in force whose review falls due soon, or is overdue."""

    document: Document
    revision: Revision | None
    due: date
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


@dataclass(frozen=True)
class Outcome:
    """What a periodic review did: the document, and the draft a "revise" opened."""

    outcome: str
    document: Document
    draft: Revision | None = None


def is_overdue(document: Document, day: date | None = None) -> bool:
    """Tell whether a document in force is past its review date."""
    return document.status == "effective" and document.next_review_date is not None and \
        document.next_review_date < (day or today())


def sees_due(user: User) -> bool:
    """Tell whether the user may see the list of reviews due (all, or their department's)."""
    return any(has_perm(user.role, p) for p in (Perm.REGISTER, Perm.READ_ALL, Perm.REVIEW))


def may_review(user: User, document: Document) -> bool:
    """Tell whether the user may confirm a document's periodic review.

    The ISO secretary may for every document; the owner is a reviewer (head) of the
    document's department.
    """
    if has_perm(user.role, Perm.REGISTER):
        return True
    return has_perm(user.role, Perm.REVIEW) and user.department_id is not None and \
        user.department_id == document.department_id


def may_revise(user: User, document: Document) -> bool:
    """Tell whether the user may open a change from a review (drafts are the secretary's)."""
    return has_perm(user.role, Perm.REGISTER)


def due(actor: User, *, within_days: int = DUE_WITHIN_DAYS) -> list[Due]:
    """Return the documents in force due for review within `within_days`, overdue first.

    A reviewer who is not a secretary or auditor sees their own department's only.
    """
    if not sees_due(actor):
        raise Forbidden(_l("Your role does not allow this"))
    if type(within_days) is not int or not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise ValidationError(_l("within_days must be a whole number of days from 0 to "
                                 "%(n)s", n=MAX_WITHIN_DAYS), field="within_days")
    day = today()
    query = select(Document).where(Document.status == "effective",
                                   Document.next_review_date.is_not(None),
                                   Document.next_review_date <= day + timedelta(within_days))
    if not (has_perm(actor.role, Perm.REGISTER) or has_perm(actor.role, Perm.READ_ALL)):
        query = query.where(Document.department_id == actor.department_id)
    rows = db.session.scalars(query.order_by(Document.next_review_date, Document.code)
                              .options(selectinload(Document.revisions),
                                       selectinload(Document.department))).all()
    return [Due(d, documents.effective_revision(d), d.next_review_date,
                (d.next_review_date - day).days) for d in rows]


def overdue_count(actor: User) -> int:
    """Return how many documents the user may review are overdue (0 if they see none)."""
    if not sees_due(actor):
        return 0
    return sum(1 for item in due(actor, within_days=0) if item.overdue)


def confirm(actor: User, code: str, *, outcome: str, password: str | None,
            comment: str | None = "") -> Outcome:
    """Record a periodic review of a document in force.

    "no_change": the reviewer signs (password re-entered) "reviewed, no change"; one commit
    records it in git and the due date moves on; no new revision. "revise": a draft is
    opened from the revision in force, to be changed and approved as usual; the due date
    stays until that revision takes effect.
    """
    document = documents.get_document(actor, code)
    if not may_review(actor, document):
        raise Forbidden(_l("Only the ISO secretary or a reviewer of the owner department "
                           "can review this document"))
    if outcome not in OUTCOMES:
        raise ValidationError(_l("The outcome must be \"no_change\" or \"revise\""),
                              field="outcome")
    if comment is not None and not isinstance(comment, str):
        raise ValidationError(_l("The comment must be text"), field="comment")
    comment = nfc(comment or "").strip()[:COMMENT_MAX]
    if outcome == "revise":
        return _revise(actor, document, comment)
    return _no_change(actor, document, password, comment)


def _locked(document: Document) -> Document:
    """Hold the document's row while the review is decided, and re-read it."""
    db.session.execute(select(Document.id).where(Document.id == document.id)
                       .with_for_update())
    db.session.refresh(document)
    return document


def _in_force(document: Document) -> Revision:
    current = documents.effective_revision(document)
    if document.status != "effective" or current is None:
        raise Conflict(_l("This document is not in force: there is nothing to review"))
    return current


def _no_change(actor: User, document: Document, password: str | None,
               comment: str) -> Outcome:
    document = _locked(document)
    finished = publishing.settle_pending(document_id=document.id,
                                         wait=publishing.IN_PROGRESS_WAIT)
    document = _locked(document)   # waiting let go of the row: hold it again for the checks
    if any(i.kind == review_plan.KIND for i in finished):
        return Outcome("no_change", document)   # an interrupted review, finished now
    current = _in_force(document)
    day = today()
    if document.reviewed_on == day:
        raise Conflict(_l("This document was already reviewed today"))
    if not isinstance(password, str) or not password:
        raise ValidationError(_l("Enter your password to sign the review"), field="password")
    signatures.confirm_password(actor, password, document=document, revision=current)
    months = document.review_months or 12
    payload = {"signer_id": actor.id, "signed_at": now().isoformat(),
               "reviewed_on": day.isoformat(),
               "next_review_date": next_review(current.effective_date or day, day,
                                               months).isoformat(),
               "previous_due": document.next_review_date.isoformat()
               if document.next_review_date else None,
               "comment": comment}
    document_id, reviewed_on = document.id, document.reviewed_on
    # A stale head is retried while nobody else reviewed it or changed what is in force.
    unchanged = lambda: (db.session.get(Document, document_id).reviewed_on == reviewed_on  # noqa: E731
                         and db.session.get(Revision, current.id).status == Status.EFFECTIVE)
    publishing.run(actor, review_plan.KIND, payload, documents=[document], revision=current,
                   unchanged=unchanged)
    return Outcome("no_change", db.session.get(Document, document_id))


def _revise(actor: User, document: Document, comment: str) -> Outcome:
    if not may_revise(actor, document):
        raise Forbidden(_l("Only the ISO secretary can open a change; ask them to revise "
                           "this document"))
    current = _in_force(document)
    if not comment:
        raise ValidationError(_l("Say what must change: the comment becomes the reason for "
                                 "change"), field="comment")
    latest = document.revisions[-1]
    if latest.status in _OPEN:
        raise Conflict(_l("A change to this document is already open: revision %(label)s",
                          label=documents.label(latest)))
    # Recorded in the same transaction as the draft it opens (upload_revision commits both).
    audit.record("periodic_review_revise", actor, document=document, revision=current,
                 details={"outcome": "revise", "next_review_date":
                          document.next_review_date.isoformat()
                          if document.next_review_date else None},
                 reason=comment)
    try:
        draft = drafts.open_from_current(actor, document, reason=comment)
    except DocctlError:
        db.session.rollback()
        raise
    return Outcome("revise", document, draft)
