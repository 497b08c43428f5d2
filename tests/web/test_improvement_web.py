"""The improvement loop on the pages: the audit programme, an audit and its findings, a
corrective action from assignment to closure, the overdue panel on the home page, a
management review approved with the head's password."""

from datetime import timedelta

from sqlalchemy import select

from docctl.models_improvement import InternalAudit, ManagementReview, Nonconformity
from docctl.services import nonconformities
from docctl.services.context import today
from tests.helpers import PASSWORD, csrf_token


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_an_audit_from_the_programme_to_its_filed_report(users, db, procedure, login_as):
    # The lead internal auditor is staff trained to audit (staff and auditor roles): the
    # auditor role alone reads and changes nothing (tests/audit/test_auditor_reads_only.py).
    users["auditor"].role = "staff,auditor"
    db.session.commit()
    sec = login_as("controller")
    page = _page(sec, "/improvement/audits")
    assert "Chương trình đánh giá nội bộ năm" in page and 'name="lead_auditor"' in page
    made = _post(sec, "/improvement/audits", title="Đánh giá đợt 1",
                 start_date=today().isoformat(), clauses="7.5", departments="VP",
                 procedures="QT-01", lead_auditor="auditor", team="reviewer")
    assert made.status_code == 303, made.get_data(as_text=True)[:500]
    audit = db.session.scalars(select(InternalAudit)).one()
    refused = _post(sec, "/improvement/audits", title="x", start_date="hôm nay",
                    lead_auditor="auditor")
    assert refused.status_code == 400 and "dd/mm/yyyy" in refused.get_data(as_text=True)

    member = login_as("reviewer")
    assert "Ghi nhận phát hiện" in _page(member, f"/improvement/audits/{audit.id}")
    found = _post(member, f"/improvement/audits/{audit.id}/findings", kind="nonconformity",
                  clause="7.5", department="VP", description="Thiếu chữ ký người nhận")
    assert found.status_code == 303
    shown = _page(member, f"/improvement/audits/{audit.id}")
    assert "Thiếu chữ ký người nhận" in shown and "Đã ghi nhận phát hiện." in shown

    staff = login_as("staff")
    assert "Lập kế hoạch một cuộc đánh giá" not in _page(staff, "/improvement/audits")
    assert staff.get(f"/improvement/audits/{audit.id}").status_code == 404
    assert _post(staff, "/improvement/audits", title="x", start_date=today().isoformat(),
                 lead_auditor="auditor").status_code == 403

    lead = login_as("auditor")
    closed = _post(lead, f"/improvement/audits/{audit.id}/close", conclusion="Đạt yêu cầu")
    assert closed.status_code == 303
    shown = _page(lead, f"/improvement/audits/{audit.id}")
    assert "Báo cáo đã lưu hồ sơ" in shown and "HS-" in shown
    assert "Ghi nhận phát hiện" not in shown
    db.session.rollback()
    assert db.session.get(InternalAudit, audit.id).status == "reported"


def test_a_corrective_action_on_the_pages_and_the_overdue_panel(users, db, clock, login_as):
    nc = nonconformities.raise_nc(users["controller"], {
        "source": "complaint", "source_reference": "PA-07", "description": "Trả kết quả "
        "trễ 2 ngày", "owner": "staff", "due_date": (today() + timedelta(days=1)).isoformat()})
    sec, head, staff = login_as("controller"), login_as("approver"), login_as("staff")
    assert "Không có hành động khắc phục nào quá hạn." in _page(sec, "/")
    clock.advance(days=2)
    for client in (sec, head):
        home = _page(client, "/")
        assert "Hành động khắc phục quá hạn" in home and "Trả kết quả trễ 2 ngày" in home
    assert "Hành động khắc phục quá hạn" not in _page(staff, "/")
    assert "Trả kết quả trễ 2 ngày" in _page(sec, "/improvement/nonconformities?overdue=1")

    url = f"/improvement/nonconformities/{nc.id}"
    assert "Báo cáo hoàn thành hành động" in _page(staff, url)
    assert _post(staff, f"{url}/edit", cause="Thiếu người", action="Bố trí thêm cán bộ",
                 correction="Gọi điện xin lỗi").status_code == 303
    assert _post(staff, f"{url}/action-done", action_taken="Đã bố trí").status_code == 303
    # The owner cannot verify their own action: the form is not offered, the post refused.
    assert 'name="effective"' not in _page(staff, url)
    _post(staff, f"{url}/verify", effective="yes")
    db.session.rollback()
    assert db.session.get(Nonconformity, nc.id).status == "action_done"
    early = _post(sec, f"{url}/close")
    assert early.status_code == 303
    assert "chưa kiểm tra, xác nhận hiệu lực" in _page(sec, url)
    assert _post(head, f"{url}/verify", effective="yes", comment="Đạt").status_code == 303
    assert _post(sec, f"{url}/close").status_code == 303
    shown = _page(sec, url)
    assert "Đã đóng" in shown and "HS-" in shown


def test_a_management_review_drafted_and_approved(users, db, procedure, login_as):
    sec = login_as("controller")
    opened = _post(sec, "/improvement/reviews", review_date=today().isoformat(),
                   attendees="Ban lãnh đạo")
    assert opened.status_code == 303
    review = db.session.scalars(select(ManagementReview)).one()
    url = f"/improvement/reviews/{review.id}"
    page = _page(sec, url)
    assert "Đầu vào do docctl tổng hợp" in page and "QT-01" in page
    assert _post(sec, f"{url}/edit", conclusions="Hệ thống phù hợp",
                 customer_feedback="Không có phản ánh").status_code == 303
    assert _post(sec, f"{url}/actions", description="Rà soát QT-01", owner="staff",
                 due_date=today().isoformat()).status_code == 303
    assert "Phê duyệt biên bản" not in _page(sec, url)
    head = login_as("approver")
    _post(head, f"{url}/close", password="sai mật khẩu")
    db.session.rollback()
    assert db.session.get(ManagementReview, review.id).status == "draft"
    assert _post(head, f"{url}/close", password=PASSWORD).status_code == 303
    shown = _page(head, url)
    assert "Biên bản đã được phê duyệt và lưu hồ sơ." in shown and "HS-" in shown
    assert 'name="conclusions"' not in shown
