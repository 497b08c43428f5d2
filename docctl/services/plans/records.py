"""Plans of records: filing one (write-once folder) and disposing of a signed list of them."""

from __future__ import annotations

from datetime import datetime

from flask import g
from sqlalchemy import delete, select, update

from docctl.extensions import db
from docctl.models import Department, Document, Intent, User
from docctl.models_records import (
    Disposition,
    Record,
    RecordIndexJob,
    RecordKey,
    RecordLink,
)
from docctl.services import audit
from docctl.services.context import now
from docctl.services.gitfacts import as_json, local, who
from docctl.services.plans import CommitSpec, register
from docctl.store import layout

FILE = "file_record"
DISPOSE = "dispose"
DISPOSE_MEANING = "approved_disposition"
_HANDED = "docctl.sealed_records"


def hand_over(record_id: int, sealed: bytes) -> None:
    """Give the plan a record's sealed bytes for this app context's filing."""
    g.setdefault(_HANDED, {})[record_id] = sealed


def take_back(record_id: int) -> None:
    """Forget the sealed bytes handed over for a filing."""
    g.get(_HANDED, {}).pop(record_id, None)


def record_facts(record: Record) -> dict:
    """Return what record.json says of a record: everything but its content."""
    form = db.session.get(Document, record.form_id) if record.form_id else None
    keeper = db.session.get(Department, record.keeper_id)
    corrects = db.session.get(Record, record.corrects_id) if record.corrects_id else None
    links = db.session.execute(select(RecordLink.target_record_id, RecordLink.target_document_id)
                               .where(RecordLink.record_id == record.id)
                               .order_by(RecordLink.id)).all()
    return {"record": record.slug, "kind": record.kind, "title": record.title,
            "form": form.code if form else None, "form_revision": record.form_revision,
            "off_form": record.off_form, "keeper": keeper.code,
            "visibility": record.visibility, "date": record.record_date.isoformat(),
            "reference": record.reference, "filename": record.filename,
            "media": record.media, "size": record.size, "sha256": record.sha256,
            "sealed": {"file": layout.SEALED, "sha256": record.sealed_sha256,
                       "cipher": "AES-256-GCM", "key": "held by the database; destroyed on "
                                                      "disposition"},
            "retention": record.retention,
            "retain_until": record.retain_until.isoformat() if record.retain_until else None,
            "corrects": corrects.slug if corrects else None,
            "links": [_link_name(r, d) for r, d in links],
            "filed_by": who(db.session.get(User, record.filed_by_id))}


def _link_name(record_id, document_id) -> str:
    if record_id:
        return db.session.get(Record, record_id).slug
    return db.session.get(Document, document_id).code


def _record(payload: dict) -> Record:
    return db.session.get(Record, payload["record_id"])


def build_file(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of a filing: record.json and the sealed content, in a new folder."""
    record = _record(payload)
    sealed = g.get(_HANDED, {}).get(record.id)
    if sealed is None:
        raise RuntimeError(f"no sealed content handed over for record {record.slug}")
    folder = layout.record_dir(record.year, record.slug)
    trailers = [("Docctl-Record", record.slug), ("Docctl-Action", "file-record"),
                ("Filed-By", who(actor)), ("Record-Date", record.record_date.isoformat()),
                ("Content-SHA256", record.sha256), ("Sealed-SHA256", record.sealed_sha256)]
    if record.corrects_id:
        trailers.append(("Corrects", db.session.get(Record, record.corrects_id).slug))
    return CommitSpec(subject=f'{record.slug}: file record "{record.title[:80]}"', body=None,
                      files={f"{folder}/{layout.RECORD_JSON}": as_json(record_facts(record)),
                             f"{folder}/{layout.SEALED}": sealed},
                      trailers=trailers)


def apply_file(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Mark the record filed at its commit, say so, and queue it for the records index."""
    record = _record(payload)
    record.status = "filed"
    record.commit_sha = sha
    record.filed_at = now()
    db.session.add(RecordIndexJob(record_id=record.id, action="add"))
    audit.record("record_filed", actor, object_type="record", object_id=record.slug,
                 details={"commit": sha, "sha256": record.sha256, "kind": record.kind,
                          "form_revision": record.form_revision, "off_form": record.off_form,
                          "reference": record.reference,
                          "corrects": payload.get("corrects")})


def abandon_file(intent: Intent, payload: dict) -> None:
    """Remove a record git never took: it is absent, not half filed."""
    record_id = payload["record_id"]
    db.session.execute(delete(RecordLink).where(RecordLink.record_id == record_id))
    db.session.execute(delete(RecordKey).where(RecordKey.record_id == record_id))
    db.session.execute(delete(RecordIndexJob).where(RecordIndexJob.record_id == record_id))
    db.session.execute(delete(Record).where(Record.id == record_id, Record.status == "filing"))


def _disposition(payload: dict) -> Disposition:
    return db.session.get(Disposition, payload["disposition_id"])


def disposition_facts(disposition: Disposition, payload: dict, actor: User | None) -> dict:
    """Return disposition.json: the signed list, with each record's hashes, kept for audit."""
    records = [item.record for item in disposition.items]
    return {"disposition": disposition.slug, "reason": disposition.reason,
            "proposed_by": who(disposition.proposed_by),
            "proposed_at": local(disposition.proposed_at),
            "approved_by": who(actor), "approved_at": local(
                datetime.fromisoformat(payload["signed_at"])),
            "meaning": DISPOSE_MEANING,
            "records": [{"record": r.slug, "kind": r.kind, "title": r.title,
                         "reference": r.reference, "date": r.record_date.isoformat(),
                         "retention": r.retention,
                         "retain_until": r.retain_until.isoformat() if r.retain_until else None,
                         "sha256": r.sha256, "sealed_sha256": r.sealed_sha256,
                         "filed_in": r.commit_sha} for r in records]}


def build_dispose(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of a signed disposition list (no record folder is touched)."""
    disposition = _disposition(payload)
    facts = disposition_facts(disposition, payload, actor)
    trailers = [("Docctl-Disposition", disposition.slug), ("Docctl-Action", DISPOSE),
                ("Proposed-By", who(disposition.proposed_by)), ("Approved-By", who(actor)),
                ("Approved-At", facts["approved_at"]),
                ("Records-Disposed", str(len(facts["records"])))]
    folder = layout.disposition_dir(disposition.slug)
    return CommitSpec(subject=f"{disposition.slug}: dispose of {len(facts['records'])} "
                              "records", body=disposition.reason,
                      files={f"{folder}/disposition.json": as_json(facts)}, trailers=trailers)


def apply_dispose(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Destroy the records' keys, mark them disposed, purge them from the index, say so."""
    disposition = _disposition(payload)
    ids = [item.record_id for item in disposition.items]
    at = now()
    # Overwrite before deleting: a freed page then holds zeros, not a key (with SQLite's
    # secure_delete and PostgreSQL's vacuum after commit, see services/dispositions.scrub).
    db.session.execute(update(RecordKey).where(RecordKey.record_id.in_(ids))
                       .values(key=b"\0" * 32))
    db.session.execute(delete(RecordKey).where(RecordKey.record_id.in_(ids)))
    db.session.execute(update(Record).where(Record.id.in_(ids)).values(
        status="disposed", disposition_id=disposition.id, disposed_at=at))
    for record_id in ids:
        db.session.add(RecordIndexJob(record_id=record_id, action="purge"))
    disposition.status = "done"
    disposition.commit_sha = sha
    audit.record("records_disposed", actor, object_type="disposition",
                 object_id=disposition.slug,
                 details={"commit": sha, "records": [item.record.slug
                                                     for item in disposition.items],
                          "meaning": DISPOSE_MEANING,
                          "proposed_by": disposition.proposed_by.username},
                 reason=disposition.reason)


def abandon_dispose(intent: Intent, payload: dict) -> None:
    """A disposition git never took is not started: the list is proposed again."""
    db.session.execute(update(Disposition).where(
        Disposition.id == payload["disposition_id"], Disposition.status == "disposing")
        .values(status="proposed", approver_id=None, approved_at=None))


register(FILE, build=build_file, apply=apply_file, abandon=abandon_file, needs_head=False)
def _scrub() -> None:
    from docctl.services import dispositions
    dispositions.scrub()


register(DISPOSE, build=build_dispose, apply=apply_dispose, abandon=abandon_dispose,
         needs_head=False, after_commit=_scrub)
