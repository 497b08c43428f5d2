"""The bench's world: a docctl app on a temp data dir, its people, documents and publishes."""

import hashlib
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

from sqlalchemy import insert

from config import Config
from docctl import create_app, office
from docctl.extensions import db
from docctl.models import Department, Document, Revision, User
from docctl.services import documents, publishing, reviews
from docctl.services.context import today

PASSWORD = "bench-password-not-secret"
PEOPLE = [("admin", "admin"), ("secretary", "controller"), ("reviewer", "reviewer"),
          ("approver", "approver"), ("staff", "staff"), ("auditor", "auditor")]
DEPARTMENTS = [("VP", "Văn phòng Sở"), ("QLKH", "Phòng Quản lý khoa học"),
               ("TĐC", "Chi cục Tiêu chuẩn Đo lường Chất lượng")]


def build_app(data_dir: Path):
    """Return a docctl app whose store, database and index live in data_dir."""
    class BenchConfig(Config):
        DATA_DIR = str(data_dir)

    return create_app(BenchConfig)


def create_schema_and_people() -> dict[str, User]:
    """Create the tables, departments and one user per role (hashing the password once)."""
    from docctl.services.users import hash_password

    db.create_all()
    db.session.add_all([Department(code=code, name=name) for code, name in DEPARTMENTS])
    db.session.commit()
    hashed = hash_password(PASSWORD)   # argon2 is slow on purpose: once for everyone
    people = {}
    for username, role in PEOPLE:
        user = User(username=username, display_name=f"Bench {username}", role=role,
                    department_id=1, password_hash=hashed, active=True,
                    session_token=uuid.uuid4().hex)
        db.session.add(user)
        people[username] = user
    db.session.commit()
    return people


def register(people, code: str, title: str, doc_type: str = "procedure") -> str:
    """Register a document through the service."""
    return documents.register_document(people["secretary"], {
        "type": doc_type, "title": title, "department": "VP", "code": code}).code


def docx_for(code: str, revision: int) -> bytes:
    """Return a small real .docx, different for each revision."""
    return office.build_docx(
        f"Quy trình đo hiệu năng {code}",
        ["1. Mục đích", f"Lần ban hành {revision:02d} của {code}: kiểm tra tốc độ ban hành.",
         "2. Phạm vi áp dụng", "Áp dụng cho toàn bộ các phòng, đơn vị thuộc Sở."],
        code=code, header=f"{code} · Lần ban hành: {revision:02d}",
        table=[["Bước", "Nội dung", "Trách nhiệm"], ["1", "Soạn thảo", "Thư ký ISO"],
               ["2", "Phê duyệt", "Giám đốc Sở"]])


def publish(people, code: str, data: bytes, reason: str) -> tuple[float, float, Revision]:
    """Drive one revision upload → submit → review → approve (effective today).

    Return (end-to-end ms, approve-alone ms, the revision).
    """
    secretary = people["secretary"]
    start = perf_counter()
    revision = documents.upload_revision(secretary, code, filename=f"{code}.docx", data=data,
                                         reason=reason, change="reissue")
    number = revision.number
    reviews.submit(secretary, code, number, reviewers=["reviewer"], approver="approver")
    reviews.review(people["reviewer"], code, number, decision="accept", comment="Đồng ý.")
    before_approve = perf_counter()
    revision = publishing.approve(people["approver"], code, number, password=PASSWORD,
                                  effective_date=today())
    end = perf_counter()
    return (end - start) * 1000, (end - before_approve) * 1000, revision


def check_published(store, revision: Revision) -> None:
    """Fail unless the revision is effective with its commit and tag in git."""
    if revision.status != "effective" or not revision.commit_sha or not revision.tag:
        raise RuntimeError(f"{revision.document.code} r{revision.number} not published: "
                           f"status={revision.status}")
    if store.tag_target(revision.tag) != revision.commit_sha:
        raise RuntimeError(f"tag {revision.tag} does not point at {revision.commit_sha}")


REGISTER_TYPES = [("procedure", "QT", "Quy trình"), ("instruction", "HD", "Hướng dẫn"),
                  ("form", "BM", "Biểu mẫu"), ("external", "TLBN", "Tài liệu bên ngoài")]


def insert_register(people, count: int, commit_sha: str) -> None:
    """Insert count effective documents (one effective revision each) straight into the DB."""
    author = people["secretary"].id
    approver = people["approver"].id
    at = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
    docs, revs = [], []
    for i in range(1, count + 1):
        doc_type, prefix, noun = REGISTER_TYPES[i % len(REGISTER_TYPES)]
        code = f"{prefix}-R{i:04d}"
        docs.append({"code": code, "slug": code, "doc_type": doc_type,
                     "title": f"{noun} số {i} về kiểm soát chất lượng dịch vụ công",
                     "department_id": 1 + i % len(DEPARTMENTS), "parent_id": None,
                     "review_months": 12, "status": "effective",
                     "external_source": "Chính phủ" if doc_type == "external" else None,
                     "created_by_id": author, "created_at": at, "version": 1})
    db.session.execute(insert(Document), docs)
    ids = dict(db.session.execute(
        db.select(Document.code, Document.id).where(Document.code.like("%-R%"))).all())
    for doc in docs:
        sha = hashlib.sha256(doc["code"].encode()).hexdigest()
        revs.append({"document_id": ids[doc["code"]], "number": 1, "status": "effective",
                     "reason": "", "filename": f"{doc['code']}.docx", "size": 24_000,
                     "sha256": sha, "text": "", "author_id": author, "created_at": at,
                     "submitted_at": at, "approver_id": approver, "review_round": 1,
                     "approved_at": at, "effective_date": date(2025, 1, 2), "effective_at": at,
                     "commit_sha": commit_sha, "tag": f"{doc['code']}/r1"})
    db.session.execute(insert(Revision), revs)
    db.session.commit()


class GitMeter:
    """Count the git processes the store runs and the time they take (for breakdowns)."""

    def __init__(self, store):
        self.calls = 0
        self.ms = 0.0
        self.commands: list[str] = []
        self.timings: list[tuple[str, float]] = []
        original = store._run

        def run(args, stdin, env):
            t0 = perf_counter()
            try:
                return original(args, stdin, env)
            finally:
                elapsed = (perf_counter() - t0) * 1000
                self.calls += 1
                self.ms += elapsed
                self.commands.append(args[0])
                self.timings.append((args[0], elapsed))

        store._run = run   # an instance attribute shadows the method for this store only

    def reset(self) -> None:
        """Start counting afresh."""
        self.calls, self.ms, self.commands, self.timings = 0, 0.0, [], []


class SqlMeter:
    """Count the SQL statements the app's engine executes."""

    def __init__(self):
        from sqlalchemy import event

        self.count = 0

        def count(*_args, **_kwargs):
            self.count += 1

        event.listen(db.engine, "before_cursor_execute", count)
