"""Issue #5 §2–3: rewriting history is refused, and verify names whatever was tampered with.

R2 (append-only, hash chain), R3 (fsck), R15 (signatures bound to their revision), R54.
"""

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from docctl.models import AuditEvent, Revision, Signature
from docctl.services import audit, integrity, verify
from tests.helpers import publish


def messages() -> list[str]:
    return [str(f) for f in verify.check()]


def revision(db, code: str, number: int) -> Revision:
    return db.session.scalars(select(Revision).where(Revision.number == number)
                              .join(Revision.document).filter_by(code=code)).one()


@pytest.fixture
def register(users, procedure, clock):
    """QT-01 r1 superseded by r2, QT-02 r1 effective: several commits, each anchoring the trail."""
    from docctl.services import documents
    clock.advance(days=1)
    publish(users, "QT-01", text="phiên bản hai", reason="Sửa đổi bước 2")
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình đánh giá nội bộ", "department": "VP"})
    publish(users, "QT-02", text="đánh giá nội bộ")
    assert verify.check() == []
    return users


def test_the_application_never_updates_or_deletes_an_entry(register, db):
    entry = db.session.get(AuditEvent, 3)
    entry.reason = "rewritten"
    with pytest.raises(audit.AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, 3))
    with pytest.raises(audit.AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(audit.AppendOnlyViolation):
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(reason="x"))
    db.session.rollback()
    assert verify.check() == []


def test_the_database_refuses_update_and_delete(register, db):
    db.session.commit()
    for statement in ("UPDATE audit_event SET reason = 'x' WHERE seq = 3",
                      "DELETE FROM audit_event WHERE seq = 3"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    assert verify.check() == []


def test_a_row_edited_in_sql_is_named(register, owner_sql):
    with owner_sql() as sql:
        sql.execute(text("UPDATE audit_event SET reason = 'edited' WHERE seq = 7"))
    found = messages()
    assert "audit: entry 7 was altered or its predecessor was" in found
    assert not any("entry 6 " in m for m in found)


def test_a_rewritten_chain_is_caught_by_its_git_anchors(register, owner_sql, db, git):
    """An editor who recomputes every later hash keeps the chain valid; git still knows."""
    anchored = [int(line.split(":")[0]) for line in git(
        "log", "--format=%(trailers:key=Audit-Head,valueonly)").split() if line]
    target = sorted(s for s in anchored if s > 0)[0]
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.seq >= target)
                              .order_by(AuditEvent.seq)).all()
    prev = db.session.get(AuditEvent, target - 1).hash if target > 1 else audit.GENESIS
    new_hashes = []
    for row in rows:
        values = {c: getattr(row, c) for c in ("seq", "at", "actor_id", "actor_name",
                                                "actor_role", "action", "object_type",
                                                "object_id", "document_code",
                                                "revision_number", "details", "reason",
                                                "source_ip")}
        if row.seq == target:
            values["actor_name"] = "Người khác"
        fake = type("Row", (), values)
        digest = audit.chain_hash(prev, fake)
        new_hashes.append((row.seq, values["actor_name"], prev, digest))
        prev = digest
    with owner_sql() as sql:
        for seq, name, prev_hash, digest in new_hashes:
            sql.execute(text("UPDATE audit_event SET actor_name = :n, prev_hash = :p, "
                             "hash = :h WHERE seq = :s"),
                        {"n": name, "p": prev_hash, "h": digest, "s": seq})
    found = messages()
    assert not any("was altered" in m for m in found)          # the chain itself is valid
    assert any(m.startswith(f"audit: entry {target} differs from the hash anchored in git "
                            "commit") for m in found), found


def test_a_truncated_tail_is_caught_by_the_newest_anchor(register, owner_sql, db, git):
    newest = int(git("log", "-1", "--format=%(trailers:key=Audit-Head,valueonly)")
                 .split(":")[0])
    last = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    assert last > newest
    with owner_sql() as sql:   # the chain stays intact: only the tail goes
        sql.execute(text("DELETE FROM audit_event WHERE seq >= :s"), {"s": newest})
    found = messages()
    assert not any("altered" in m or "missing" in m for m in found)   # only git knows
    assert [m for m in found if "truncated" in m] == [
        f"audit: the trail ends at entry {newest - 1} but git commit "
        f"{git('log', '-1', '--format=%H').strip()[:12]} anchors entry {newest}: entries "
        f"{newest}–{newest} were deleted (truncated)"]


def test_a_gap_in_the_trail_is_named(register, owner_sql):
    with owner_sql() as sql:
        sql.execute(text("DELETE FROM audit_event WHERE seq = 4"))
    found = messages()
    assert "audit: entry 4 is missing (next is 5)" in found
    assert "audit: entry 5 was altered or its predecessor was" in found


def test_a_signature_moved_to_another_revision_is_named(register, db):
    approval = db.session.scalars(select(Signature).where(
        Signature.meaning == "approved").order_by(Signature.id)).first()
    other = revision(db, "QT-01", 2)
    assert approval.revision_id != other.id
    db.session.execute(text("UPDATE signature SET revision_id = :r WHERE id = :i"),
                       {"r": other.id, "i": approval.id})
    db.session.commit()
    found = messages()
    assert (f"signature {approval.id} (approved by approver) on QT-01 r2: seal does not verify "
            "(altered or moved)") in found
    assert "QT-01 r1: no approval signature" in found


def test_a_byte_changed_in_a_git_object_fails_fsck_and_the_download(register, db, git, app,
                                                                   login_as):
    rev = revision(db, "QT-01", 1)
    blob = git("rev-parse", f"{rev.commit_sha}:documents/QT/QT-01/source.docx").strip()
    path = Path(app.config["REPO_STORE"]) / ".git" / "objects" / blob[:2] / blob[2:]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    found = verify.check()
    assert any(f.area == "git" and blob in f.message for f in found)
    # Named exactly: the revisions read after the corrupt object are still checked.
    assert [f.message for f in found if f.area != "git"] == [
        f"QT-01 r1: commit {rev.commit_sha[:12]} or its file is missing from git or unreadable"]
    response = login_as("auditor").get("/documents/QT-01/revisions/1/download")
    assert response.status_code != 200 and response.data[:2] != b"PK"


def test_a_moved_tag_is_named(register, git):
    git("tag", "-f", "-a", "-m", "moved", "QT-01/r1", "HEAD")
    assert messages() == ["QT-01 r1: tag QT-01/r1 is missing or points elsewhere"]


def test_a_commit_trailer_that_disagrees_with_the_database_is_named(register, db):
    first, second = revision(db, "QT-01", 1), revision(db, "QT-01", 2)
    published, other = first.commit_sha, second.commit_sha
    db.session.execute(text("UPDATE revision SET commit_sha = :c WHERE id = :i"),
                       {"c": other, "i": first.id})
    db.session.commit()
    found = messages()
    assert (f"QT-01 r1: git's publish commit is {published[:12]} but the database "
            f"records {other[:12]}") in found
    assert "QT-01 r1: file in git does not match the recorded SHA-256" in found


def test_content_hash_changed_in_the_database_is_named(register, db):
    rev = revision(db, "QT-02", 1)
    db.session.execute(text("UPDATE revision SET sha256 = :h WHERE id = :i"),
                       {"h": "0" * 64, "i": rev.id})
    db.session.commit()
    found = messages()
    assert "QT-02 r1: file in git does not match the recorded SHA-256" in found
    assert any(m.startswith("QT-02 r1: Content-SHA256 of git commit") for m in found)
    assert any(m.startswith("QT-02 r1: approval signature") for m in found)


def test_verify_over_http_reports_and_records_findings(register, git, login_as, bearer, db):
    git("tag", "-f", "-a", "-m", "moved", "QT-01/r1", "HEAD")
    body = login_as("auditor").post("/api/v1/verify", headers=bearer("auditor")).get_json()
    assert body["ok"] is False
    assert body["findings"] == [{"area": "tag", "document": "QT-01", "message":
                                 "QT-01 r1: tag QT-01/r1 is missing or points elsewhere"}]
    run = integrity.last_run()
    assert not run.ok and run.findings_count == 1
    entry = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "verified")).one()
    assert json.loads(entry.details)["ok"] is False
