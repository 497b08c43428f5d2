"""Change requests (Phiếu đề nghị sửa đổi tài liệu): ask, accept with a draft, decline, done.

Who may do what (issue 11, item 3):
- submit: anyone signed in who can read the document and works with documents (not the
  auditor, who only reads), against the revision in force.
- accept / decline: the ISO secretary (Perm.REGISTER), only while the request is open.
- see: the requester; anyone who can read the document; READ_ALL roles see every request.
The request follows its draft: done when the draft takes effect (on_effective), open again
when the draft is discarded (on_draft_discarded).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from docctl.domain.lifecycle import IN_PROGRESS, NO_LONGER_CURRENT, Status
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import has_control_chars, nfc
from docctl.errors import Conflict, DocctlError, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import AuditEvent, ChangeRequest, Document, Revision, User
from docctl.services import audit, documents, drafts, publishing
from docctl.services import change_request_files as files
from docctl.services.change_request_files import Attachment, check_attachment
from docctl.services.context import now
from docctl.services.copies import Download
from docctl.services.users import find_user

REASON_MAX = 4000
# The requester's home page shows a decided request for this long: the outcome is told.
RECENT_DAYS = 30
OBJECT_TYPE = "change_request"


class RequestStatus(StrEnum):
    """Where a change request stands."""

    OPEN = "open"            # waiting for the secretary
    ACCEPTED = "accepted"    # a draft carries it out
    DECLINED = "declined"    # the secretary said no, with a reason
    DONE = "done"            # the revision that carries it out took effect


# --- reading --------------------------------------------------------------------------------

def _sees_all(user: User) -> bool:
    return has_perm(user.role, Perm.READ_ALL)


def _visible(user: User):
    """Return the filter of the requests a user may see (None: all of them)."""
    if _sees_all(user):
        return None
    # Staff read documents in force: theirs, and requests on what they can read.
    readable = select(Document.id).where(Document.status == "effective")
    return or_(ChangeRequest.requester_id == user.id,
               ChangeRequest.document_id.in_(readable))


def may_see(user: User, request: ChangeRequest) -> bool:
    """Tell whether the user may see this request."""
    return (_sees_all(user) or request.requester_id == user.id
            or request.document.status == "effective")


def get(actor: User, request_id) -> ChangeRequest:
    """Return a request the actor may see, or raise NotFound (never 403: no probing)."""
    documents.require(actor, Perm.READ)
    try:
        key = int(request_id)
    except (TypeError, ValueError):
        key = None
    request = db.session.get(ChangeRequest, key) if key is not None else None
    if request is None or not may_see(actor, request):
        raise NotFound(_l("No such change request"))
    return request


def _status(value) -> str | None:
    if value in (None, ""):
        return None
    if value not in {s.value for s in RequestStatus}:
        raise ValidationError(_l("Unknown status of a change request: choose open, accepted, "
                                 "declined or done"), field="status")
    return str(value)


def list_requests(actor: User, *, status=None, document=None, requester=None,
                  limit: int | None = None) -> list[ChangeRequest]:
    """Return the requests the actor may see, newest first, filtered."""
    documents.require(actor, Perm.READ)
    query = select(ChangeRequest).options(joinedload(ChangeRequest.document),
                                          joinedload(ChangeRequest.requester),
                                          joinedload(ChangeRequest.decided_by),
                                          joinedload(ChangeRequest.revision))
    visible = _visible(actor)
    if visible is not None:
        query = query.where(visible)
    chosen = _status(status)
    if chosen:
        query = query.where(ChangeRequest.status == chosen)
    if document not in (None, ""):
        found = documents.find_by_code(str(document))
        query = query.where(ChangeRequest.document_id == (found.id if found else -1))
    if requester not in (None, ""):
        person = find_user(str(requester))
        query = query.where(ChangeRequest.requester_id == (person.id if person else -1))
    query = query.order_by(ChangeRequest.id.desc())
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query).unique())


def count_open() -> int:
    """Return how many requests wait for the secretary."""
    return db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        ChangeRequest.status == RequestStatus.OPEN))


def for_requester(user: User) -> list[ChangeRequest]:
    """Return the user's own requests still waiting, or decided in the last RECENT_DAYS days."""
    since = now() - timedelta(days=RECENT_DAYS)
    return list(db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.requester_id == user.id,
        or_(ChangeRequest.status.in_([RequestStatus.OPEN, RequestStatus.ACCEPTED]),
            ChangeRequest.decided_at >= since))
        .options(joinedload(ChangeRequest.document), joinedload(ChangeRequest.revision))
        .order_by(ChangeRequest.id.desc())))


def for_revision(revision: Revision) -> list[ChangeRequest]:
    """Return the requests a revision carries out, oldest first."""
    return list(db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.revision_id == revision.id).order_by(ChangeRequest.id)))


def history(request: ChangeRequest) -> list[AuditEvent]:
    """Return what happened to a request, from the audit trail, oldest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == OBJECT_TYPE, AuditEvent.object_id == str(request.id))
        .order_by(AuditEvent.seq)))


def attachment(actor: User, request_id) -> tuple[ChangeRequest, bytes]:
    """Return a request's attachment for one who may see the request; record the reading."""
    request = get(actor, request_id)
    if not request.attachment_name:
        raise NotFound(_l("This change request has no attachment"))
    data = request.attachment   # deferred: loaded before the reading is recorded
    audit.record_reading("change_request_attachment_read", actor, object_type=OBJECT_TYPE,
                         object_id=str(request.id), document=request.document,
                         details={"filename": request.attachment_name,
                                  "sha256": request.attachment_sha256})
    return request, data


# --- actions --------------------------------------------------------------------------------

def _text(value, message, field: str = "reason") -> str:
    text = nfc(value if isinstance(value, str) else "")
    text = "".join(ch for ch in text if ch in "\n\t" or not has_control_chars(ch)).strip()
    if not text:
        raise ValidationError(message, field=field)
    if len(text) > REASON_MAX:
        raise ValidationError(_l("The reason is too long: at most %(n)s characters",
                                 n=REASON_MAX), field=field)
    return text


def _in_force(actor: User, document: Document, revision_number) -> Revision:
    """Return the revision in force a request is made against; refuse anything else."""
    if document.status == "obsolete":
        raise Conflict(_l("%(code)s has been withdrawn: a change can only be requested to a "
                          "document in force", code=document.code), field="code")
    current = documents.effective_revision(document)
    if current is None:
        raise Conflict(_l("%(code)s has no revision in force yet: a change can only be "
                          "requested to a document in force", code=document.code),
                       field="code")
    if revision_number in (None, ""):
        return current
    try:
        number = int(revision_number)
    except (TypeError, ValueError):
        raise ValidationError(_l("revision must be a revision number"),
                              field="revision") from None
    if number == current.number:
        return current
    named = next((r for r in document.revisions if r.number == number), None)
    # A superseded revision may be named by anyone holding an old copy; drafts stay hidden.
    if named is None or not (named.status in NO_LONGER_CURRENT
                             or documents.can_see(actor, named)):
        raise ValidationError(_l("%(code)s has no revision %(n)s", code=document.code,
                                 n=number), field="revision")
    raise Conflict(_l("Revision %(label)s of %(code)s is not in force; the revision in force "
                      "is %(current)s. Request the change against it.",
                      label=documents.label(named), code=document.code,
                      current=documents.label(current)), field="revision")


def submit(actor: User, code: str, *, reason, attachment: tuple[str, bytes] | None = None,
           revision=None) -> ChangeRequest:
    """Record a request to change a document in force, with a reason and an optional file.

    revision: the number the requester was reading; refused unless it is the one in force.
    """
    documents.require(actor, Perm.REQUEST_CHANGE)   # auditors read, they do not ask
    document = documents.get_document(actor, code)
    current = _in_force(actor, document, revision)
    text = _text(reason, _l("Say why the document must change: a reason is required"))
    file: Attachment | None = check_attachment(*attachment) if attachment else None
    request = ChangeRequest(document=document, revision_number=current.number,
                            requester_id=actor.id, reason=text,
                            status=RequestStatus.OPEN, created_at=now())
    if file is not None:
        request.attachment_name, request.attachment_sha256 = file.name, file.sha256
        request.attachment = file.data
    db.session.add(request)
    db.session.flush()
    audit.record("change_request_submitted", actor, object_type=OBJECT_TYPE,
                 object_id=str(request.id), document=document,
                 details={"request": request.id, "revision": current.number,
                          "label": documents.label(current),
                          "attachment": file.name if file else None,
                          "sha256": file.sha256 if file else None}, reason=text)
    db.session.commit()
    return request


def _locked(actor: User, request_id) -> ChangeRequest:
    """Hold the request's row and re-read it (two clicks, one outcome)."""
    documents.require(actor, Perm.REGISTER)
    request = publishing.locked_row(get(actor, request_id))
    if request.status != RequestStatus.OPEN:
        raise Conflict(_l("Change request no. %(id)s is already %(status)s; only an open "
                          "request can be accepted or declined", id=request.id,
                          status=STATUS_NAMES[request.status]), status=request.status)
    return request


def _open_change(actor: User, request: ChangeRequest) -> tuple[Revision, bool]:
    """Return the draft that carries the request out, opening one when none is open."""
    document = request.document
    # Hold the document as uploads do, so two accepts at once find one draft, not two.
    db.session.execute(select(Document.id).where(Document.id == document.id)
                       .with_for_update())
    db.session.expire(document, ["revisions"])
    _in_force(actor, document, None)
    latest = next((r for r in reversed(document.revisions)
                   if r.status not in (Status.DISCARDED,)), None)
    if latest is not None and latest.status in IN_PROGRESS:
        return latest, False   # one open draft per document: the request joins it
    if latest is not None and latest.status == Status.APPROVED:
        raise Conflict(_l("Revision %(label)s of %(code)s is approved and takes effect on "
                          "%(date)s; accept this request once it is in force",
                          label=documents.label(latest), code=document.code,
                          date=latest.effective_date.strftime("%d/%m/%Y")
                          if latest.effective_date else "—"))
    reason = _l("Change request no. %(id)s: %(reason)s", id=request.id, reason=request.reason)
    return drafts.open_from_current(actor, document, reason=str(reason)[:REASON_MAX],
                                    commit=False), True


def accept(actor: User, request_id) -> ChangeRequest:
    """Accept an open request: open a draft for it (or join the open one) in one step."""
    request = _locked(actor, request_id)
    try:
        revision, opened = _open_change(actor, request)
        request.status = RequestStatus.ACCEPTED
        request.decided_by_id, request.decided_at = actor.id, now()
        request.revision_id = revision.id
        audit.record("change_request_accepted", actor, object_type=OBJECT_TYPE,
                     object_id=str(request.id), document=request.document,
                     details={"request": request.id, "revision": revision.number,
                              "label": documents.label(revision), "opened": opened})
        db.session.commit()
    except DocctlError:
        db.session.rollback()
        raise
    return request


def decline(actor: User, request_id, *, reason) -> ChangeRequest:
    """Decline an open request, saying why."""
    request = _locked(actor, request_id)
    text = _text(reason, _l("Say why the request is declined: a reason is required"))
    request.status = RequestStatus.DECLINED
    request.decided_by_id, request.decided_at = actor.id, now()
    request.decision_reason = text
    audit.record("change_request_declined", actor, object_type=OBJECT_TYPE,
                 object_id=str(request.id), document=request.document,
                 details={"request": request.id}, reason=text)
    db.session.commit()
    return request


# --- hooks: called inside another unit of work, which commits -------------------------------

def on_effective(revision: Revision, actor: User | None = None) -> None:
    """Mark done the requests a revision carries out, now that it is in force."""
    for request in for_revision(revision):
        if request.status != RequestStatus.ACCEPTED:
            continue
        request.status = RequestStatus.DONE
        audit.record("change_request_done", actor, object_type=OBJECT_TYPE,
                     object_id=str(request.id), document=revision.document,
                     details={"request": request.id, "revision": revision.number,
                              "label": documents.label(revision)})


def on_draft_discarded(revision: Revision, actor: User | None = None) -> None:
    """Open again the requests a discarded draft was carrying out."""
    for request in for_revision(revision):
        if request.status != RequestStatus.ACCEPTED:
            continue
        request.status = RequestStatus.OPEN
        request.revision_id = None
        request.decided_by_id, request.decided_at = None, None
        audit.record("change_request_reopened", actor, object_type=OBJECT_TYPE,
                     object_id=str(request.id), document=revision.document,
                     details={"request": request.id, "revision": revision.number,
                              "label": documents.label(revision),
                              "why": "draft_discarded"})


# "Request no. 5 is already …": their own context, apart from the same English words.
STATUS_NAMES = {
    RequestStatus.OPEN: lazy_pgettext("change request", "open"),
    RequestStatus.ACCEPTED: lazy_pgettext("change request", "accepted"),
    RequestStatus.DECLINED: lazy_pgettext("change request", "declined"),
    RequestStatus.DONE: lazy_pgettext("change request", "done"),
}


def export(actor: User, fmt: str, **filters) -> Download:
    """Return the requests the actor may see, filtered, as CSV or .xlsx; record the export."""
    rows = list_requests(actor, **filters)
    download = files.export(rows, fmt, STATUS_NAMES)
    audit.record_reading("change_requests_exported", actor, object_type=OBJECT_TYPE,
                         details={"format": fmt, "filters": {k: v for k, v in filters.items()
                                                             if v},
                                  "rows": len(rows), "filename": download.filename,
                                  "sha256": hashlib.sha256(download.data).hexdigest()})
    return download
