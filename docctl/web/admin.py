"""The administrator's pages: users, departments and the organisation's settings."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.numbering import PREFIX, DocType
from docctl.domain.permissions import Perm, Role
from docctl.errors import DocctlError
from docctl.services import departments, organisation, user_admin, users
from docctl.web.access import current_actor, permission_required
from docctl.web.labels import error_message

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _refused(exc: DocctlError, template: str, **context):
    flash(error_message(exc), "error")
    return render_template(template, **context), exc.status


# --- Users ---------------------------------------------------------------------------------

def _user_form_context(**context) -> dict:
    return {"roles": list(Role), "departments": departments.list_departments(active_only=True),
            **context}


@bp.route("/users")
@permission_required(Perm.MANAGE_USERS)
def user_list():
    return render_template("admin/users.html", people=user_admin.list_users())


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def user_new():
    if request.method == "GET":
        return render_template("admin/user_new.html", **_user_form_context(form={},
                                                                            chosen=[]))
    chosen = request.form.getlist("role")
    try:
        user = users.create_user(
            current_actor(), username=request.form.get("username", ""),
            display_name=request.form.get("display_name", ""), role=chosen,
            password=request.form.get("password", ""),
            email=request.form.get("email") or None,
            department_code=request.form.get("department") or None)
    except DocctlError as exc:
        return _refused(exc, "admin/user_new.html",
                        **_user_form_context(form=request.form, chosen=chosen))
    flash(_("User %(name)s created.", name=user.username), "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def user_edit(user_id: int):
    person = user_admin.get_user_by_id(user_id)
    context = _user_form_context(person=person)
    if request.method == "GET":
        return render_template("admin/user_edit.html", **context)
    changes = {"roles": request.form.getlist("role"),
               "name": request.form.get("display_name", ""),
               "active": request.form.get("active") == "1"}
    if "email" in request.form:
        changes["email"] = request.form.get("email", "")
    if "department" in request.form:
        changes["department"] = request.form.get("department") or None
    was_active = person.active
    try:
        user = user_admin.update_user(current_actor(), person.username, changes)
    except DocctlError as exc:
        person = user_admin.get_user_by_id(user_id)   # the refused change was rolled back
        return _refused(exc, "admin/user_edit.html", **{**context, "person": person})
    flash(_("Changes saved."), "success")
    waiting = user_admin.left_waiting(user) if was_active and not user.active else []
    if waiting:   # nobody may be left unable to act: say what the secretary must re-route
        return render_template("admin/user_deactivated.html", person=user, waiting=waiting)
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def user_reset(user_id: int):
    person = user_admin.get_user_by_id(user_id)
    if request.method == "GET":
        return render_template("admin/user_reset.html", person=person)
    try:
        temporary = user_admin.reset_password(current_actor(), person.username,
                                              request.form.get("password") or None)
    except DocctlError as exc:
        return _refused(exc, "admin/user_reset.html", person=person)
    # Shown once, on this page only: it is not stored, flashed or logged.
    response = render_template("admin/user_reset.html", person=person, temporary=temporary)
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@permission_required(Perm.MANAGE_USERS)
def user_unlock(user_id: int):
    person = user_admin.get_user_by_id(user_id)
    user_admin.unlock(current_actor(), person.username)
    flash(_("Sign-in unlocked for %(name)s.", name=person.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


# --- Departments ---------------------------------------------------------------------------

def _department_page(status: int = 200, form=None):
    return render_template("admin/departments.html", rows=departments.list_departments(),
                           counts=departments.counts(), form=form or {}), status


@bp.route("/departments", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def department_list():
    if request.method == "GET":
        return _department_page()
    try:
        department = departments.create_department(
            current_actor(), code=request.form.get("code", ""),
            name=request.form.get("name", ""), name_en=request.form.get("name_en") or None)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return _department_page(exc.status, request.form)
    flash(_("Department %(code)s created.", code=department.code), "success")
    return redirect(url_for("admin.department_list"))


@bp.route("/departments/<code>", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def department_edit(code: str):
    department = departments.get(code)
    if request.method == "GET":
        return render_template("admin/department_edit.html", department=department)
    try:
        departments.update_department(current_actor(), department.code,
                                      name=request.form.get("name", ""),
                                      name_en=request.form.get("name_en", ""),
                                      clear_name_en=not request.form.get("name_en"))
    except DocctlError as exc:
        return _refused(exc, "admin/department_edit.html",
                        department=departments.get(code))
    flash(_("Changes saved."), "success")
    return redirect(url_for("admin.department_list"))


@bp.route("/departments/<code>/active", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def department_active(code: str):
    department = departments.get(code)
    if request.method == "GET":   # the confirmation page
        return render_template("admin/department_active.html", department=department,
                               counts=departments.counts().get(department.id, (0, 0)))
    active = request.form.get("active") == "1"
    departments.update_department(current_actor(), department.code, active=active)
    flash(_("Department %(code)s reactivated.", code=department.code) if active else
          _("Department %(code)s deactivated.", code=department.code), "success")
    return redirect(url_for("admin.department_list"))


# --- The organisation ----------------------------------------------------------------------

def _organisation_page(values: dict, status: int = 200):
    return render_template("admin/organisation.html", values=values,
                           examples=organisation.label_examples(),
                           types=list(DocType), defaults=PREFIX), status


@bp.route("/organisation", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def organisation_settings():
    if request.method == "GET":
        return _organisation_page(organisation.settings())
    form = request.form
    changes = {"name": form.get("name", ""), "name_en": form.get("name_en", ""),
               "place": form.get("place", ""),
               "label_format": form.get("label_format", ""),
               "review_months": form.get("review_months", ""),
               "code_patterns": {t.value: form.get(f"prefix_{t.value}", "") for t in DocType}}
    try:
        organisation.update(current_actor(), changes)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return _organisation_page({**organisation.settings(), **changes}, exc.status)
    flash(_("Changes saved."), "success")
    return redirect(url_for("admin.organisation_settings"))
