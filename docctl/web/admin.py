"""User administration."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from docctl.domain.permissions import Perm, Role
from docctl.errors import DocctlError, NotFound
from docctl.extensions import db
from docctl.models import User
from docctl.services import documents, users
from docctl.web.access import current_actor, permission_required
from docctl.web.labels import error_message

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@permission_required(Perm.MANAGE_USERS)
def user_list():
    people = db.session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    return render_template("admin/users.html", people=people)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def user_new():
    if request.method == "POST":
        try:
            user = users.create_user(
                current_actor(), username=request.form.get("username", ""),
                display_name=request.form.get("display_name", ""),
                role=request.form.get("role", ""), password=request.form.get("password", ""),
                department_code=request.form.get("department") or None)
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("admin/user_new.html", form=request.form, roles=list(Role),
                                   departments=documents.departments()), exc.status
        flash(_("User %(name)s created.", name=user.username), "success")
        return redirect(url_for("admin.user_list"))
    return render_template("admin/user_new.html", form={}, roles=list(Role),
                           departments=documents.departments())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def user_edit(user_id: int):
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound(_("No such user"))
    if request.method == "POST":
        try:
            users.update_user(current_actor(), user_id, role=request.form.get("role"),
                              display_name=request.form.get("display_name"),
                              active=request.form.get("active") == "1")
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("admin/user_edit.html", person=person,
                                   roles=list(Role)), exc.status
        flash(_("Changes saved."), "success")
        return redirect(url_for("admin.user_list"))
    return render_template("admin/user_edit.html", person=person, roles=list(Role))
