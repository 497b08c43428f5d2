"""Database tables: people, work in progress, the catalog of git, the audit log."""

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docctl.extensions import db


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Store naive UTC, hand back aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class Department(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept as typed (case and separators); unique by its folded form (services/departments).
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    # Departments that own documents are never deleted, only deactivated.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sql_text("true"))


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Usernames are never renamed or reused (R17): accounts are deactivated instead.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # One or more roles, comma-separated in Role order ("staff,reviewer"); read via .roles.
    role: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    # Set by an administrator's password reset: the next sign-in must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=sql_text("false"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated on logout, password change and deactivation so old cookies die (R40).
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-step sign-in (R39): the TOTP seed (base32; never logged or audited), when it was
    # confirmed (None: not in use) and the last time step accepted, so a code works once.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    department: Mapped[Department | None] = relationship()

    @property
    def roles(self) -> tuple[str, ...]:
        """Return the user's roles."""
        return tuple(r for r in (self.role or "").split(",") if r)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A single-use two-step recovery code, stored as an argon2 hash (ASVS 6.5.2)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginCounter(db.Model):
    """A failed sign-in counter shared by every worker (fixed window, R37)."""

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Document(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # As the agency writes it (PGL-TT21-BM02a); shown exactly so.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # textfold.code_key(code): what lookups, URLs and uniqueness match (qt01 == QT-01).
    code_key: Mapped[str] = mapped_column(String(40), unique=True)
    # ASCII folder/tag name in repo_store; unique so two codes never share a folder.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    doc_type: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    review_months: Mapped[int] = mapped_column(Integer, default=12)
    # Catalog status: new (nothing in force yet), effective, obsolete (withdrawn).
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    external_source: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # Periodic review: the day the owner last confirmed it ("reviewed, no change") and the
    # day the next review falls due (effective date or last review + review_months).
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    next_review_date: Mapped[date | None] = mapped_column(Date, index=True)
    # Optimistic concurrency: a stale writer gets 409 (R53).
    version: Mapped[int] = mapped_column(Integer, default=1)

    department: Mapped[Department] = relationship()
    parent: Mapped["Document | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Document"]] = relationship(back_populates="parent",
                                                      order_by="Document.code")
    revisions: Mapped[list["Revision"]] = relationship(
        back_populates="document", order_by="Revision.number"
    )
    created_by: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Revision(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))
    # Internal sequence (git tags, trailers, URLs); never reused.
    number: Mapped[int] = mapped_column(Integer)
    # What the agency prints: Lần ban hành (issue) and Lần sửa đổi (amendment within it).
    issue: Mapped[int] = mapped_column(Integer, default=1, server_default=sql_text("1"))
    amendment: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    # The stored file's format: docx, pdf or xlsx (layout.source_name gives its git name).
    media: Mapped[str] = mapped_column(String(10), default="docx", server_default="docx")
    # A legacy .doc converted to .docx on upload: its name (its bytes sit beside the source).
    original_name: Mapped[str | None] = mapped_column(String(300))
    # JSON: what the file prints about itself and where it disagrees with the register,
    # {"code", "issue", "amendment", "effective_date", "warnings": [...]}.
    printed: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # Imported from an existing system: the original approver and date, as the list gives them.
    origin_approver: Mapped[str | None] = mapped_column(String(200))
    origin_approved_on: Mapped[date | None] = mapped_column(Date)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_round: Mapped[int] = mapped_column(Integer, default=0)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective_date: Mapped[date | None] = mapped_column(Date)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    tag: Mapped[str | None] = mapped_column(String(100))

    document: Mapped[Document] = relationship(back_populates="revisions")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    reviews: Mapped[list["Review"]] = relationship(back_populates="revision",
                                                   order_by="Review.id")
    signatures: Mapped[list["Signature"]] = relationship(back_populates="revision",
                                                         order_by="Signature.id")

    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_revision_document_number"),
        # "In force on day D" reads this index alone, never the rows and their texts
        # (services/asof.in_force_query; bench/asof_bench.py).
        Index("ix_revision_in_force", "status", "effective_date", "document_id", "number"),
        # Exactly one effective revision per document: the database says so, not a hope.
        Index("uq_revision_one_effective", "document_id", unique=True,
              sqlite_where=sql_text("status = 'effective'"),
              postgresql_where=sql_text("status = 'effective'")),
    )


class DraftFile(db.Model):
    """Bytes of an uploaded revision until git holds them."""

    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # The legacy .doc a conversion came from, kept byte-exact beside it.
    original: Mapped[bytes | None] = mapped_column(LargeBinary)


class Review(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10), default="pending")
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    revision: Mapped[Revision] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("revision_id", "reviewer_id", "round",
                                       name="uq_review_once"),)


class Signature(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # Printed name as it was when signed; names may change later, signatures may not.
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # How identity was confirmed at signing: "password" (re-entered) or "session".
    method: Mapped[str] = mapped_column(String(20))
    # HMAC over who, meaning, when, which revision and its content hash (R15).
    seal: Mapped[str] = mapped_column(String(64))

    revision: Mapped[Revision] = relationship(back_populates="signatures")
    user: Mapped[User] = relationship()


class Intent(db.Model):
    """A git write announced before it happens, so a crash can be finished or undone."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The plan that builds its commit and applies it (services/plans): publish, release, ...
    kind: Mapped[str] = mapped_column(String(20))
    # The one document it changes, if it changes one; every document it changes is also an
    # IntentDocument row (a release changes many).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id"))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))
    payload: Mapped[str] = mapped_column(Text)
    expected_head: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Is the store in step?" reads the newest finished intent on every write: with a
    # record filed per intent there are tens of thousands (services/reconcile.ensure_in_step).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class IntentDocument(db.Model):
    """A document an intent changes: pending intents block other changes to it."""

    intent_id: Mapped[str] = mapped_column(ForeignKey("intent.id"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True,
                                             index=True)


class Release(db.Model):
    """A set of documents issued (and abolished) together by one decision (Quyết định)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    # Số/ký hiệu as printed (3494/QĐ-UBND); decision_key folds it for uniqueness, slug is
    # its ASCII folder and tag name (3494-QD-UBND).
    decision_number: Mapped[str] = mapped_column(String(60))
    decision_key: Mapped[str] = mapped_column(String(60), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    decision_date: Mapped[date] = mapped_column(Date)
    # Who signs the decision, as printed (title and name); text, not a docctl account.
    signer: Mapped[str] = mapped_column(String(200))
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    # draft, approved (signed, waiting for its date), effective, replaced
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    tag: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)

    items: Mapped[list["ReleaseItem"]] = relationship(back_populates="release",
                                                      order_by="ReleaseItem.id")
    replaces: Mapped["Release | None"] = relationship(remote_side=[id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])

    __mapper_args__ = {"version_id_col": version}


class ReleaseItem(db.Model):
    """One document in a release: a revision it issues, or the document it abolishes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    # Set for "issue"; None for "abolish" (bãi bỏ).
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))

    release: Mapped[Release] = relationship(back_populates="items")
    document: Mapped[Document] = relationship()
    revision: Mapped[Revision | None] = relationship()

    __table_args__ = (UniqueConstraint("release_id", "document_id",
                                       name="uq_release_item_document"),)


class ReleaseScan(db.Model):
    """The signed decision as scanned, kept beside the generated one."""

    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    media: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once git holds the scan (with the release's commit, or its own after issue).
    commit_sha: Mapped[str | None] = mapped_column(String(40))


class RevisionForm(db.Model):
    """A form a procedure revision uses, at the form's revision (BM-03-01 r2)."""

    revision_id: Mapped[int] = mapped_column(ForeignKey("revision.id"), primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True,
                                         index=True)
    form_revision: Mapped[int] = mapped_column(Integer)

    form: Mapped[Document] = relationship()


class ChangeRequest(db.Model):
    """Phiếu đề nghị sửa đổi tài liệu: a request to change a document in force."""

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    # The revision in force the request was made against (internal number).
    revision_number: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(300))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # open, accepted (a draft is open for it), declined, done (its revision took effect)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # The revision opened to carry the change out.
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[Document] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    revision: Mapped[Revision | None] = relationship()


class ImportRun(db.Model):
    """One import of an existing documented system: its rows, progress and outcome."""

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    source_name: Mapped[str] = mapped_column(String(300))
    # running, done (every row imported or skipped), failed (stopped part way; report says)
    state: Mapped[str] = mapped_column(String(12), default="running", index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    # JSON list of rows as `docctl import --json` prints them.
    report: Mapped[str] = mapped_column(Text, default="[]")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IndexJob(db.Model):
    """Queued change for the search index; applied idempotently by one writer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id"))
    action: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(db.Model):
    """One line of the append-only, hash-chained audit trail."""

    # Sequence allocated as head + 1, so two racing writers collide instead of forking the chain.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    actor_role: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(20), default="")
    object_id: Mapped[str] = mapped_column(String(80), default="")
    document_code: Mapped[str | None] = mapped_column(String(40), index=True)
    revision_number: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str | None] = mapped_column(Text)
    source_ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class VerificationRun(db.Model):
    """The outcome of one `docctl verify`, so pages can show when integrity was last checked."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    # JSON list of {"area", "message", "document"}: what failed, named.
    findings: Mapped[str] = mapped_column(Text, default="[]")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class Setting(db.Model):
    """One named instance fact kept with the data, e.g. the secret key's fingerprint."""

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Records and the improvement loop live in their own modules; importing them here puts their
# tables in the one metadata (migrations, create_all) whatever a caller imports first.
import docctl.models_improvement  # noqa: E402,F401  (issue 12: the improvement loop)
from docctl import models_records  # noqa: E402,F401
