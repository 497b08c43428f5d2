"""The auditor's view of a period's records, and its evidence package (.zip with hashes)."""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError, Forbidden, ValidationError
from docctl.extensions import db
from docctl.models import Document, Revision, User
from docctl.models_records import Disposition, LegalHold, Record, RecordType
from docctl.services import audit, records
from docctl.services.context import now, parse_day, store, today, zone
from docctl.services.evidence import Package, _ascii, _local, _person, _record, _Writer
from docctl.services.gitfacts import who
from docctl.services.records_evidence_readme import README
from docctl.store import layout


@dataclass
class ProcedureRecords:
    """The records of a period filed under one procedure's records list (or none)."""

    procedure: Document | None
    kind: str | None          # for records made without a form: what made them
    records: list[Record] = field(default_factory=list)


@dataclass
class PeriodView:
    """What an auditor sees of a period: records per procedure, dispositions, holds."""

    start: date
    end: date
    groups: list[ProcedureRecords]
    dispositions: list[Disposition]
    holds: list[LegalHold]
    improvement: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Return how many records the period holds."""
        return sum(len(g.records) for g in self.groups)


def require_reader(actor: User) -> None:
    """Let auditors and the secretary (who keeps records) read a period."""
    if not (has_perm(actor.role, Perm.AUDIT) or has_perm(actor.role, Perm.MANAGE_RECORDS)):
        raise Forbidden(_l("Your role does not allow this"))


def period(date_from, date_to) -> tuple[date, date]:
    """Return the period asked for: dd/mm/yyyy or YYYY-MM-DD; this year so far by default."""
    start = parse_day(date_from, "from") if isinstance(date_from, str | None) else date_from
    end = parse_day(date_to, "to") if isinstance(date_to, str | None) else date_to
    end = end or today()
    start = start or date(end.year, 1, 1)
    if start > end:
        raise ValidationError(_l("The period starts after it ends"), field="from")
    return start, end


def _instants(start: date, end: date) -> tuple[datetime, datetime]:
    """Return [start, end] as UTC instants from the agency's midnight to the next one."""
    return (datetime.combine(start, time.min, tzinfo=zone()).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone()).astimezone(UTC))


def _records(actor: User, start: date, end: date) -> list[ProcedureRecords]:
    """Return the period's records the actor may see, grouped per procedure by code."""
    rows = db.session.execute(
        select(Record, Document).outerjoin(RecordType, RecordType.id == Record.record_type_id)
        .outerjoin(Revision, Revision.id == RecordType.revision_id)
        .outerjoin(Document, Document.id == Revision.document_id)
        .where(Record.status != records.RecordStatus.FILING,
               Record.record_date >= start, Record.record_date <= end,
               records.visible_filter(actor))
        .order_by(Record.record_date, Record.id)).all()
    groups: dict[tuple, ProcedureRecords] = {}
    for record, procedure in rows:
        key = (procedure.code, "") if procedure is not None else ("~", record.kind)
        group = groups.setdefault(key, ProcedureRecords(
            procedure, None if procedure is not None else record.kind))
        group.records.append(record)
    return [groups[k] for k in sorted(groups)]


def _dispositions(start: date, end: date) -> list[Disposition]:
    """Return the disposition lists signed in the period (carried out), oldest first."""
    begin, stop = _instants(start, end)
    return list(db.session.scalars(select(Disposition).where(
        Disposition.status == "done", Disposition.approved_at >= begin,
        Disposition.approved_at < stop).order_by(Disposition.approved_at)))


def _holds(start: date, end: date) -> list[LegalHold]:
    """Return the legal holds in force at some time in the period."""
    begin, stop = _instants(start, end)
    return list(db.session.scalars(select(LegalHold).where(
        LegalHold.created_at < stop,
        or_(LegalHold.released_at.is_(None), LegalHold.released_at >= begin))
        .order_by(LegalHold.id)))


def _improvement(actor: User, start: date, end: date) -> dict:
    """Return the period's internal audits, nonconformities (open and closed) and reviews."""
    from docctl.services import audits, management_reviews, nonconformities
    raised = [n for n in nonconformities.raised_between(start, end)
              if nonconformities.may_see(actor, n)]
    return {"audits": [a for a in audits.in_period(start, end) if audits.may_see(actor, a)],
            "nonconformities_open": [n for n in raised if n.status != "closed"],
            "nonconformities_closed": [n for n in raised if n.status == "closed"],
            "reviews": [r for r in management_reviews.list_reviews(actor)
                        if start <= r.review_date <= end]}


def period_view(actor: User, date_from=None, date_to=None) -> PeriodView:
    """Return an auditor's view of the records of a period."""
    require_reader(actor)
    start, end = period(date_from, date_to)
    return PeriodView(start, end, _records(actor, start, end), _dispositions(start, end),
                      _holds(start, end), _improvement(actor, start, end))


def read_period(actor: User, date_from=None, date_to=None) -> PeriodView:
    """Return the period view for its page, and record that the actor read it."""
    view = period_view(actor, date_from, date_to)
    audit.record_reading("viewed", actor, object_type="records_period",
                         object_id=f"{view.start.isoformat()}..{view.end.isoformat()}",
                         details={"records": view.count})
    return view


# ---- the package -------------------------------------------------------------------------------

def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _record_facts(record: Record, procedure: Document | None) -> dict:
    disposition = db.session.get(Disposition, record.disposition_id) \
        if record.disposition_id else None
    return {"record": record.slug, "title": record.title, "kind": record.kind,
            "procedure": procedure.code if procedure else None,
            "form": record.form.code if record.form else None,
            "form_revision": record.form_revision, "off_form": record.off_form,
            "date": _iso(record.record_date), "reference": record.reference,
            "keeper": record.keeper.code, "retention": record.retention,
            "retain_until": _iso(record.retain_until), "status": record.status,
            "filename": record.filename, "media": record.media, "size": record.size,
            "sha256": record.sha256, "sealed_sha256": record.sealed_sha256,
            "commit": record.commit_sha,
            "git_path": f"{records.folder(record)}/{layout.SEALED}",
            "filed_by": who(record.filed_by), "filed_at": _iso(record.filed_at),
            "corrects": record.corrects.slug if record.corrects else None,
            "disposition": None if disposition is None else {
                "list": disposition.slug, "signed_by": who(disposition.approver),
                "signed_at": _iso(disposition.approved_at),
                "disposed_at": _iso(record.disposed_at)},
            "file": None, "problem": None}


def _content(writer: _Writer, record: Record, facts: dict, folder: str) -> None:
    """Put a filed record's content in the package, byte for byte as filed."""
    if record.status != records.RecordStatus.FILED:
        facts["problem"] = "disposed of: its content no longer exists"
        return
    try:
        data = records.open_content(record)
    except DocctlError as exc:
        facts["problem"] = f"its content could not be read: {exc.message}"
        return
    if hashlib.sha256(data).hexdigest() != record.sha256:
        facts["problem"] = "its content does not match its recorded SHA-256; not included"
        return
    name = f"records/{folder}/{_ascii(record.slug)}_{_ascii(record.filename)}"
    writer.put(name, data)
    facts["file"] = name


def _disposition_facts(writer: _Writer, row: Disposition) -> dict:
    path = f"{layout.disposition_dir(row.slug)}/disposition.json"
    facts = {"list": row.slug, "reason": row.reason, "proposed_by": who(row.proposed_by),
             "proposed_at": _iso(row.proposed_at), "approved_by": who(row.approver),
             "approved_at": _iso(row.approved_at), "commit": row.commit_sha,
             "git_path": path, "records": [item.record.slug for item in row.items],
             "file": None}
    try:
        data = store().read_file(row.commit_sha, path)
    except DocctlError:
        facts["problem"] = "disposition.json is missing from the store"
        return facts
    facts["file"] = f"dispositions/{_ascii(row.slug)}/disposition.json"
    writer.put(facts["file"], data)
    return facts


def _hold_facts(row: LegalHold) -> dict:
    return {"hold": row.id, "reason": row.reason, "active": row.active,
            "placed_by": who(row.created_by), "placed_at": _iso(row.created_at),
            "released_by": who(row.released_by) if row.released_by else None,
            "released_at": _iso(row.released_at), "release_reason": row.release_reason,
            "records": [item.record.slug for item in row.items]}


def package(actor: User, date_from=None, date_to=None) -> Package:
    """Build the evidence package of a period's records and record its download."""
    view = period_view(actor, date_from, date_to)
    at = now()
    scope = {"records": True, "from": _iso(view.start), "to": _iso(view.end)}
    manifest = {"generated_at": at.isoformat(), "scope": scope, "store_head": store().head(),
                "generated_by": {"username": actor.username, "name": actor.display_name,
                                 "role": actor.role},
                "procedures": [], "records": [], "dispositions": [], "legal_holds": []}
    # The caller streams the file to the client, which closes it; a failure closes it here.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            _write(_Writer(archive, at), actor, view, manifest, at)
    except BaseException:
        handle.close()
        raise
    size = handle.seek(0, 2)
    handle.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    stamp = at.astimezone(zone()).strftime("%Y%m%d-%H%M")
    built = Package(handle, f"evidence_records_{view.start.isoformat()}_{view.end.isoformat()}"
                            f"_{stamp}.zip", size, digest.hexdigest())
    _record(actor, built, scope, None)
    return built


def _write(writer: _Writer, actor: User, view: PeriodView, manifest: dict,
           at: datetime) -> None:
    for group in view.groups:
        folder = _ascii(group.procedure.code) if group.procedure else f"_{group.kind}"
        manifest["procedures"].append({
            "procedure": group.procedure.code if group.procedure else None,
            "title": group.procedure.title if group.procedure else None,
            "kind": group.kind, "records": [r.slug for r in group.records]})
        for record in group.records:
            facts = _record_facts(record, group.procedure)
            _content(writer, record, facts, folder)
            manifest["records"].append(facts)
    manifest["dispositions"] = [_disposition_facts(writer, row) for row in view.dispositions]
    manifest["legal_holds"] = [_hold_facts(row) for row in view.holds]
    manifest["improvement"] = _improvement_facts(view.improvement)
    writer.put("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2,
                                           sort_keys=True, default=str).encode())
    filed = sum(1 for r in manifest["records"] if r["file"])
    writer.put("README.txt", README.format(
        start=view.start.strftime("%d/%m/%Y"), end=view.end.strftime("%d/%m/%Y"),
        generated=f"{_local(at)} ({zone().key})", head=manifest["store_head"],
        who=_person(actor.display_name, actor.username, actor.role),
        records=len(manifest["records"]), filed=filed,
        disposed=len(manifest["records"]) - filed,
        dispositions=len(manifest["dispositions"]),
        holds=len(manifest["legal_holds"])).encode())
    sums = "".join(f"{digest}  {name}\n" for digest, name in sorted(
        writer.sums, key=lambda item: item[1]))
    writer.archive.writestr(zipfile.ZipInfo("MANIFEST.txt", date_time=writer.when), sums)


def _slug(record: Record | None) -> str | None:
    return record.slug if record is not None else None


def _improvement_facts(items: dict) -> dict:
    """Return the period's improvement loop as manifest.json states it."""
    from docctl.services.nonconformities import number, overdue

    def nc(n) -> dict:
        return {"number": number(n), "source": n.source, "reference": n.source_reference,
                "description": n.description, "department": n.department.code
                if n.department else None, "cause": n.cause, "action": n.action,
                "owner": who(n.owner) if n.owner else None, "due_date": _iso(n.due_date),
                "overdue": overdue(n), "status": n.status, "effective": n.effective,
                "verified_by": who(n.verified_by) if n.verified_by else None,
                "verified_at": _iso(n.verified_at), "closed_at": _iso(n.closed_at),
                "report_record": _slug(n.record)}

    return {
        "audits": [{"id": a.id, "title": a.title, "year": a.year, "scope": {
            "clauses": a.clauses, "departments": a.departments, "procedures": a.procedures},
            "start_date": _iso(a.start_date), "end_date": _iso(a.end_date),
            "lead_auditor": who(a.lead_auditor), "status": a.status,
            "findings": [{"kind": f.kind, "clause": f.clause, "description": f.description,
                          "nonconformity": number(f.nonconformity) if f.nonconformity
                          else None} for f in a.findings],
            "report_record": _slug(a.record)} for a in items.get("audits", [])],
        "nonconformities_open": [nc(n) for n in items.get("nonconformities_open", [])],
        "nonconformities_closed": [nc(n) for n in items.get("nonconformities_closed", [])],
        "management_reviews": [{"id": r.id, "title": r.title,
                                "review_date": _iso(r.review_date), "status": r.status,
                                "approved_by": who(r.approved_by) if r.approved_by else None,
                                "approved_at": _iso(r.approved_at),
                                "minutes_record": _slug(r.record),
                                "actions": [{"description": x.description,
                                             "owner": who(x.owner),
                                             "due_date": _iso(x.due_date), "status": x.status}
                                            for x in r.actions]}
                               for r in items.get("reviews", [])]}
