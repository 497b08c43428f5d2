"""Internal audits (ISO 9001 §9.2): the year's programme, each audit's scope, team, findings
and report.

Who may do what:
- plan, edit, start and close an audit: the ISO secretary (Perm.MANAGE_IMPROVEMENT); the lead
  auditor may start and close their own audit too;
- record findings: the audit team named on the audit, and the secretary;
- read: the secretary, the head of agency (approvers) and auditors read every audit; a member of
  the team reads their own; nobody else sees them (404, no probing).
A nonconformity finding raises a nonconformity (services/nonconformities), or joins one already
open. Closing files the audit report as a record; after that nothing on the audit changes.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from docctl.domain.improvement import (
    AUDIT_EDITABLE,
    AuditStatus,
    FindingKind,
    NcSource,
    Step,
    audit_next,
    parse_clauses,
)
from docctl.domain.textfold import clean_line
from docctl.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Department, Document, User
from docctl.models_improvement import AuditFinding, AuditTeamMember, InternalAudit
from docctl.office import improvement_reports as reports
from docctl.services import audit, documents, organisation, publishing
from docctl.services import improvement_base as base
from docctl.services.context import now, today

OBJECT_TYPE = "internal_audit"
FIELDS = {"title", "year", "clauses", "departments", "procedures", "start_date", "end_date",
          "lead_auditor", "team"}
FINDING_FIELDS = {"kind", "clause", "department", "procedure", "description", "evidence",
                  "nonconformity"}
NOT_FOUND = _l("No such internal audit")
CLOSED = _l("This audit is closed: its report is filed and nothing on it changes")


# --- reading --------------------------------------------------------------------------------

def is_member(user: User, item: InternalAudit) -> bool:
    """Tell whether the user is on the audit's team (the lead auditor included)."""
    return user.id == item.lead_auditor_id or any(m.user_id == user.id for m in item.team)


def may_see(user: User, item: InternalAudit) -> bool:
    """Tell whether the user may read this audit."""
    return base.reads_all(user) or is_member(user, item)


def get(actor: User, audit_id) -> InternalAudit:
    """Return an audit the actor may read, or raise NotFound."""
    item = base.get_row(InternalAudit, audit_id, NOT_FOUND)
    if not may_see(actor, item):
        raise NotFound(NOT_FOUND)
    return item


def list_audits(actor: User, *, year=None, status=None) -> list[InternalAudit]:
    """Return the audits the actor may read (a year's programme), by start date."""
    query = select(InternalAudit).options(selectinload(InternalAudit.team),
                                          selectinload(InternalAudit.findings))
    if year not in (None, ""):
        number = base.key(year)
        if number is None:
            raise ValidationError(_l("year must be a year such as 2026"), field="year")
        query = query.where(InternalAudit.year == number)
    if status not in (None, ""):
        if status not in {s.value for s in AuditStatus}:
            raise ValidationError(_l("Unknown status of an audit: choose planned, in_progress "
                                     "or reported"), field="status")
        query = query.where(InternalAudit.status == status)
    if not base.reads_all(actor):
        mine = select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == actor.id)
        query = query.where((InternalAudit.id.in_(mine))
                            | (InternalAudit.lead_auditor_id == actor.id))
    query = query.order_by(InternalAudit.start_date, InternalAudit.id)
    return list(db.session.scalars(query))


def in_period(start: date, end: date) -> list[InternalAudit]:
    """Return the audits that started within a period (for a management review)."""
    return list(db.session.scalars(
        select(InternalAudit).where(InternalAudit.start_date >= start,
                                    InternalAudit.start_date <= end)
        .options(selectinload(InternalAudit.findings))
        .order_by(InternalAudit.start_date, InternalAudit.id)))


# --- checking input -------------------------------------------------------------------------

def _codes(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [p for p in value.replace(";", ",").split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_l("%(field)s must be a list of codes", field=field), field=field)
    return [clean_line(v, max_len=40) for v in value if v.strip()]


def _departments(value) -> str:
    found = [base.department(code, "departments") for code in _codes(value, "departments")]
    return ", ".join(dict.fromkeys(d.code for d in found))


def _procedures(value) -> str:
    codes = []
    for code in _codes(value, "procedures"):
        document = documents.find_by_code(code)
        if document is None:
            raise ValidationError(_l("No document with code %(code)s", code=code),
                                  field="procedures")
        codes.append(document.code)
    return ", ".join(dict.fromkeys(codes))


def _clauses(value) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(_l("%(field)s must be text", field="clauses"), field="clauses")
    try:
        return ", ".join(parse_clauses(value or ""))
    except ValueError as exc:
        raise ValidationError(_l("%(clause)s is not an ISO 9001 clause number (such as 7.5 "
                                 "or 8.2.1)", clause=clean_line(str(exc), max_len=20)),
                              field="clauses") from None


def _team(value, lead: User) -> list[User]:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise ValidationError(_l("team must be a list of user names"), field="team")
    people = [lead] + [base.person(name, "team") for name in value]
    return list({p.id: p for p in people}.values())


def _year(value, start: date) -> int:
    if value in (None, ""):
        return start.year
    number = base.key(value)
    if number is None or not 2000 <= number <= 2100:
        raise ValidationError(_l("year must be a year such as 2026"), field="year")
    return number


def _apply(item: InternalAudit, data: dict, *, creating: bool) -> list[User] | None:
    """Check and set the plan's fields; return the new team when it changes."""
    if creating or "title" in data:
        item.title = base.line(data.get("title"), "title", required=True,
                               message=_l("Give the audit a title"))
    if creating or "start_date" in data:
        item.start_date = base.day(data.get("start_date"), "start_date", required=True)
    if creating or "end_date" in data:
        item.end_date = base.day(data.get("end_date"), "end_date") or item.start_date
    if item.end_date < item.start_date:
        raise ValidationError(_l("The audit cannot end before it starts"), field="end_date")
    if creating or "year" in data:
        item.year = _year(data.get("year"), item.start_date)
    if "clauses" in data or creating:
        item.clauses = _clauses(data.get("clauses"))
    if "departments" in data or creating:
        item.departments = _departments(data.get("departments"))
    if "procedures" in data or creating:
        item.procedures = _procedures(data.get("procedures"))
    if creating or "lead_auditor" in data:
        item.lead_auditor_id = base.person(data.get("lead_auditor"), "lead_auditor").id
    if creating or "team" in data or "lead_auditor" in data:
        lead = db.session.get(User, item.lead_auditor_id)
        named = data.get("team") if "team" in data or creating else [
            m.user.username for m in item.team]
        return _team(named, lead)
    return None


def _set_team(item: InternalAudit, people: list[User]) -> None:
    wanted = {p.id for p in people}
    for member in list(item.team):
        if member.user_id not in wanted:
            item.team.remove(member)
            db.session.delete(member)
    have = {m.user_id for m in item.team}
    for person in people:
        if person.id not in have:
            item.team.append(AuditTeamMember(user_id=person.id))


def _details(item: InternalAudit) -> dict:
    return {"audit": item.id, "title": item.title, "year": item.year,
            "start_date": item.start_date, "end_date": item.end_date,
            "clauses": item.clauses, "departments": item.departments,
            "procedures": item.procedures, "lead_auditor": item.lead_auditor_id,
            "team": sorted(m.user_id for m in item.team), "status": item.status}


# --- actions --------------------------------------------------------------------------------

def create(actor: User, data: dict) -> InternalAudit:
    """Plan an audit on the year's programme."""
    base.require_manage(actor)
    unknown = set(data) - FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    item = InternalAudit(status=AuditStatus.PLANNED, created_by_id=actor.id, created_at=now())
    try:
        team = _apply(item, data, creating=True)
        db.session.add(item)
        _set_team(item, team or [])
        db.session.flush()
        audit.record("improvement_audit_planned", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id), details=_details(item))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def _locked(actor: User, audit_id) -> InternalAudit:
    item = publishing.locked_row(get(actor, audit_id))
    if item.status not in AUDIT_EDITABLE:
        base.refuse_final(CLOSED)
    return item


def _step(item: InternalAudit, step: Step) -> AuditStatus:
    try:
        return audit_next(item.status, step)
    except InvalidTransition:
        raise Conflict(_l("This step is not allowed while the audit is %(status)s",
                          status=STATUS_NAMES.get(item.status, item.status)),
                       status=item.status) from None


def update(actor: User, audit_id, data: dict) -> InternalAudit:
    """Change an audit's plan, or start it ({"status": "in_progress"})."""
    unknown = set(data) - FIELDS - {"status"}
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    item = get(actor, audit_id)
    plan = set(data) - {"status"}
    if plan:
        base.require_manage(actor)
    elif not (base.manages(actor) or actor.id == item.lead_auditor_id):
        raise Forbidden(_l("Only the ISO secretary or the lead auditor can do this"))
    item = _locked(actor, audit_id)
    try:
        before = _details(item)
        if "status" in data:
            if data["status"] == AuditStatus.REPORTED:
                raise Conflict(_l("Close the audit to report it: its report is then filed"),
                               field="status")
            if data["status"] != item.status:
                if data["status"] != AuditStatus.IN_PROGRESS:
                    raise ValidationError(_l("status can only be set to in_progress (start "
                                             "the audit)"), field="status")
                item.status = _step(item, Step.START)
        team = _apply(item, data, creating=False) if plan else None
        if team is not None:
            _set_team(item, team)
        db.session.flush()
        after = _details(item)
        changed = {k: after[k] for k in after if after[k] != before[k]}
        if changed:
            audit.record("improvement_audit_started" if set(changed) == {"status"}
                         else "improvement_audit_updated", actor, object_type=OBJECT_TYPE,
                         object_id=str(item.id), details={"audit": item.id, **changed})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def _finding_fields(data: dict) -> dict:
    unknown = set(data) - FINDING_FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    kind = data.get("kind")
    if kind not in {k.value for k in FindingKind}:
        raise ValidationError(_l("kind must be conformity, observation or nonconformity"),
                              field="kind")
    clause = _clauses(data.get("clause"))
    if "," in clause:
        raise ValidationError(_l("Name one clause per finding"), field="clause")
    procedure: Document | None = None
    if data.get("procedure") not in (None, ""):
        procedure = documents.find_by_code(base.line(data.get("procedure"), "procedure"))
        if procedure is None:
            raise ValidationError(_l("No document with code %(code)s",
                                     code=clean_line(str(data["procedure"]), max_len=40)),
                                  field="procedure")
    department: Department | None = base.department(data.get("department"))
    return {"kind": kind, "clause": clause, "department": department, "procedure": procedure,
            "description": base.text(data.get("description"), "description", required=True,
                                     message=_l("Describe what was found")),
            "evidence": base.text(data.get("evidence"), "evidence")}


def add_finding(actor: User, audit_id, data: dict) -> AuditFinding:
    """Record a finding; a nonconformity raises (or joins) a corrective action."""
    from docctl.services import nonconformities  # they read audits too

    item = get(actor, audit_id)
    if not (base.manages(actor) or is_member(actor, item)):
        raise Forbidden(_l("Only the audit team named on this audit records its findings"))
    fields = _finding_fields(data)
    link = data.get("nonconformity")
    if link not in (None, "") and fields["kind"] != FindingKind.NONCONFORMITY:
        raise ValidationError(_l("Only a nonconformity finding joins a nonconformity"),
                              field="nonconformity")
    item = _locked(actor, audit_id)
    try:
        started = item.status == AuditStatus.PLANNED
        if started:   # the first finding means the audit is being conducted
            item.status = _step(item, Step.START)
        finding = AuditFinding(audit=item, kind=fields["kind"], clause=fields["clause"],
                               department=fields["department"],
                               procedure=fields["procedure"],
                               description=fields["description"],
                               evidence=fields["evidence"], created_by_id=actor.id,
                               created_at=now())
        db.session.add(finding)
        db.session.flush()
        if fields["kind"] == FindingKind.NONCONFORMITY:
            if link not in (None, ""):
                nc = nonconformities.join_from_finding(actor, link, finding)
            else:
                nc = nonconformities.raise_in_unit(
                    actor, source=NcSource.AUDIT,
                    reference=f"{item.title} ({item.start_date:%d/%m/%Y})",
                    description=finding.description, department=finding.department,
                    finding=finding)
            finding.nonconformity_id = nc.id
        audit.record("improvement_finding_recorded", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"audit": item.id, "finding": finding.id, "kind": finding.kind,
                              "clause": finding.clause,
                              "department": finding.department.code
                              if finding.department else None,
                              "procedure": finding.procedure.code
                              if finding.procedure else None,
                              "nonconformity": finding.nonconformity_id,
                              "started": started})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return finding


def report_text(item: InternalAudit) -> reports.AuditReport:
    """Return what the audit's report prints."""
    lead = item.lead_auditor
    return reports.AuditReport(
        heading=reports.Heading(organisation=organisation.name(), place=organisation.place(),
                                day=today(), number=f"ĐGNB-{item.year}-{item.id:02d}"),
        title=item.title, start=item.start_date, end=item.end_date, clauses=item.clauses,
        departments=item.departments, procedures=item.procedures, lead=lead.display_name,
        team=[m.user.display_name for m in item.team if m.user_id != lead.id],
        findings=[reports.FindingLine(
            kind=f.kind, clause=f.clause, department=f.department.code if f.department else "",
            procedure=f.procedure.code if f.procedure else "", description=f.description,
            evidence=f.evidence) for f in item.findings],
        conclusion=item.conclusion)


def _file_report(actor: User, item: InternalAudit, data: bytes):
    """File the audit report as a record (services/records, the one filing unit of work)."""
    return base.file_report(
        actor, kind="audit_report", title=f"Báo cáo đánh giá nội bộ: {item.title}",
        filename=f"bao-cao-danh-gia-noi-bo-{item.year}-{item.id:02d}.docx", data=data,
        record_date=today(), keeper=base.keeper_id(actor, item.lead_auditor),
        reference=f"ĐGNB-{item.year}-{item.id:02d}")


def close(actor: User, audit_id, *, conclusion=None) -> InternalAudit:
    """Close an audit: write its report, file it as a record; nothing changes after."""
    item = get(actor, audit_id)
    if not (base.manages(actor) or actor.id == item.lead_auditor_id):
        raise Forbidden(_l("Only the ISO secretary or the lead auditor can do this"))
    text = base.text(conclusion, "conclusion") if conclusion is not None else None
    item = _locked(actor, audit_id)
    try:
        target = _step(item, Step.CLOSE)
        report = report_text(item)
        if text is not None:
            report.conclusion = text
        data = reports.build_audit_report(report)
        # Filing commits its own intent first: the audit changes only once the record is in.
        record = _file_report(actor, item, data)
        item = publishing.locked_row(item)
        if item.status != AuditStatus.IN_PROGRESS:   # closed meanwhile by another request
            base.refuse_final(CLOSED)
        item.status = target
        if text is not None:
            item.conclusion = text
        item.closed_by_id, item.closed_at, item.record_id = actor.id, now(), record.id
        audit.record("improvement_audit_closed", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"audit": item.id, "record": record.id, "slug": record.slug,
                              "sha256": record.sha256, "findings": len(item.findings)})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


STATUS_NAMES = {
    AuditStatus.PLANNED: _l("planned"),
    AuditStatus.IN_PROGRESS: _l("in progress"),
    AuditStatus.REPORTED: _l("reported (closed)"),
}
