"""Point in time: which revision of each document was (or will be) in force on a given day.

Revision R of document D is in force on day X when R is controlled (approved, effective,
superseded or obsolete), R.effective_date <= X, no later-numbered controlled revision of D has
an effective date <= X, and D was not withdrawn on or before X (in the organisation's zone).
Read from the database catalog, which mirrors git (DESIGN §7: git log per path is too slow).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import defer, selectinload

from docctl.domain.lifecycle import CONTROLLED
from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm
from docctl.errors import NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Department, Document, Revision, User
from docctl.services.context import setting, zone
from docctl.services.documents import find_by_code, require

_CONTROLLED = sorted(str(s) for s in CONTROLLED)
MAX_PER_PAGE = 500


def _check_day(day) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValidationError(_l("Give the day as a date (dd/mm/yyyy)"), field="day")
    return day


def _withdrawal_cutoff(day: date) -> datetime:
    """Return the UTC instant the day after `day` starts locally; withdrawn before it = gone."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone()).astimezone(UTC)


def in_force_query(day: date, document_ids=None):
    """Return a select of (Document, Revision) pairs in force on day (one per document).

    document_ids: only these documents. The caller's own filter on Document comes after the
    grouping; this one comes before it, so a few documents cost a few index reads instead of
    a pass over every revision in the catalog (bench/release_bench.py).
    """
    latest = (select(Revision.document_id, func.max(Revision.number).label("number"))
              .where(Revision.status.in_(_CONTROLLED), Revision.effective_date <= day))
    if document_ids is not None:
        latest = latest.where(Revision.document_id.in_(list(document_ids)))
    latest = latest.group_by(Revision.document_id).subquery()
    return (select(Document, Revision)
            .join(latest, latest.c.document_id == Document.id)
            .join(Revision, and_(Revision.document_id == latest.c.document_id,
                                 Revision.number == latest.c.number))
            .where(or_(Document.withdrawn_at.is_(None),
                       Document.withdrawn_at >= _withdrawal_cutoff(day))))


def register_as_of(user: User, day: date, *, doc_type: str | None = None,
                   department: str | None = None, page: int = 1,
                   per_page: int = 50) -> tuple[list[tuple[Document, Revision]], int]:
    """Return (rows, total): each document with the revision in force on day, in ISO order."""
    require(user, Perm.READ_ALL)   # as-of shows obsolete revisions: controllers and auditors
    day = _check_day(day)
    per_page = max(1, min(int(per_page or setting("PAGE_SIZE")), MAX_PER_PAGE))
    query = in_force_query(day)
    if doc_type:
        query = query.where(Document.doc_type == doc_type)
    if department:
        query = query.join(Department, Department.id == Document.department_id).where(
            Department.code == department)
    total = db.session.scalar(select(func.count()).select_from(
        query.with_only_columns(Revision.id).subquery())) or 0
    type_order = case({t.value: i for i, t in enumerate(DocType)}, value=Document.doc_type,
                      else_=99)
    # A register row shows numbers and dates, never the text: leaving text and printed facts
    # unloaded spares moving ~2,000 full texts per whole register (bench/asof_bench.py).
    rows = db.session.execute(
        query.order_by(type_order, Document.code)
        .options(selectinload(Document.department), selectinload(Document.parent),
                 defer(Revision.text),
                 defer(Revision.printed))
        .limit(per_page).offset((max(int(page), 1) - 1) * per_page)).all()
    return [(document, revision) for document, revision in rows], total


def revision_as_of(user: User, code: str, day: date) -> Revision | None:
    """Return the revision of one document in force on day, or None."""
    require(user, Perm.READ_ALL)
    day = _check_day(day)
    document = find_by_code(code)
    if document is None:
        raise NotFound(_l("No such document"))
    row = db.session.execute(in_force_query(day, [document.id])
                             .where(Document.id == document.id)).first()
    return row[1] if row else None


@dataclass(frozen=True)
class InForce:
    """One line of the register as of a day: a document and the revision in force then."""

    code: str
    title: str
    doc_type: str
    department: str
    number: int
    issue: int
    amendment: int
    effective_date: date
    decision: str | None   # the decision that issued the revision, if one did


def snapshot(user: User, day: date) -> list[InForce]:
    """Return the whole register as it stood on day, in ISO order, as plain rows.

    One statement on the in-force index; no ORM objects: an auditor's "what was in force on
    D" for thousands of documents (the export, bench/asof_bench.py).
    """
    from docctl.domain.decisions import ReleaseStatus
    from docctl.models import Release, ReleaseItem

    require(user, Perm.READ_ALL)
    day = _check_day(day)
    latest = (select(Revision.document_id, func.max(Revision.number).label("number"))
              .where(Revision.status.in_(_CONTROLLED), Revision.effective_date <= day)
              .group_by(Revision.document_id).subquery())
    signed = (select(ReleaseItem.revision_id, Release.decision_number)
              .join(Release, Release.id == ReleaseItem.release_id)
              .where(Release.status.not_in((ReleaseStatus.DRAFT, ReleaseStatus.DISCARDED)))
              .subquery())
    type_order = case({t.value: i for i, t in enumerate(DocType)}, value=Document.doc_type,
                      else_=99)
    rows = db.session.execute(
        select(Document.code, Document.title, Document.doc_type, Department.code,
               Revision.number, Revision.issue, Revision.amendment, Revision.effective_date,
               signed.c.decision_number)
        .select_from(Document)
        .join(latest, latest.c.document_id == Document.id)
        .join(Revision, and_(Revision.document_id == latest.c.document_id,
                             Revision.number == latest.c.number))
        .join(Department, Department.id == Document.department_id)
        .outerjoin(signed, signed.c.revision_id == Revision.id)
        .where(or_(Document.withdrawn_at.is_(None),
                   Document.withdrawn_at >= _withdrawal_cutoff(day)))
        .order_by(type_order, Document.code))
    return [InForce(*row) for row in rows]
