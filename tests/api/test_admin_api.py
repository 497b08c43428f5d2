"""The administrators' API: departments and users; 400, 401, 403, 404, 409 and 422."""

import pytest
from sqlalchemy import select

from docctl.models import AuditEvent, Department, User
from docctl.services import users as users_service
from tests.helpers import PASSWORD, csrf_token

NEW_PASSWORD = "mot mat khau du dai va la"


@pytest.fixture
def token_for(client, users):
    def issue(username: str) -> dict:
        raw = client.post("/api/v1/auth/token", json={
            "username": username, "password": PASSWORD}).get_json()["token"]
        return {"Authorization": f"Bearer {raw}"}
    return issue


@pytest.fixture
def admin(token_for):
    return token_for("admin")


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(db.func.count(model.id)))


def test_anonymous_callers_get_401_and_other_roles_403(client, users, token_for):
    for method, path in [("get", "/api/v1/departments"), ("post", "/api/v1/departments"),
                         ("patch", "/api/v1/departments/VP"), ("get", "/api/v1/users"),
                         ("post", "/api/v1/users"), ("patch", "/api/v1/users/staff"),
                         ("post", "/api/v1/users/staff/reset-password")]:
        assert getattr(client, method)(path, json={}).status_code == 401, path
        for role in ("controller", "auditor", "staff"):
            response = getattr(client, method)(path, json={}, headers=token_for(role))
            assert response.status_code == 403, (path, role)


def test_departments_are_listed_created_and_changed(client, db, users, admin):
    listed = client.get("/api/v1/departments", headers=admin).get_json()["departments"]
    assert {d["code"] for d in listed} == {"VP", "QLKH"}
    made = client.post("/api/v1/departments", headers=admin, json={
        "code": "P.KHTC", "name": "Phòng Kế hoạch - Tài chính", "name_en": "Finance"})
    assert made.status_code == 201
    assert made.get_json() == {"code": "P.KHTC", "name": "Phòng Kế hoạch - Tài chính",
                               "name_en": "Finance", "active": True}
    changed = client.patch("/api/v1/departments/p-khtc", headers=admin, json={
        "name": "Phòng Tài chính", "active": False})
    assert changed.status_code == 200
    assert changed.get_json()["active"] is False
    assert changed.get_json()["name"] == "Phòng Tài chính"
    assert client.patch("/api/v1/departments/pkhtc", headers=admin,
                        json={"name_en": None}).get_json()["name_en"] is None
    assert client.patch("/api/v1/departments/NOPE", headers=admin,
                        json={"active": False}).status_code == 404


def test_a_duplicate_department_is_409(client, db, users, admin):
    response = client.post("/api/v1/departments", headers=admin,
                           json={"code": "vp", "name": "Trùng"})
    assert response.status_code == 409 and response.get_json()["field"] == "code"


@pytest.mark.parametrize("body, status, field", [
    ({"code": "X1", "name": "Tên", "colour": "red"}, 400, None),
    ({"name": "Tên"}, 400, None),
    ({"code": "X 1", "name": "Tên"}, 422, "code"),
    ({"code": 12, "name": "Tên"}, 422, "code"),
    ({"code": "A" * 21, "name": "Tên"}, 422, "code"),
    ({"code": "X1", "name": ["Tên"]}, 422, "name"),
    ({"code": "X1", "name": "Tên", "name_en": 3}, 422, "name_en"),
])
def test_bad_department_input(client, db, users, admin, body, status, field):
    before = _count(db, Department)
    response = client.post("/api/v1/departments", headers=admin, json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json().get("field") == field
    assert _count(db, Department) == before


@pytest.mark.parametrize("body, status, field", [
    ({"code": "VP"}, 400, None), ({"name": ""}, 422, "name"), ({"active": "yes"}, 422, "active"),
    ({"name": 5}, 422, "name"),
])
def test_bad_department_changes(client, db, users, admin, body, status, field):
    response = client.patch("/api/v1/departments/VP", headers=admin, json=body)
    assert response.status_code == status and response.get_json().get("field") == field
    db.session.expire_all()
    assert db.session.scalar(select(Department).where(Department.code == "VP")).active


def test_messages_are_in_the_callers_language(client, users, admin, login_as):
    vi = client.post("/api/v1/departments", headers=admin, json={"code": "X 1", "name": "T"})
    assert vi.get_json()["message"].startswith("Mã đơn vị")
    browser = login_as("admin")
    browser.post("/language", data={"lang": "en", "csrf_token": csrf_token(browser)})
    en = browser.post("/api/v1/departments", json={"code": "X 1", "name": "T"},
                      headers={"X-CSRFToken": csrf_token(browser)})
    assert en.status_code == 422 and en.get_json()["message"].startswith("Department code")


def test_users_are_created_with_several_roles_and_listed(client, db, users, admin):
    made = client.post("/api/v1/users", headers=admin, json={
        "username": "truongphong", "name": "Trần Văn Trưởng", "email": "tp@so.example.vn",
        "department": "vp", "roles": ["staff", "reviewer"], "password": NEW_PASSWORD})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["roles"] == ["reviewer", "staff"] and body["department"] == "VP"
    assert "password" not in body and NEW_PASSWORD not in made.get_data(as_text=True)
    listed = client.get("/api/v1/users", headers=admin).get_json()["users"]
    assert "truongphong" in {u["username"] for u in listed}
    again = client.post("/api/v1/users", headers=admin, json={
        "username": "TruongPhong", "name": "Khác", "roles": ["staff"],
        "password": NEW_PASSWORD})
    assert again.status_code == 409


@pytest.mark.parametrize("change, status, field", [
    ({"username": "x y"}, 422, "username"), ({"username": 5}, 422, "username"),
    ({"name": ""}, 400, None), ({"name": 7}, 422, "name"),
    ({"email": "nope"}, 422, "email"), ({"email": ["a@b.vn"]}, 422, "email"),
    ({"department": "NOPE"}, 422, "department"), ({"department": 3}, 422, "department"),
    ({"roles": []}, 400, None), ({"roles": ["chief"]}, 422, "roles"),
    ({"roles": "staff"}, 201, None), ({"roles": [1]}, 422, "roles"),
    ({"roles": {"staff": 1}}, 422, "roles"),
    ({"password": "short"}, 422, "password"), ({"password": 123456789012}, 422, "password"),
    ({"admin": True}, 400, None),
])
def test_bad_user_input(client, db, users, admin, change, status, field):
    body = {"username": "moi", "name": "Người mới", "roles": ["staff"],
            "password": NEW_PASSWORD, **change}
    before = _count(db, User)
    response = client.post("/api/v1/users", headers=admin, json=body)
    assert response.status_code == status, response.get_json()
    if status != 201:
        assert response.get_json().get("field") == field
        assert _count(db, User) == before


def test_users_are_changed_and_reset(client, db, users, admin, token_for):
    staff_token = token_for("staff")
    changed = client.patch("/api/v1/users/STAFF", headers=admin, json={
        "roles": ["staff", "reviewer"], "department": "QLKH", "name": "Lê Thị Nhân Viên",
        "email": "nv@so.example.vn"})
    assert changed.status_code == 200
    assert changed.get_json()["roles"] == ["reviewer", "staff"]
    # A change of rights ends the user's tokens.
    assert client.get("/api/v1/documents", headers=staff_token).status_code == 401
    reset = client.post("/api/v1/users/staff/reset-password", headers=admin)
    temporary = reset.get_json()["temporary_password"]
    assert reset.status_code == 200 and reset.get_json()["must_change_password"] is True
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_reset"))
    assert temporary not in entry.details
    chosen = client.post("/api/v1/users/staff/reset-password", headers=admin,
                         json={"password": NEW_PASSWORD})
    assert chosen.get_json()["temporary_password"] == NEW_PASSWORD
    weak = client.post("/api/v1/users/staff/reset-password", headers=admin,
                       json={"password": "password"})
    assert weak.status_code == 422 and weak.get_json()["field"] == "password"
    assert client.post("/api/v1/users/nobody/reset-password", headers=admin).status_code == 404


@pytest.mark.parametrize("change, status, field", [
    ({"active": "no"}, 422, "active"), ({"roles": ["root"]}, 422, "roles"),
    ({"department": "NOPE"}, 422, "department"), ({"email": "x@"}, 422, "email"),
    ({"name": " "}, 422, "name"), ({"username": "other"}, 400, None),
    ({"password": NEW_PASSWORD}, 400, None),
])
def test_bad_user_changes(client, db, users, admin, change, status, field):
    response = client.patch("/api/v1/users/staff", headers=admin, json=change)
    assert response.status_code == status, response.get_json()
    assert response.get_json().get("field") == field
    db.session.expire_all()
    staff = users_service.find_user("staff")
    assert (staff.role, staff.active, staff.display_name) == ("staff", True,
                                                              "Người dùng staff")


def test_the_last_administrator_is_protected(client, users, admin):
    response = client.patch("/api/v1/users/admin", headers=admin, json={"roles": ["auditor"]})
    assert response.status_code == 409
    assert client.patch("/api/v1/users/admin", headers=admin,
                        json={"active": False}).status_code == 409
    assert client.patch("/api/v1/users/nobody", headers=admin,
                        json={"active": False}).status_code == 404


def test_a_forced_change_refuses_token_requests_with_a_clear_403(client, db, users, admin,
                                                                 token_for):
    staff_token = token_for("staff")
    users_service.find_user("staff").must_change_password = True   # as a reset leaves it
    db.session.commit()
    response = client.get("/api/v1/documents", headers=staff_token)
    assert response.status_code == 403
    assert "mật khẩu" in response.get_json()["message"]


def test_session_requests_need_the_csrf_token(app, users, login_as):
    browser = login_as("admin")
    refused = browser.post("/api/v1/departments", json={"code": "X1", "name": "Tên"})
    assert refused.status_code in (400, 403)
    allowed = browser.post("/api/v1/departments", json={"code": "X1", "name": "Tên"},
                           headers={"X-CSRFToken": csrf_token(browser)})
    assert allowed.status_code == 201


def test_an_admin_who_is_also_auditor_reads_the_audit_log(client, users, admin):
    client.patch("/api/v1/users/auditor", headers=admin, json={"roles": ["auditor", "admin"]})
    assert client.get("/api/v1/audit", headers=admin).status_code == 200
    from tests.helpers import PASSWORD as pw
    token = client.post("/api/v1/auth/token", json={"username": "auditor",
                                                   "password": pw}).get_json()["token"]
    both = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/audit", headers=both).status_code == 200
    assert client.get("/api/v1/users", headers=both).status_code == 200
