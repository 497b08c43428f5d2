"""Records pages: filing by role, a record's page, disposition signed on the pages, holds."""

import io
import re
from datetime import UTC, datetime

import pytest

from docctl.models_records import Disposition, Record
from tests.helpers import PASSWORD, csrf_token, docx_bytes, make_user
from tests.services.test_record_types import build_records_world

LATER = datetime(2036, 3, 11, 3, 0, tzinfo=UTC)   # BM-05-a records of 09/03/2026 kept 10 years
MARK = "Biên nhận hồ sơ số 0042 của bà Trần Thị Tám"
VI = {"Accept-Language": "vi"}


@pytest.fixture
def world(clock, users):
    build_records_world(clock, users)
    clock.moment = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    return clock


@pytest.fixture
def outsider(db, users):
    """Staff of QLKH, which keeps none of the BM-05-a records."""
    user = make_user("staff_qlkh", "staff")
    user.department_id = 2
    db.session.commit()
    return user


def file_page(client, *, data=None, name="bien-nhan.docx", headers=None, **changes):
    form = {"csrf_token": csrf_token(client), "form": "BM-05-a", "date": "2026-03-09",
            "reference": "0042/TN", "title": "", "form_revision": "", "links": "",
            "corrects": "", **changes,
            "file": (io.BytesIO(data or docx_bytes(MARK, "BM-05-a")), name)}
    return client.post("/records/new", data=form, content_type="multipart/form-data",
                       headers=headers or {})


def filed_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/records/(\d+)$", response.headers["Location"])[1])


def test_staff_file_a_record_on_the_page_and_read_it_back(app, db, users, world, login_as):
    staff = login_as("staff")
    page = staff.get("/records/new", headers=VI).get_data(as_text=True)
    assert 'name="csrf_token"' in page and 'value="BM-05-a"' in page
    assert 'value="2026-03-10"' in page            # the agency's today, by default
    assert "BM-05-b" not in page                   # kept by QLKH: not this user's to file
    record_id = filed_id(file_page(staff))
    record = db.session.get(Record, record_id)
    assert (record.status, record.reference, record.form_revision) == ("filed", "0042/TN", 1)
    detail = staff.get(f"/records/{record_id}", headers=VI)
    text = detail.get_data(as_text=True)
    assert detail.status_code == 200 and record.slug in text and record.sha256 in text
    assert record.commit_sha in text and f"/records/{record_id}/file" in text
    assert "/records/new?corrects=" + record.slug in text     # File a correction, prefilled
    assert "/edit" not in text and "Sửa hồ sơ" not in text     # records never change
    got = staff.get(f"/records/{record_id}/file")
    assert got.status_code == 200 and got.data == docx_bytes(MARK, "BM-05-a")
    assert "attachment" in got.headers["Content-Disposition"]
    from docctl.models import AuditEvent
    assert AuditEvent.query.filter_by(action="record_downloaded",
                                      object_id=record.slug).count() == 1
    assert AuditEvent.query.filter_by(action="viewed", object_type="record",
                                      object_id=record.slug).count() == 1
    listed = staff.get("/records?form=BM-05-a", headers=VI).get_data(as_text=True)
    assert record.slug in listed and "0042/TN" in listed
    assert "Hồ sơ" in staff.get("/", headers=VI).get_data(as_text=True)   # in the menu
    # A correction names the record it corrects; the first stays as filed.
    fixed = filed_id(file_page(staff, corrects=record.slug, reference="0042/TN-bis"))
    assert db.session.get(Record, fixed).corrects_id == record_id
    again = staff.get(f"/records/{record_id}", headers=VI).get_data(as_text=True)
    assert db.session.get(Record, fixed).slug in again


def test_bad_filings_show_errors_on_the_form_and_file_nothing(app, db, users, world,
                                                             login_as):
    staff = login_as("staff")
    refused = file_page(staff, reference="0099/TN", date="2027-01-01", headers=VI)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'value="0099/TN"' in text
    assert 'aria-invalid="true"' in text
    refused = file_page(staff, corrects="HS-2026-999999")
    assert refused.status_code == 400 and 'value="HS-2026-999999"' in refused.get_data(
        as_text=True)
    assert staff.post("/records/new", data={"form": "BM-05-a"}).status_code == 400  # no CSRF
    assert db.session.query(Record).count() == 0


def test_who_may_file_and_see(app, db, users, world, login_as, outsider):
    assert login_as("auditor").get("/records/new").status_code == 403
    assert file_page(login_as("auditor")).status_code == 403
    other = login_as("staff_qlkh")
    assert file_page(other).status_code == 403        # BM-05-a is kept by VP
    record_id = filed_id(file_page(login_as("staff")))
    assert other.get(f"/records/{record_id}").status_code == 404
    assert other.get(f"/records/{record_id}/file").status_code == 404
    assert "HS-2026" not in other.get("/records").get_data(as_text=True)
    auditor = login_as("auditor")
    assert auditor.get(f"/records/{record_id}").status_code == 200
    assert "/records/new" not in auditor.get(f"/records/{record_id}").get_data(as_text=True)
    assert login_as("admin").get("/records/new").status_code == 403   # audits, files none


def test_disposition_on_the_pages_and_the_disposed_record(app, db, users, world, login_as):
    staff = login_as("staff")
    ids = [filed_id(file_page(staff, reference=f"00{n}/TN")) for n in range(2)]
    world.moment = LATER
    secretary = login_as("controller")
    due = secretary.get("/records/due", headers=VI).get_data(as_text=True)
    assert all(f'value="{i}"' in due for i in ids) and 'name="csrf_token"' in due
    assert secretary.post("/records/dispositions", data={
        "csrf_token": csrf_token(secretary), "records": [str(i) for i in ids],
        "reason": ""}, headers=VI).status_code == 400       # a reason is required
    proposed = secretary.post("/records/dispositions", data={
        "csrf_token": csrf_token(secretary), "records": [str(i) for i in ids],
        "reason": "Hết thời hạn lưu trữ 10 năm"})
    assert proposed.status_code == 302
    listing = db.session.query(Disposition).one()
    url = f"/records/dispositions/{listing.id}"
    # The proposer cannot sign: no signing button, and a forged post is refused.
    page = secretary.get(url, headers=VI).get_data(as_text=True)
    assert f"{url}/approve" not in page
    assert secretary.post(f"{url}/approve", data={"csrf_token": csrf_token(secretary),
                                                  "confirm": "yes", "password": PASSWORD}
                          ).status_code == 403
    approver = login_as("approver")
    page = approver.get(url, headers=VI).get_data(as_text=True)
    assert f"{url}/approve" in page
    confirm = approver.get(f"{url}/approve", headers=VI).get_data(as_text=True)
    assert "Tôi phê duyệt hủy các hồ sơ hết giá trị trong danh mục này" in confirm
    assert 'name="confirm"' in confirm and 'name="csrf_token"' in confirm
    unconfirmed = approver.post(f"{url}/approve", data={"csrf_token": csrf_token(approver),
                                                        "password": PASSWORD})
    assert unconfirmed.status_code == 400
    wrong = approver.post(f"{url}/approve", data={"csrf_token": csrf_token(approver),
                                                  "confirm": "yes", "password": "wrong"})
    assert wrong.status_code == 403
    db.session.expire_all()
    assert db.session.get(Disposition, listing.id).status == "proposed"
    signed = approver.post(f"{url}/approve", data={"csrf_token": csrf_token(approver),
                                                   "confirm": "yes", "password": PASSWORD})
    assert signed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Disposition, listing.id).status == "done"
    # The disposed record: its page says so, its file answers 410 naming the list and signer.
    record_page = staff.get(f"/records/{ids[0]}", headers=VI).get_data(as_text=True)
    assert f"Đã hủy theo danh mục {listing.slug}" in record_page
    assert "Người dùng approver" in record_page and f"/records/{ids[0]}/file" not in record_page
    gone = staff.get(f"/records/{ids[0]}/file", headers=VI)
    text = gone.get_data(as_text=True)
    assert gone.status_code == 410 and listing.slug in text and "Người dùng approver" in text
    assert "11/03/2036" in text
    listed = staff.get("/records?status=disposed").get_data(as_text=True)
    assert listed.count("badge-obsolete") == 2


def test_a_legal_hold_blocks_a_proposal_on_the_page(app, db, users, world, login_as):
    record_id = filed_id(file_page(login_as("staff")))
    slug = db.session.get(Record, record_id).slug
    world.moment = LATER
    secretary = login_as("controller")
    holds = secretary.get("/records/holds", headers=VI).get_data(as_text=True)
    assert 'name="csrf_token"' in holds and 'name="records"' in holds
    placed = secretary.post("/records/holds", data={
        "csrf_token": csrf_token(secretary), "records": slug,
        "reason": "Thanh tra tỉnh kiểm tra hồ sơ năm 2026"})
    assert placed.status_code == 302
    hold_url = placed.headers["Location"]
    assert "Thanh tra tỉnh" in secretary.get(hold_url).get_data(as_text=True)
    assert f'value="{record_id}"' not in secretary.get("/records/due").get_data(as_text=True)
    refused = secretary.post("/records/dispositions", data={
        "csrf_token": csrf_token(secretary), "records": [str(record_id)],
        "reason": "Hết thời hạn"}, headers=VI)
    assert refused.status_code == 409 and slug in refused.get_data(as_text=True)
    assert db.session.query(Disposition).count() == 0
    record_page = secretary.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Thanh tra tỉnh" in record_page
    lifted = secretary.post(f"{hold_url}/release", data={"csrf_token": csrf_token(secretary),
                                                         "reason": "Đã kết thúc thanh tra"})
    assert lifted.status_code == 302
    assert f'value="{record_id}"' in secretary.get("/records/due").get_data(as_text=True)
    assert login_as("staff").get("/records/holds").status_code == 403
    assert login_as("auditor").post("/records/holds", data={
        "csrf_token": csrf_token(secretary), "records": slug, "reason": "x"}
    ).status_code in (400, 403)


def test_the_auditor_view_of_a_period(app, db, users, world, login_as):
    record_id = filed_id(file_page(login_as("staff")))
    auditor = login_as("auditor")
    page = auditor.get("/records/audit-view?from=2026-01-01&to=2026-12-31", headers=VI)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "QT-05" in text
    assert db.session.get(Record, record_id).slug in text
    assert "/records/audit-view/package?from=2026-01-01&amp;to=2026-12-31" in text
    assert "Các cuộc đánh giá nội bộ trong kỳ" in text
    assert "Các cuộc xem xét của lãnh đạo trong kỳ" in text
    from docctl.models import AuditEvent
    assert AuditEvent.query.filter_by(action="viewed", object_type="records_period",
                                      object_id="2026-01-01..2026-12-31").count() == 1
    empty = auditor.get("/records/audit-view?from=2025-01-01&to=2025-12-31").get_data(
        as_text=True)
    assert db.session.get(Record, record_id).slug not in empty
    assert auditor.get("/records/audit-view?from=2026-12-31&to=2026-01-01").status_code == 400
    package = auditor.get("/records/audit-view/package?from=2026-01-01&to=2026-12-31")
    assert package.status_code == 200 and package.data[:2] == b"PK"
    assert login_as("staff").get("/records/audit-view").status_code == 403


def test_the_search_box_finds_records_by_words_in_their_file(app, db, users, world, login_as):
    from docctl.services import records_search
    staff = login_as("staff")
    record_id = filed_id(file_page(staff, reference="0077/TN"))
    slug = db.session.get(Record, record_id).slug
    records_search.apply_jobs()
    found = staff.get("/records?q=tran+thi+tam").get_data(as_text=True)   # no diacritics
    assert slug in found
    assert slug in staff.get("/records?q=0077/TN").get_data(as_text=True)
    assert slug not in staff.get("/records?q=khongcotu").get_data(as_text=True)
    other = make_user("staff_qlkh", "staff")
    other.department_id = 2
    db.session.commit()
    assert slug not in login_as("staff_qlkh").get("/records?q=tran+thi+tam").get_data(
        as_text=True)
