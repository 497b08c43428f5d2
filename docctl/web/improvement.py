"""Improvement loop pages: the audit programme and each audit, nonconformities and their
corrective actions (overdue ones too), management reviews; the home page's overdue panel."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from docctl.domain.improvement import REVIEW_SECTIONS
from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError
from docctl.services import audits, management_reviews, nonconformities
from docctl.services import improvement_base as base
from docctl.services.context import today
from docctl.web import access
from docctl.web.access import current_actor, login_required
from docctl.web.labels import error_message

bp = Blueprint("improvement", __name__, url_prefix="/improvement")
# Auditors read the loop and change nothing: refused before any form is read.
bp.before_request(access.changes_require(Perm.IMPROVE))

AUDIT_STATUSES = {"planned": _l("Planned"), "in_progress": _l("In progress"),
                  "reported": _l("Reported (closed)")}
FINDING_KINDS = {"conformity": _l("Conformity"), "observation": _l("Observation"),
                 "nonconformity": _l("Nonconformity")}
NC_STATUSES = {"open": _l("Action under way"), "action_done": _l("Done, awaiting verification"),
               "verified": _l("Verified effective"), "closed": _l("Closed")}
NC_SOURCES = {"audit": _l("Internal audit"), "complaint": _l("Complaint or feedback"),
              "objective": _l("Quality objective missed"), "other": _l("Other")}
REVIEW_STATUSES = {"draft": _l("Draft: being prepared"), "closed": _l("Minutes approved")}
SECTIONS = {
    "previous_actions": _l("Status of actions from previous reviews"),
    "changes": _l("Changes in external and internal issues"),
    "customer_feedback": _l("Customer satisfaction and feedback"),
    "objectives": _l("Extent to which quality objectives were met"),
    "process_performance": _l("Process performance and conformity of services"),
    "nonconformities": _l("Nonconformities and corrective actions"),
    "monitoring": _l("Monitoring and measurement results"),
    "audit_results": _l("Audit results"),
    "providers": _l("Performance of external providers"),
    "resources": _l("Adequacy of resources"),
    "risks": _l("Effectiveness of actions addressing risks and opportunities"),
    "opportunities": _l("Opportunities for improvement"),
    "conclusions": _l("Conclusions and decisions"),
}


def _home():
    """Return the overdue corrective actions for the home page (None: not this user's panel)."""
    user = current_actor()
    return None if user is None else nonconformities.overdue_for_home(user)


def _mine():
    """Return the corrective actions waiting for this user to carry them out."""
    user = current_actor()
    # The owner learns of an action only here: nothing else tells them it was assigned.
    return [] if user is None else nonconformities.list_ncs(user, status="open",
                                                            owner=user.username)


@bp.app_context_processor
def improvement_facts() -> dict:
    """Give the pages and the home page their improvement words and panels."""
    return {"improvement_overdue": _home, "improvement_mine": _mine,
            "AUDIT_STATUSES": AUDIT_STATUSES,
            "FINDING_KINDS": FINDING_KINDS, "NC_STATUSES": NC_STATUSES,
            "NC_SOURCES": NC_SOURCES, "REVIEW_STATUSES": REVIEW_STATUSES,
            "REVIEW_SECTIONS": SECTIONS}


def _fail(exc: DocctlError, back: str):
    flash(error_message(exc), "error")
    return redirect(back, 303)


def _act(action, back: str, done: str):
    """Run a service action from a form: flash the outcome, return to the page."""
    try:
        action()
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return redirect(back, 303)
    flash(done, "success")
    return redirect(back, 303)


def _list_field(name: str) -> list[str]:
    return [p.strip() for p in request.form.get(name, "").replace(";", ",").split(",")
            if p.strip()]


# --- internal audits ------------------------------------------------------------------------

@bp.route("/audits")
@login_required
def audit_list():
    user = current_actor()
    year = request.args.get("year", "").strip() or str(today().year)
    rows = audits.list_audits(user, year=year)
    return render_template("improvement/audits.html", rows=rows, year=year,
                           can_manage=base.manages(user), form={})


@bp.route("/audits", methods=["POST"])
@login_required
def audit_create():
    user = current_actor()
    data = {k: request.form.get(k, "") for k in ("title", "start_date", "end_date",
                                                  "clauses", "lead_auditor")}
    data.update(departments=_list_field("departments"), procedures=_list_field("procedures"),
                team=_list_field("team"))
    try:
        made = audits.create(user, data)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        year = str(today().year)
        return render_template("improvement/audits.html", rows=audits.list_audits(
            user, year=year) if base.reads_all(user) else [], year=year,
            can_manage=base.manages(user), form=request.form), exc.status
    flash(_("Audit planned."), "success")
    return redirect(url_for("improvement.audit_detail", audit_id=made.id), 303)


@bp.route("/audits/<int:audit_id>")
@login_required
def audit_detail(audit_id: int):
    user = current_actor()
    item = audits.get(user, audit_id)
    open_ = item.status != "reported"
    manages, lead = base.manages(user), user.id == item.lead_auditor_id
    return render_template("improvement/audit.html", item=item,
                           can_record=open_ and (manages or audits.is_member(user, item)),
                           can_close=item.status == "in_progress" and (manages or lead),
                           can_start=item.status == "planned" and (manages or lead))


@bp.route("/audits/<int:audit_id>/findings", methods=["POST"])
@login_required
def audit_finding(audit_id: int):
    data = {k: request.form.get(k, "") for k in ("kind", "clause", "department", "procedure",
                                                  "description", "evidence")}
    return _act(lambda: audits.add_finding(current_actor(), audit_id, data),
                url_for("improvement.audit_detail", audit_id=audit_id), _("Finding recorded."))


@bp.route("/audits/<int:audit_id>/start", methods=["POST"])
@login_required
def audit_start(audit_id: int):
    return _act(lambda: audits.update(current_actor(), audit_id, {"status": "in_progress"}),
                url_for("improvement.audit_detail", audit_id=audit_id), _("Audit started."))


@bp.route("/audits/<int:audit_id>/close", methods=["POST"])
@login_required
def audit_close(audit_id: int):
    return _act(lambda: audits.close(current_actor(), audit_id,
                                     conclusion=request.form.get("conclusion", "")),
                url_for("improvement.audit_detail", audit_id=audit_id),
                _("Audit closed: its report is filed as a record."))


# --- nonconformities ------------------------------------------------------------------------

@bp.route("/nonconformities")
@login_required
def nc_list():
    user = current_actor()
    overdue = request.args.get("overdue") == "1"
    rows = nonconformities.list_ncs(user, overdue="1" if overdue else None,
                                    status=request.args.get("status") or None)
    return render_template("improvement/nonconformities.html", rows=rows, overdue=overdue,
                           can_manage=base.manages(user), form={})


@bp.route("/nonconformities", methods=["POST"])
@login_required
def nc_create():
    user = current_actor()
    data = {k: request.form.get(k, "") for k in ("source", "source_reference", "description",
                                                  "department", "owner", "due_date")}
    try:
        made = nonconformities.raise_nc(user, data)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return render_template("improvement/nonconformities.html",
                               rows=nonconformities.list_ncs(user), overdue=False,
                               can_manage=base.manages(user), form=request.form), exc.status
    flash(_("Nonconformity raised."), "success")
    return redirect(url_for("improvement.nc_detail", nc_id=made.id), 303)


@bp.route("/nonconformities/<int:nc_id>")
@login_required
def nc_detail(nc_id: int):
    user = current_actor()
    item = nonconformities.get(user, nc_id)
    manages, owner = base.manages(user), user.id == item.owner_id
    return render_template(
        "improvement/nonconformity.html", item=item, number=nonconformities.number(item),
        overdue=nonconformities.overdue(item),
        can_edit=item.status == "open" and (manages or owner), can_assign=manages,
        can_report=item.status == "open" and owner,
        can_verify=item.status == "action_done" and not owner
        and (manages or has_perm(user.role, Perm.APPROVE)),
        can_close=item.status == "verified" and manages)


@bp.route("/nonconformities/<int:nc_id>/edit", methods=["POST"])
@login_required
def nc_edit(nc_id: int):
    user = current_actor()
    fields = ("cause", "correction", "action") + (
        ("description", "department", "owner", "due_date", "source_reference")
        if base.manages(user) else ())
    data = {k: request.form.get(k, "") for k in fields if k in request.form}
    return _act(lambda: nonconformities.update(user, nc_id, data),
                url_for("improvement.nc_detail", nc_id=nc_id), _("Saved."))


@bp.route("/nonconformities/<int:nc_id>/action-done", methods=["POST"])
@login_required
def nc_action_done(nc_id: int):
    return _act(lambda: nonconformities.report_done(
        current_actor(), nc_id, action_taken=request.form.get("action_taken", "")),
        url_for("improvement.nc_detail", nc_id=nc_id),
        _("Reported done. The ISO secretary verifies its effectiveness."))


@bp.route("/nonconformities/<int:nc_id>/verify", methods=["POST"])
@login_required
def nc_verify(nc_id: int):
    effective = request.form.get("effective")
    verdict = {"yes": True, "no": False}.get(effective, effective)
    return _act(lambda: nonconformities.verify(current_actor(), nc_id, effective=verdict,
                                               comment=request.form.get("comment", "")),
                url_for("improvement.nc_detail", nc_id=nc_id), _("Verification recorded."))


@bp.route("/nonconformities/<int:nc_id>/close", methods=["POST"])
@login_required
def nc_close(nc_id: int):
    return _act(lambda: nonconformities.close(current_actor(), nc_id),
                url_for("improvement.nc_detail", nc_id=nc_id),
                _("Closed: the corrective action report is filed as a record."))


# --- management reviews ---------------------------------------------------------------------

@bp.route("/reviews")
@login_required
def review_list():
    user = current_actor()
    return render_template("improvement/reviews.html",
                           rows=management_reviews.list_reviews(user),
                           can_manage=base.manages(user), today=today())


@bp.route("/reviews", methods=["POST"])
@login_required
def review_create():
    data = {k: request.form.get(k, "") for k in ("review_date", "title", "attendees")}
    try:
        made = management_reviews.open_review(current_actor(), data)
    except DocctlError as exc:
        return _fail(exc, url_for("improvement.review_list"))
    flash(_("Review opened: docctl gathered its inputs into the draft below."), "success")
    return redirect(url_for("improvement.review_detail", review_id=made.id), 303)


@bp.route("/reviews/<int:review_id>")
@login_required
def review_detail(review_id: int):
    user = current_actor()
    item = management_reviews.get(user, review_id)
    draft = item.status == "draft"
    return render_template("improvement/review.html", item=item,
                           facts=management_reviews.inputs(item),
                           texts=management_reviews.texts(item), sections=REVIEW_SECTIONS,
                           can_edit=draft and base.manages(user),
                           can_close=draft and has_perm(user.role, Perm.APPROVE),
                           user=user, manages=base.manages(user))


@bp.route("/reviews/<int:review_id>/edit", methods=["POST"])
@login_required
def review_edit(review_id: int):
    data = {"texts": {name: request.form.get(name, "") for name in REVIEW_SECTIONS
                      if name in request.form}}
    if "attendees" in request.form:
        data["attendees"] = request.form["attendees"]
    if request.form.get("refresh_inputs") == "1":
        data["refresh_inputs"] = True
    return _act(lambda: management_reviews.update(current_actor(), review_id, data),
                url_for("improvement.review_detail", review_id=review_id), _("Saved."))


@bp.route("/reviews/<int:review_id>/actions", methods=["POST"])
@login_required
def review_action(review_id: int):
    data = {k: request.form.get(k, "") for k in ("description", "owner", "due_date")}
    return _act(lambda: management_reviews.add_action(current_actor(), review_id, data),
                url_for("improvement.review_detail", review_id=review_id),
                _("Action added."))


@bp.route("/reviews/<int:review_id>/actions/<int:action_id>/done", methods=["POST"])
@login_required
def review_action_done(review_id: int, action_id: int):
    return _act(lambda: management_reviews.set_action(
        current_actor(), review_id, action_id,
        {"status": "done", "note": request.form.get("note", "")}),
        url_for("improvement.review_detail", review_id=review_id), _("Action marked done."))


@bp.route("/reviews/<int:review_id>/close", methods=["POST"])
@login_required
def review_close(review_id: int):
    return _act(lambda: management_reviews.close(current_actor(), review_id,
                                                  password=request.form.get("password", "")),
                url_for("improvement.review_detail", review_id=review_id),
                _("Minutes approved and filed as a record."))


def init_app(app) -> None:
    """Register the pages and the API of the improvement loop."""
    from docctl.web import improvement_api

    app.register_blueprint(bp)
    app.register_blueprint(improvement_api.bp)
