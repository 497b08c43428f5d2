"""Disposition of records (hủy tài liệu hết giá trị) and legal holds that block it.

The secretary proposes a list of records past their retention; an approver other than the
proposer signs it with their password. Signing is one unit of work (plan "dispose"): the list
is committed to git with every record's hashes, then the records' keys are destroyed, so their
sealed content in git can never be opened again while the history stays whole and `docctl
verify` stays green. A legal hold names records that no list may include until it is lifted.
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from docctl import dbengine
from docctl.domain.permissions import Perm, has_perm
from docctl.domain.textfold import nfc
from docctl.errors import Conflict, Forbidden, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import User
from docctl.models_records import (
    Disposition,
    DispositionItem,
    LegalHold,
    LegalHoldItem,
    Record,
)
from docctl.services import audit, publishing, signatures
from docctl.services.context import now, today
from docctl.services.documents import require
from docctl.services.records import RecordStatus

log = logging.getLogger(__name__)
MAX_RECORDS = 5000


def _reason(value, field: str = "reason") -> str:
    reason = nfc(value or "").strip()[:4000]
    if not reason:
        raise ValidationError(_l("A reason is required"), field=field)
    return reason


def _records(ids) -> list[Record]:
    """Return the records named by id, every one of them, or a 400 naming what is wrong."""
    if not isinstance(ids, list | tuple) or not ids:
        raise ValidationError(_l("Name at least one record"), field="records")
    if len(ids) > MAX_RECORDS:
        raise ValidationError(_l("At most %(n)s records at once", n=MAX_RECORDS),
                              field="records")
    try:
        wanted = list(dict.fromkeys(int(i) for i in ids))
    except (TypeError, ValueError):
        raise ValidationError(_l("Records are named by their numbers"),
                              field="records") from None
    rows = {r.id: r for r in db.session.scalars(select(Record).where(Record.id.in_(wanted)))}
    missing = [i for i in wanted if i not in rows or rows[i].status == RecordStatus.FILING]
    if missing:
        raise NotFound(_l("No such record: %(ids)s", ids=", ".join(map(str, missing[:10]))))
    return [rows[i] for i in wanted]


def held(record_ids) -> dict[int, LegalHold]:
    """Return the active legal hold of each held record among these."""
    rows = db.session.execute(select(LegalHoldItem.record_id, LegalHold).join(
        LegalHold, LegalHold.id == LegalHoldItem.hold_id).where(
        LegalHold.active.is_(True), LegalHoldItem.record_id.in_(list(record_ids)))).all()
    return {record_id: hold for record_id, hold in rows}


def _check_disposable(records: list[Record], *, except_list: int | None = None) -> None:
    """Refuse (409, naming them) records held, not yet due, disposed or on another list."""
    day = today()
    holds = held([r.id for r in records])
    if holds:
        names = ", ".join(r.slug for r in records if r.id in holds)
        raise Conflict(_l("Under legal hold, cannot be disposed of: %(names)s", names=names))
    gone = [r.slug for r in records if r.status != RecordStatus.FILED]
    if gone:
        raise Conflict(_l("Already disposed of: %(names)s", names=", ".join(gone[:20])))
    early = [r.slug for r in records if r.retain_until is None or r.retain_until >= day]
    if early:
        raise Conflict(_l("Not yet due for disposition (still within retention, kept "
                          "permanently, or awaiting the event it counts from): %(names)s",
                          names=", ".join(early[:20])))
    listed = db.session.execute(select(Record.slug, Disposition.slug).join(
        DispositionItem, DispositionItem.record_id == Record.id).join(
        Disposition, Disposition.id == DispositionItem.disposition_id).where(
        Record.id.in_([r.id for r in records]),
        Disposition.status.in_(("proposed", "disposing")),
        Disposition.id != (except_list or -1))).all()
    if listed:
        raise Conflict(_l("Already on disposition list %(list)s: %(names)s",
                          list=listed[0][1], names=", ".join(s for s, _ in listed[:20])))


def due(actor: User, *, limit: int = 2000) -> list[Record]:
    """Return records past their retention, not held and on no open list (for the secretary)."""
    require(actor, Perm.MANAGE_RECORDS)
    listed = select(DispositionItem.record_id).join(Disposition).where(
        Disposition.status.in_(("proposed", "disposing")))
    holding = select(LegalHoldItem.record_id).join(LegalHold).where(LegalHold.active.is_(True))
    return list(db.session.scalars(select(Record).where(
        Record.status == RecordStatus.FILED, Record.retain_until.is_not(None),
        Record.retain_until < today(), Record.id.not_in(listed), Record.id.not_in(holding))
        .order_by(Record.retain_until, Record.id).limit(limit)))


def propose(actor: User, record_ids, reason) -> Disposition:
    """Propose a disposition list; every record must be due, not held, on no other list."""
    require(actor, Perm.MANAGE_RECORDS)
    reason = _reason(reason)
    records = _records(record_ids)
    _check_disposable(records)
    disposition = Disposition(slug="", reason=reason, status="proposed",
                              proposed_by_id=actor.id, proposed_at=now())
    db.session.add(disposition)
    db.session.flush()
    disposition.slug = f"DL-{today().year}-{disposition.id:03d}"
    for record in records:
        db.session.add(DispositionItem(disposition_id=disposition.id, record_id=record.id))
    audit.record("disposition_proposed", actor, object_type="disposition",
                 object_id=disposition.slug, details={"records": [r.slug for r in records]},
                 reason=reason)
    db.session.commit()
    return disposition


def get(actor: User, disposition_id) -> Disposition:
    """Return a disposition list to those who keep records, approve or audit."""
    _require_any(actor, Perm.MANAGE_RECORDS, Perm.APPROVE, Perm.AUDIT)
    try:
        row = db.session.get(Disposition, int(disposition_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound(_l("No such disposition list"))
    return row


def _require_any(actor: User, *perms: Perm) -> None:
    """Raise Forbidden unless the actor's roles grant one of perms."""
    if not any(has_perm(actor.role, perm) for perm in perms):
        raise Forbidden(_l("Your role does not allow this"))


def list_dispositions(actor: User, status: str | None = None) -> list[Disposition]:
    """Return disposition lists, newest first."""
    _require_any(actor, Perm.MANAGE_RECORDS, Perm.APPROVE, Perm.AUDIT)
    query = select(Disposition).order_by(Disposition.id.desc())
    if status:
        query = query.where(Disposition.status == status)
    return list(db.session.scalars(query))


def approve(actor: User, disposition_id, password: str) -> Disposition:
    """Sign a disposition list: commit it to git, then destroy its records' keys."""
    require(actor, Perm.APPROVE)
    disposition = get(actor, disposition_id)
    if disposition.proposed_by_id == actor.id:
        raise Forbidden(_l("The person who proposed a disposition list cannot sign it"))
    disposition = publishing.locked_row(disposition)
    if disposition.status != "proposed":
        raise Conflict(_l("This disposition list is %(status)s, not waiting for a signature",
                          status=disposition.status))
    _check_disposable([item.record for item in disposition.items],
                      except_list=disposition.id)
    signatures.confirm_password(actor, password)
    signed_at = now()
    disposition.status = "disposing"
    disposition.approver_id = actor.id
    disposition.approved_at = signed_at
    payload = {"signer_id": actor.id, "signed_at": signed_at.isoformat(),
               "disposition_id": disposition.id}
    # The plan scrubs the destroyed keys from the database files once this is committed,
    # whether here or when recovery finishes an interrupted signature.
    publishing.run(actor, "dispose", payload, documents=[], unchanged=lambda: True)
    return db.session.get(Disposition, disposition.id)


def discard(actor: User, disposition_id, reason) -> Disposition:
    """Withdraw a proposed list unsigned, with a reason; its records may be listed again."""
    require(actor, Perm.MANAGE_RECORDS)
    disposition = publishing.locked_row(get(actor, disposition_id))
    reason = _reason(reason)
    if disposition.status != "proposed":
        raise Conflict(_l("Only a list waiting for a signature can be discarded"))
    disposition.status = "discarded"
    disposition.discarded_reason = reason
    audit.record("disposition_discarded", actor, object_type="disposition",
                 object_id=disposition.slug, reason=reason)
    db.session.commit()
    return disposition


def scrub() -> None:
    """Make destroyed keys unrecoverable from the database files, not only unreachable."""
    try:
        if db.engine.dialect.name == "sqlite":
            # secure_delete (set on every connection, dbengine) zeroed the freed pages; the
            # write-ahead log still holds the old ones until it is checkpointed and truncated.
            db.session.commit()   # this session's read must not hold the log open
            with dbengine.immediate(False), db.engine.connect() as connection:
                busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy and busy[0]:
                log.warning("the database log could not be emptied yet (a reader holds it)")
        else:
            with db.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM FULL record_key"))
    except Exception:   # noqa: BLE001 (the keys are gone from the tables; the scrub is extra)
        log.warning("scrubbing destroyed record keys failed", exc_info=True)


def gone_facts(record: Record) -> dict:
    """Return what a disposed record's 410 states: who disposed of it, under which list."""
    disposition = db.session.get(Disposition, record.disposition_id) \
        if record.disposition_id else None
    return {"record": record.slug,
            "disposition": disposition.slug if disposition else None,
            "disposed_by": disposition.approver.username if disposition and
            disposition.approver else None,
            "disposed_at": record.disposed_at.isoformat() if record.disposed_at else None}


# ---- legal holds -----------------------------------------------------------------------------

def place_hold(actor: User, record_ids, reason) -> LegalHold:
    """Freeze records (an inspection, a complaint): no disposition until lifted."""
    require(actor, Perm.MANAGE_RECORDS)
    reason = _reason(reason)
    records = _records(record_ids)
    hold = LegalHold(reason=reason, active=True, created_by_id=actor.id, created_at=now())
    db.session.add(hold)
    db.session.flush()
    for record in records:
        db.session.add(LegalHoldItem(hold_id=hold.id, record_id=record.id))
    audit.record("legal_hold_placed", actor, object_type="legal_hold", object_id=str(hold.id),
                 details={"records": [r.slug for r in records]}, reason=reason)
    db.session.commit()
    return hold


def release_hold(actor: User, hold_id, reason) -> LegalHold:
    """Lift a legal hold, with the reason."""
    require(actor, Perm.MANAGE_RECORDS)
    reason = _reason(reason)
    hold = get_hold(actor, hold_id)
    hold = publishing.locked_row(hold)
    if not hold.active:
        raise Conflict(_l("This legal hold was already lifted"))
    hold.active = False
    hold.released_by_id = actor.id
    hold.released_at = now()
    hold.release_reason = reason
    audit.record("legal_hold_released", actor, object_type="legal_hold",
                 object_id=str(hold.id), reason=reason)
    db.session.commit()
    return hold


def get_hold(actor: User, hold_id) -> LegalHold:
    """Return a legal hold to those who keep records or audit."""
    _require_any(actor, Perm.MANAGE_RECORDS, Perm.AUDIT)
    try:
        hold = db.session.get(LegalHold, int(hold_id))
    except (TypeError, ValueError):
        hold = None
    if hold is None:
        raise NotFound(_l("No such legal hold"))
    return hold


def list_holds(actor: User, *, active: bool | None = None) -> list[LegalHold]:
    """Return legal holds, newest first."""
    _require_any(actor, Perm.MANAGE_RECORDS, Perm.AUDIT)
    query = select(LegalHold).order_by(LegalHold.id.desc())
    if active is not None:
        query = query.where(LegalHold.active.is_(active))
    return list(db.session.scalars(query))


def hold_counts(record_ids) -> dict[int, int]:
    """Return how many active holds name each of these records."""
    return dict(db.session.execute(select(LegalHoldItem.record_id, func.count()).join(
        LegalHold).where(LegalHold.active.is_(True), LegalHoldItem.record_id.in_(
            list(record_ids))).group_by(LegalHoldItem.record_id)).all())
