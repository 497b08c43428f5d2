"""The administrator's pages: departments, users, organisation; forced change; checklist."""

import re

import pytest
from sqlalchemy import select

from docctl.models import AuditEvent, Department, User
from docctl.services import documents, organisation
from docctl.services import users as users_service
from tests.helpers import csrf_token, login, make_user

NEW_PASSWORD = "mot mat khau du dai va la"


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def test_every_admin_page_renders_for_the_admin_only(users, login_as):
    admin = login_as("admin")
    staff_id = users["staff"].id
    pages = ["/admin/users", "/admin/users/new", f"/admin/users/{staff_id}",
             f"/admin/users/{staff_id}/reset-password", "/admin/departments",
             "/admin/departments/VP", "/admin/departments/vp/active", "/admin/organisation"]
    for page in pages:
        response = admin.get(page)
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        assert 'name="csrf_token"' in html, page
        assert 'name="viewport"' in html
    for role in ("controller", "auditor", "staff"):
        other = login_as(role)
        for page in pages:
            assert other.get(page).status_code == 403, (role, page)


def test_forms_without_the_csrf_token_are_refused(users, login_as, db):
    admin = login_as("admin")
    assert admin.post("/admin/departments", data={"code": "X1", "name": "Tên"}).status_code \
        == 400
    assert db.session.scalar(select(Department).where(Department.code == "X1")) is None


def test_departments_are_created_renamed_deactivated_after_confirmation(users, login_as, db):
    admin = login_as("admin")
    made = _post(admin, "/admin/departments", code="P.KHTC", name="Phòng Kế hoạch",
                 name_en="Planning")
    assert made.status_code == 302
    listing = admin.get("/admin/departments").get_data(as_text=True)
    assert "P.KHTC" in listing and "Planning" in listing
    dup = _post(admin, "/admin/departments", code="p.khtc", name="Trùng")
    assert dup.status_code == 409 and "Đã có đơn vị với mã này" in dup.get_data(as_text=True)
    renamed = _post(admin, "/admin/departments/P.KHTC", name="Phòng Kế hoạch - Tài chính",
                    name_en="")
    assert renamed.status_code == 302
    confirm = admin.get("/admin/departments/P.KHTC/active").get_data(as_text=True)
    assert "Ngừng hoạt động đơn vị" in confirm and 'value="0"' in confirm
    assert _post(admin, "/admin/departments/P.KHTC/active", active="0").status_code == 302
    db.session.expire_all()
    row = db.session.scalar(select(Department).where(Department.code == "P.KHTC"))
    assert (row.name, row.name_en, row.active) == ("Phòng Kế hoạch - Tài chính", None, False)
    # No longer offered for new users.
    assert 'value="P.KHTC"' not in admin.get("/admin/users/new").get_data(as_text=True)
    assert 'value="VP"' in admin.get("/admin/users/new").get_data(as_text=True)


def test_a_user_is_created_with_several_roles_from_checkboxes(users, login_as, db):
    admin = login_as("admin")
    response = admin.post("/admin/users/new", data={
        "csrf_token": csrf_token(admin), "username": "truongphong",
        "display_name": "Trần Văn Trưởng", "role": ["staff", "reviewer"],
        "email": "tp@so.example.vn", "department": "VP", "password": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    person = users_service.find_user("truongphong")
    assert person.roles == ("reviewer", "staff") and person.email == "tp@so.example.vn"
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Người xem xét, Cán bộ" in listing or "Người xem xét, Cán bộ, công chức" in listing
    refused = admin.post("/admin/users/new", data={
        "csrf_token": csrf_token(admin), "username": "khongvaitro", "display_name": "X",
        "email": "khong-phai-thu", "password": NEW_PASSWORD})
    assert refused.status_code == 400
    assert "Hãy chọn ít nhất một vai trò" in refused.get_data(as_text=True)
    assert users_service.find_user("khongvaitro") is None


def test_the_header_shows_every_role_and_the_organisation_name(app, users, login_as, db):
    organisation.update(users["admin"], {"name": "Sở Khoa học và Công nghệ tỉnh Mẫu"})
    person = make_user("truongphong", "reviewer,staff")
    client = login_as(person.username)
    page = client.get("/documents").get_data(as_text=True)
    assert "Sở Khoa học và Công nghệ tỉnh Mẫu" in page
    assert re.search(r'class="user-role">Người xem xét, Cán bộ', page)


def test_an_admin_who_is_also_auditor_sees_the_audit_menu_and_log(users, login_as):
    make_user("thuky", "controller,auditor")
    client = login_as("thuky")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/audit' in page and 'href="/documents/new' in page
    audit_page = client.get("/audit")
    assert audit_page.status_code == 200
    # Its own sign-in is listed with both roles, translated.
    assert "(Thư ký ISO, Chuyên gia đánh giá)" in audit_page.get_data(as_text=True)


def test_reset_shows_the_temporary_password_once_and_forces_a_change(app, users, login_as,
                                                                     db):
    admin = login_as("admin")
    confirm = admin.get(f"/admin/users/{users['staff'].id}/reset-password")
    assert "sẽ bị đăng xuất" in confirm.get_data(as_text=True)
    reset = _post(admin, f"/admin/users/{users['staff'].id}/reset-password")
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'<code id="temporary">([^<]+)</code>', reset.get_data(as_text=True))
    temporary = temporary.group(1)
    # Shown once: the user list and the audit trail never carry it.
    assert temporary not in admin.get("/admin/users").get_data(as_text=True)
    assert not any(temporary in (e.details or "") for e in db.session.scalars(
        select(AuditEvent)))

    staff = app.test_client()
    signed = login(staff, "staff", temporary)
    assert signed.headers["Location"].endswith("/account/password")
    for page in ("/", "/documents", "/search?q=quy", "/account/two-step"):
        blocked = staff.get(page)
        assert blocked.status_code == 302 and blocked.headers["Location"].endswith(
            "/account/password"), page
    assert staff.get("/api/v1/documents").status_code == 403
    form = staff.get("/account/password").get_data(as_text=True)
    assert "mật khẩu tạm" in form
    same = _post(staff, "/account/password", current=temporary, new=temporary)
    assert same.status_code == 400
    changed = _post(staff, "/account/password", current=temporary, new=NEW_PASSWORD)
    assert changed.status_code == 302
    login(staff, "staff", NEW_PASSWORD)
    assert staff.get("/documents").status_code == 200


def test_unlock_and_deactivate_from_the_edit_page(users, login_as, db):
    admin = login_as("admin")
    assert _post(admin, f"/admin/users/{users['staff'].id}/unlock").status_code == 302
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login_unlocked"))
    last = _post(admin, f"/admin/users/{users['admin'].id}", display_name="Quản trị",
                 role="staff", active="1")
    assert last.status_code == 409
    assert "quản trị hệ thống cuối cùng" in last.get_data(as_text=True)
    gone = _post(admin, f"/admin/users/{users['staff'].id}", display_name="Nhân viên",
                 role="staff")   # active unticked
    assert gone.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, users["staff"].id).active


def test_organisation_settings_are_validated_and_shown(users, login_as, db):
    admin = login_as("admin")
    page = admin.get("/admin/organisation").get_data(as_text=True)
    assert "03sđ01" in page and "03.01" in page and "03/01" in page
    base = {"name": "Sở Tư pháp tỉnh Mẫu", "name_en": "Department of Justice",
            "label_format": "sd", "review_months": "24", "prefix_procedure": "QT",
            "prefix_form": "BM"}
    for bad, message in [({"review_months": "0"}, "1 đến 120"),
                         ({"review_months": "abc"}, "1 đến 120"),
                         ({"label_format": "roman"}, "Kiểu ghi"),
                         ({"prefix_form": "B M"}, "Tiền tố"),
                         ({"name": " "}, "tên cơ quan")]:
        refused = _post(admin, "/admin/organisation", **{**base, **bad})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), bad
    assert organisation.name() != "Sở Tư pháp tỉnh Mẫu"
    saved = _post(admin, "/admin/organisation", **base)
    assert saved.status_code == 302
    db.session.expire_all()
    assert organisation.name() == "Sở Tư pháp tỉnh Mẫu"
    assert organisation.label_format().value == "sd"
    assert organisation.default_review_months() == 24
    assert organisation.code_patterns() == {"procedure": "QT", "form": "BM"}
    assert "Sở Tư pháp tỉnh Mẫu" in admin.get("/").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "organisation_changed"))
    assert "Sở Tư pháp" in entry.details


@pytest.fixture
def fresh(db):
    """A fresh install: one administrator, nothing else."""
    from tests.helpers import password_hash
    admin = User(username="quantri", display_name="Quản trị", role="admin",
                 password_hash=password_hash(), active=True, session_token="t" * 32)
    db.session.add(admin)
    db.session.commit()
    return admin


def _steps(page: str) -> list[str]:
    return re.findall(r'<li class="(done|todo)">', page)


def test_the_checklist_guides_a_fresh_install_until_it_is_done(fresh, app, login_as, db):
    client = login_as("quantri")
    page = client.get("/").get_data(as_text=True)
    assert "Thiết lập cơ quan, tổ chức" in page
    # An administrator alone may not import: the step names who does, with no dead link.
    assert 'href="/import"' not in page and "do thư ký ISO thực hiện" in page
    assert _steps(page) == ["todo", "todo", "todo"]
    _post(client, "/admin/departments", code="VP", name="Văn phòng")
    assert _steps(client.get("/").get_data(as_text=True)) == ["done", "todo", "todo"]
    secretary = users_service.create_user(None, username="thuky", display_name="Thư ký",
                                          role=["controller"], password=NEW_PASSWORD,
                                          department_code="VP")
    assert _steps(client.get("/").get_data(as_text=True)) == ["done", "done", "todo"]
    documents.register_document(secretary, {"type": "procedure", "title": "Quy trình",
                                            "department": "VP"})
    page = client.get("/").get_data(as_text=True)
    assert "Thiết lập cơ quan, tổ chức" not in page and _steps(page) == []
    # Only the administrator sees it.
    secretary_page = app.test_client()
    login(secretary_page, "thuky", NEW_PASSWORD)
    assert "Thiết lập" not in secretary_page.get("/").get_data(as_text=True)


def test_a_keyboard_user_reaches_every_control_by_label(users, login_as):
    admin = login_as("admin")
    for page in ("/admin/users/new", "/admin/departments", "/admin/organisation",
                 f"/admin/users/{users['staff'].id}"):
        html = admin.get(page).get_data(as_text=True)
        ids = set(re.findall(r'<input id="([^"]+)"', html))
        ids |= set(re.findall(r'<select id="([^"]+)"', html))
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        assert ids <= labelled, (page, ids - labelled)


def test_a_deactivated_department_is_not_offered_for_new_documents(users, login_as, procedure):
    from docctl.services import departments
    departments.update_department(users["admin"], "VP", active=False)
    controller = login_as("controller")
    form = controller.get("/documents/new").get_data(as_text=True)
    assert 'value="VP"' not in form and 'value="QLKH"' in form
    # The existing document still shows its department.
    assert "Văn phòng" in controller.get("/documents/QT-01").get_data(as_text=True)
    refused = controller.post("/api/v1/documents", json={
        "type": "procedure", "title": "Quy trình mới", "department": "VP"},
        headers={"X-CSRFToken": csrf_token(controller)})
    assert refused.status_code in (400, 422)
    assert refused.get_json()["field"] == "department"
