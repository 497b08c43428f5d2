"""Periodic review on the pages: home, register, document page, /reviews, the review form."""

from docctl.models import Document, Revision
from docctl.services import documents, verify
from docctl.services.context import today
from tests.helpers import PASSWORD, csrf_token, publish


def overdue_world(users, clock):
    """QT-01 (12 months) overdue, QT-02 (24 months) not yet due."""
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
    publish(users, "QT-01", text="một")
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình đánh giá nội bộ", "department": "VP",
        "review_months": 24})
    publish(users, "QT-02", text="hai")
    clock.advance(days=400)


def test_overdue_shows_on_the_secretarys_home_page_not_on_staffs(users, clock, login_as):
    overdue_world(users, clock)
    page = login_as("controller").get("/").get_data(as_text=True)
    assert 'id="h-periodic"' in page and "QT-01" in page
    assert "badge-review-overdue" in page and "QT-02" not in page
    assert "1 tài liệu đã quá hạn xem xét định kỳ" in page
    staff = login_as("staff").get("/").get_data(as_text=True)
    assert 'id="h-periodic"' not in staff


def test_register_shows_the_next_review_and_filters_overdue(users, clock, login_as):
    overdue_world(users, clock)
    client = login_as("controller")
    page = client.get("/documents").get_data(as_text=True)
    assert "Xem xét định kỳ tiếp theo" in page and "badge-review-overdue" in page
    overdue = client.get("/documents?review=overdue").get_data(as_text=True)
    assert "QT-01" in overdue and "QT-02" not in overdue
    assert client.get("/documents?review=later").status_code == 400
    # Staff see the column too: whether a procedure is kept current is no secret.
    assert "badge-review-overdue" in login_as("staff").get("/documents").get_data(as_text=True)


def test_the_reviews_page_lists_overdue_and_due_soon(users, clock, login_as):
    overdue_world(users, clock)
    client = login_as("controller")
    page = client.get("/reviews").get_data(as_text=True)
    assert "QT-01" in page and "QT-02" not in page
    assert "QT-02" in client.get("/reviews?within=800").get_data(as_text=True)
    assert client.get("/reviews?within=x").status_code == 400
    assert login_as("staff").get("/reviews").status_code == 403


def test_review_now_from_the_document_page(users, clock, db, login_as):
    overdue_world(users, clock)
    staff = login_as("staff").get("/documents/QT-01").get_data(as_text=True)
    assert "Xem xét định kỳ tiếp theo" in staff and "Xem xét ngay" not in staff
    client = login_as("controller")
    page = client.get("/documents/QT-01").get_data(as_text=True)
    assert "Xem xét ngay" in page and 'value="no_change"' in page
    token = csrf_token(client)
    wrong = client.post("/documents/QT-01/periodic-review", data={
        "csrf_token": token, "outcome": "no_change", "password": "wrong"})
    assert wrong.status_code == 403 and "Sai mật khẩu" in wrong.get_data(as_text=True)
    bad = client.post("/documents/QT-01/periodic-review", data={
        "csrf_token": token, "outcome": "later", "password": PASSWORD})
    assert bad.status_code == 400
    done = client.post("/documents/QT-01/periodic-review", data={
        "csrf_token": token, "outcome": "no_change", "password": PASSWORD,
        "comment": "Còn phù hợp"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/documents/QT-01")
    document = db.session.query(Document).filter_by(code="QT-01").one()
    assert document.reviewed_on == today() and document.next_review_date > today()
    after = client.get("/documents/QT-01").get_data(as_text=True)
    assert "badge-review-overdue" not in after
    assert "Người xem xét định kỳ (không thay đổi)" in after     # the signature, named
    assert "QT-01" not in client.get("/reviews").get_data(as_text=True)
    assert verify.run() == []


def test_revise_from_the_page_opens_the_draft(users, clock, db, login_as):
    overdue_world(users, clock)
    client = login_as("controller")
    response = client.post("/documents/QT-01/periodic-review", data={
        "csrf_token": csrf_token(client), "outcome": "revise",
        "comment": "Cập nhật theo Nghị định mới"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/documents/QT-01/revisions/2")
    draft = db.session.query(Revision).filter_by(number=2).one()
    assert draft.status == "draft" and draft.reason == "Cập nhật theo Nghị định mới"


def test_another_departments_reviewer_gets_no_form(users, clock, db, login_as):
    overdue_world(users, clock)
    users["reviewer2"].department_id = 2
    db.session.commit()
    client = login_as("reviewer2")
    assert "Xem xét ngay" not in client.get("/documents/QT-01").get_data(as_text=True)
    assert client.get("/documents/QT-01/periodic-review").status_code == 403
    owner = login_as("reviewer")
    assert "Xem xét ngay" in owner.get("/documents/QT-01").get_data(as_text=True)
    # The owner department's reviewer signs "no change" but does not open drafts.
    assert 'value="revise"' not in owner.get("/documents/QT-01").get_data(as_text=True)
