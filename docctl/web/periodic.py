"""Periodic review pages: what is due, and the review form of a document."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError, Forbidden, ValidationError
from docctl.services import documents, periodic
from docctl.services.context import today
from docctl.web.access import current_actor, login_required
from docctl.web.labels import error_message

bp = Blueprint("periodic", __name__)


def _review_facts(document) -> dict:
    """Return what a document page shows of its periodic review, for the signed-in user."""
    user = current_actor()
    in_force = document.status == "effective" and \
        documents.effective_revision(document) is not None
    due = document.next_review_date
    return {"due": due, "reviewed_on": document.reviewed_on, "in_force": in_force,
            "today": today(),
            "overdue": periodic.is_overdue(document),
            "days_left": (due - today()).days if due else None,
            "can_review": user is not None and in_force and periodic.may_review(user, document),
            "can_revise": user is not None and in_force and periodic.may_revise(user, document)}


def _home_reviews() -> list | None:
    """Return the reviews due soon or overdue for the home page; None for who does none."""
    user = current_actor()
    if user is None or not (has_perm(user.role, Perm.REGISTER)
                            or has_perm(user.role, Perm.REVIEW)):
        return None
    return periodic.due(user)


@bp.app_context_processor
def periodic_facts() -> dict:
    """Give the document page and the home page their periodic review panels' facts."""
    return {"periodic_review": _review_facts, "periodic_home": _home_reviews,
            "review_today": today()}


def _within() -> int:
    value = request.args.get("within", "").strip()
    if not value:
        return periodic.DUE_WITHIN_DAYS
    if not value.isdigit():
        raise ValidationError(_("within_days must be a whole number of days from 0 to "
                                "%(n)s", n=periodic.MAX_WITHIN_DAYS), field="within")
    return int(value)


@bp.route("/reviews")
@login_required
def due_list():
    user = current_actor()
    within = _within()
    rows = periodic.due(user, within_days=within)
    return render_template("periodic/due.html", rows=rows, within=within, today=today(),
                           overdue=[r for r in rows if r.overdue],
                           soon=[r for r in rows if not r.overdue])


@bp.route("/documents/<code>/periodic-review", methods=["GET", "POST"])
@login_required
def confirm(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    if not periodic.may_review(user, document):
        raise Forbidden(_("Only the ISO secretary or a reviewer of the owner department can "
                          "review this document"))
    if request.method == "GET":
        return render_template("periodic/confirm.html", document=document, form={})
    try:
        result = periodic.confirm(user, code, outcome=request.form.get("outcome", ""),
                                  password=request.form.get("password", ""),
                                  comment=request.form.get("comment", ""))
    except DocctlError as exc:
        flash(error_message(exc), "error")
        document = documents.get_document(user, code)
        return render_template("periodic/confirm.html", document=document,
                               form=request.form, error_field=exc.details.get("field")), \
            exc.status
    if result.outcome == "revise":
        flash(_("A draft was opened from the revision in force. Edit it and route it as "
                "usual; the review date moves on when the new revision takes effect."),
              "success")
        return redirect(url_for("documents.revision", code=result.document.code,
                                number=result.draft.number))
    flash(_("Reviewed, no change: signed. Next review on %(date)s.",
            date=result.document.next_review_date.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("documents.detail", code=result.document.code))
