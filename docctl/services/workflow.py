"""No stuck workflow: discard a draft, recall a submission, re-route, the approver's return.

Who may do what (issue 11, item 5):
- discard: the author of a draft. Another secretary (Perm.REGISTER) may discard it too when
  nobody else could: its author is deactivated or no longer a secretary, or the draft has not
  changed for STALE_DAYS days. A reason is always required. The revision row, its file and
  its audit trail are kept with the status "discarded"; its number is never reused.
- recall: the author, while in review and before any reviewer of the current round decided.
- reroute: a secretary (Perm.REGISTER), in review or awaiting approval, with a reason. In
  review the reviewers still waiting may be replaced (a reviewer who already decided keeps the
  decision) and the approver changed; awaiting approval only the approver changes.
- return_to_author: the named approver, only while the revision awaits them.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from docctl.domain.lifecycle import Action, Status, next_status
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import nfc
from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.extensions import db
from docctl.models import AuditEvent, Review, Revision, User
from docctl.services import audit, publishing
from docctl.services.context import now
from docctl.services.documents import get_revision, require
from docctl.services.reviews import named_user

# A draft nobody touched for this long may be discarded by another secretary.
STALE_DAYS = 30
MAX_REVIEWERS = 20


def _locked(revision: Revision) -> Revision:
    """Hold the revision's row for this change and re-read it, with its reviews."""
    publishing.locked_row(revision)
    for review in list(revision.reviews):
        db.session.refresh(review)
    return revision


def _round(revision: Revision) -> list[Review]:
    return [r for r in revision.reviews if r.round == revision.review_round]


def _reason(value, message) -> str:
    text = nfc(value if isinstance(value, str) else "")[:4000]
    if not text.strip():
        raise ValidationError(message, field="reason")
    return text


# --- reading --------------------------------------------------------------------------------

def returned(revision: Revision) -> list[Review]:
    """Return the reviews that sent this draft back in its latest round (empty if none)."""
    if revision.status != Status.DRAFT or revision.review_round < 1:
        return []
    return [r for r in _round(revision) if r.decision == "reject"]


def discarded_event(revision: Revision) -> AuditEvent | None:
    """Return the audit event that discarded this revision (who, when, why)."""
    if revision.status != Status.DISCARDED:
        return None
    return db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == "revision", AuditEvent.object_id == str(revision.id),
        AuditEvent.action == "draft_discarded").order_by(AuditEvent.seq.desc()).limit(1))


def last_touched(revision: Revision):
    """Return when the draft was last uploaded or replaced."""
    touched = db.session.scalar(select(func.max(AuditEvent.at)).where(
        AuditEvent.object_type == "revision", AuditEvent.object_id == str(revision.id),
        AuditEvent.action.in_(("draft_uploaded", "draft_replaced"))))
    return touched or revision.created_at


def orphaned(revision: Revision) -> bool:
    """Tell whether the draft's author can no longer act on it, or has left it for long."""
    author = revision.author
    if not author.active or not has_perm(author.role, Perm.REGISTER):
        return True
    return now() - last_touched(revision) >= timedelta(days=STALE_DAYS)


def can_discard(user: User, revision: Revision) -> bool:
    """Tell whether the user may discard this revision now."""
    return (revision.status == Status.DRAFT and has_perm(user.role, Perm.REGISTER)
            and (revision.author_id == user.id or orphaned(revision)))


def can_recall(user: User, revision: Revision) -> bool:
    """Tell whether the user may recall this submission now."""
    return (revision.status == Status.IN_REVIEW and revision.author_id == user.id
            and has_perm(user.role, Perm.REGISTER)
            and all(r.decision in ("pending", "rerouted") for r in _round(revision)))


def can_reroute(user: User, revision: Revision) -> bool:
    """Tell whether the user may re-route this revision now."""
    return (revision.status in (Status.IN_REVIEW, Status.AWAITING_APPROVAL)
            and has_perm(user.role, Perm.REGISTER))


def can_return(user: User, revision: Revision) -> bool:
    """Tell whether the user is the approver this revision is waiting for."""
    return revision.status == Status.AWAITING_APPROVAL and revision.approver_id == user.id


def _cannot_act(user: User | None, perm: Perm) -> bool:
    return user is None or not user.active or not has_perm(user.role, perm)


@dataclass(frozen=True)
class Stuck:
    """A revision waiting for people who can no longer act on it."""

    revision: Revision
    people: list[User]


def needs_rerouting() -> list[Stuck]:
    """Return revisions whose waiting reviewer or approver is deactivated or lost the role."""
    revisions = db.session.scalars(
        select(Revision).where(Revision.status.in_([Status.IN_REVIEW,
                                                    Status.AWAITING_APPROVAL]))
        .options(selectinload(Revision.reviews).joinedload(Review.reviewer),
                 selectinload(Revision.approver), selectinload(Revision.document))
        .order_by(Revision.submitted_at, Revision.id)).all()
    stuck = []
    for revision in revisions:
        people = []
        if revision.status == Status.IN_REVIEW:
            people = [r.reviewer for r in _round(revision)
                      if r.decision == "pending" and _cannot_act(r.reviewer, Perm.REVIEW)]
        if _cannot_act(revision.approver, Perm.APPROVE):
            people.append(revision.approver)
        if people:
            stuck.append(Stuck(revision, [p for p in people if p is not None]))
    return stuck


def waiting_on(user: User) -> list[Revision]:
    """Return the revisions in progress that wait for this user as reviewer or approver."""
    reviewing = select(Review.revision_id).join(Revision, Revision.id == Review.revision_id).where(
        Review.reviewer_id == user.id, Review.decision == "pending",
        Review.round == Revision.review_round, Revision.status == Status.IN_REVIEW)
    return list(db.session.scalars(select(Revision).where(or_(
        Revision.id.in_(reviewing),
        (Revision.approver_id == user.id)
        & Revision.status.in_([Status.IN_REVIEW, Status.AWAITING_APPROVAL])))
        .options(selectinload(Revision.document)).order_by(Revision.id)))


# --- actions --------------------------------------------------------------------------------

def discard(actor: User, code: str, number: int, *, reason: str) -> Revision:
    """Discard a draft: kept with its file and audit trail, never in force, number not reused."""
    require(actor, Perm.REGISTER)
    revision = _locked(get_revision(actor, code, number))
    new_status = next_status(revision.status, Action.DISCARD)
    if revision.author_id != actor.id and not orphaned(revision):
        raise Forbidden(_l("Only %(name)s, the author, may discard this draft; another "
                           "secretary may once the author is deactivated or the draft has not "
                           "changed for %(days)s days", name=revision.author.display_name,
                           days=STALE_DAYS))
    reason = _reason(reason, _l("A reason is required to discard a draft"))
    revision.status = new_status   # the file stays in draft_file: evidence, never deleted
    audit.record("draft_discarded", actor, document=revision.document, revision=revision,
                 details={"filename": revision.filename, "sha256": revision.sha256,
                          "size": revision.size, "author": revision.author.username},
                 reason=reason)
    from docctl.services import change_requests  # its requests wait for another draft
    change_requests.on_draft_discarded(revision, actor)
    db.session.commit()
    return revision


def recall(actor: User, code: str, number: int) -> Revision:
    """Take a submission back to draft before any reviewer of this round has decided."""
    require(actor, Perm.REGISTER)
    revision = _locked(get_revision(actor, code, number))
    new_status = next_status(revision.status, Action.RECALL)
    if revision.author_id != actor.id:
        raise Forbidden(_l("Only the author of a submission can recall it"))
    acted = [r for r in _round(revision) if r.decision not in ("pending", "rerouted")]
    if acted:
        raise Conflict(_l("%(names)s already reviewed this revision; it can no longer be "
                          "recalled", names=", ".join(r.reviewer.display_name for r in acted)),
                       reviewers=[r.reviewer.username for r in acted])
    at = now()
    for review in _round(revision):
        if review.decision == "pending":
            review.decision, review.decided_at = "recalled", at
    revision.status = new_status
    audit.record("recalled", actor, document=revision.document, revision=revision,
                 details={"round": revision.review_round})
    db.session.commit()
    return revision


def _routing(revision: Revision) -> dict:
    reviewers = [db.session.get(User, r.reviewer_id).username for r in _round(revision)
                 if r.decision != "rerouted"]
    return {"reviewers": reviewers,
            "approver": revision.approver.username if revision.approver else None}


def reroute(actor: User, code: str, number: int, *, reviewers: list[str] | None = None,
            approver: str | None = None, reason: str) -> Revision:
    """Name other reviewers (those still waiting) and/or another approver, with a reason."""
    require(actor, Perm.REGISTER)
    revision = _locked(get_revision(actor, code, number))
    next_status(revision.status, Action.REROUTE)   # 409 unless in review or awaiting approval
    reason = _reason(reason, _l("A reason is required to re-route a revision"))
    if reviewers in ("", []):
        reviewers = None
    if reviewers is not None and (not isinstance(reviewers, list)
                                  or len(reviewers) > MAX_REVIEWERS):
        raise ValidationError(_l("Name at least one reviewer"), field="reviewers")
    named = []
    for username in dict.fromkeys(str(u) for u in reviewers or []):
        user = named_user(username, Perm.REVIEW, "reviewer")
        if user.id == revision.author_id:
            raise ValidationError(_l("The author cannot review their own revision"),
                                  field="reviewers")
        named.append(user)
    approving = None
    if approver not in (None, ""):
        approving = named_user(str(approver), Perm.APPROVE, "approver")
        if approving.id == revision.author_id:
            raise ValidationError(_l("The author cannot approve their own revision"),
                                  field="approver")
    before = _routing(revision)
    current = {r.reviewer_id: r for r in _round(revision)}
    if named and revision.status == Status.AWAITING_APPROVAL and \
            {u.id for u in named} != {i for i, r in current.items() if r.decision == "accept"}:
        raise Conflict(_l("The review is complete; only the approver can be changed now"),
                       field="reviewers")
    if named and revision.status == Status.IN_REVIEW:
        _replace_reviewers(revision, current, named, reason)
    if approving is not None:
        revision.approver_id = approving.id
        revision.approver = approving
    after = _routing(revision)
    if after == before:
        raise ValidationError(_l("Name other reviewers or another approver"),
                              field="reviewers")
    active = [r for r in _round(revision) if r.decision != "rerouted"]
    if revision.status == Status.IN_REVIEW and all(r.decision == "accept" for r in active):
        # Only those who already accepted are left: the review is complete.
        revision.status = next_status(revision.status, Action.ACCEPT_ALL)
    audit.record("rerouted", actor, document=revision.document, revision=revision,
                 details={"before": before, "after": after, "round": revision.review_round,
                          "status": revision.status}, reason=reason)
    db.session.commit()
    return revision


def _replace_reviewers(revision: Revision, current: dict, named: list[User],
                       reason: str) -> None:
    """Close the waiting reviews of those left out; open reviews for those added."""
    wanted = {u.id for u in named}
    at = now()
    for reviewer_id, review in current.items():
        if review.decision == "pending" and reviewer_id not in wanted:
            review.decision, review.comment, review.decided_at = "rerouted", reason, at
    for user in named:
        review = current.get(user.id)
        if review is None:
            db.session.add(Review(revision=revision, reviewer_id=user.id,
                                  round=revision.review_round))
        elif review.decision == "rerouted":   # named again in the same round: waiting again
            review.decision, review.comment, review.decided_at = "pending", "", None
    db.session.flush()


def return_to_author(actor: User, code: str, number: int, *, comment: str) -> Revision:
    """Let the approver send a revision awaiting them back to its author with a comment."""
    revision = get_revision(actor, code, number)
    if revision.approver_id != actor.id:
        raise Forbidden(_l("You are not the approver of this revision"))
    revision = _locked(revision)
    new_status = next_status(revision.status, Action.RETURN)   # 409 while still in review
    comment = nfc(comment if isinstance(comment, str) else "")[:4000]
    if not comment.strip():
        raise ValidationError(_l("A comment is required to return a revision"),
                              field="comment")
    revision.status = new_status
    # Kept beside the reviewers' comments so the author sees why ("Returned").
    own = next((r for r in _round(revision) if r.reviewer_id == actor.id), None)
    if own is None:
        own = Review(revision=revision, reviewer_id=actor.id, round=revision.review_round)
        db.session.add(own)
    own.decision, own.comment, own.decided_at = "reject", comment, now()
    audit.record("approval_rejected", actor, document=revision.document, revision=revision,
                 reason=comment)
    db.session.commit()
    return revision
