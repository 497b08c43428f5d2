"""Import an existing documented system: dry run preview, then the import (issue #10)."""

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.errors import DocctlError, ValidationError
from docctl.services import importing, importrun, importsource, organisation
from docctl.web.access import current_actor, permission_required
from docctl.web.labels import error_message

bp = Blueprint("importing", __name__, url_prefix="/import")


def _view_rows(plan: importing.Plan) -> list[dict]:
    rows = []
    for row in plan.rows:
        data = row.as_json()
        data["label"] = organisation.label(row.issue, row.amendment or 0) \
            if row.issue is not None else ""
        data["effective"] = row.effective_date
        rows.append(data)
    return rows


@bp.route("", methods=["GET"])
@permission_required(importing.IMPORT_PERM)
def start():
    return render_template("importing/start.html", runs=importrun.recent(current_actor()))


@bp.route("/preview", methods=["POST"])
@permission_required(importing.IMPORT_PERM)
def preview():
    user = current_actor()
    upload = request.files.get("archive")
    try:
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose a .zip file holding the documents and the "
                                    "master list"), field="archive")
        data = upload.read()
        name = upload.filename.rsplit("/", 1)[-1][:200]
        plan = importing.dry_run(user, importsource.from_zip(name, data))
        token = importrun.stage(user, data) if plan.counts()["import"] else None
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return render_template("importing/start.html", runs=importrun.recent(user)), exc.status
    return render_template("importing/preview.html", plan=plan, rows=_view_rows(plan),
                           counts=plan.counts(), token=token, name=name)


@bp.route("/confirm", methods=["POST"])
@permission_required(importing.IMPORT_PERM)
def confirm():
    user = current_actor()
    try:
        run = importrun.start_in_background(user, request.form.get("name", "")[:200] or
                                            "import.zip", request.form.get("token", ""))
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("importing.start"))
    return redirect(url_for("importing.progress", run_id=run.id))


@bp.route("/<int:run_id>")
@permission_required(importing.IMPORT_PERM)
def progress(run_id: int):
    status = importrun.run_status(current_actor(), run_id)
    rows = []
    for row in status["report"] or []:
        row = dict(row)
        row["effective"] = date.fromisoformat(row["effective_date"]) \
            if row["effective_date"] else None
        row["label"] = organisation.label(row["issue"], row["amendment"] or 0) \
            if row["issue"] is not None else ""
        rows.append(row)
    return render_template("importing/progress.html", status=status, rows=rows)


@bp.route("/<int:run_id>/status")
@permission_required(importing.IMPORT_PERM)
def status(run_id: int):
    response = jsonify(importrun.run_status(current_actor(), run_id))
    response.headers["Cache-Control"] = "no-store"
    return response

