"""An administrator's work on accounts: several roles, resets, last-admin protection."""

import pytest
from sqlalchemy import select

from docctl.errors import Conflict, Forbidden, NotFound, ValidationError
from docctl.models import ApiToken, AuditEvent, User
from docctl.services import documents, organisation, reviews, twofactor, user_admin
from docctl.services import users as users_service
from tests.helpers import PASSWORD, docx_bytes

NEW_PASSWORD = "mot mat khau du dai va la"


def _make(users, username="truongphong", roles=("staff", "reviewer"), **extra):
    return users_service.create_user(users["admin"], username=username,
                                     display_name="Trần Văn Trưởng", role=list(roles),
                                     password=NEW_PASSWORD, department_code="vp", **extra)


def test_a_user_gets_several_roles_kept_in_role_order(db, users):
    user = _make(users, roles=["reviewer", "staff"], email="truong.phong@so.example.vn")
    assert user.role == "reviewer,staff" and user.roles == ("reviewer", "staff")
    assert user.department.code == "VP" and user.email == "truong.phong@so.example.vn"
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_created"))
    assert NEW_PASSWORD not in entry.details and "reviewer,staff" in entry.details


@pytest.mark.parametrize("field, value", [
    ("roles", []), ("roles", ["staff", "chief"]), ("roles", "boss"), ("roles", [3]),
    ("email", "not-an-address"), ("email", "a@b"), ("email", "x@y.vn\u202e"),
    ("email", 5), ("department", "NOPE"), ("name", "   "), ("username", "Bad Name"),
    ("password", "short"),
])
def test_bad_input_is_refused_and_nothing_is_created(db, users, field, value):
    data = {"username": "moi", "display_name": "Người mới", "role": ["staff"],
            "password": NEW_PASSWORD, "department_code": "VP", "email": None}
    key = {"roles": "role", "department": "department_code", "name": "display_name"}.get(
        field, field)
    data[key] = value
    with pytest.raises(ValidationError) as refused:
        users_service.create_user(users["admin"], **data)
    assert refused.value.details["field"] == field
    assert users_service.find_user("moi") is None


def test_only_administrators_create_users(db, users):
    with pytest.raises(Forbidden):
        _make({**users, "admin": users["controller"]})


def test_users_with_role_matches_any_role_of_the_set(db, users):
    _make(users)
    reviewers = {u.username for u in users_service.users_with_role("reviewer")}
    assert {"reviewer", "reviewer2", "truongphong"} <= reviewers
    assert "truongphong" not in {u.username for u in users_service.users_with_role("admin")}


def test_a_reviewer_and_staff_member_reviews(db, users, procedure):
    _make(users)
    documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                              data=docx_bytes("bản hai"), reason="Sửa đổi", change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["truongphong"],
                   approver="approver")
    person = users_service.find_user("truongphong")
    reviews.review(person, "QT-01", 2, decision="accept", comment="Đồng ý")
    revision = documents.get_revision(person, "QT-01", 2)
    assert revision.status == "awaiting_approval"


def test_two_step_is_required_when_any_role_requires_it(app, db, users):
    app.config["MFA_REQUIRED_ROLES"] = ("approver",)
    user = _make(users, roles=["staff", "approver"])
    assert twofactor.must_enrol(user)
    assert not twofactor.must_enrol(users["staff"])


def test_roles_department_name_and_email_change_and_end_sessions(db, users):
    user = _make(users)
    db.session.add(ApiToken(user_id=user.id, token_hash="x" * 64,
                            expires_at=users_service.now().replace(year=2099)))
    db.session.commit()
    old_session = user.session_token
    user_admin.update_user(users["admin"], "truongphong", {
        "roles": ["staff", "approver"], "department": "QLKH", "name": "Trần Văn Trưởng Phòng",
        "email": "tp@so.example.vn"})
    user = users_service.find_user("truongphong")
    assert user.roles == ("approver", "staff") and user.department.code == "QLKH"
    assert (user.display_name, user.email) == ("Trần Văn Trưởng Phòng", "tp@so.example.vn")
    assert user.session_token != old_session
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)).revoked_at
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_changed"))
    assert '"role": "reviewer,staff"' in entry.details


def test_nobody_deactivates_themselves_or_the_last_administrator(db, users):
    with pytest.raises(Conflict):
        user_admin.update_user(users["admin"], "admin", {"active": False})
    with pytest.raises(Conflict):   # the last admin cannot drop the role either
        user_admin.update_user(users["admin"], "admin", {"roles": ["staff"]})
    second = _make(users, username="quantri2", roles=["admin", "auditor"])
    # With two, one may step down; then the other is the last again.
    user_admin.update_user(users["admin"], "admin", {"roles": ["auditor"]})
    with pytest.raises(Conflict):
        user_admin.update_user(second, "quantri2", {"roles": ["auditor"]})
    with pytest.raises(Forbidden):   # no longer an administrator
        user_admin.update_user(users["admin"], "quantri2", {"active": False})
    assert [a.username for a in user_admin.active_admins()] == ["quantri2"]


def test_deactivation_is_audited_and_stops_sign_in(db, users):
    _make(users)
    user_admin.update_user(users["admin"], "truongphong", {"active": False})
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "user_deactivated")) is not None
    with pytest.raises(Forbidden):
        users_service.authenticate("truongphong", NEW_PASSWORD)


def test_unknown_fields_and_users_are_refused(db, users):
    with pytest.raises(ValidationError) as refused:
        user_admin.update_user(users["admin"], "staff", {"username": "other"})
    assert refused.value.details["fields"] == ["username"]
    with pytest.raises(NotFound):
        user_admin.update_user(users["admin"], "nobody", {"active": False})
    with pytest.raises(ValidationError):
        user_admin.update_user(users["admin"], "staff", {"active": "false"})


def test_a_reset_sets_a_temporary_password_to_change_and_ends_everything(db, users):
    staff = users["staff"]
    token = users_service.issue_token("staff", PASSWORD)
    old_session = staff.session_token
    temporary = user_admin.reset_password(users["admin"], "staff")
    assert len(temporary) == 19 and users_service.verify_password(staff, temporary)
    assert staff.must_change_password and staff.session_token != old_session
    assert users_service.user_for_token(token) is None
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_reset"))
    assert temporary not in entry.details and entry.actor_name == users["admin"].display_name
    # Signing in works, but a token is refused until the password is changed.
    users_service.authenticate("staff", temporary)
    with pytest.raises(Forbidden):
        users_service.issue_token("staff", temporary)
    users_service.change_password(staff, temporary, NEW_PASSWORD)
    assert not db.session.get(User, staff.id).must_change_password
    assert users_service.issue_token("staff", NEW_PASSWORD)


def test_a_chosen_temporary_password_passes_the_policy(db, users):
    with pytest.raises(ValidationError):
        user_admin.reset_password(users["admin"], "staff", "password123")
    assert not users["staff"].must_change_password
    assert user_admin.reset_password(users["admin"], "staff", NEW_PASSWORD) == NEW_PASSWORD
    with pytest.raises(Conflict):   # one's own password is changed on the account page
        user_admin.reset_password(users["admin"], "admin")
    with pytest.raises(Forbidden):
        user_admin.reset_password(users["controller"], "staff")


def test_unlock_clears_a_lockout(app, db, users):
    from docctl.services import throttle
    for _ in range(12):
        with pytest.raises((Forbidden, throttle.Throttled)):
            users_service.authenticate("staff", "wrong password", address="10.0.0.9")
    with pytest.raises(throttle.Throttled):
        users_service.authenticate("staff", PASSWORD, address="10.0.0.9")
    user_admin.unlock(users["admin"], "staff")
    users_service.authenticate("staff", PASSWORD, address="10.0.0.9")
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "login_unlocked")).actor_name == users["admin"].display_name


def test_the_organisation_name_is_what_the_password_policy_refuses(db, users):
    organisation.update(users["admin"], {"name": "Sở Tài nguyên Môi trường"})
    with pytest.raises(ValidationError):
        user_admin.reset_password(users["admin"], "staff", "so tai nguyen moi truong")


def test_a_refused_change_leaves_nothing_set_even_before_rollback(db, users):
    staff = users["staff"]
    with pytest.raises(ValidationError):
        user_admin.update_user(users["admin"], "staff", {
            "name": "Tên mới", "email": "moi@so.example.vn", "department": "NOPE"})
    assert (staff.display_name, staff.email) == ("Người dùng staff", None)
    assert staff not in db.session.dirty
