"""Record types a procedure revision declares ("Hồ sơ lưu"): form, keeper, place, retention.

A procedure (or instruction) revision owns its RecordType rows. A revision that was never given
a list (no rows and no "record_types_set" audit event) declares the list of the controlled
revision before it — so a new draft starts from the records in force, and a revision that
changes nothing about its records keeps them (the rows stay those of the revision that
declared them). The record types in force on a day are those of the procedure revisions in
force that day (services/asof.py decides which).
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from docctl.domain import retention as retention_rules
from docctl.domain.lifecycle import CONTROLLED, IN_PROGRESS, Status
from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm
from docctl.errors import Conflict, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import AuditEvent, Document, Revision, User
from docctl.models_records import RecordType
from docctl.services import audit, departments, documents
from docctl.services.asof import in_force_query
from docctl.services.forms import LISTABLE, OWNER_TYPES

ACTION = "record_types_set"
ITEM_FIELDS = {"form", "form_revision", "name", "keeper", "location", "retention", "visibility"}
VISIBILITIES = ("default", "department")
MAX_ITEMS = 200
MAX_TEXT = 300
_CONTROLLED = [str(s) for s in CONTROLLED]


class RecordTypeError(ValidationError):
    """A record type names something that cannot be used."""

    status = 422


# --- Reading -------------------------------------------------------------------------------

def _predecessor(revision: Revision) -> Revision | None:
    """Return the latest controlled revision of the same document before this one."""
    return db.session.scalar(
        select(Revision).where(Revision.document_id == revision.document_id,
                               Revision.number < revision.number,
                               Revision.status.in_(_CONTROLLED))
        .order_by(Revision.number.desc()).limit(1))


def was_set(revision: Revision) -> bool:
    """Tell whether someone saved this revision's records list (perhaps empty)."""
    return bool(db.session.scalar(select(exists().where(
        AuditEvent.action == ACTION, AuditEvent.document_code == revision.document.code,
        AuditEvent.revision_number == revision.number))))


def _rows(revision_ids) -> list[RecordType]:
    ids = list(revision_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(RecordType).where(RecordType.revision_id.in_(ids))
        .options(selectinload(RecordType.form), selectinload(RecordType.keeper))
        .order_by(RecordType.revision_id, RecordType.position, RecordType.id)))


def declaring(revision: Revision) -> Revision | None:
    """Return the revision whose list this one declares: itself or a controlled predecessor."""
    if revision.document.doc_type not in OWNER_TYPES:
        return None
    while True:
        own = db.session.scalar(select(exists().where(RecordType.revision_id == revision.id)))
        if own or was_set(revision):
            return revision
        previous = _predecessor(revision)
        if previous is None:
            return None
        revision = previous


def record_types_of(revision: Revision) -> list[RecordType]:
    """Return the record types a revision declares, in its order (inherited if never set)."""
    source = declaring(revision)
    return _rows([source.id]) if source is not None else []


def get(record_type_id: int) -> RecordType:
    """Return a record type by id, or raise NotFound."""
    record_type = db.session.get(RecordType, record_type_id) \
        if isinstance(record_type_id, int) and not isinstance(record_type_id, bool) else None
    if record_type is None:
        raise NotFound(_l("No such record type"))
    return record_type


def revision_of(record_type: RecordType) -> Revision:
    """Return the procedure revision that declares a record type."""
    return db.session.get(Revision, record_type.revision_id)


def _declared_by(pairs) -> dict[int, int]:
    """Return, by document id, the revision id whose list each (document, revision) declares.

    The same walk as declaring(), in three statements for any number of procedures.
    """
    pairs = [(d, r) for d, r in pairs if d.doc_type in OWNER_TYPES]
    if not pairs:
        return {}
    ids = [d.id for d, _r in pairs]
    earlier: dict[int, list[tuple[int, int]]] = {}
    for revision_id, document_id, number in db.session.execute(
            select(Revision.id, Revision.document_id, Revision.number)
            .where(Revision.document_id.in_(ids), Revision.status.in_(_CONTROLLED))
            .order_by(Revision.document_id, Revision.number)):
        earlier.setdefault(document_id, []).append((number, revision_id))
    with_rows = set(db.session.scalars(
        select(RecordType.revision_id).join(Revision, Revision.id == RecordType.revision_id)
        .where(Revision.document_id.in_(ids)).distinct()))
    saved = set(db.session.execute(
        select(AuditEvent.document_code, AuditEvent.revision_number)
        .where(AuditEvent.action == ACTION,
               AuditEvent.document_code.in_([d.code for d, _r in pairs]))).all())
    result = {}
    for document, revision in pairs:
        revision_id, number = revision.id, revision.number
        while True:
            if revision_id in with_rows or (document.code, number) in saved:
                result[document.id] = revision_id
                break
            before = [(n, r) for n, r in earlier.get(document.id, []) if n < number]
            if not before:
                break
            number, revision_id = before[-1]
    return result


def _in_force_rows(day: date, document_ids=None) -> list[tuple[Document, Revision]]:
    query = in_force_query(day, document_ids).where(
        Document.doc_type.in_(sorted(OWNER_TYPES)))
    return sorted(((d, r) for d, r in db.session.execute(query)), key=lambda p: p[0].code)


def in_force(day: date) -> list[RecordType]:
    """Return the record types of every procedure revision in force on day, by procedure code."""
    pairs = _in_force_rows(day)
    declared = _declared_by(pairs)
    rows = _rows(declared.values())
    order = {revision_id: i for i, revision_id in enumerate(
        declared[d.id] for d, _r in pairs if d.id in declared)}
    return sorted(rows, key=lambda rt: (order[rt.revision_id], rt.position, rt.id))


def in_force_with_procedures(day: date) -> list[tuple[RecordType, Document, Revision]]:
    """Return in_force(day) with each record type's procedure and its revision in force."""
    pairs = _in_force_rows(day)
    declared = _declared_by(pairs)
    by_source = {declared[d.id]: (d, r) for d, r in pairs if d.id in declared}
    order = {revision_id: i for i, revision_id in enumerate(by_source)}
    rows = sorted(_rows(by_source), key=lambda rt: (order[rt.revision_id], rt.position, rt.id))
    return [(rt, *by_source[rt.revision_id]) for rt in rows]


def of_procedure(document: Document, day: date) -> list[RecordType]:
    """Return the record types the revision of a procedure in force on day declares."""
    pairs = _in_force_rows(day, [document.id])
    return record_types_of(pairs[0][1]) if pairs else []


def for_form(form: Document, day: date) -> RecordType | None:
    """Return the record type made on this form that a procedure in force on day declares.

    Two procedures declaring the same form: the first by procedure code.
    """
    owners = set(db.session.scalars(
        select(Revision.document_id).join(RecordType, RecordType.revision_id == Revision.id)
        .where(RecordType.form_id == form.id)))
    if not owners:
        return None
    pairs = _in_force_rows(day, owners)
    declared = _declared_by(pairs)
    for document, _revision in pairs:
        source = declared.get(document.id)
        if source is None:
            continue
        found = db.session.scalar(
            select(RecordType).where(RecordType.revision_id == source,
                                     RecordType.form_id == form.id)
            .order_by(RecordType.position, RecordType.id).limit(1))
        if found is not None:
            return found
    return None


# --- Writing -------------------------------------------------------------------------------

# What an error message calls each field of a row.
FIELD_NAMES = {"form": _l("form"), "form_revision": _l("form revision"),
               "name": _l("record name"), "keeper": _l("department that keeps it"),
               "location": _l("kept where"), "retention": _l("retention period"),
               "visibility": _l("who may see"), "record": _l("record")}


def _fail(index: int, field: str, message, item: dict | None = None, *, shape: bool = False):
    """Raise the error for one row, naming the row (1-based) and the field."""
    what = str(item.get("form") or item.get("name") or "") if isinstance(item, dict) else ""
    row = _l("Row %(n)s", n=index + 1) if not what else _l("Row %(n)s (%(what)s)",
                                                          n=index + 1, what=what[:40])
    kind = ValidationError if shape else RecordTypeError
    raise kind(_l("%(row)s, %(field)s: %(problem)s", row=row,
                  field=FIELD_NAMES.get(field, field[:40]), problem=message),
               field=f"record_types[{index}].{field}")


def _text(index: int, item: dict, field: str, *, required: bool = False) -> str:
    value = item.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        _fail(index, field, _l("give it as text"), item, shape=True)
    value = " ".join(value.split())
    if required and not value:
        _fail(index, field, _l("it is required"), item, shape=True)
    if len(value) > MAX_TEXT:
        _fail(index, field, _l("at most %(n)s characters", n=MAX_TEXT), item, shape=True)
    return value


def _form_revision(index: int, item: dict, form: Document) -> int:
    """Return the form revision a row names, or the form's revision in force (else latest)."""
    number = item.get("form_revision")
    if number is None or number == "":
        current = documents.effective_revision(form) or next(
            (r for r in reversed(form.revisions) if r.status == Status.APPROVED), None) or next(
            (r for r in reversed(form.revisions) if r.status in LISTABLE), None)
        if current is None:
            _fail(index, "form_revision", _l("%(code)s has no revision to use",
                                             code=form.code), item)
        return current.number
    if isinstance(number, bool) or not isinstance(number, int):
        _fail(index, "form_revision", _l("give the revision as a number"), item, shape=True)
    revision = next((r for r in form.revisions if r.number == number), None)
    if revision is None:
        _fail(index, "form_revision", _l("%(code)s has no revision %(n)s", code=form.code,
                                         n=number), item)
    if revision.status not in LISTABLE:
        _fail(index, "form_revision", _l("%(code)s revision %(label)s is no longer in force",
                                         code=form.code, label=documents.label(revision)), item)
    return number


def clean_items(items) -> list[dict]:
    """Return the RecordType values items describe, or raise naming the first bad row."""
    if not isinstance(items, list):
        raise ValidationError(_l("Give the records as a list of {\"form\", \"keeper\", "
                                 "\"location\", \"retention\"}"), field="record_types")
    if len(items) > MAX_ITEMS:
        raise ValidationError(_l("At most %(n)s record types per revision", n=MAX_ITEMS),
                              field="record_types")
    cleaned: list[dict] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            _fail(index, "record", _l("each record is an object"), shape=True)
        unknown = set(item) - ITEM_FIELDS
        if unknown:
            _fail(index, sorted(unknown)[0], _l("unknown field"), item, shape=True)
        name = _text(index, item, "name")
        code = _text(index, item, "form")
        form, form_revision = None, None
        if code:
            form = documents.find_by_code(code)
            if form is None:
                _fail(index, "form", _l("no document has the code %(code)s", code=code), item)
            if form.doc_type != DocType.FORM:
                _fail(index, "form", _l("%(code)s is not a form", code=form.code), item)
            if form.status == "obsolete":
                _fail(index, "form", _l("%(code)s is withdrawn", code=form.code), item)
            if any(c["form_id"] == form.id for c in cleaned):
                _fail(index, "form", _l("%(code)s is listed twice", code=form.code), item)
            form_revision = _form_revision(index, item, form)
        elif not name:
            _fail(index, "form", _l("give the form, or the record's name for a record made "
                                    "without a form"), item, shape=True)
        elif item.get("form_revision") not in (None, ""):
            _fail(index, "form_revision", _l("a record without a form has no form revision"),
                  item, shape=True)
        keeper_code = _text(index, item, "keeper", required=True)
        keeper = departments.find(keeper_code)
        if keeper is None:
            _fail(index, "keeper", _l("no department has the code %(code)s", code=keeper_code),
                  item)
        if not keeper.active:
            _fail(index, "keeper", _l("department %(code)s is no longer active",
                                      code=keeper.code), item)
        location = _text(index, item, "location")
        written = _text(index, item, "retention", required=True)
        try:
            parsed = retention_rules.parse(written)
        except retention_rules.RetentionError:
            _fail(index, "retention", _l("\"%(text)s\" is not a retention period (write e.g. "
                                         "\"05 năm\", \"Vĩnh viễn\", \"Đến khi hết hiệu lực + "
                                         "01 năm\")", text=written[:40]), item)
        visibility = item.get("visibility") or "default"
        if visibility not in VISIBILITIES:
            _fail(index, "visibility", _l("use \"default\" or \"department\""), item)
        cleaned.append({"name": name, "form_id": form.id if form else None,
                        "form_revision": form_revision, "keeper_id": keeper.id,
                        "location": location, "retention": written,
                        "retention_years": parsed.years,
                        "retention_from": str(parsed.counts_from),
                        "retention_event": parsed.event, "visibility": visibility})
    return cleaned


def as_item(record_type: RecordType) -> dict:
    """Return the plain form of a record type (API, revision.json, audit details)."""
    return {"form": record_type.form.code if record_type.form else None,
            "form_revision": record_type.form_revision, "name": record_type.name,
            "keeper": record_type.keeper.code, "location": record_type.location,
            "retention": record_type.retention}


def set_record_types(actor: User, code: str, number: int, items) -> list[RecordType]:
    """Save the record types a procedure draft declares; return them."""
    documents.require(actor, Perm.REGISTER)
    revision = documents.get_revision(actor, code, number)
    document = revision.document
    if document.doc_type not in OWNER_TYPES:
        raise ValidationError(_l("Only procedures and instructions declare records"),
                              field="code")
    # Hold the row: a submission or approval racing this change sees the list before or after.
    db.session.execute(select(Revision.id).where(Revision.id == revision.id).with_for_update())
    db.session.refresh(revision)
    if revision.status not in IN_PROGRESS:
        raise Conflict(_l("Revision %(label)s of %(code)s is controlled: its records list can "
                          "no longer change", label=documents.label(revision),
                          code=document.code), status=revision.status)
    cleaned = clean_items(items)
    before = [as_item(rt) for rt in record_types_of(revision)]
    db.session.query(RecordType).filter(RecordType.revision_id == revision.id).delete()
    for position, values in enumerate(cleaned):
        db.session.add(RecordType(revision_id=revision.id, position=position, **values))
    db.session.flush()
    saved = _rows([revision.id])
    audit.record(ACTION, actor, document=document, revision=revision,
                 details={"before": before, "records": [as_item(rt) for rt in saved]})
    db.session.commit()
    return saved
