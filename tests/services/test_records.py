"""Records: filed once and sealed, seen by whom they concern, corrected by a new record."""

import hashlib
import subprocess
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from docctl.errors import Forbidden, NotFound, StoreError, ValidationError
from docctl.models import AuditEvent
from docctl.models_records import Record, RecordKey
from docctl.services import records, verify
from docctl.services.gitfacts import person
from docctl.store import layout
from tests.fixtures.formats import text_pdf, workbook
from tests.helpers import docx_bytes, make_user
from tests.services.test_record_types import build_records_world

MARK = "Biên nhận hồ sơ số 0042 của ông Nguyễn Văn Bảy"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
       b"\x8d\x8f\x9b\x00\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + \
    b"\x00" * 32 + b"\xff\xd9"


@pytest.fixture
def world(clock, users):
    build_records_world(clock, users)
    clock.moment = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    return clock


def file_one(users, who="staff", *, data=None, name="bien-nhan.docx", day=date(2026, 3, 9),
             form="BM-05-a", **extra):
    return records.file(users[who], filename=name, data=data or docx_bytes(MARK, "BM-05-a"),
                        record_date=day, form=form, reference="0042/TN", **extra)


def git_objects_text(app) -> bytes:
    """Return every object in the store, inflated, as one blob of bytes."""
    root = Path(app.config["REPO_STORE"]) / ".git" / "objects"
    out = bytearray()
    for path in root.rglob("*"):
        if path.is_file() and len(path.parent.name) == 2:
            out += zlib.decompress(path.read_bytes())
    subprocess.run(["git", "-C", app.config["REPO_STORE"], "gc", "-q"], check=False)
    return bytes(out)


@pytest.mark.parametrize("name,data,media", [
    ("bien-nhan.docx", None, "docx"),
    ("bien-nhan.pdf", text_pdf(["Bien nhan ho so so 0042"]), "pdf"),
    ("so-theo-doi.xlsx", workbook(), "xlsx"),
    ("anh-chup.png", PNG, "png"),
    ("anh-chup.jpg", JPEG, "jpg"),
])
def test_a_record_is_filed_sealed_and_read_back_byte_exact(app, users, world, name, data, media):
    data = data or docx_bytes(MARK, "BM-05-a")
    record = file_one(users, data=data, name=name)
    assert (record.status, record.media, record.form_revision, record.off_form) == \
        ("filed", media, 1, False)
    assert record.slug == f"HS-2026-{record.id:06d}"
    assert record.retention == "10 năm" and record.retain_until == date(2036, 3, 9)
    content, same = records.content(users["staff"], record.id)
    assert content == data and same.id == record.id
    # git holds record.json and the sealed bytes, never the content itself
    store = app.extensions["docctl.store"]
    folder = layout.record_dir(2026, record.slug)
    sealed = store.read_file(record.commit_sha, f"{folder}/{layout.SEALED}")
    assert sealed.startswith(b"DCR1") and data not in sealed
    facts = store.read_file(record.commit_sha, f"{folder}/{layout.RECORD_JSON}").decode()
    assert record.sha256 in facts and '"form": "BM-05-a"' in facts
    trailers = dict(store.commit_info(record.commit_sha).trailers)
    assert trailers["Docctl-Record"] == record.slug and trailers["Content-SHA256"] == \
        record.sha256
    assert verify.run() == []


def test_a_record_on_a_superseded_form_is_flagged(app, users, world, clock):
    from tests.services.test_forms import approve, draft, reviewed
    number = draft(users, "BM-05-a")
    reviewed(users, "BM-05-a", number)
    approve(users, "BM-05-a", number, clock.today())
    record = file_one(users, form_revision=1, day=clock.today())
    assert (record.form_revision, record.off_form) == (1, True)
    current = file_one(users, day=clock.today())
    assert (current.form_revision, current.off_form) == (number, False)
    older = file_one(users, day=date(2026, 3, 2))   # on that day revision 1 was in force
    assert (older.form_revision, older.off_form) == (1, False)


def test_bad_filings_are_refused_and_leave_nothing(app, db, users, world):
    before = db.session.query(Record).count()
    other = make_user("staff_qlkh", "staff")
    other.department_id = 2
    db.session.commit()
    with pytest.raises(Forbidden):
        file_one({"staff": other})                 # BM-05-a is kept by VP
    with pytest.raises(ValidationError):
        file_one(users, form="QT-05")              # a procedure, not a form
    with pytest.raises(ValidationError):
        file_one(users, day=date(2026, 1, 2))      # no procedure in force lists BM-05-a then
    with pytest.raises(ValidationError):
        file_one(users, day=date(2027, 1, 1))      # in the future
    with pytest.raises(ValidationError):
        file_one(users, form_revision=7)
    with pytest.raises(ValidationError):
        file_one(users, links=["QT-99"])
    with pytest.raises(Exception) as refused:
        file_one(users, data=b"MZ\x90\x00 not a document", name="virus.exe")
    assert refused.value.status in (400, 415)
    with pytest.raises(Forbidden):
        file_one(users, who="auditor")
    assert db.session.query(Record).count() == before
    assert db.session.query(RecordKey).count() == before


def test_a_correction_is_a_new_record_and_nothing_edits_a_filed_one(app, users, world):
    first = file_one(users)
    second = file_one(users, corrects=first.id, links=[first.slug, "QT-05"])
    assert second.corrects_id == first.id
    assert [r.id for r in records.corrected_by(first)] == [second.id]
    assert [(link.target_record_id, link.target_document_id is not None)
            for link in records.links_of(second)] == [(first.id, False), (None, True)]
    # The store refuses to rewrite a record's folder, whoever asks.
    store = app.extensions["docctl.store"]
    with pytest.raises(StoreError):
        store.commit_files(layout.record_dir(2026, first.slug), {layout.SEALED: b"x"},
                           subject="rewrite", body=None, trailers=[], author=person(None))
    # The service offers no way to change a filed record.
    assert not [name for name in dir(records) if name.startswith(("edit", "update", "delete"))]
    assert records.content(users["staff"], first.id)[0] == docx_bytes(MARK, "BM-05-a")


def test_who_sees_a_record(app, db, users, world):
    record = file_one(users)
    outsider = make_user("staff_qlkh", "staff")
    outsider.department_id = 2
    db.session.commit()
    for who in ("staff", "controller", "auditor"):
        assert records.get(users[who], record.id).id == record.id
    with pytest.raises(NotFound):
        records.get(outsider, record.id)
    assert records.list_records(outsider)[1] == 0
    assert records.list_records(users["auditor"])[1] == 1
    # BM-05-b's records are the keeping department's (QLKH) only: not even the secretary's.
    qlkh_record = records.file(outsider, filename="so.docx", data=docx_bytes("Sổ", "BM-05-b"),
                               record_date=date(2026, 3, 9), form="BM-05-b")
    assert qlkh_record.visibility == "department"
    assert records.get(outsider, qlkh_record.id).id == qlkh_record.id
    for who in ("staff", "controller", "auditor"):
        with pytest.raises(NotFound):
            records.get(users[who], qlkh_record.id)


def test_the_filing_is_in_the_audit_trail(app, db, users, world):
    record = file_one(users)
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "record_filed")).one()
    assert (event.object_id, event.actor_id) == (record.slug, users["staff"].id)
    assert record.sha256 in event.details


def test_plain_content_never_reaches_git(app, users, world):
    marked = PNG[:-12] + MARK.encode() + PNG[-12:]
    record = file_one(users, data=marked, name="anh.png")
    assert records.content(users["staff"], record.id)[0] == marked
    assert MARK.encode() not in git_objects_text(app)


def test_verify_tells_a_record_altered_or_a_key_lost(app, db, users, world):
    record = file_one(users)
    assert verify.run() == []
    record.sealed_sha256 = "0" * 64
    db.session.commit()
    assert any("sealed content in git does not match" in line for line in verify.run())
    db.session.rollback()
    record = db.session.get(Record, record.id)
    record.sealed_sha256 = hashlib.sha256(app.extensions["docctl.store"].read_file(
        record.commit_sha, f"{records.folder(record)}/{layout.SEALED}")).hexdigest()
    db.session.commit()
    assert verify.run() == []
    db.session.query(RecordKey).delete()
    db.session.commit()
    assert any("key is missing" in line for line in verify.run())


def test_no_command_changes_or_removes_a_record(app):
    """The `docctl` command reads records' state through verify only; nothing edits them."""
    names = set(app.cli.commands)
    assert {"verify", "tick"} <= names
    assert not [n for n in names if "record" in n or "dispos" in n]
