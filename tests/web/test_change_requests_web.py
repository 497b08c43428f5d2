"""Change requests on the pages: the button on a document in force, the form, the list and
its export, one request with what became of it, accept and decline, the tasks page."""

import csv
import io
import re

import openpyxl
from sqlalchemy import func, select

from docctl.models import AuditEvent, ChangeRequest, Revision
from docctl.services import change_requests, documents, publishing
from tests.helpers import PASSWORD, csrf_token, docx_bytes, publish

NEW = "/documents/QT-01/change-requests/new"


def _state(db):
    db.session.rollback()
    rows = db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)).all()
    return ([(r.id, r.status, r.revision_id, r.decision_reason) for r in rows],
            db.session.scalar(select(func.count()).select_from(Revision)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def _ask(client, reason="Căn cứ pháp lý đã thay đổi", **extra):
    return client.post(NEW, data={"csrf_token": csrf_token(client), "reason": reason,
                                  "revision": "1", **extra},
                       content_type="multipart/form-data")


def test_staff_request_a_change_from_the_document_page(users, db, procedure, login_as):
    staff = login_as("staff")
    page = staff.get("/documents/QT-01").get_data(as_text=True)
    assert f'href="{NEW}"' in page and "Đề nghị sửa đổi" in page
    form = staff.get(NEW).get_data(as_text=True)
    assert 'name="reason"' in form and 'enctype="multipart/form-data"' in form
    response = _ask(staff, attachment=(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 32),
                                       "anh.png"))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    made = db.session.scalars(select(ChangeRequest)).one()
    assert response.headers["Location"].endswith(f"/change-requests/{made.id}")
    detail = staff.get(f"/change-requests/{made.id}").get_data(as_text=True)
    assert "Căn cứ pháp lý đã thay đổi" in detail and "Đang chờ thư ký ISO" in detail
    assert "anh.png" in detail and "Chấp nhận và mở dự thảo" not in detail
    assert staff.get(f"/change-requests/{made.id}/attachment").status_code == 200


def test_no_button_and_no_request_for_a_document_not_in_force(users, db, login_as):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình mới", "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="QT-01.docx",
                              data=docx_bytes())
    client = login_as("controller")
    assert f'href="{NEW}"' not in client.get("/documents/QT-01").get_data(as_text=True)
    before = _state(db)
    response = _ask(client)
    assert response.status_code == 409
    assert "chưa có lần ban hành nào có hiệu lực" in response.get_data(as_text=True)
    assert _state(db) == before


def test_bad_input_on_the_form_changes_nothing(users, db, procedure, login_as):
    staff = login_as("staff")
    before = _state(db)
    response = _ask(staff, reason="   ")
    assert response.status_code == 400
    assert "lý do là bắt buộc" in response.get_data(as_text=True)
    response = _ask(staff, attachment=(io.BytesIO(b"just text"), "note.txt"))
    assert response.status_code == 415
    assert "Không thể đính kèm tệp này" in response.get_data(as_text=True)
    # A page left open while a new revision took effect: the request names an old one.
    publish(users, "QT-01", text="bản hai", reason="Cập nhật")
    before = _state(db)
    response = _ask(staff)
    assert response.status_code == 409
    assert "không phải lần ban hành đang hiệu lực" in response.get_data(as_text=True)
    no_csrf = staff.post(NEW, data={"reason": "x"})
    assert no_csrf.status_code == 400
    assert _state(db) == before


def test_secretary_accepts_and_the_revision_names_the_request(users, db, procedure, login_as):
    _ask(login_as("staff"))
    made = db.session.scalars(select(ChangeRequest)).one()
    sec = login_as("controller")
    tasks = sec.get("/").get_data(as_text=True)
    assert "1 phiếu đề nghị sửa đổi đang chờ bạn xử lý" in tasks
    page = sec.get(f"/change-requests/{made.id}").get_data(as_text=True)
    assert "Chấp nhận và mở dự thảo" in page
    accepted = sec.post(f"/change-requests/{made.id}/accept",
                        data={"csrf_token": csrf_token(sec)})
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith("/documents/QT-01/revisions/2")
    revision = sec.get("/documents/QT-01/revisions/2").get_data(as_text=True)
    assert f"Theo phiếu đề nghị số {made.id}" in revision
    assert f'href="/change-requests/{made.id}"' in revision
    assert "Không có phiếu đề nghị sửa đổi nào chờ xử lý" in sec.get("/").get_data(as_text=True)
    # The requester is told on their tasks page.
    home = login_as("staff").get("/").get_data(as_text=True)
    assert "Phiếu đề nghị sửa đổi của tôi" in home and "Đã chấp nhận, đang sửa đổi" in home

    before = _state(db)
    again = sec.post(f"/change-requests/{made.id}/accept", data={"csrf_token": csrf_token(sec)})
    assert again.status_code == 409 and "đã được chấp nhận" in again.get_data(as_text=True)
    assert _state(db) == before


def test_staff_cannot_decide_and_cannot_see_hidden_requests(users, db, procedure, login_as):
    reviewer = login_as("reviewer")
    _ask(reviewer)
    made = db.session.scalars(select(ChangeRequest)).one()
    staff = login_as("staff")
    before = _state(db)
    assert staff.post(f"/change-requests/{made.id}/accept",
                      data={"csrf_token": csrf_token(staff)}).status_code == 403
    assert staff.get(f"/change-requests/{made.id}/decline").status_code == 403
    assert _state(db) == before
    assert staff.get(f"/change-requests/{made.id}").status_code == 200   # QT-01 is readable
    publishing.withdraw(users["approver"], "QT-01", reason="Bãi bỏ", password=PASSWORD)
    assert staff.get(f"/change-requests/{made.id}").status_code == 404
    assert staff.get(f"/change-requests/{made.id}/attachment").status_code == 404
    assert "Không có phiếu đề nghị nào phù hợp" in staff.get("/change-requests").get_data(
        as_text=True)


def test_decline_asks_for_confirmation_and_a_reason(users, db, procedure, login_as):
    _ask(login_as("staff"), reason="Đổi tên quy trình")
    made = db.session.scalars(select(ChangeRequest)).one()
    sec = login_as("controller")
    confirm = sec.get(f"/change-requests/{made.id}/decline").get_data(as_text=True)
    assert "Từ chối sẽ đóng phiếu đề nghị" in confirm and 'name="reason"' in confirm
    before = _state(db)
    empty = sec.post(f"/change-requests/{made.id}/decline",
                     data={"csrf_token": csrf_token(sec), "reason": ""})
    assert empty.status_code == 400 and "Hãy nêu lý do từ chối" in empty.get_data(as_text=True)
    assert _state(db) == before
    done = sec.post(f"/change-requests/{made.id}/decline",
                    data={"csrf_token": csrf_token(sec), "reason": "Tên hiện tại đúng"})
    assert done.status_code == 302
    staff = login_as("staff")
    home = staff.get("/").get_data(as_text=True)
    assert "Đã từ chối" in home and "Tên hiện tại đúng" in home
    page = staff.get(f"/change-requests/{made.id}").get_data(as_text=True)
    assert "Tên hiện tại đúng" in page and "Kết quả xử lý" in page


def test_list_filters_and_export(users, db, procedure, login_as):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình hai", "department": "VP"})
    publish(users, "QT-02")
    a = change_requests.submit(users["staff"], "QT-01", reason="Sửa QT-01")
    b = change_requests.submit(users["reviewer"], "QT-02", reason="Sửa QT-02")
    change_requests.decline(users["controller"], a.id, reason="Không cần")
    sec = login_as("controller")
    page = sec.get("/change-requests").get_data(as_text=True)
    assert "Sửa QT-01" in page and "Sửa QT-02" in page and "2 phiếu đề nghị sửa đổi" in page
    only = sec.get("/change-requests?status=open").get_data(as_text=True)
    assert "Sửa QT-02" in only and "Sửa QT-01" not in only
    by_doc = sec.get("/change-requests?document=qt01").get_data(as_text=True)
    assert "Sửa QT-01" in by_doc and "Sửa QT-02" not in by_doc
    by_who = sec.get("/change-requests?requester=reviewer").get_data(as_text=True)
    assert "Sửa QT-02" in by_who and "Sửa QT-01" not in by_who
    assert sec.get("/change-requests?status=nope").status_code == 400
    links = re.findall(r'href="(/change-requests/export[^"]*)"',
                       sec.get("/change-requests?status=declined").get_data(as_text=True))
    assert len(links) == 2 and all("status=declined" in link for link in links)

    exported = sec.get("/change-requests/export?format=csv&status=declined")
    assert exported.status_code == 200 and "attachment" in exported.headers[
        "Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Số", "Ngày gửi", "Mã hiệu"]
    assert [r[0] for r in rows[1:]] == [str(a.id)] and "Không cần" in rows[1]
    book = sec.get("/change-requests/export?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(book.data)).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [b.id, a.id]
    assert sec.get("/change-requests/export?format=pdf").status_code == 400


def test_nav_link_for_everyone_signed_in(users, login_as, procedure):
    for who in ("staff", "controller", "auditor"):
        page = login_as(who).get("/").get_data(as_text=True)
        assert 'href="/change-requests"' in page
