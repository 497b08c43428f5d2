"""Database tables of records: record types, filed records and their keys, disposition, holds."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docctl.extensions import db
from docctl.models import Department, Document, User, UTCDateTime, utcnow


class RecordType(db.Model):
    """A record a procedure revision produces: "BM-03-01, Bộ phận một cửa, 05 năm"."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The procedure revision that declares it (its records list, "Hồ sơ lưu").
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # What the record is called when it is not simply its form ("Biên bản đánh giá").
    name: Mapped[str] = mapped_column(String(300), default="")
    # The form it is made on (BM-03-01) at the form's revision; None for a free report.
    form_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    form_revision: Mapped[int | None] = mapped_column(Integer)
    keeper_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    # Nơi lưu, as written ("Tủ hồ sơ phòng Một cửa").
    location: Mapped[str] = mapped_column(String(300), default="")
    # Thời gian lưu as written, and its parsed form (domain/retention.py).
    retention: Mapped[str] = mapped_column(String(120))
    # Years to keep; None: permanently (vĩnh viễn).
    retention_years: Mapped[int | None] = mapped_column(Integer)
    # What the period counts from: "record_date", "event" (e.g. case closed), "expiry".
    retention_from: Mapped[str] = mapped_column(String(20), default="record_date")
    retention_event: Mapped[str | None] = mapped_column(String(200))
    # "default": keeper, secretary, auditors; "department": the keeping department only.
    visibility: Mapped[str] = mapped_column(String(20), default="default")

    form: Mapped[Document | None] = relationship()
    keeper: Mapped[Department] = relationship()


class Record(db.Model):
    """One filed record: written once; its content sealed with its own key."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Số hồ sơ in the store ("HS-2026-000123"); its folder records/<year>/<slug>.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    # filing (intent recorded, git not yet), filed, disposed
    status: Mapped[str] = mapped_column(String(12), default="filing", index=True)
    # form, audit_report, nonconformity, management_review, ... (what made it)
    kind: Mapped[str] = mapped_column(String(30), default="form", index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    record_type_id: Mapped[int | None] = mapped_column(ForeignKey("record_type.id"), index=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    form_revision: Mapped[int | None] = mapped_column(Integer)
    # Made on a form revision that was not in force on the record's date.
    off_form: Mapped[bool] = mapped_column(Boolean, default=False)
    keeper_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="default")
    record_date: Mapped[date] = mapped_column(Date, index=True)
    reference: Mapped[str] = mapped_column(String(120), default="", index=True)
    filename: Mapped[str] = mapped_column(String(300))
    media: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    # Of the content as filed (plaintext) and of the sealed bytes git holds.
    sha256: Mapped[str] = mapped_column(String(64))
    sealed_sha256: Mapped[str] = mapped_column(String(64))
    retention: Mapped[str] = mapped_column(String(120), default="")
    retention_years: Mapped[int | None] = mapped_column(Integer)
    retention_from: Mapped[str] = mapped_column(String(20), default="record_date")
    # The event the period counts from, once it happened (case closed on ...).
    event_date: Mapped[date | None] = mapped_column(Date)
    # None: kept permanently, or the event has not happened yet.
    retain_until: Mapped[date | None] = mapped_column(Date, index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    disposition_id: Mapped[int | None] = mapped_column(ForeignKey("disposition.id"), index=True)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    record_type: Mapped[RecordType | None] = relationship()
    form: Mapped[Document | None] = relationship()
    keeper: Mapped[Department] = relationship()
    filed_by: Mapped[User] = relationship()
    corrects: Mapped["Record | None"] = relationship(remote_side=[id])


class RecordKey(db.Model):
    """The key that opens one record's content; disposition destroys it (crypto-shredding)."""

    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)


class RecordLink(db.Model):
    """A record's link to another record or to a document."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    target_record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))
    target_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))


class RecordIndexJob(db.Model):
    """Queued change for the records index: add a filed record, or purge a disposed one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Disposition(db.Model):
    """Danh mục tài liệu hết giá trị: records proposed for destruction, signed by an approver."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # "DL-2026-001": its folder dispositions/<slug> in the store.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    # proposed, disposing (signed, intent recorded), done, discarded
    status: Mapped[str] = mapped_column(String(12), default="proposed", index=True)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    discarded_reason: Mapped[str | None] = mapped_column(Text)

    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    items: Mapped[list["DispositionItem"]] = relationship(back_populates="disposition",
                                                          order_by="DispositionItem.record_id")


class DispositionItem(db.Model):
    """A record on a disposition list."""

    disposition_id: Mapped[int] = mapped_column(ForeignKey("disposition.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), primary_key=True, index=True)

    disposition: Mapped[Disposition] = relationship(back_populates="items")
    record: Mapped[Record] = relationship()


class LegalHold(db.Model):
    """A freeze on records for an inspection or a complaint: no disposition until lifted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    items: Mapped[list["LegalHoldItem"]] = relationship(back_populates="hold")


class LegalHoldItem(db.Model):
    """A record a legal hold names."""

    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_hold.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), primary_key=True, index=True)

    hold: Mapped[LegalHold] = relationship(back_populates="items")
    record: Mapped[Record] = relationship()
