"""Database tables of the improvement loop: internal audits and their findings,
nonconformities with their corrective actions (HĐKP), management reviews and their actions."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docctl.extensions import db
from docctl.models import Department, Document, User, UTCDateTime, utcnow
from docctl.models_records import Record


class InternalAudit(db.Model):
    """One audit of the year's programme: scope, team, dates, findings, report."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The programme is the year's audits (Chương trình đánh giá nội bộ năm ...).
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(300))
    # Scope as the plan writes it: ISO clauses ("7.5, 8.1"), department codes, document codes.
    clauses: Mapped[str] = mapped_column(String(300), default="")
    departments: Mapped[str] = mapped_column(String(300), default="")
    procedures: Mapped[str] = mapped_column(String(500), default="")
    start_date: Mapped[date] = mapped_column(Date, index=True)
    end_date: Mapped[date] = mapped_column(Date)
    lead_auditor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # planned, in_progress, reported (closed: domain/improvement.AuditStatus)
    status: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    # The lead auditor's conclusion, printed in the report.
    conclusion: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))

    lead_auditor: Mapped[User] = relationship(foreign_keys=[lead_auditor_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    record: Mapped[Record | None] = relationship()
    team: Mapped[list["AuditTeamMember"]] = relationship(back_populates="audit",
                                                         order_by="AuditTeamMember.user_id")
    findings: Mapped[list["AuditFinding"]] = relationship(back_populates="audit",
                                                          order_by="AuditFinding.id")


class AuditTeamMember(db.Model):
    """An auditor named on an audit (the lead auditor is one of them)."""

    audit_id: Mapped[int] = mapped_column(ForeignKey("internal_audit.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True, index=True)

    audit: Mapped[InternalAudit] = relationship(back_populates="team")
    user: Mapped[User] = relationship()


class AuditFinding(db.Model):
    """What an audit found: conformity, observation or nonconformity, with its evidence."""

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("internal_audit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    clause: Mapped[str] = mapped_column(String(40), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformity.id"),
                                                         index=True)

    audit: Mapped[InternalAudit] = relationship(back_populates="findings")
    department: Mapped[Department | None] = relationship()
    procedure: Mapped[Document | None] = relationship()
    created_by: Mapped[User] = relationship()
    nonconformity: Mapped["Nonconformity | None"] = relationship()


class Nonconformity(db.Model):
    """A nonconformity and its corrective action (HĐKP), from raising to closure."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # audit, complaint, objective, other; the reference as written (complaint no., objective).
    source: Mapped[str] = mapped_column(String(20), index=True)
    source_reference: Mapped[str] = mapped_column(String(300), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    description: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text, default="")
    correction: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    # open, action_done, verified, closed (domain/improvement.NcStatus)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The owner's report of what was done.
    action_taken: Mapped[str] = mapped_column(Text, default="")
    action_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest verification of effectiveness; earlier ones are in the audit trail.
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective: Mapped[bool | None] = mapped_column(Boolean)
    verification_comment: Mapped[str] = mapped_column(Text, default="")
    # How many times the action was found not effective and taken again.
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))

    department: Mapped[Department | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    record: Mapped[Record | None] = relationship()
    findings: Mapped[list[AuditFinding]] = relationship(
        viewonly=True, primaryjoin="AuditFinding.nonconformity_id == Nonconformity.id",
        order_by="AuditFinding.id")


class ManagementReview(db.Model):
    """A management review (xem xét của lãnh đạo): inputs gathered, texts, decisions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_date: Mapped[date] = mapped_column(Date, index=True)
    # The period its inputs cover (from the day after the previous review, by default).
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    # draft, closed (domain/improvement.ReviewStatus)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    # JSON: the facts docctl gathered (audits, nonconformities, changes, earlier actions).
    inputs: Mapped[str] = mapped_column(Text, default="{}")
    # JSON: the secretary's text per section (domain/improvement.REVIEW_SECTIONS).
    texts: Mapped[str] = mapped_column(Text, default="{}")
    # Who attended ("Thành phần tham dự"), as written.
    attendees: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    record: Mapped[Record | None] = relationship()
    actions: Mapped[list["ReviewAction"]] = relationship(back_populates="review",
                                                         order_by="ReviewAction.id")


class ReviewAction(db.Model):
    """A decision or action of a management review, tracked until done."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_review.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review: Mapped[ManagementReview] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
