"""Disposition: a signed list destroys records' content for good, verify stays green; holds."""

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from docctl import faults
from docctl.errors import Conflict, Forbidden, Gone, SignatureError, ValidationError
from docctl.models import AuditEvent, Intent
from docctl.models_records import Disposition, Record, RecordKey
from docctl.services import dispositions, publishing, records, verify
from docctl.store import layout, sealing
from tests.helpers import PASSWORD
from tests.services.test_records import MARK, PNG, file_one, git_objects_text
from tests.services.test_records import world as world  # noqa: F401 (fixture)

LATER = datetime(2036, 3, 11, 3, 0, tzinfo=UTC)   # BM-05-a records of 09/03/2026 kept 10 years


def marked(n: int) -> bytes:
    return PNG[:-12] + f"{MARK} #{n}".encode() + PNG[-12:]


@pytest.fixture
def filed(users, world):
    rows = [file_one(users, data=marked(n), name=f"anh-{n}.png") for n in range(3)]
    return [r.id for r in rows]


def sqlite_files(app) -> bytes | None:
    """Return the bytes of the SQLite database and its log (None on PostgreSQL)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        return None
    main = Path(url.removeprefix("sqlite:///"))
    wal = main.with_name(main.name + "-wal")
    return main.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def commits(app) -> int:
    return int(subprocess.run(["git", "-C", app.config["REPO_STORE"], "rev-list", "--count",
                               "HEAD"], capture_output=True, text=True, check=True).stdout)


def test_disposition_destroys_content_keeps_metadata_and_verify_passes(
        app, db, users, world, filed):
    keys = {k.record_id: k.key for k in db.session.scalars(select(RecordKey))}
    world.moment = LATER
    listed = dispositions.propose(users["controller"], filed[:2], "Hết thời hạn lưu trữ")
    assert listed.slug.startswith("DL-2036-") and listed.status == "proposed"
    done = dispositions.approve(users["approver"], listed.id, PASSWORD)
    assert done.status == "done" and done.commit_sha
    db.session.expire_all()
    gone, kept = [db.session.get(Record, i) for i in filed[:2]], db.session.get(Record, filed[2])
    assert {r.status for r in gone} == {"disposed"} and kept.status == "filed"
    # metadata and hashes stay; the content does not
    assert all(r.sha256 and r.sealed_sha256 and r.commit_sha for r in gone)
    for record in gone:
        with pytest.raises(Gone) as refused:
            records.content(users["staff"], record.id)
        assert refused.value.details["public"] == {
            "record": record.slug, "disposition": listed.slug, "disposed_by": "approver",
            "disposed_at": record.disposed_at.isoformat()}
    assert records.content(users["staff"], kept.id)[0] == marked(2)
    # The key is gone from the table and from the database file itself (SQLite).
    assert {k.record_id for k in db.session.scalars(select(RecordKey))} == {filed[2]}
    if sqlite_files(app) is not None:
        assert keys[filed[0]] not in sqlite_files(app) and keys[filed[2]] in sqlite_files(app)
    # git still holds the sealed bytes, which no longer open with anything docctl has
    store = app.extensions["docctl.store"]
    sealed = store.read_file(gone[0].commit_sha,
                             f"{layout.record_dir(2026, gone[0].slug)}/{layout.SEALED}")
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealing.new_key(), sealed, records.bound_to(gone[0]))
    assert MARK.encode() not in git_objects_text(app)
    # the signed list is in git with every record's hashes
    listing = store.read_file(done.commit_sha, f"{layout.disposition_dir(done.slug)}/"
                                               "disposition.json").decode()
    assert gone[0].sha256 in listing and gone[1].sealed_sha256 in listing
    assert '"approved_by": "Người dùng approver <approver>"' in listing
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "records_disposed")).one()
    assert event.actor_id == users["approver"].id and listed.slug == event.object_id
    assert verify.run() == []


def test_what_cannot_be_disposed_of(app, db, users, world, filed):
    with pytest.raises(Conflict):                   # still within its retention
        dispositions.propose(users["controller"], filed[:1], "sớm quá")
    world.moment = LATER
    with pytest.raises(ValidationError):
        dispositions.propose(users["controller"], filed[:1], "  ")
    with pytest.raises(Forbidden):
        dispositions.propose(users["staff"], filed[:1], "lý do")
    hold = dispositions.place_hold(users["controller"], [filed[0]], "Thanh tra năm 2036")
    with pytest.raises(Conflict) as held:
        dispositions.propose(users["controller"], filed[:2], "Hết hạn")
    assert "HS-2026" in str(held.value.message)
    listed = dispositions.propose(users["controller"], [filed[1]], "Hết hạn")
    with pytest.raises(Conflict):                   # already on an open list
        dispositions.propose(users["controller"], [filed[1]], "Hết hạn")
    with pytest.raises(Forbidden):                  # the proposer cannot sign
        dispositions.approve(users["controller"], listed.id, PASSWORD)
    with pytest.raises(SignatureError):
        dispositions.approve(users["approver"], listed.id, "wrong password")
    assert db.session.get(Disposition, listed.id).status == "proposed"
    # A hold placed after the proposal still blocks the signature.
    late = dispositions.place_hold(users["controller"], [filed[1]], "Khiếu nại")
    with pytest.raises(Conflict):
        dispositions.approve(users["approver"], listed.id, PASSWORD)
    dispositions.release_hold(users["controller"], late.id, "Đã giải quyết khiếu nại")
    dispositions.release_hold(users["controller"], hold.id, "Kết thúc thanh tra")
    with pytest.raises(Conflict):
        dispositions.release_hold(users["controller"], hold.id, "lần nữa")
    assert dispositions.approve(users["approver"], listed.id, PASSWORD).status == "done"
    assert {r.id for r in dispositions.due(users["controller"])} == {filed[0], filed[2]}
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(
        AuditEvent.seq))]
    assert actions.count("legal_hold_placed") == 2 and actions.count("legal_hold_released") == 2
    assert verify.run() == []


class Crash(BaseException):
    """Stands for the process dying."""


STEPS = ("publish.after_intent", "publish.before_ref_update", "publish.after_commit",
         "publish.after_db")
COMMITTED = {"publish.after_intent": 0, "publish.before_ref_update": 0,
             "publish.after_commit": 1, "publish.after_db": 1}


def crash_at(monkeypatch, step):
    def point(name):
        if name == step:
            raise Crash(name)
    monkeypatch.setattr(faults, "point", point)


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_while_filing_leaves_the_record_filed_or_absent(app, db, users, world,
                                                                monkeypatch, step):
    before = commits(app)
    crash_at(monkeypatch, step)
    with pytest.raises(Crash):
        file_one(users)
    monkeypatch.undo()
    db.session.rollback()
    publishing.recover()
    rows = db.session.scalars(select(Record)).all()
    if COMMITTED[step]:
        assert [r.status for r in rows] == ["filed"] and commits(app) == before + 1
        assert records.content(users["staff"], rows[0].id)[0]
    else:
        assert rows == [] and db.session.query(RecordKey).count() == 0
        assert commits(app) == before
    assert db.session.query(Intent).filter_by(state="pending").count() == 0
    assert verify.run() == []


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_while_disposing_leaves_the_list_done_or_not_started(app, db, users, world,
                                                                     filed, monkeypatch, step):
    world.moment = LATER
    keys = [k.key for k in db.session.scalars(select(RecordKey))]
    listed = dispositions.propose(users["controller"], filed, "Hết hạn")
    before = commits(app)
    crash_at(monkeypatch, step)
    with pytest.raises(Crash):
        dispositions.approve(users["approver"], listed.id, PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    publishing.recover()
    db.session.expire_all()
    statuses = {r.status for r in db.session.scalars(select(Record))}
    state = db.session.get(Disposition, listed.id).status
    if COMMITTED[step]:
        assert (state, statuses, commits(app)) == ("done", {"disposed"}, before + 1)
        assert db.session.query(RecordKey).count() == 0
        # finished by recovery, not by the request: the keys are scrubbed from the files too
        raw = sqlite_files(app)
        assert raw is None or not any(key in raw for key in keys)
    else:
        assert (state, statuses, commits(app)) == ("proposed", {"filed"}, before)
        assert db.session.query(RecordKey).count() == 3
        dispositions.approve(users["approver"], listed.id, PASSWORD)   # the retry
        assert db.session.get(Disposition, listed.id).status == "done"
    assert db.session.query(Intent).filter_by(state="pending").count() == 0
    assert verify.run() == []


def test_generated_reports_are_filed_as_records(app, users, world):
    from tests.helpers import docx_bytes
    data = docx_bytes("Báo cáo đánh giá nội bộ", "BC-01")
    record = records.file_generated(users["controller"], kind="audit_report",
                                    title="Báo cáo đánh giá nội bộ 2026", filename="bc.docx",
                                    data=data, record_date=date(2026, 3, 9), keeper_id=1,
                                    reference="DGNB-2026-01")
    assert (record.kind, record.status, record.retain_until) == ("audit_report", "filed",
                                                                 date(2036, 3, 9))
    assert records.content(users["auditor"], record.id)[0] == data


def test_due_for_disposition_follows_the_agencys_day_not_utcs(app, users, world, filed):
    # Kept until 09/03/2036 (10 năm): due from 10/03/2036 in Hà Nội, which starts at 17:00 UTC.
    world.moment = datetime(2036, 3, 9, 16, 30, tzinfo=UTC)     # 23:30 on 09/03 in Hà Nội
    assert dispositions.due(users["controller"]) == []
    world.moment = datetime(2036, 3, 9, 17, 30, tzinfo=UTC)     # 00:30 on 10/03 in Hà Nội
    assert {r.id for r in dispositions.due(users["controller"])} == set(filed)
    assert dispositions.propose(users["controller"], filed, "Hết hạn").status == "proposed"
