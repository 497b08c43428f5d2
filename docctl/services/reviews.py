"""Route drafts to reviewers and an approver; record their decisions."""

from flask_babel import lazy_gettext as _l

from docctl.domain.lifecycle import Action, Status, next_status
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import nfc
from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.extensions import db
from docctl.models import Review, Revision, User
from docctl.services import audit, signatures
from docctl.services.context import now
from docctl.services.documents import get_revision, require
from docctl.services.users import find_user


def named_user(username: str, perm: Perm, what: str) -> User:
    """Return the active user named to review or approve, or refuse naming them (400)."""
    user = find_user(str(username or ""))
    if user is None or not user.active or not has_perm(user.role, perm):
        raise ValidationError(
            _l("%(name)s cannot be a reviewer", name=f"{username!s:.64}") if what == "reviewer"
            else _l("%(name)s cannot be the approver", name=f"{username!s:.64}"), field=what)
    return user


def submit(actor: User, code: str, number: int, *, reviewers: list[str],
           approver: str, reason: str | None = None) -> Revision:
    """Send a draft to one or more reviewers and one approver."""
    require(actor, Perm.REGISTER)
    revision = get_revision(actor, code, number)
    new_status = next_status(revision.status, Action.SUBMIT)
    if revision.author_id != actor.id:
        raise Forbidden(_l("Only the author of a draft can submit it"))
    if not isinstance(reviewers, list) or not reviewers or len(reviewers) > 20:
        raise ValidationError(_l("Name at least one reviewer"), field="reviewers")
    named = []
    for username in dict.fromkeys(reviewers):
        user = named_user(username, Perm.REVIEW, "reviewer")
        if user.id == revision.author_id:
            raise Forbidden(_l("The author cannot review their own revision"))
        named.append(user)
    approving = named_user(approver, Perm.APPROVE, "approver")
    if approving.id == revision.author_id:
        raise Forbidden(_l("The author cannot approve their own revision"))
    if reason is not None:
        revision.reason = nfc(reason)[:4000]
    if revision.number > 1 and not revision.reason.strip():
        raise ValidationError(_l("A reason for change is required from revision 2 on"),
                              field="reason")
    at = now()
    revision.status = new_status
    revision.review_round += 1
    revision.submitted_at = at
    revision.approver_id = approving.id
    for user in named:
        db.session.add(Review(revision=revision, reviewer_id=user.id,
                              round=revision.review_round))
    db.session.add(signatures.build(actor, revision, "prepared", at, "session"))
    audit.record("submitted", actor, document=revision.document, revision=revision,
                 details={"reviewers": [u.username for u in named],
                          "approver": approving.username, "round": revision.review_round})
    db.session.commit()
    return revision


def review(actor: User, code: str, number: int, *, decision: str, comment: str = "") -> Revision:
    """Record a reviewer's accept or reject; all accepts move it on to approval."""
    revision = get_revision(actor, code, number)
    comment = nfc(comment)[:4000]
    if decision not in ("accept", "reject"):
        raise ValidationError(_l("Decision must be accept or reject"), field="decision")
    if revision.status != Status.IN_REVIEW:
        next_status(revision.status, Action.ACCEPT_ALL)   # raises the 409 with its message
    mine = next((r for r in revision.reviews if r.reviewer_id == actor.id
                 and r.round == revision.review_round), None)
    if mine is None or mine.decision == "rerouted":   # re-routed to someone else
        raise Forbidden(_l("You are not a reviewer of this revision"))
    if mine.decision != "pending":
        raise Conflict(_l("You have already decided on this revision"))
    if decision == "reject" and not comment.strip():
        raise ValidationError(_l("A comment is required to return a revision"),
                              field="comment")
    at = now()
    mine.decision, mine.comment, mine.decided_at = decision, comment, at
    if decision == "reject":
        revision.status = next_status(revision.status, Action.REJECT)
    else:
        db.session.add(signatures.build(actor, revision, "reviewed", at, "session"))
        round_reviews = [r for r in revision.reviews if r.round == revision.review_round]
        # Reviews closed by a re-route no longer count.
        if all(r.decision == "accept" for r in round_reviews if r.decision != "rerouted"):
            revision.status = next_status(revision.status, Action.ACCEPT_ALL)
    audit.record("reviewed", actor, document=revision.document, revision=revision,
                 details={"decision": decision, "round": revision.review_round},
                 reason=comment or None)
    db.session.commit()
    return revision


def return_to_draft(actor: User, code: str, number: int, *, comment: str) -> Revision:
    """Let the approver send a revision awaiting them back to its author with a comment."""
    from docctl.services import workflow

    return workflow.return_to_author(actor, code, number, comment=comment)
