"""Disposition pages: records due, proposing and signing a list (hủy hồ sơ), legal holds."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError, Forbidden, ValidationError
from docctl.services import dispositions, record_views
from docctl.web.access import current_actor, permission_required
from docctl.web.labels import error_message
from docctl.web.records import any_perm

bp = Blueprint("record_dispositions", __name__, url_prefix="/records")
DISPOSITION_STATUSES = {"proposed": _l("Waiting for a signature"),
                        "disposing": _l("Signed, being carried out"),
                        "done": _l("Signed: records destroyed"),
                        "discarded": _l("Discarded unsigned")}
# What the approver's signature means, stated on the page above the password field.
MEANING = _l("I approve the destruction of the records in this list, whose retention "
             "period has ended.")


@bp.app_context_processor
def disposition_facts() -> dict:
    """Give the disposition pages how statuses read."""
    return {"DISPOSITION_STATUSES": DISPOSITION_STATUSES}


def _ids(values) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValidationError(_l("Choose the records from the list"), field="records") from None


def _due_page(form, status: int = 200):
    user = current_actor()
    rows = dispositions.due(user)
    return render_template("records/due.html", rows=rows, posted=form is not None,
                           chosen=form.getlist("records") if form else [],
                           reason=form.get("reason", "") if form else ""), status


@bp.route("/due")
@permission_required(Perm.MANAGE_RECORDS)
def due():
    return _due_page(None)


@bp.route("/dispositions", methods=["GET", "POST"])
@any_perm(Perm.MANAGE_RECORDS, Perm.APPROVE, Perm.AUDIT)
def disposition_list():
    user = current_actor()
    if request.method == "POST":
        if not has_perm(user.role, Perm.MANAGE_RECORDS):
            return _forbidden()
        try:
            made = dispositions.propose(user, _ids(request.form.getlist("records")),
                                        request.form.get("reason", ""))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return _due_page(request.form, exc.status)
        flash(_("Disposition list %(slug)s is proposed. An approver other than you signs it "
                "before anything is destroyed.", slug=made.slug), "success")
        return redirect(url_for("record_dispositions.disposition_detail",
                                disposition_id=made.id))
    status = request.args.get("status") or None
    return render_template("records/dispositions.html",
                           rows=dispositions.list_dispositions(user, status),
                           status=status or "")


def _forbidden():
    raise Forbidden(_l("Your role does not allow this"))


def _can_sign(user, row) -> bool:
    return (row.status == "proposed" and has_perm(user.role, Perm.APPROVE)
            and row.proposed_by_id != user.id)


@bp.route("/dispositions/<int:disposition_id>")
@any_perm(Perm.MANAGE_RECORDS, Perm.APPROVE, Perm.AUDIT)
def disposition_detail(disposition_id: int):
    user = current_actor()
    row = dispositions.get(user, disposition_id)
    records = [item.record for item in row.items]
    return render_template("records/disposition.html", row=row, records=records,
                           holds=dispositions.held([r.id for r in records]),
                           can_sign=_can_sign(user, row),
                           proposer_sees=row.status == "proposed"
                           and row.proposed_by_id == user.id,
                           can_discard=row.status == "proposed"
                           and has_perm(user.role, Perm.MANAGE_RECORDS), meaning=MEANING)


@bp.route("/dispositions/<int:disposition_id>/approve", methods=["GET", "POST"])
@permission_required(Perm.APPROVE)
def approve(disposition_id: int):
    """Sign in two steps: this page states what signing destroys, then the password."""
    user = current_actor()
    row = dispositions.get(user, disposition_id)
    if request.method == "POST":
        try:
            if request.form.get("confirm") != "yes":
                raise ValidationError(_l("Tick the box to confirm that the records' content "
                                         "will be destroyed for good"), field="confirm")
            done = dispositions.approve(user, disposition_id, request.form.get("password", ""))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            row = dispositions.get(user, disposition_id)
            return render_template("records/approve.html", row=row, meaning=MEANING,
                                   can_sign=_can_sign(user, row),
                                   error_field=exc.details.get("field")), exc.status
        flash(_("Disposition list %(slug)s is signed: the content of its %(n)s records is "
                "destroyed; their descriptions and hashes stay.", slug=done.slug,
                n=len(done.items)), "success")
        return redirect(url_for("record_dispositions.disposition_detail",
                                disposition_id=disposition_id))
    return render_template("records/approve.html", row=row, meaning=MEANING,
                           can_sign=_can_sign(user, row), error_field=None)


@bp.route("/dispositions/<int:disposition_id>/discard", methods=["POST"])
@permission_required(Perm.MANAGE_RECORDS)
def discard(disposition_id: int):
    try:
        dispositions.discard(current_actor(), disposition_id, request.form.get("reason", ""))
        flash(_("The list was discarded unsigned; its records may be listed again."),
              "success")
    except DocctlError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("record_dispositions.disposition_detail",
                            disposition_id=disposition_id))


# ---- legal holds ---------------------------------------------------------------------------

def _holds_page(form, status: int = 200, error_field=None):
    user = current_actor()
    return render_template("records/holds.html", rows=dispositions.list_holds(user),
                           form=form or {}, error_field=error_field,
                           can_manage=has_perm(user.role, Perm.MANAGE_RECORDS)), status


@bp.route("/holds", methods=["GET", "POST"])
@any_perm(Perm.MANAGE_RECORDS, Perm.AUDIT)
def hold_list():
    user = current_actor()
    if request.method == "GET":
        return _holds_page(None)
    if not has_perm(user.role, Perm.MANAGE_RECORDS):
        return _forbidden()
    try:
        ids = record_views.record_ids(user, request.form.get("records", ""))
        hold = dispositions.place_hold(user, ids, request.form.get("reason", ""))
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return _holds_page(request.form, exc.status, exc.details.get("field"))
    flash(_("Legal hold no. %(n)s placed: its records cannot be disposed of until it is "
            "lifted.", n=hold.id), "success")
    return redirect(url_for("record_dispositions.hold_detail", hold_id=hold.id))


@bp.route("/holds/<int:hold_id>")
@any_perm(Perm.MANAGE_RECORDS, Perm.AUDIT)
def hold_detail(hold_id: int):
    user = current_actor()
    return render_template("records/hold.html", hold=dispositions.get_hold(user, hold_id),
                           can_manage=has_perm(user.role, Perm.MANAGE_RECORDS))


@bp.route("/holds/<int:hold_id>/release", methods=["POST"])
@permission_required(Perm.MANAGE_RECORDS)
def release(hold_id: int):
    try:
        dispositions.release_hold(current_actor(), hold_id, request.form.get("reason", ""))
        flash(_("The legal hold was lifted."), "success")
    except DocctlError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("record_dispositions.hold_detail", hold_id=hold_id))
