"""Records: filed once by the keeping department, sealed in the store, read by those allowed.

A record is filed through the one unit of work (services/publishing.run, plan "file_record"):
its row and its key are recorded with the intent, git takes the sealed content and
record.json in one write-once commit, then the row becomes "filed". A crash leaves it fully
filed or absent (the plan's abandon removes the row and the key). Nothing here edits a filed
record: a correction is a new record that names the one it corrects.
"""

from __future__ import annotations

import hashlib
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from docctl.domain.lifecycle import CONTROLLED
from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.retention import RetentionError, parse
from docctl.domain.textfold import clean_line
from docctl.errors import Conflict, Forbidden, Gone, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Department, Document, Revision, User
from docctl.models_records import Record, RecordKey, RecordLink, RecordType
from docctl.services import publishing, record_files
from docctl.services.context import store, today
from docctl.services.documents import find_by_code, require
from docctl.store import layout, sealing

KINDS = ("form", "audit_report", "nonconformity", "management_review", "report")
MAX_LINKS = 20
PER_PAGE = 50


class RecordStatus:
    """Where a record is in its life."""

    FILING = "filing"       # intent recorded, not yet in git
    FILED = "filed"
    DISPOSED = "disposed"   # content destroyed under a signed disposition list


def bound_to(record: Record) -> bytes:
    """Return what a record's sealed bytes are bound to: its number and content hash."""
    return f"{record.slug}\n{record.sha256}".encode()


def folder(record: Record) -> str:
    """Return a record's folder in the store."""
    return layout.record_dir(record.year, record.slug)


# ---- who sees what ---------------------------------------------------------------------------

def can_see(user: User, record: Record) -> bool:
    """Tell whether a user may see a record (its metadata; its content unless disposed)."""
    if record.status == RecordStatus.FILING:
        return False
    own = user.department_id is not None and user.department_id == record.keeper_id
    if record.visibility == "department":
        return own
    return own or has_perm(user.role, Perm.MANAGE_RECORDS) or has_perm(user.role, Perm.AUDIT)


def visible_filter(user: User):
    """Return the SQL condition of can_see, for lists."""
    own = Record.keeper_id == (user.department_id or -1)
    if has_perm(user.role, Perm.MANAGE_RECORDS) or has_perm(user.role, Perm.AUDIT):
        return or_(own, Record.visibility != "department")
    return own


def get(user: User, record_id) -> Record:
    """Return a record the user may see; NotFound otherwise (no hint that it exists)."""
    try:
        record = db.session.get(Record, int(record_id))
    except (TypeError, ValueError):
        record = None
    if record is None or not can_see(user, record):
        raise NotFound(_l("No such record"))
    return record


def content(user: User, record_id) -> tuple[bytes, Record]:
    """Return a record's content as filed; Gone once disposed of."""
    record = get(user, record_id)
    if record.status == RecordStatus.DISPOSED:
        from docctl.services import dispositions
        raise Gone(_l("This record was destroyed under disposition list %(slug)s",
                      slug=record_disposition_slug(record)),
                   public=dispositions.gone_facts(record))
    return open_content(record), record


def record_disposition_slug(record: Record) -> str:
    """Return the slug of the list a record was disposed of under ("" if none)."""
    from docctl.models_records import Disposition
    row = db.session.get(Disposition, record.disposition_id) if record.disposition_id else None
    return row.slug if row else ""


def open_content(record: Record) -> bytes:
    """Unseal a record's content from the store with its key (no permission check)."""
    key = db.session.get(RecordKey, record.id)
    if key is None:
        raise Gone(_l("This record's content no longer exists"))
    blob = store().read_file(record.commit_sha, f"{folder(record)}/{layout.SEALED}")
    return sealing.unseal(key.key, blob, bound_to(record))


def list_records(user: User, *, form: str | None = None, keeper: str | None = None,
                 due: bool = False, status: str | None = None, reference: str | None = None,
                 kind: str | None = None, page: int = 1,
                 per_page: int = PER_PAGE) -> tuple[list[Record], int]:
    """Return a page of the records the user may see, newest first, and how many in all."""
    query = select(Record).where(Record.status != RecordStatus.FILING, visible_filter(user))
    if form:
        document = find_by_code(form)
        query = query.where(Record.form_id == (document.id if document else -1))
    if keeper:
        department = db.session.scalar(select(Department).where(
            func.lower(Department.code) == keeper.strip().lower()))
        query = query.where(Record.keeper_id == (department.id if department else -1))
    if due:
        query = query.where(Record.status == RecordStatus.FILED,
                            Record.retain_until.is_not(None), Record.retain_until < today())
    if status:
        query = query.where(Record.status == status)
    if reference:
        query = query.where(Record.reference == reference.strip())
    if kind:
        query = query.where(Record.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, page)
    rows = db.session.scalars(query.order_by(Record.record_date.desc(), Record.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total or 0


def links_of(record: Record) -> list[RecordLink]:
    """Return a record's links, in the order given."""
    return list(db.session.scalars(select(RecordLink).where(RecordLink.record_id == record.id)
                                   .order_by(RecordLink.id)))


def corrected_by(record: Record) -> list[Record]:
    """Return the records that correct this one."""
    return list(db.session.scalars(select(Record).where(
        Record.corrects_id == record.id, Record.status != RecordStatus.FILING)))


# ---- filing ----------------------------------------------------------------------------------

def file(actor: User, *, filename: str, data: bytes, record_date, form: str | None = None,
         form_revision=None, reference: str = "", title: str | None = None,
         links=(), corrects=None, event_date=None) -> Record:
    """File a record made on a form: by staff of the keeping department (or the secretary)."""
    require(actor, Perm.FILE_RECORD)
    record_date = _day(record_date, "date")
    if not form:
        raise ValidationError(_l("Name the form the record was made on"), field="form")
    form_doc = find_by_code(form)
    if form_doc is None or form_doc.doc_type != DocType.FORM:
        raise ValidationError(_l("%(code)s is not a form in the register", code=form[:40]),
                              field="form")
    from docctl.services import record_types
    record_type = record_types.for_form(form_doc, record_date)
    if record_type is None:
        raise ValidationError(_l("No procedure in force on %(day)s lists records made on "
                                 "%(code)s", day=record_date.strftime("%d/%m/%Y"),
                                 code=form_doc.code), field="form")
    keeper = record_type.keeper
    if actor.department_id != keeper.id and not has_perm(actor.role, Perm.MANAGE_RECORDS):
        raise Forbidden(_l("Records on %(code)s are kept by %(dept)s; only its staff file "
                           "them", code=form_doc.code, dept=keeper.name))
    number, off_form = _form_revision(form_doc, form_revision, record_date)
    checked = record_files.read(filename, data)
    return _file(actor, checked, kind="form", title=title or _form_title(form_doc, record_type),
                 record_date=record_date, keeper=keeper, reference=reference,
                 retention=record_type.retention, visibility=record_type.visibility,
                 record_type=record_type, form=form_doc, form_revision=number,
                 off_form=off_form, links=links, corrects=corrects, event_date=event_date)


def file_generated(actor: User | None, *, kind: str, title: str, filename: str, data: bytes,
                   record_date: date, keeper_id: int, reference: str = "",
                   retention: str = "10 năm", links=()) -> Record:
    """File a report docctl wrote (audit report, HĐKP, review minutes) as a record."""
    if kind not in KINDS or kind == "form":
        raise ValueError(f"not a generated record kind: {kind!r}")
    keeper = db.session.get(Department, keeper_id)
    if keeper is None:
        raise ValidationError(_l("Unknown department"), field="keeper")
    checked = record_files.read(filename, data)
    return _file(actor, checked, kind=kind, title=title, record_date=_day(record_date, "date"),
                 keeper=keeper, reference=reference, retention=retention,
                 visibility="default", links=links)


def _file(actor, checked, *, kind, title, record_date, keeper, reference, retention,
          visibility, record_type=None, form=None, form_revision=None, off_form=False,
          links=(), corrects=None, event_date=None) -> Record:
    reference = clean_line(reference or "", max_len=120)
    title = clean_line(title or "", max_len=300) or checked.filename
    try:
        parsed = parse(retention)
    except RetentionError:
        raise ValidationError(_l("The retention period %(text)s is not one docctl can read "
                                 "(e.g. 05 năm, vĩnh viễn, hết hiệu lực + 01 năm)",
                                 text=(retention or "")[:40]), field="retention") from None
    event_date = _day(event_date, "event_date") if event_date else None
    corrected = _corrected(actor, corrects, keeper) if corrects not in (None, "") else None
    targets = _links(actor, links)
    key = sealing.new_key()
    record = Record(slug="", year=record_date.year, status=RecordStatus.FILING, kind=kind,
                    title=title, record_type_id=record_type.id if record_type else None,
                    form_id=form.id if form else None, form_revision=form_revision,
                    off_form=off_form, keeper_id=keeper.id, visibility=visibility,
                    record_date=record_date, reference=reference, filename=checked.filename,
                    media=checked.media, size=checked.size, sha256=checked.sha256,
                    sealed_sha256="", retention=retention, retention_years=parsed.years,
                    retention_from=str(parsed.counts_from), event_date=event_date,
                    retain_until=parsed.until(record_date, event_date),
                    corrects_id=corrected.id if corrected else None,
                    filed_by_id=actor.id if actor else _system_user().id)
    db.session.add(record)
    db.session.flush()   # its id names it: HS-2026-000123, unique without a counter to race
    record.slug = f"HS-{record.year}-{record.id:06d}"
    sealed = sealing.seal(key, checked.data, bound_to(record))
    record.sealed_sha256 = hashlib.sha256(sealed).hexdigest()
    db.session.add(RecordKey(record_id=record.id, key=key))
    for target_record, target_document in targets:
        db.session.add(RecordLink(record_id=record.id,
                                  target_record_id=getattr(target_record, "id", None),
                                  target_document_id=getattr(target_document, "id", None)))
    payload = {"signer_id": record.filed_by_id, "record_id": record.id}
    # The sealed bytes reach the plan through this app context only, never through the
    # intent: the database holds no second copy of the content (recovery never needs it).
    from docctl.services.plans import records as plan
    record_id = record.id   # the row is gone if git never takes it (plan abandon)
    plan.hand_over(record_id, sealed)
    try:
        publishing.run(actor, plan.FILE, payload, documents=[], unchanged=lambda: True)
    finally:
        plan.take_back(record_id)
    return db.session.get(Record, record_id)


def _system_user() -> User:
    user = db.session.scalar(select(User).order_by(User.id).limit(1))
    if user is None:
        raise Conflict(_l("No user to file this record as"))
    return user


def _day(value, field: str) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        raise ValidationError(_l("Give the date as YYYY-MM-DD"), field=field)
    if value > today():
        raise ValidationError(_l("A record cannot be dated in the future"), field=field)
    return value


def _form_title(form: Document, record_type: RecordType) -> str:
    return record_type.name or form.title


def _form_revision(form: Document, wanted, day: date) -> tuple[int, bool]:
    """Return the form revision a record was made on, and whether it was not the one in force."""
    from docctl.services import asof
    in_force = db.session.execute(asof.in_force_query(day, [form.id])).first()
    current = in_force[1].number if in_force else None
    if wanted in (None, ""):
        if current is None:
            raise ValidationError(_l("%(code)s was not in force on %(day)s; name the form "
                                     "revision the record was made on", code=form.code,
                                     day=day.strftime("%d/%m/%Y")), field="form_revision")
        return current, False
    try:
        number = int(wanted)
    except (TypeError, ValueError):
        raise ValidationError(_l("The form revision must be a number"),
                              field="form_revision") from None
    exists = db.session.scalar(select(Revision.id).where(
        Revision.document_id == form.id, Revision.number == number,
        Revision.status.in_([str(s) for s in CONTROLLED])))
    if exists is None:
        raise ValidationError(_l("%(code)s has no issued revision %(n)s", code=form.code,
                                 n=number), field="form_revision")
    return number, number != current


def _corrected(actor: User, corrects, keeper: Department) -> Record:
    try:
        record = get(actor, corrects)
    except NotFound:
        raise ValidationError(_l("The record to correct does not exist"),
                              field="corrects") from None
    if record.status != RecordStatus.FILED:
        raise Conflict(_l("Record %(slug)s has been destroyed and cannot be corrected",
                          slug=record.slug))
    if record.keeper_id != keeper.id:
        raise ValidationError(_l("A correction is kept by the department that keeps the "
                                 "record it corrects"), field="corrects")
    return record


def _links(actor: User, links) -> list[tuple[Record | None, Document | None]]:
    """Resolve links: record numbers (HS-2026-000123 or an id) and document codes."""
    if isinstance(links, str):
        links = [part for part in links.replace(";", ",").split(",") if part.strip()]
    links = list(links or ())
    if len(links) > MAX_LINKS:
        raise ValidationError(_l("At most %(n)s links", n=MAX_LINKS), field="links")
    found = []
    for raw in links:
        text = str(raw).strip()
        record = db.session.scalar(select(Record).where(Record.slug == text.upper())) \
            if text.upper().startswith("HS-") else None
        if record is not None and can_see(actor, record):
            found.append((record, None))
            continue
        document = find_by_code(text)
        if document is None:
            raise ValidationError(_l("%(link)s is neither a record nor a document",
                                     link=text[:40]), field="links")
        found.append((None, document))
    return found


def db_record(record_id: int) -> Record:
    """Return a record by id, for naming a link (its number only; no permission needed)."""
    return db.session.get(Record, record_id)


def db_document(document_id: int) -> Document:
    """Return a document by id, for naming a link."""
    return db.session.get(Document, document_id)


def holds_of(record: Record) -> list:
    """Return the legal holds, active or lifted, that name a record."""
    from docctl.models_records import LegalHold, LegalHoldItem
    return list(db.session.scalars(select(LegalHold).join(
        LegalHoldItem, LegalHoldItem.hold_id == LegalHold.id).where(
        LegalHoldItem.record_id == record.id).order_by(LegalHold.id)))


def record_event(actor: User, record_id, day) -> Record:
    """Record once the event a record's retention counts from (the case closed on `day`).

    The record itself does not change: only when its retention period starts, which was
    unknown when it was filed. Set once; a wrong date is corrected by filing a correction.
    """
    record = get(actor, record_id)
    if actor.department_id != record.keeper_id and not has_perm(actor.role,
                                                                 Perm.MANAGE_RECORDS):
        raise Forbidden(_l("Only the keeping department or the secretary records this"))
    record = publishing.locked_row(record)
    if record.status != RecordStatus.FILED:
        raise Conflict(_l("Record %(slug)s has been destroyed", slug=record.slug))
    if record.retention_from == "record_date" or record.retention_years is None:
        raise Conflict(_l("The retention of %(slug)s counts from its own date, not from an "
                          "event", slug=record.slug))
    if record.event_date is not None:
        raise Conflict(_l("The event of %(slug)s was already recorded on %(day)s",
                          slug=record.slug, day=record.event_date.strftime("%d/%m/%Y")))
    day = _day(day, "date")
    if day < record.record_date:
        raise ValidationError(_l("The event cannot come before the record's date"),
                              field="date")
    record.event_date = day
    record.retain_until = parse(record.retention).until(record.record_date, day)
    from docctl.services import audit
    audit.record("record_event", actor, object_type="record", object_id=record.slug,
                 details={"event_date": day.isoformat(),
                          "retain_until": record.retain_until.isoformat()
                          if record.retain_until else None})
    db.session.commit()
    return record
