"""Nonconformities and corrective action (ISO 9001 §10.2; HĐKP): raise, analyse, act, verify,
close.

Who may do what:
- raise, edit, assign an owner and a due date, close: the ISO secretary
  (Perm.MANAGE_IMPROVEMENT); an audit team raises one by recording a nonconformity finding;
- analyse the cause and plan the action: the secretary or the owner, while the action is open;
- report the action done: the owner only;
- verify effectiveness: the secretary or the head of agency (approvers), never the owner;
  not effective sends the action back to open;
- read: the secretary, approvers and auditors read all; the owner and who raised it read theirs.
Closing needs a verification that found the action effective, and files the HĐKP report as a
record; after that nothing on it changes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from docctl.domain.improvement import (
    NC_EDITABLE,
    NcSource,
    NcStatus,
    Step,
    is_overdue,
    nc_next,
)
from docctl.domain.permissions import Perm, has_perm
from docctl.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Department, User
from docctl.models_improvement import AuditFinding, Nonconformity
from docctl.office import improvement_reports as reports
from docctl.services import audit, organisation, publishing
from docctl.services import improvement_base as base
from docctl.services.context import now, today, zone

OBJECT_TYPE = "nonconformity"
FIELDS = {"source", "source_reference", "description", "department", "cause", "correction",
          "action", "owner", "due_date"}
# What the owner may write while the action is open: the analysis and the plan.
OWNER_FIELDS = {"cause", "correction", "action"}
NOT_FOUND = _l("No such nonconformity")
CLOSED = _l("This nonconformity is closed: its report is filed and nothing on it changes")


def number(item: Nonconformity) -> str:
    """Return the HĐKP number printed on its report ("HĐKP-2026-007")."""
    year = item.raised_at.astimezone(zone()).year if item.raised_at else today().year
    return f"HĐKP-{year}-{item.id:03d}"


# --- reading --------------------------------------------------------------------------------

def may_see(user: User, item: Nonconformity) -> bool:
    """Tell whether the user may read this nonconformity."""
    return base.reads_all(user) or user.id in (item.owner_id, item.raised_by_id)


def get(actor: User, nc_id) -> Nonconformity:
    """Return a nonconformity the actor may read, or raise NotFound."""
    item = base.get_row(Nonconformity, nc_id, NOT_FOUND)
    if not may_see(actor, item):
        raise NotFound(NOT_FOUND)
    return item


def _overdue_filter(day: date):
    return (Nonconformity.status == NcStatus.OPEN) & (Nonconformity.due_date < day)


def list_ncs(actor: User, *, status=None, overdue=None, source=None,
             owner=None) -> list[Nonconformity]:
    """Return the nonconformities the actor may read, newest first, filtered."""
    query = select(Nonconformity).options(joinedload(Nonconformity.owner),
                                          joinedload(Nonconformity.department))
    if not base.reads_all(actor):
        query = query.where(or_(Nonconformity.owner_id == actor.id,
                                Nonconformity.raised_by_id == actor.id))
    if status not in (None, ""):
        if status not in {s.value for s in NcStatus}:
            raise ValidationError(_l("Unknown status of a nonconformity: choose open, "
                                     "action_done, verified or closed"), field="status")
        query = query.where(Nonconformity.status == status)
    if source not in (None, ""):
        if source not in {s.value for s in NcSource}:
            raise ValidationError(_l("source must be audit, complaint, objective or other"),
                                  field="source")
        query = query.where(Nonconformity.source == source)
    if owner not in (None, ""):
        person = base.person(owner, "owner")
        query = query.where(Nonconformity.owner_id == person.id)
    if overdue in (True, "1", "true", "yes"):
        query = query.where(_overdue_filter(today())).order_by(Nonconformity.due_date)
    elif overdue not in (None, "", False, "0", "false", "no"):
        raise ValidationError(_l("overdue must be 1 or 0"), field="overdue")
    return list(db.session.scalars(query.order_by(Nonconformity.id.desc())).unique())


def overdue_for_home(user: User) -> list[Nonconformity] | None:
    """Return the overdue actions for the secretary's and the head of agency's home page;
    None for anyone else (the panel is not theirs)."""
    if not (base.manages(user) or has_perm(user.role, Perm.APPROVE)):
        return None
    return list(db.session.scalars(select(Nonconformity).where(_overdue_filter(today()))
                                   .options(joinedload(Nonconformity.owner))
                                   .order_by(Nonconformity.due_date, Nonconformity.id)))


def overdue(item: Nonconformity) -> bool:
    """Tell whether this corrective action is overdue on the agency's today."""
    return is_overdue(item.status, item.due_date, today())


def raised_between(start: date, end: date) -> list[Nonconformity]:
    """Return the nonconformities raised in a period, or still open at its end."""
    first = datetime.combine(start, time(0), tzinfo=zone())
    after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone())
    return list(db.session.scalars(
        select(Nonconformity).where(
            or_((Nonconformity.raised_at >= first) & (Nonconformity.raised_at < after),
                (Nonconformity.raised_at < after) & (Nonconformity.status != NcStatus.CLOSED),
                (Nonconformity.closed_at >= first) & (Nonconformity.closed_at < after)))
        .options(joinedload(Nonconformity.owner)).order_by(Nonconformity.id)).unique())


# --- checking input -------------------------------------------------------------------------

def _source(value) -> str:
    if value not in {s.value for s in NcSource}:
        raise ValidationError(_l("source must be audit, complaint, objective or other"),
                              field="source")
    return str(value)


def _set(item: Nonconformity, data: dict) -> None:
    """Check and set the given fields (the caller checked who may set which)."""
    if "source" in data:
        item.source = _source(data["source"])
    if "source_reference" in data:
        item.source_reference = base.line(data["source_reference"], "source_reference")
    if "description" in data:
        item.description = base.text(data["description"], "description", required=True,
                                     message=_l("Describe the nonconformity"))
    if "department" in data:
        found: Department | None = base.department(data["department"])
        item.department_id = found.id if found else None
    for name in ("cause", "correction", "action"):
        if name in data:
            setattr(item, name, base.text(data[name], name))
    if "owner" in data:
        owner = base.person(data["owner"], "owner", required=False)
        item.owner_id = owner.id if owner else None
    if "due_date" in data:
        item.due_date = base.day(data["due_date"], "due_date")


def _details(item: Nonconformity) -> dict:
    return {"nonconformity": item.id, "source": item.source,
            "source_reference": item.source_reference, "department": item.department_id,
            "description": item.description, "cause": item.cause,
            "correction": item.correction, "action": item.action, "owner": item.owner_id,
            "due_date": item.due_date, "status": item.status}


# --- actions --------------------------------------------------------------------------------

def raise_in_unit(actor: User, *, source: str, reference: str, description: str,
                  department: Department | None = None,
                  finding: AuditFinding | None = None) -> Nonconformity:
    """Add a nonconformity to the caller's unit of work (an audit finding raises one)."""
    item = Nonconformity(source=_source(source), source_reference=reference[:300],
                         description=description, department_id=department.id
                         if department else None, status=NcStatus.OPEN,
                         raised_by_id=actor.id, raised_at=now())
    db.session.add(item)
    db.session.flush()
    audit.record("improvement_nc_raised", actor, object_type=OBJECT_TYPE,
                 object_id=str(item.id),
                 details={**_details(item), "finding": finding.id if finding else None})
    return item


def join_from_finding(actor: User, nc_id, finding: AuditFinding) -> Nonconformity:
    """Link a finding to a nonconformity still being dealt with (the caller commits)."""
    item = base.get_row(Nonconformity, nc_id, NOT_FOUND)
    if item.status == NcStatus.CLOSED:
        raise Conflict(_l("Nonconformity no. %(id)s is closed: raise a new one",
                          id=item.id), field="nonconformity")
    audit.record("improvement_nc_finding_linked", actor, object_type=OBJECT_TYPE,
                 object_id=str(item.id), details={"nonconformity": item.id,
                                                  "finding": finding.id})
    return item


def raise_nc(actor: User, data: dict) -> Nonconformity:
    """Raise a nonconformity from a complaint, a missed objective or elsewhere."""
    base.require_manage(actor)
    unknown = set(data) - FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    data = {"source": None, "description": None, **data}   # both required
    try:
        item = Nonconformity(status=NcStatus.OPEN, raised_by_id=actor.id, raised_at=now())
        _set(item, data)
        db.session.add(item)
        db.session.flush()
        audit.record("improvement_nc_raised", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id), details=_details(item))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def _locked(actor: User, nc_id) -> Nonconformity:
    item = publishing.locked_row(get(actor, nc_id))
    if item.status == NcStatus.CLOSED:
        base.refuse_final(CLOSED)
    return item


def _step(item: Nonconformity, step: Step) -> NcStatus:
    try:
        return nc_next(item.status, step)
    except InvalidTransition:
        raise Conflict(_l("This step is not allowed while the corrective action is "
                          "%(status)s", status=STATUS_NAMES.get(item.status, item.status)),
                       status=item.status) from None


def update(actor: User, nc_id, data: dict) -> Nonconformity:
    """Edit the analysis, the action, its owner or due date while the action is open."""
    unknown = set(data) - FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    item = get(actor, nc_id)
    if not base.manages(actor):
        if actor.id != item.owner_id:
            raise Forbidden(_l("Only the ISO secretary or the owner of the action can do this"))
        if set(data) - OWNER_FIELDS:
            raise Forbidden(_l("The owner writes the cause, the correction and the action; "
                               "the ISO secretary sets the rest"))
    item = _locked(actor, nc_id)
    try:
        if item.status not in NC_EDITABLE:
            raise Conflict(_l("The action is reported done: it can no longer be edited"),
                           status=item.status)
        before = _details(item)
        _set(item, data)
        after = _details(item)
        changed = {k: after[k] for k in after if after[k] != before[k]}
        if changed:
            audit.record("improvement_nc_updated", actor, object_type=OBJECT_TYPE,
                         object_id=str(item.id), details={"nonconformity": item.id, **changed})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def report_done(actor: User, nc_id, *, action_taken) -> Nonconformity:
    """The owner reports the corrective action taken."""
    item = get(actor, nc_id)
    if actor.id != item.owner_id:
        raise Forbidden(_l("Only the owner of the action reports it done"))
    taken = base.text(action_taken, "action_taken", required=True,
                      message=_l("Say what was done"))
    item = _locked(actor, nc_id)
    try:
        target = _step(item, Step.REPORT_DONE)
        if not item.cause or not item.action:
            raise Conflict(_l("Write the cause and the corrective action before reporting "
                              "it done"), field="action")
        item.status, item.action_taken, item.action_done_at = target, taken, now()
        audit.record("improvement_nc_action_done", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id), details={"nonconformity": item.id},
                     reason=taken)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def verify(actor: User, nc_id, *, effective, comment=None) -> Nonconformity:
    """Verify the action's effectiveness; not effective sends it back to open."""
    item = get(actor, nc_id)
    if not (base.manages(actor) or has_perm(actor.role, Perm.APPROVE)):
        raise Forbidden(_l("Only the ISO secretary or the head of agency verifies "
                           "effectiveness"))
    if actor.id == item.owner_id:
        raise Forbidden(_l("The owner of an action cannot verify its own effectiveness"))
    if not isinstance(effective, bool):
        raise ValidationError(_l("effective must be true or false"), field="effective")
    note = base.text(comment, "comment", required=not effective,
                     message=_l("Say why the action was not effective"))
    item = _locked(actor, nc_id)
    try:
        target = _step(item, Step.VERIFY_EFFECTIVE if effective else Step.VERIFY_NOT_EFFECTIVE)
        item.status, item.effective, item.verification_comment = target, effective, note
        item.verified_by_id, item.verified_at = actor.id, now()
        if not effective:
            item.rounds += 1
            item.action_done_at = None
        audit.record("improvement_nc_verified", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"nonconformity": item.id, "effective": effective,
                              "round": item.rounds}, reason=note or None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def report_text(item: Nonconformity, closer: User) -> reports.NcReport:
    """Return what the HĐKP report prints."""
    def on(moment):
        return moment.astimezone(zone()).date() if moment else None
    return reports.NcReport(
        heading=reports.Heading(organisation=organisation.name(), place=organisation.place(),
                                day=today(), number=number(item)),
        source=item.source, source_reference=item.source_reference,
        department=item.department.name if item.department else "",
        description=item.description, cause=item.cause, correction=item.correction,
        action=item.action, owner=item.owner.display_name if item.owner else "",
        due=item.due_date, action_taken=item.action_taken,
        action_done_on=on(item.action_done_at),
        verifier=item.verified_by.display_name if item.verified_by else "",
        verified_on=on(item.verified_at), effective=item.effective,
        verification_comment=item.verification_comment,
        raised_by=item.raised_by.display_name, raised_on=on(item.raised_at),
        closed_by=closer.display_name, rounds=item.rounds)


def _file_report(actor: User, item: Nonconformity, data: bytes):
    """File the HĐKP report as a record (services/records, the one filing unit of work)."""
    return base.file_report(
        actor, kind="nonconformity",
        title=f"Báo cáo thực hiện hành động khắc phục {number(item)}",
        filename=f"bao-cao-hdkp-{item.id:03d}.docx", data=data, record_date=today(),
        keeper=base.keeper_id(actor), reference=number(item))


def close(actor: User, nc_id) -> Nonconformity:
    """Close a verified corrective action and file its report; nothing changes after."""
    base.require_manage(actor)
    item = _locked(actor, nc_id)
    try:
        if item.status != NcStatus.VERIFIED:
            raise Conflict(_l("The corrective action cannot be closed before its "
                              "effectiveness is verified"), status=item.status)
        target = _step(item, Step.CLOSE)
        record = _file_report(actor, item, reports.build_nc_report(report_text(item, actor)))
        item = publishing.locked_row(item)
        if item.status != NcStatus.VERIFIED:   # closed meanwhile by another request
            base.refuse_final(CLOSED)
        item.status, item.closed_by_id, item.closed_at = target, actor.id, now()
        item.record_id = record.id
        audit.record("improvement_nc_closed", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"nonconformity": item.id, "record": record.id,
                              "slug": record.slug, "sha256": record.sha256})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


STATUS_NAMES = {
    NcStatus.OPEN: _l("open (action under way)"),
    NcStatus.ACTION_DONE: _l("done, awaiting verification"),
    NcStatus.VERIFIED: _l("verified effective"),
    NcStatus.CLOSED: _l("closed"),
}
