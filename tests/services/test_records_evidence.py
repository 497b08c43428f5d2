"""The auditor's period view of records and its evidence package: hashes, disposed records."""

import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest

from docctl.errors import Forbidden, ValidationError
from docctl.models import AuditEvent
from docctl.services import dispositions, records, records_evidence
from docctl.store import layout
from tests.helpers import PASSWORD, make_user
from tests.services.test_records import PNG, file_one
from tests.services.test_records import world as world  # noqa: F401 (fixture)

LATER = datetime(2036, 3, 11, 3, 0, tzinfo=UTC)


def image(n: int) -> bytes:
    return PNG[:-12] + f"Ảnh biên nhận số {n}".encode() + PNG[-12:]


@pytest.fixture
def filed(db, users, world):
    """Three BM-05-a records kept by VP, and one BM-05-b kept by QLKH (its department only)."""
    rows = [file_one(users, data=image(n), name=f"anh-{n}.png") for n in range(3)]
    qlkh = make_user("staff_qlkh", "staff")
    qlkh.department_id = 2
    db.session.commit()
    private = file_one({"staff": qlkh}, form="BM-05-b", data=image(9), name="so.png")
    return rows, private


def unzip(package) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package.file.read())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_holds_every_record_with_matching_hashes(app, db, users, world, filed):
    rows, private = filed
    package = records_evidence.package(users["auditor"], "2026-01-01", "2026-12-31")
    files = unzip(package)
    assert package.filename.startswith("evidence_records_2026-01-01_2026-12-31_")
    manifest = json.loads(files["manifest.json"])
    listed = {r["record"]: r for r in manifest["records"]}
    assert set(listed) == {r.slug for r in rows}           # not the QLKH-only record
    assert private.slug not in files["manifest.json"].decode()
    for record, n in zip(rows, range(3), strict=True):
        facts = listed[record.slug]
        assert facts["status"] == "filed" and facts["procedure"] == "QT-05"
        content = files[facts["file"]]
        assert content == image(n)
        assert hashlib.sha256(content).hexdigest() == facts["sha256"] == record.sha256
        assert facts["commit"] == record.commit_sha
    assert manifest["procedures"] == [{"procedure": "QT-05", "title": manifest["procedures"][0][
        "title"], "kind": None, "records": [r.slug for r in rows]}]
    # MANIFEST.txt: the SHA-256 of every other file, in sha256sum's format
    sums = dict(reversed(line.split("  ", 1)) for line in
                files["MANIFEST.txt"].decode().splitlines())
    assert set(sums) == set(files) - {"MANIFEST.txt"}
    for name, digest in sums.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest
    assert "sha256sum -c MANIFEST.txt" in files["README.txt"].decode()
    event = AuditEvent.query.filter_by(action="evidence_downloaded").one()
    details = json.loads(event.details)
    assert details["sha256"] == package.sha256 and details["scope"]["records"] is True
    assert event.actor_id == users["auditor"].id


def test_disposed_records_are_listed_as_disposed_without_content(app, db, users, world,
                                                                 filed):
    rows, _private = filed
    world.moment = LATER
    listing = dispositions.propose(users["controller"], [rows[0].id, rows[1].id],
                                   "Hết thời hạn lưu trữ")
    dispositions.approve(users["approver"], listing.id, PASSWORD)
    hold = dispositions.place_hold(users["controller"], [rows[2].id], "Thanh tra 2036")
    db.session.expire_all()
    view = records_evidence.period_view(users["auditor"], "2026-01-01", "2036-12-31")
    assert [d.slug for d in view.dispositions] == [listing.slug]
    assert [h.id for h in view.holds] == [hold.id] and view.count == 3
    files = unzip(records_evidence.package(users["controller"], "2026-01-01", "2036-12-31"))
    manifest = json.loads(files["manifest.json"])
    listed = {r["record"]: r for r in manifest["records"]}
    for record, n in ((rows[0], 0), (rows[1], 1)):
        facts = listed[record.slug]
        assert facts["status"] == "disposed" and facts["file"] is None
        assert facts["disposition"]["list"] == listing.slug
        assert "approver" in facts["disposition"]["signed_by"]
        assert facts["sha256"] == record.sha256          # the hash stays, the bytes do not
        assert not any(image(n) in data for data in files.values())
    assert files[listed[rows[2].slug]["file"]] == image(2)
    signed = manifest["dispositions"][0]
    store = app.extensions["docctl.store"]
    assert files[signed["file"]] == store.read_file(
        signed["commit"], f"{layout.disposition_dir(listing.slug)}/disposition.json")
    assert set(signed["records"]) == {rows[0].slug, rows[1].slug}
    assert manifest["legal_holds"][0]["records"] == [rows[2].slug]
    # a period that holds none of it
    assert records_evidence.period_view(users["auditor"], date(2025, 1, 1),
                                        date(2025, 12, 31)).count == 0


def test_who_may_read_a_period_and_bad_periods(app, users, world, filed):
    with pytest.raises(Forbidden):
        records_evidence.period_view(users["staff"], "2026-01-01", "2026-12-31")
    with pytest.raises(Forbidden):
        records_evidence.package(users["approver"], "2026-01-01", "2026-12-31")
    with pytest.raises(ValidationError):
        records_evidence.period_view(users["auditor"], "2026-12-31", "2026-01-01")
    with pytest.raises(ValidationError):
        records_evidence.period_view(users["auditor"], "31/02/2026", None)
    view = records_evidence.period_view(users["auditor"])     # this year so far
    assert view.start == date(2026, 1, 1) and view.end == date(2026, 3, 10)
    assert records.list_records(users["auditor"])[1] == 3


def test_the_period_holds_the_improvement_loop_and_its_filed_reports(app, db, users, world):
    from docctl.services import audits, management_reviews, nonconformities
    sec, day = users["controller"], world.today()
    planned = audits.create(sec, {"title": "Đánh giá nội bộ đợt 1",
                                  "start_date": day.isoformat(), "clauses": "7.5",
                                  "departments": ["VP"], "procedures": "QT-05",
                                  "lead_auditor": "auditor", "team": ["reviewer"]})
    finding = audits.add_finding(users["auditor"], planned.id, {
        "kind": "nonconformity", "clause": "7.5", "department": "VP",
        "description": "Hồ sơ BM-05-a không ghi ngày tiếp nhận"})
    report = audits.close(users["auditor"], planned.id, conclusion="Cơ bản phù hợp").record
    closing = finding.nonconformity_id
    nonconformities.update(sec, closing, {"owner": "staff", "due_date": day.isoformat()})
    nonconformities.update(users["staff"], closing, {"cause": "Chưa hướng dẫn",
                                                     "action": "Tập huấn lại"})
    nonconformities.report_done(users["staff"], closing, action_taken="Đã tập huấn")
    nonconformities.verify(users["approver"], closing, effective=True, comment="Hiệu quả")
    nonconformities.close(sec, closing)
    still_open = nonconformities.raise_nc(sec, {"source": "complaint",
                                                "description": "Phản ánh thái độ phục vụ"})
    review = management_reviews.open_review(sec, {"review_date": day.isoformat()})
    view = records_evidence.period_view(users["auditor"], "2026-01-01", "2026-12-31")
    items = view.improvement
    assert [a.id for a in items["audits"]] == [planned.id]
    assert [n.id for n in items["nonconformities_closed"]] == [closing]
    assert [n.id for n in items["nonconformities_open"]] == [still_open.id]
    assert [r.id for r in items["reviews"]] == [review.id]
    files = unzip(records_evidence.package(users["auditor"], "2026-01-01", "2026-12-31"))
    manifest = json.loads(files["manifest.json"])
    loop = manifest["improvement"]
    assert loop["audits"][0]["report_record"] == report.slug
    assert loop["audits"][0]["findings"][0]["nonconformity"].startswith("HĐKP-2026-")
    closed = loop["nonconformities_closed"][0]
    assert (closed["status"], closed["effective"]) == ("closed", True)
    assert loop["nonconformities_open"][0]["description"] == "Phản ánh thái độ phục vụ"
    assert loop["management_reviews"][0]["status"] == "draft"
    # The audit report and the HĐKP report are records of the period, in the package as filed.
    filed = {r["record"]: r for r in manifest["records"]}
    for slug in (report.slug, closed["report_record"]):
        content = files[filed[slug]["file"]]
        assert hashlib.sha256(content).hexdigest() == filed[slug]["sha256"]
    assert {p["kind"] for p in manifest["procedures"]} >= {"audit_report", "nonconformity"}
