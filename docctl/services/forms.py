"""Forms that move with their procedure: which form revisions a procedure revision uses.

A procedure (or instruction) revision lists its forms at their revisions in RevisionForm.
A revision that was never given a list (no rows and no "forms_set" audit event) uses the list
of the controlled revision before it — so a new draft starts from the forms in force, each
kept — and a document's first revision without a list uses the forms registered under it
(Document.parent), at their revision in force: the documents registered before forms were
listed keep showing the forms they always showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from docctl.domain.lifecycle import CONTROLLED, IN_PROGRESS, Status
from docctl.domain.numbering import DocType, revision_label
from docctl.domain.permissions import Perm
from docctl.errors import Conflict, ValidationError
from docctl.extensions import db
from docctl.models import AuditEvent, Document, Release, ReleaseItem, Revision, RevisionForm, User
from docctl.services import audit, documents
from docctl.services.asof import in_force_query
from docctl.services.context import today

# Documents that list forms; forms hang under these (domain/numbering.PARENT_TYPES).
OWNER_TYPES = frozenset({DocType.PROCEDURE.value, DocType.INSTRUCTION.value})
# A listed form revision must still be able to be in force with the procedure.
LISTABLE = frozenset({Status.EFFECTIVE, Status.APPROVED}) | IN_PROGRESS
# Releases whose abolish items are still to come.
OPEN_RELEASES = ("draft", "approved")
ITEM_FIELDS = {"code", "revision", "label"}


class FormChoiceError(ValidationError):
    """A listed form is not one the procedure can use."""

    status = 422


@dataclass(frozen=True)
class Choice:
    """One form the secretary decides on for a procedure draft."""

    form: Document
    current: Revision | None      # the form's revision in force
    newer: Revision | None        # a later revision in the pipeline or approved
    listed: int | None            # the form revision the draft lists, None = not listed
    choice: str                   # keep, revise or abolish
    abolish_planned: bool         # withdrawn, or an abolish item of a release to come


def _predecessor(revision: Revision) -> Revision | None:
    """Return the latest controlled revision of the same document before this one."""
    return db.session.scalar(
        select(Revision).where(Revision.document_id == revision.document_id,
                               Revision.number < revision.number,
                               Revision.status.in_([str(s) for s in CONTROLLED]))
        .order_by(Revision.number.desc()).limit(1))


def was_set(revision: Revision) -> bool:
    """Tell whether someone saved this revision's list (perhaps empty)."""
    return bool(db.session.scalar(select(exists().where(
        AuditEvent.action == "forms_set", AuditEvent.document_code == revision.document.code,
        AuditEvent.revision_number == revision.number))))


def _children_listing(document: Document) -> list[tuple[int, int]]:
    """Return the forms registered under a document with their revision in force."""
    listing = []
    for child in document.children:
        if child.doc_type != DocType.FORM or child.status == "obsolete":
            continue
        current = documents.effective_revision(child) or next(
            (r for r in reversed(child.revisions) if r.status == Status.APPROVED), None)
        if current is not None:
            listing.append((child.id, current.number))
    return listing


def listing(revision: Revision) -> list[tuple[int, int]]:
    """Return (form id, form revision number) pairs a revision lists, inherited if unset."""
    if revision.document.doc_type not in OWNER_TYPES:
        return []
    while True:
        rows = db.session.execute(
            select(RevisionForm.form_id, RevisionForm.form_revision)
            .where(RevisionForm.revision_id == revision.id)).all()
        if rows or was_set(revision):
            return [(form_id, number) for form_id, number in rows]
        previous = _predecessor(revision)
        if previous is None:
            return _children_listing(revision.document)
        revision = previous


def _revision_of(form: Document, number: int) -> Revision | None:
    return next((r for r in form.revisions if r.number == number), None)


def _label(form: Document, number: int) -> str:
    revision = _revision_of(form, number)
    return documents.label(revision) if revision is not None else revision_label(number)


def forms_of(revision: Revision) -> list[tuple[Document, int, str]]:
    """Return (form document, revision number, label) for each form a revision lists."""
    pairs = listing(revision)
    forms = {d.id: d for d in db.session.scalars(
        select(Document).where(Document.id.in_([f for f, _n in pairs])))} if pairs else {}
    rows = [(forms[f], n, _label(forms[f], n)) for f, n in pairs if f in forms]
    return sorted(rows, key=lambda row: row[0].code)


def _in_force(form_ids, day: date) -> list[tuple[Document, Revision]]:
    """Return the given forms with their revision in force on day, withdrawn ones left out."""
    if not form_ids:
        return []
    ids = list(form_ids)
    rows = db.session.execute(in_force_query(day, ids).where(Document.id.in_(ids)))
    return sorted(((d, r) for d, r in rows), key=lambda row: row[0].code)


def _revision_in_force(document: Document, day: date) -> Revision | None:
    row = db.session.execute(in_force_query(day, [document.id])
                             .where(Document.id == document.id)).first()
    return row[1] if row else None


def in_force_with(document: Document, day: date | None = None) -> list[tuple[Document, Revision]]:
    """Return what is in force with a document on day (today by default).

    For a procedure: its forms, each at the form's revision in force that day, as listed by
    the procedure revision in force that day. For a form: the procedures it is in force with,
    each at its revision in force.
    """
    day = day or today()
    if document.doc_type == DocType.FORM:
        return _owners(document, day)
    if document.doc_type not in OWNER_TYPES:
        return []
    revision = _revision_in_force(document, day)
    if revision is None:
        return []
    return _in_force([form_id for form_id, _n in listing(revision)], day)


def in_force_with_many(rows, day: date | None = None) -> dict[int, list]:
    """Return, by document id, the forms in force with each procedure row on day.

    rows: (document, revision in force that day) pairs, as a register page holds them. The
    same answer as in_force_with for each, in a few statements for the page instead of a
    few per procedure (bench/asof_bench.py).
    """
    day = day or today()
    owners = [(d, r) for d, r in rows if r is not None and d.doc_type in OWNER_TYPES]
    if not owners:
        return {}
    listed = _listings([d for d, _r in owners])
    by_owner = {d.id: listed(d, r.id, r.number) for d, r in owners}
    in_force = {form.id: (form, revision) for form, revision in
                _in_force({f for ids in by_owner.values() for f in ids}, day)}
    return {owner: sorted((in_force[f] for f in ids if f in in_force),
                          key=lambda row: row[0].code)
            for owner, ids in by_owner.items()}


def _listings(owners: list[Document]):
    """Return listing() for revisions of these documents, read in five statements in all."""
    ids = [d.id for d in owners]
    controlled = db.session.execute(
        select(Revision.id, Revision.document_id, Revision.number)
        .where(Revision.document_id.in_(ids), Revision.status.in_([str(s) for s in CONTROLLED]))
        .order_by(Revision.document_id, Revision.number)).all()
    earlier: dict[int, list[tuple[int, int]]] = {}
    for revision_id, document_id, number in controlled:
        earlier.setdefault(document_id, []).append((number, revision_id))
    rows: dict[int, list[int]] = {}
    for revision_id, form_id in db.session.execute(
            select(RevisionForm.revision_id, RevisionForm.form_id)
            .join(Revision, Revision.id == RevisionForm.revision_id)
            .where(Revision.document_id.in_(ids))):
        rows.setdefault(revision_id, []).append(form_id)
    was_set_pairs = set(db.session.execute(
        select(AuditEvent.document_code, AuditEvent.revision_number)
        .where(AuditEvent.action == "forms_set",
               AuditEvent.document_code.in_([d.code for d in owners]))).all())
    children: dict[int, list[int]] = {}
    child_rows = db.session.execute(
        select(Document.id, Document.parent_id, Revision.number, Revision.status)
        .join(Revision, Revision.document_id == Document.id)
        .where(Document.parent_id.in_(ids), Document.doc_type == DocType.FORM,
               Document.status != "obsolete",
               Revision.status.in_([str(Status.EFFECTIVE), str(Status.APPROVED)]))).all()
    for form_id, parent_id, _number, _status in sorted(child_rows):
        if form_id not in children.setdefault(parent_id, []):
            children[parent_id].append(form_id)

    def listed(document: Document, revision_id: int, number: int) -> list[int]:
        # As listing(): the revision's own list, an empty list someone saved, the list of the
        # controlled revision before it, and at the start the forms registered under it.
        while True:
            if revision_id in rows:
                return rows[revision_id]
            if (document.code, number) in was_set_pairs:
                return []
            before = [(n, r) for n, r in earlier.get(document.id, []) if n < number]
            if not before:
                return children.get(document.id, [])
            number, revision_id = before[-1]
    return listed


def _owners(form: Document, day: date) -> list[tuple[Document, Revision]]:
    candidates = set(db.session.scalars(
        select(Revision.document_id).join(RevisionForm, RevisionForm.revision_id == Revision.id)
        .where(RevisionForm.form_id == form.id)))
    if form.parent_id is not None:
        candidates.add(form.parent_id)
    owners = []
    for document in db.session.scalars(select(Document).where(Document.id.in_(candidates))):
        revision = _revision_in_force(document, day)
        if revision is not None and any(f == form.id for f, _n in listing(revision)) \
                and _in_force([form.id], day):
            owners.append((document, revision))
    return sorted(owners, key=lambda row: row[0].code)


def _clean_items(document: Document, items) -> list[tuple[Document, Revision]]:
    """Return the (form, form revision) pairs items name, or raise naming the first problem."""
    if not isinstance(items, list):
        raise ValidationError(_l("Give the forms as a list of {\"code\", \"revision\"}"),
                              field="forms")
    chosen: list[tuple[Document, Revision]] = []
    for item in items:
        if not isinstance(item, dict) or set(item) - ITEM_FIELDS or not item.get("code") \
                or isinstance(item.get("revision"), bool) \
                or not isinstance(item.get("revision"), int):
            raise ValidationError(_l("Each form needs a code and a revision number"),
                                  field="forms")
        code, number = str(item["code"]), item["revision"]
        form = documents.find_by_code(code)
        if form is None:
            raise FormChoiceError(_l("No document has the code %(code)s", code=code),
                                  field="forms")
        if form.doc_type != DocType.FORM:
            raise FormChoiceError(_l("%(code)s is not a form", code=form.code), field="forms")
        if any(f.id == form.id for f, _r in chosen):
            raise FormChoiceError(_l("%(code)s is listed twice", code=form.code), field="forms")
        revision = _revision_of(form, number)
        if revision is None:
            raise FormChoiceError(_l("%(code)s has no revision %(n)s", code=form.code,
                                     n=number), field="forms")
        if revision.status not in LISTABLE or form.status == "obsolete":
            raise FormChoiceError(_l("%(code)s revision %(label)s is no longer in force: list "
                                     "the revision in force or a newer one", code=form.code,
                                     label=documents.label(revision)), field="forms")
        chosen.append((form, revision))
    return chosen


def set_forms(actor: User, code: str, number: int, items) -> list[tuple[Document, int, str]]:
    """Save the forms a procedure draft lists, each at a revision; return them."""
    documents.require(actor, Perm.REGISTER)
    revision = documents.get_revision(actor, code, number)
    document = revision.document
    if document.doc_type not in OWNER_TYPES:
        raise ValidationError(_l("Only procedures and instructions list forms"), field="code")
    # Hold the row: a submission or approval racing this change sees the list before or after.
    db.session.execute(select(Revision.id).where(Revision.id == revision.id).with_for_update())
    db.session.refresh(revision)
    if revision.status not in IN_PROGRESS:
        raise Conflict(_l("Revision %(label)s of %(code)s is controlled: its forms can no "
                          "longer change", label=documents.label(revision),
                          code=document.code), status=revision.status)
    chosen = _clean_items(document, items)
    before = [{"code": f.code, "revision": n} for f, n, _label in forms_of(revision)]
    db.session.query(RevisionForm).filter(RevisionForm.revision_id == revision.id).delete()
    for form, form_revision in chosen:
        db.session.add(RevisionForm(revision_id=revision.id, form_id=form.id,
                                    form_revision=form_revision.number))
    db.session.flush()
    audit.record("forms_set", actor, document=document, revision=revision,
                 details={"before": before,
                          "forms": [{"code": f.code, "revision": r.number} for f, r in chosen]})
    db.session.commit()
    return forms_of(revision)


def _abolish_planned(form: Document) -> bool:
    """Tell whether a form is withdrawn or an abolish item of a release still to come."""
    if form.status == "obsolete":
        return True
    return bool(db.session.scalar(select(exists().where(
        ReleaseItem.document_id == form.id, ReleaseItem.action == "abolish",
        ReleaseItem.release_id == Release.id, Release.status.in_(OPEN_RELEASES)))))


def _newer(form: Document, current: Revision | None) -> Revision | None:
    floor = current.number if current is not None else 0
    return next((r for r in reversed(form.revisions) if r.number > floor
                 and r.status in LISTABLE), None)


def choices(revision: Revision) -> list[Choice]:
    """Return each form the secretary decides on for a procedure revision, with the choice."""
    document = revision.document
    if document.doc_type not in OWNER_TYPES:
        return []
    listed = dict(listing(revision))
    ids = {f.id for f, _r in in_force_with(document)} | set(listed)
    ids |= {c.id for c in document.children if c.doc_type == DocType.FORM
            and c.status != "obsolete"}
    result = []
    for form in db.session.scalars(select(Document).where(Document.id.in_(ids))
                                   .order_by(Document.code)):
        current = documents.effective_revision(form)
        newer = _newer(form, current)
        number = listed.get(form.id)
        if number is None:
            choice = "abolish"
        elif current is None or number > current.number:
            choice = "revise"
        else:
            choice = "keep"
        if current is None and newer is None and number is None:
            continue   # a registered form with nothing to list yet
        result.append(Choice(form=form, current=current, newer=newer, listed=number,
                             choice=choice, abolish_planned=_abolish_planned(form)))
    return result


def _left_out(revision: Revision, day: date) -> list[Document]:
    """Return the forms in force with the revision before this one that it does not list."""
    previous = _predecessor(revision)
    if previous is None:
        return []
    listed = {form_id for form_id, _n in listing(revision)}
    return [form for form, _r in _in_force([f for f, _n in listing(previous)], day)
            if form.id not in listed]


def check_before_approve(revision: Revision) -> None:
    """Refuse (409) to approve a procedure revision that drops forms still in force."""
    if revision.document.doc_type not in OWNER_TYPES:
        return
    left = [form for form in _left_out(revision, today()) if not _abolish_planned(form)]
    if left:
        raise Conflict(_l("%(code)s %(label)s does not list forms that are in force with it "
                          "today: %(forms)s. List them, or abolish them first.",
                          code=revision.document.code, label=documents.label(revision),
                          forms=", ".join(f.code for f in left)), field="forms")


def release_problems(release: Release) -> list[str]:
    """Return why the release would leave forms pointing at a superseded or abolished
    procedure (translated messages); empty when every form is accounted for."""
    day = today()
    issued = {item.document_id: item.revision for item in release.items
              if item.action != "abolish" and item.revision is not None}
    abolished = {item.document_id: item.document for item in release.items
                 if item.action == "abolish"}
    problems: list[str] = []
    moved: set[int] = set()
    for revision in issued.values():
        document = revision.document
        if document.doc_type not in OWNER_TYPES:
            continue
        for form_id, number in listing(revision):
            moved.add(form_id)
            form = db.session.get(Document, form_id)
            form_revision = _revision_of(form, number)
            issued_here = form_revision is not None and form_id in issued and \
                issued[form_id].id == form_revision.id
            if form_id in abolished:
                problems.append(str(_l("%(code)s lists form %(form)s, which this decision "
                                       "abolishes", code=document.code, form=form.code)))
            elif not issued_here and (form_revision is None or form_revision.status not in (
                    Status.EFFECTIVE, Status.APPROVED)):
                problems.append(str(_l(
                    "%(code)s lists form %(form)s at revision %(label)s, which is neither in "
                    "force nor issued by this decision", code=document.code, form=form.code,
                    label=_label(form, number))))
        for form in _left_out(revision, day):
            if form.id not in abolished:
                problems.append(str(_l(
                    "%(code)s: form %(form)s is in force with the current revision but the "
                    "new one does not list it; list it or abolish it in this decision",
                    code=document.code, form=form.code)))
    for document in abolished.values():
        if document.doc_type not in OWNER_TYPES:
            continue
        staying = [form.code for form, _r in in_force_with(document, day)
                   if form.id not in abolished and form.id not in moved]
        if staying:
            problems.append(str(_l(
                "Abolishing %(code)s leaves its forms in force: %(forms)s. Abolish them in "
                "this decision too, or list them on another procedure it issues.",
                code=document.code, forms=", ".join(staying))))
    return problems
