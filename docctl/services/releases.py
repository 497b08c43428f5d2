"""Releases: a set of documents issued, revised and abolished together by one decision.

The secretary assembles a release (reviewed revisions to issue, documents to abolish, the
decision's number, date, signer and one effective date); the approver signs it once; one
commit (services/plans/release.py) puts the whole set in force on its date, or none of it.
"""

from __future__ import annotations

import hashlib
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.decisions import (
    OPEN,
    ItemAction,
    ReleaseStatus,
    normalise_number,
    number_slug,
)
from docctl.domain.formats import PDF_HEADER_WINDOW, PDF_MAGIC
from docctl.domain.lifecycle import Status
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import clean_line
from docctl.errors import (
    Conflict,
    Forbidden,
    InProgress,
    NotFound,
    TooLarge,
    UnsupportedFile,
    ValidationError,
)
from docctl.extensions import db
from docctl.models import Document, Release, ReleaseItem, ReleaseScan, Revision, User
from docctl.services import audit, forms, intents, publishing, release_input, signatures
from docctl.services.context import now, setting, today
from docctl.services.documents import (
    label,
    require,
)
from docctl.store import layout

TITLE_MAX = 300
SIGNER_MAX = 200


# -- reading ------------------------------------------------------------------------------

def can_see_drafts(user: User) -> bool:
    """Tell whether the user may see releases not yet signed."""
    return any(has_perm(user.role, p) for p in (Perm.REGISTER, Perm.APPROVE, Perm.READ_ALL))


def get(user: User, release_id) -> Release:
    """Return a release the user may see; NotFound otherwise (drafts only for the office)."""
    require(user, Perm.READ)
    release = db.session.get(Release, release_id) if isinstance(release_id, int) else None
    if release is None or (release.status in (ReleaseStatus.DRAFT, ReleaseStatus.DISCARDED)
                           and not can_see_drafts(user)):
        raise NotFound(_l("No such decision"))
    return release


def list_releases(user: User, *, status: str | None = None) -> list[Release]:
    """Return the releases the user may see, newest decision first."""
    require(user, Perm.READ)
    query = select(Release).order_by(Release.decision_date.desc(), Release.id.desc())
    if status:
        if status not in ReleaseStatus._value2member_map_:
            raise ValidationError(_l("Unknown status"), field="status")
        query = query.where(Release.status == status)
    if not can_see_drafts(user):
        query = query.where(Release.status.not_in((ReleaseStatus.DRAFT,
                                                   ReleaseStatus.DISCARDED)))
    return list(db.session.scalars(query))


def by_slug(slug: str | None) -> Release | None:
    """Return the signed release with this folder name (4500-QD-UBND), if any."""
    if not slug:
        return None
    return db.session.scalar(select(Release).where(
        Release.slug == slug, Release.status.not_in((ReleaseStatus.DRAFT,
                                                     ReleaseStatus.DISCARDED))))


def find(text: str | None) -> Release | None:
    """Return the signed release named by its number (3494/QĐ-UBND) or folder (3494-QD-UBND)."""
    text = clean_line(text, max_len=80)
    number = normalise_number(text)
    if number is not None:
        text = number_slug(number)
    return by_slug(text)


def register_rows(user: User, decision: str, day: date | None = None) -> list:
    """Return (document, revision) for each document a decision issued, by code.

    With a day, only those whose issued revision was in force that day.
    """
    require(user, Perm.READ)
    release = find(decision)
    if release is None:
        raise NotFound(_l("No decision numbered %(n)s", n=clean_line(decision, max_len=60)))
    rows = sorted(((item.document, item.revision) for item in release.items
                   if item.revision is not None), key=lambda row: row[0].code)
    if day is not None:
        from docctl.services import asof
        rows = [(d, r) for d, r in rows
                if (shown := asof.revision_as_of(user, d.code, day)) is not None
                and shown.id == r.id]
    return rows


def issued_by(revision_ids) -> dict[int, Release]:
    """Return the signed release that issued each of these revisions, by revision id."""
    ids = [i for i in revision_ids if i is not None]
    if not ids:
        return {}
    rows = db.session.execute(select(ReleaseItem.revision_id, Release).join(Release).where(
        ReleaseItem.revision_id.in_(ids),
        Release.status.not_in((ReleaseStatus.DRAFT, ReleaseStatus.DISCARDED)))).all()
    return {revision_id: release for revision_id, release in rows}


def in_force_on(day: date) -> Release | None:
    """Return the latest decision whose set was in force on day (None before any)."""
    return db.session.scalar(select(Release).where(
        Release.status.in_((ReleaseStatus.EFFECTIVE, ReleaseStatus.REPLACED)),
        Release.effective_date <= day)
        .order_by(Release.effective_date.desc(), Release.id.desc()).limit(1))


def replaced_by(release: Release) -> Release | None:
    """Return the signed decision that replaces this one, if any."""
    return db.session.scalar(select(Release).where(
        Release.replaces_id == release.id,
        Release.status.not_in((ReleaseStatus.DRAFT, ReleaseStatus.DISCARDED))).limit(1))


def open_release_of(revision: Revision) -> Release | None:
    """Return the unsigned or not yet effective release that will issue this revision."""
    return db.session.scalar(select(Release).join(ReleaseItem).where(
        ReleaseItem.revision_id == revision.id, Release.status.in_(OPEN)).limit(1))


def candidates(user: User) -> dict:
    """Return what a new release may hold: reviewed revisions and documents in force."""
    require(user, Perm.REGISTER)
    taken = select(ReleaseItem.document_id).join(Release).where(Release.status.in_(OPEN))
    reviewed = db.session.scalars(select(Revision).join(Document).where(
        Revision.status == Status.AWAITING_APPROVAL, Document.id.not_in(taken))
        .order_by(Document.code)).all()
    in_force = db.session.scalars(select(Document).where(
        Document.status == "effective", Document.id.not_in(taken)).order_by(Document.code)).all()
    previous = db.session.scalars(select(Release).where(
        Release.status.in_((ReleaseStatus.EFFECTIVE, ReleaseStatus.APPROVED)))
        .order_by(Release.decision_date.desc())).all()
    return {"reviewed": reviewed, "in_force": in_force, "releases": previous}


# -- assembling (release_input checks what it is made of) ---------------------------------

def create(actor: User, *, title, decision_number, decision_date, signer, effective_date,
           items, replaces=None) -> Release:
    """Assemble a release for the approver to sign; refuse bad input, changing nothing."""
    require(actor, Perm.REGISTER)
    try:
        title = release_input.text_field(title, "title", TITLE_MAX)
        signer = release_input.text_field(signer, "signer", SIGNER_MAX, multiline=True)
        number, key, slug = release_input.decision_number(decision_number)
        decision_day = release_input.date_field(decision_date, "decision_date")
        effective = release_input.date_field(effective_date, "effective_date")
        if effective < today():
            raise ValidationError(_l("The effective date cannot be in the past"),
                                  field="effective_date")
        if effective < decision_day:
            raise ValidationError(_l("The effective date cannot be before the decision's "
                                     "date"), field="effective_date")
        replaced = release_input.replaces(replaces)
        parts = release_input.items(items)
        release = Release(title=title, decision_number=number, decision_key=key, slug=slug,
                          decision_date=decision_day, signer=signer, effective_date=effective,
                          status=ReleaseStatus.DRAFT, replaces=replaced, created_by=actor,
                          created_at=now())
        db.session.add(release)
        for document, revision, action in parts:
            db.session.add(ReleaseItem(release=release, document=document, revision=revision,
                                       action=action))
        db.session.flush()
        problems = forms.release_problems(release)
        if problems:
            raise Conflict(" ".join(problems), field="items", problems=problems)
        audit.record("release_created", actor, object_type="release",
                     object_id=str(release.id),
                     details={"decision": number, "effective_date": effective.isoformat(),
                              "items": [f"{d.code} r{r.number}" if r else f"{d.code} abolish"
                                        for d, r, _a in parts]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return release


def discard(actor: User, release_id: int, *, reason: str) -> Release:
    """Give up an unsigned release; its revisions stay awaiting approval."""
    require(actor, Perm.REGISTER)
    release = get(actor, release_id)
    if release.status != ReleaseStatus.DRAFT:
        raise Conflict(_l("Only a decision not yet signed can be discarded"))
    reason = clean_line(reason, max_len=2000)
    if not reason:
        raise ValidationError(_l("A reason is required to discard a decision"), field="reason")
    release.status = ReleaseStatus.DISCARDED
    # Free the number: the secretary assembles the same decision again, correctly this time.
    release.decision_key = f"{release.decision_key}~{release.id}"
    release.slug = f"{release.slug}~{release.id}"
    audit.record("release_discarded", actor, object_type="release", object_id=str(release.id),
                 details={"decision": release.decision_number}, reason=reason)
    db.session.commit()
    return release


# -- signing and taking effect ------------------------------------------------------------

def _recheck(release: Release) -> None:
    """Refuse to sign a release whose parts changed since it was assembled."""
    for item in release.items:
        if item.action == ItemAction.ISSUE and item.revision.status != Status.AWAITING_APPROVAL:
            raise Conflict(_l("%(code)s r%(n)s is no longer awaiting approval (%(status)s); "
                              "discard this decision and assemble it again",
                              code=item.document.code, n=item.revision.number,
                              status=item.revision.status), field="items")
        if item.action == ItemAction.ABOLISH and item.document.status != "effective":
            raise Conflict(_l("%(code)s is no longer in force", code=item.document.code),
                           field="items")
    problems = forms.release_problems(release)
    if problems:
        raise Conflict(" ".join(problems), field="items", problems=problems)


def approve(actor: User, release_id: int, *, password: str) -> Release:
    """Sign the decision ("issued by decision"): one commit issues the whole set."""
    require(actor, Perm.APPROVE)
    release = publishing.locked_row(get(actor, release_id))
    settled = publishing.settle_pending(release_id=release.id, wait=publishing.IN_PROGRESS_WAIT)
    release = publishing.locked_row(release)
    if any(i.kind == "release" for i in settled):
        return release   # the interrupted signature, finished now
    if release.status != ReleaseStatus.DRAFT:
        raise Conflict(_l("This decision is already signed"))
    if release.created_by_id == actor.id:
        raise Forbidden(_l("The secretary who assembled the decision cannot sign it"))
    if any(item.revision is not None and item.revision.author_id == actor.id
           for item in release.items):
        raise Forbidden(_l("The author cannot approve their own revision"))
    if release.effective_date < today():
        raise Conflict(_l("The effective date of this decision has passed; discard it and "
                          "assemble it again with a new date"), field="effective_date")
    _recheck(release)
    signatures.confirm_password(actor, password)
    # Each revision's bytes are checked against their hash as the commit is built (plan
    # source_files): a mismatch abandons the intent, and nothing is written.
    documents = [item.document for item in release.items]
    # An interrupted change of any of these documents is finished (or abandoned) first.
    if intents.pending_any([d.id for d in documents]):
        for document in documents:
            publishing.settle_pending(document_id=document.id)
    payload = {"signer_id": actor.id, "signed_at": now().isoformat(),
               "effective_date": release.effective_date.isoformat(),
               "takes_effect": release.effective_date <= today(),
               "tag": layout.release_tag(release.slug), "release_id": release.id}
    expected = release.id
    intent = publishing.run(actor, "release", payload, documents=documents, release=release,
                            unchanged=lambda: db.session.get(Release, expected).status
                            == ReleaseStatus.DRAFT)
    return db.session.get(Release, intent.release_id)


def take_effect_due() -> int:
    """Put in force every signed release whose date has come; return how many."""
    due = db.session.scalars(select(Release.id).where(
        Release.status == ReleaseStatus.APPROVED, Release.effective_date <= today())
        .order_by(Release.effective_date, Release.id)).all()
    done = 0
    for release_id in due:
        try:
            publishing.settle_pending(release_id=release_id)
            release = db.session.get(Release, release_id)
            if release.status != ReleaseStatus.APPROVED:
                continue
            publishing.run(None, "release_effective", {"at": now().isoformat()},
                           documents=[item.document for item in release.items],
                           release=release,
                           unchanged=lambda rid=release_id: db.session.get(
                               Release, rid).status == ReleaseStatus.APPROVED)
            done += 1
        except (Conflict, InProgress):
            db.session.rollback()
    return done


# -- the decision as generated, and as signed ---------------------------------------------

def decision_bytes(user: User, release_id: int) -> tuple[bytes, Release]:
    """Return the decision .docx: as committed once signed, else as drafted now."""
    from docctl.services.context import store
    from docctl.services.plans import release as plan

    release = get(user, release_id)
    if release.commit_sha:
        path = f"{layout.release_dir(release.slug)}/{plan.DECISION}"
        return store().read_file(release.commit_sha, path), release
    return plan.decision_docx(release), release


def add_scan(actor: User, release_id: int, *, filename: str, data: bytes) -> ReleaseScan:
    """Keep the signed decision as scanned (PDF) beside the generated one."""
    require(actor, Perm.REGISTER)
    release = get(actor, release_id)
    if release.status == ReleaseStatus.DISCARDED:
        raise Conflict(_l("This decision was discarded"))
    if not data:
        raise ValidationError(_l("The file is empty"), field="file")
    if len(data) > setting("MAX_UPLOAD_MB") * 1024 * 1024:
        raise TooLarge(_l("The file is larger than %(n)s MB", n=setting("MAX_UPLOAD_MB")))
    if PDF_MAGIC not in data[:PDF_HEADER_WINDOW] or not (filename or "").lower().endswith(
            ".pdf"):
        raise UnsupportedFile(_l("The signed decision must be a scanned PDF (.pdf)"))
    if db.session.get(ReleaseScan, release.id) is not None:
        raise Conflict(_l("A signed scan of this decision is already kept"))
    scan = ReleaseScan(release_id=release.id, filename=clean_line(filename, max_len=300),
                       media="pdf", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                       content=data, uploaded_by_id=actor.id, uploaded_at=now())
    db.session.add(scan)
    audit.record("release_scan_added", actor, object_type="release", object_id=str(release.id),
                 details={"filename": scan.filename, "sha256": scan.sha256, "size": scan.size})
    db.session.commit()
    if release.commit_sha:   # signed already: the scan gets its own commit
        publishing.run(actor, "release_scan", {"signer_id": actor.id,
                                               "signed_at": now().isoformat()},
                       documents=[], release=release,
                       unchanged=lambda: db.session.get(ReleaseScan, release.id).commit_sha
                       is None)
    return db.session.get(ReleaseScan, release.id)


def scan_of(user: User, release_id: int) -> tuple[ReleaseScan | None, Release]:
    """Return the signed scan of a decision (None if none was uploaded)."""
    release = get(user, release_id)
    return signed_scan(release), release


def signed_scan(release: Release) -> ReleaseScan | None:
    """Return the signed scan of a release the caller already holds."""
    return db.session.get(ReleaseScan, release.id)


def item_label(item: ReleaseItem) -> str | None:
    """Return the issue label of an item's revision as printed, None for an abolition."""
    return label(item.revision) if item.revision is not None else None


def item_action(item: ReleaseItem) -> str:
    """Return what a release does to a document: "new", "revise" or "abolish"."""
    if item.action == ItemAction.ABOLISH:
        return "abolish"
    earlier = [r for r in item.document.revisions if r.number < item.revision.number
               and r.status in (Status.EFFECTIVE, Status.SUPERSEDED, Status.OBSOLETE)]
    return "revise" if earlier else "new"
