"""Administrators' API under /api/v1: departments and users (issue #10)."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from docctl.domain.permissions import Perm
from docctl.errors import ValidationError
from docctl.extensions import csrf, db
from docctl.services import departments, user_admin, users
from docctl.web.access import current_actor, permission_required
from docctl.web.api import authenticate
from docctl.web.labels import error_message

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # as the main API: bearer requests carry no cookie; sessions are checked

DEPARTMENT_FIELDS = {"code", "name", "name_en"}
DEPARTMENT_CHANGES = {"name", "name_en", "active"}
USER_FIELDS = {"username", "name", "email", "department", "roles", "password"}


class _Shape(ValidationError):
    """The request itself is malformed (not JSON, unknown or missing fields): 400."""


def _unauthorized():
    return jsonify({"error": "unauthorized", "message": _("Please sign in to continue.")}), 401


@bp.before_request
def signed_in():
    """Answer 401 to an anonymous caller (before any CSRF check), else authenticate."""
    if not request.headers.get("Authorization") and not current_user.is_authenticated:
        return _unauthorized()   # never the sign-in page's redirect
    refused = authenticate()     # the bearer token, or the session's CSRF token
    if refused is not None:
        return refused
    return _unauthorized() if current_actor() is None else None


@bp.errorhandler(ValidationError)
def refused(exc: ValidationError):
    """Answer 400 for a malformed request, 422 for a value that is not acceptable."""
    db.session.rollback()
    status = 400 if isinstance(exc, _Shape) or exc.details.get("fields") else 422
    payload = {"error": exc.code if status == 400 else "unprocessable",
               "message": error_message(exc)}
    for key in ("field", "fields"):
        if exc.details.get(key):
            payload[key] = exc.details[key]
    return jsonify(payload), status


def _body(allowed: set[str], required: set[str] = frozenset()) -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise _Shape(_("The request body must be a JSON object"))
    unknown = set(data) - allowed
    if unknown:
        raise _Shape(_("Unknown or read-only fields: %(f)s", f=", ".join(sorted(unknown))),
                     fields=sorted(unknown))
    missing = {k for k in required if data.get(k) in (None, "", [])}
    if missing:
        raise _Shape(_("Missing fields: %(f)s", f=", ".join(sorted(missing))),
                     fields=sorted(missing))
    return data


def department_json(department) -> dict:
    """Return the API form of a department."""
    return {"code": department.code, "name": department.name, "name_en": department.name_en,
            "active": department.active}


def user_json(user) -> dict:
    """Return the API form of an account (never its password or second-step secret)."""
    return {"username": user.username, "name": user.display_name, "email": user.email,
            "department": user.department.code if user.department else None,
            "roles": list(user.roles), "active": user.active,
            "must_change_password": user.must_change_password,
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


@bp.route("/departments", methods=["GET"])
@permission_required(Perm.MANAGE_USERS)
def department_list():
    return jsonify({"departments": [department_json(d)
                                    for d in departments.list_departments()]})


@bp.route("/departments", methods=["POST"])
@permission_required(Perm.MANAGE_USERS)
def department_create():
    data = _body(DEPARTMENT_FIELDS, {"code", "name"})
    department = departments.create_department(current_actor(), code=data["code"],
                                               name=data["name"], name_en=data.get("name_en"))
    return jsonify(department_json(department)), 201


@bp.route("/departments/<code>", methods=["PATCH"])
@permission_required(Perm.MANAGE_USERS)
def department_update(code: str):
    data = _body(DEPARTMENT_CHANGES)
    department = departments.update_department(
        current_actor(), code, name=data.get("name"), name_en=data.get("name_en"),
        active=data.get("active"), clear_name_en="name_en" in data and not data["name_en"])
    return jsonify(department_json(department))


@bp.route("/users", methods=["GET"])
@permission_required(Perm.MANAGE_USERS)
def user_list():
    return jsonify({"users": [user_json(u) for u in user_admin.list_users()]})


@bp.route("/users", methods=["POST"])
@permission_required(Perm.MANAGE_USERS)
def user_create():
    data = _body(USER_FIELDS, {"username", "name", "roles", "password"})
    user = users.create_user(current_actor(), username=data["username"],
                             display_name=data["name"], role=data["roles"],
                             password=data["password"], email=data.get("email"),
                             department_code=data.get("department"))
    return jsonify(user_json(user)), 201


@bp.route("/users/<username>", methods=["GET"])
@permission_required(Perm.MANAGE_USERS)
def user_detail(username: str):
    return jsonify(user_json(user_admin.get_user(username)))


@bp.route("/users/<username>", methods=["PATCH"])
@permission_required(Perm.MANAGE_USERS)
def user_update(username: str):
    data = _body(user_admin.UPDATE_FIELDS)
    user = user_admin.update_user(current_actor(), username, data)
    answer = user_json(user)
    if not user.active:   # what waits for them, to be re-routed by a secretary (issue 11)
        answer["waiting"] = [{"document": r.document.code, "revision": r.number,
                              "status": r.status} for r in user_admin.left_waiting(user)]
    return jsonify(answer)


@bp.route("/users/<username>/reset-password", methods=["POST"])
@permission_required(Perm.MANAGE_USERS)
def user_reset_password(username: str):
    data = _body({"password"}) if request.get_data() else {}
    temporary = user_admin.reset_password(current_actor(), username, data.get("password"))
    # Shown once: only its hash is stored, and the user must change it at the next sign-in.
    return jsonify({"username": user_admin.get_user(username).username,
                    "temporary_password": temporary, "must_change_password": True})


@bp.route("/users/<username>/unlock", methods=["POST"])
@permission_required(Perm.MANAGE_USERS)
def user_unlock(username: str):
    return jsonify(user_json(user_admin.unlock(current_actor(), username)))
