"""Register documents, upload drafts, and read them back under visibility rules."""

import hashlib

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from docctl.domain import numbering
from docctl.domain.lifecycle import CONTROLLED, Status
from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm, can_see_revision, has_perm
from docctl.domain.textfold import (
    clean_code,
    clean_line,
    code_key,
    code_slug,
    is_valid_code,
    nfc,
)
from docctl.errors import (
    Conflict,
    Forbidden,
    IntegrityFailure,
    NotFound,
    StoreError,
    ValidationError,
)
from docctl.extensions import db
from docctl.models import Department, Document, DraftFile, Review, Revision, Signature, User
from docctl.office.printed import read_printed
from docctl.services import audit, numbers, organisation, printed, printed_facts, uploads
from docctl.services.context import now, setting, store, zone
from docctl.store import layout

REGISTER_FIELDS = {"type", "title", "department", "parent", "code", "review_months",
                   "external_source"}


def require(user: User, perm: Perm) -> None:
    """Raise Forbidden unless the user's role grants perm."""
    if not has_perm(user.role, perm):
        raise Forbidden(_l("Your role does not allow this"))


def document_dir(document: Document) -> str:
    """Return the document's folder in repo_store."""
    return layout.document_dir(numbering.PREFIX[DocType(document.doc_type)], document.slug)


def is_participant(user: User, revision: Revision) -> bool:
    """Tell whether the user is routed to review or approve this revision."""
    if revision.approver_id == user.id:
        return True
    return any(r.reviewer_id == user.id and r.round == revision.review_round
               and r.decision != "rerouted" for r in revision.reviews)


def can_see(user: User, revision: Revision) -> bool:
    """Tell whether the user may see this revision."""
    if can_see_without_review(user, revision.status, revision.author_id):
        return True
    return can_see_revision(user.role, revision.status,
                            is_participant=is_participant(user, revision))


def can_see_without_review(user: User, status: str, author_id: int | None) -> bool:
    """Tell whether the user may see a revision without taking part in its review."""
    # Search re-checks its hits with this alone: its statuses have no review to take part in.
    if author_id == user.id and has_perm(user.role, Perm.REGISTER):
        return True
    return can_see_revision(user.role, status, is_participant=False)


def effective_revision(document: Document) -> Revision | None:
    """Return the revision in force, if any."""
    return next((r for r in document.revisions if r.status == Status.EFFECTIVE), None)


def find_by_code(code: str | None) -> Document | None:
    """Return the document a code names in any spelling (qt 01, QT01, qt-01 → QT-01)."""
    key = code_key(code)
    if not key:
        return None
    return db.session.scalar(select(Document).where(Document.code_key == key))


def label(revision: Revision) -> str:
    """Return a revision's issue/amendment label in the organisation's format."""
    return organisation.label(revision.issue, revision.amendment)


def _find_document(code: str) -> Document | None:
    # Load what pages and the API read of every revision in a few queries, not one per row.
    key = code_key(code)
    if not key:
        return None
    revisions = selectinload(Document.revisions)
    return db.session.scalar(select(Document).where(Document.code_key == key)
                             .options(revisions.selectinload(Revision.reviews),
                                      revisions.selectinload(Revision.signatures)
                                      .joinedload(Signature.user),
                                      revisions.joinedload(Revision.author),
                                      revisions.joinedload(Revision.approver)))


def get_document(user: User, code: str) -> Document:
    """Return a document the user may see, or raise NotFound."""
    require(user, Perm.READ)
    document = _find_document(code)
    if document is None or not any(can_see(user, r) for r in document.revisions) and \
            not has_perm(user.role, Perm.READ_ALL):
        raise NotFound(_l("No such document"))
    return document


def get_revision(user: User, code: str, number: int) -> Revision:
    """Return a revision the user may see, or raise NotFound (never 403: no probing)."""
    document = get_document(user, code)
    revision = next((r for r in document.revisions if r.number == number), None)
    if revision is None or not can_see(user, revision):
        raise NotFound(_l("No such revision"))
    return revision


def visible_revisions(user: User, document: Document) -> list[Revision]:
    """Return the document's revisions the user may see, newest first."""
    return [r for r in reversed(document.revisions) if can_see(user, r)]


def list_register(user: User, *, doc_type: str | None = None, department: str | None = None,
                  status: str | None = None, page: int = 1, per_page: int | None = None,
                  review: str | None = None):
    """Return (rows, total) of the register: (document, effective revision or None).

    review: "overdue" (past the periodic review date) or "due" (overdue or due within
    30 days) keeps only documents in force in that state.
    """
    require(user, Perm.READ)
    per_page = per_page or setting("PAGE_SIZE")
    query = select(Document)
    if not has_perm(user.role, Perm.READ_ALL):
        query = query.where(Document.status == "effective")
    elif status:
        query = query.where(Document.status == status)
    if review:
        query = query.where(_review_filter(review))
    if doc_type:
        query = query.where(Document.doc_type == doc_type)
    if department:
        query = query.join(Department).where(Department.code == department)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    type_order = case({t.value: i for i, t in enumerate(DocType)}, value=Document.doc_type,
                      else_=99)
    documents = db.session.scalars(query.order_by(type_order, Document.code)
                                   .options(selectinload(Document.revisions),
                                            selectinload(Document.department))
                                   .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return [(d, effective_revision(d)) for d in documents], total


def _review_filter(review: str):
    """Return the condition of a periodic review filter (issue 11: "overdue" or "due")."""
    from datetime import timedelta

    from docctl.services.context import today
    if review not in ("overdue", "due"):
        raise ValidationError(_l("Unknown review filter: use overdue or due"), field="review")
    limit = today() if review == "overdue" else today() + timedelta(days=31)
    return (Document.status == "effective") & (Document.next_review_date < limit)


def departments() -> list[Department]:
    """Return all departments by name."""
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def propose_code(doc_type: str, parent_code: str | None = None) -> str:
    """Propose the next free code for a type (and parent)."""
    if doc_type not in {t.value for t in DocType}:
        raise ValidationError(_l("Unknown document type"), field="type")
    existing = list(db.session.scalars(select(Document.code).where(
        Document.doc_type == doc_type)))
    parent = find_by_code(parent_code) if parent_code else None
    # The parent as registered (PGL-TT21), not as typed (pgl tt21): the proposal follows it.
    parent_as_written = parent.code if parent is not None else clean_code(parent_code) or None
    return numbering.propose_code(doc_type, existing, parent_as_written,
                                  organisation.code_patterns())


def register_document(actor: User, data: dict) -> Document:
    """Register a new document (no revision yet)."""
    require(actor, Perm.REGISTER)
    unknown = set(data) - REGISTER_FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    doc_type = nfc(data.get("type"))
    if doc_type not in {t.value for t in DocType}:
        raise ValidationError(_l("Unknown document type"), field="type")
    title = clean_line(data.get("title"), max_len=300)
    if not title:
        raise ValidationError(_l("Title is required"), field="title")
    department = db.session.scalar(select(Department).where(
        Department.code == nfc(data.get("department"))))
    if department is None:
        raise ValidationError(_l("Unknown department"), field="department")
    if not department.active:   # kept on its documents, never offered for new ones
        raise ValidationError(_l("This department is deactivated: choose another one"),
                              field="department")
    parent = None
    if data.get("parent"):
        parent = _find_document(str(data["parent"]))
        if parent is None:
            raise ValidationError(_l("Unknown parent document"), field="parent")
        if not numbering.parent_allowed(doc_type, parent.doc_type):
            raise ValidationError(_l("This type cannot belong to that parent"),
                                  field="parent")
    try:
        review_months = int(data.get("review_months") or organisation.default_review_months())
    except (TypeError, ValueError):
        raise ValidationError(_l("Review interval must be a number of months"),
                              field="review_months") from None
    if not 1 <= review_months <= 120:
        raise ValidationError(_l("Review interval must be 1–120 months"),
                              field="review_months")
    source = clean_line(data.get("external_source"), max_len=300) or None
    if doc_type == DocType.EXTERNAL and not source:
        raise ValidationError(_l("An external document needs its source"),
                              field="external_source")
    # Kept as the agency writes it (PGL-TT21-BM02a); matched through its key.
    code = clean_code(data.get("code")) or propose_code(
        doc_type, parent.code if parent else None)
    if not is_valid_code(code):
        raise ValidationError(_l("Code may hold letters, digits, '.', '-' and '_' only"),
                              field="code")
    slug = code_slug(code)
    clash = db.session.scalar(select(Document).where(
        or_(Document.code_key == code_key(code), Document.slug == slug)))
    if clash is not None:
        raise Conflict(_l("Code %(code)s is already used by %(other)s", code=code,
                          other=clash.code), field="code")
    document = Document(code=code, code_key=code_key(code), slug=slug, doc_type=doc_type,
                        title=title,
                        department=department, parent=parent, review_months=review_months,
                        external_source=source, status="new", created_by_id=actor.id,
                        created_at=now())
    db.session.add(document)
    db.session.flush()
    audit.record("document_registered", actor, document=document,
                 details={"code": code, "title": title, "type": doc_type,
                          "department": department.code,
                          "parent": parent.code if parent else None})
    db.session.commit()
    return document


def upload_revision(actor: User, code: str, *, filename: str, data: bytes,
                    reason: str = "", change: str | None = None, issue=None,
                    amendment=None, commit: bool = True) -> Revision:
    """Store an uploaded file as a draft: a new revision, or new content for a draft.

    commit=False leaves the unit of work open for a caller that adds to it (a change request
    accepted with the draft it opens).
    """
    require(actor, Perm.REGISTER)
    document = get_document(actor, code)
    if document.status == "obsolete":
        raise Conflict(_l("This document has been withdrawn"))
    chosen = numbers.change(change)
    # Raises TooLarge / UnsupportedFile before anything is stored.
    info = uploads.read_upload(document.doc_type, filename, data)
    data, name = info.data, info.filename
    reason = nfc(reason)[:4000]
    _hold(document)   # one open draft per document, even when two secretaries click at once
    latest = document.revisions[-1] if document.revisions else None
    if latest is not None and latest.status in (Status.IN_REVIEW, Status.AWAITING_APPROVAL):
        raise Conflict(_l("A revision is under review; wait for its outcome"))
    draft = latest if latest is not None and latest.status == Status.DRAFT else None
    if draft is not None and draft.author_id != actor.id:
        raise Conflict(_l("%(name)s holds the open draft of this document (since %(when)s); "
                          "it must be submitted or discarded first",
                          name=draft.author.display_name,
                          when=draft.created_at.astimezone(zone()).strftime("%d/%m/%Y %H:%M")),
                       holder=draft.author.username, since=draft.created_at.isoformat())
    shown = read_printed(info.media, info.data, info.text)
    new_issue, new_amendment = numbers.for_upload(document, draft, chosen, issue, amendment,
                                                  shown)
    warnings = printed.check(shown, code=document.code, issue=new_issue,
                             amendment=new_amendment, effective_date=None)
    printed_json = printed_facts.stored_json(shown, warnings, info.notices)
    if draft is not None:
        revision = draft
        revision.filename, revision.size, revision.sha256 = name, info.size, info.sha256
        revision.text = info.text
        revision.media, revision.original_name = info.media, info.original_name
        revision.reason = reason or revision.reason
        draft_file = db.session.get(DraftFile, revision.id)
        draft_file.content, draft_file.original = data, info.original
        action = "draft_replaced"
    else:
        # After a discarded draft too: revision numbers are never reused.
        number = (latest.number + 1) if latest else 1
        revision = Revision(document=document, number=number, status=Status.DRAFT,
                            reason=reason, filename=name, size=info.size, sha256=info.sha256,
                            text=info.text, media=info.media,
                            original_name=info.original_name, author_id=actor.id,
                            created_at=now())
        db.session.add(revision)
        db.session.flush()
        db.session.add(DraftFile(revision_id=revision.id, content=data,
                                 original=info.original))
        action = "draft_uploaded"
    revision.issue, revision.amendment, revision.printed = new_issue, new_amendment, printed_json
    audit.record(action, actor, document=document, revision=revision,
                 details={"filename": name, "sha256": info.sha256, "size": info.size,
                          "issue": new_issue, "amendment": new_amendment,
                          "label": organisation.label(new_issue, new_amendment),
                          "change": chosen.value if chosen else None,
                          "warnings": [str(w) for w in warnings],
                          "notices": [str(n) for n in info.notices]})
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return revision


def _hold(document: Document) -> None:
    """Lock the document's row and re-read its revisions (another request may have added one).

    SQLite's write transaction (BEGIN IMMEDIATE) already serialises writers; PostgreSQL needs
    the row lock. Different documents never wait for each other.
    """
    db.session.execute(select(Document.id).where(Document.id == document.id)
                       .with_for_update())
    for revision in list(document.revisions):
        db.session.expire(revision)
    db.session.expire(document, ["revisions"])


def revision_bytes(revision: Revision) -> bytes:
    """Return the revision's exact bytes (git once controlled), checking their hash."""
    if revision.status in CONTROLLED and revision.commit_sha:
        try:
            data = store().read_file(revision.commit_sha,
                                     f"{document_dir(revision.document)}/"
                                     f"{layout.source_name(revision.media)}")
        except StoreError:
            # Git older than the database (a mismatched restore): say so, never a 500.
            raise IntegrityFailure(_l("The file of this revision is missing from the "
                                      "document store; an administrator must run docctl "
                                      "verify")) from None
    else:
        draft = db.session.get(DraftFile, revision.id)
        if draft is None:
            raise NotFound(_l("The file of this revision is missing"))
        data = draft.content
    if hashlib.sha256(data).hexdigest() != revision.sha256:
        raise IntegrityFailure(_l("The stored file does not match its recorded SHA-256; "
                                  "the download is refused and the incident recorded"))
    return data


def original_bytes(revision: Revision) -> bytes | None:
    """Return the legacy .doc a revision was converted from, if any (git once controlled)."""
    if not revision.original_name:
        return None
    if revision.status in CONTROLLED and revision.commit_sha:
        try:
            return store().read_file(revision.commit_sha,
                                     f"{document_dir(revision.document)}/{layout.ORIGINAL_DOC}")
        except StoreError:
            raise IntegrityFailure(_l("The file of this revision is missing from the "
                                      "document store; an administrator must run docctl "
                                      "verify")) from None
    draft = db.session.get(DraftFile, revision.id)
    return draft.original if draft is not None else None


def download(user: User, code: str, number: int) -> tuple[bytes, Revision]:
    """Return a revision's bytes for a user who may see it, and record the download."""
    revision = get_revision(user, code, number)
    try:
        data = revision_bytes(revision)
    except IntegrityFailure:
        db.session.rollback()
        audit.record("integrity_alert", user, document=revision.document, revision=revision,
                     details={"expected_sha256": revision.sha256})
        db.session.commit()
        raise
    audit.record_reading("download", user, document=revision.document, revision=revision,
                         details={"kind": "original", "status": revision.status})
    return data, revision


def my_tasks(user: User) -> dict:
    """Return the reviews, approvals and drafts waiting for the user."""
    reviews = db.session.scalars(
        select(Revision).join(Review, Review.revision_id == Revision.id).where(
            Review.reviewer_id == user.id, Review.decision == "pending",
            Review.round == Revision.review_round, Revision.status == Status.IN_REVIEW)).all()
    approvals = db.session.scalars(select(Revision).where(
        Revision.approver_id == user.id, Revision.status == Status.AWAITING_APPROVAL)).all()
    drafts = db.session.scalars(select(Revision).where(
        Revision.author_id == user.id,
        Revision.status.in_([Status.DRAFT, Status.IN_REVIEW, Status.AWAITING_APPROVAL,
                             Status.APPROVED]))
        # The page says who returned a draft and why: its reviews, in one query.
        .options(selectinload(Revision.reviews).joinedload(Review.reviewer))).all()
    return {"reviews": reviews, "approvals": approvals, "drafts": drafts}


def record_view(user: User, document: Document, revision: Revision | None) -> None:
    """Record that a user opened a document page (access history)."""
    audit.record_reading("viewed", user, document=document, revision=revision)
