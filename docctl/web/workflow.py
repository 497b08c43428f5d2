"""Pages and buttons that keep a revision moving: discard, recall, re-route, return."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.errors import DocctlError
from docctl.services import documents, users, workflow
from docctl.web.access import current_actor, permission_required
from docctl.web.labels import error_message

bp = Blueprint("workflow", __name__, url_prefix="/documents")


@bp.app_context_processor
def workflow_helpers() -> dict:
    """Give templates the returned reviews of a draft and the workflow buttons one may use."""
    def actions(revision) -> dict:
        user = current_actor()
        return {"discard": workflow.can_discard(user, revision),
                "recall": workflow.can_recall(user, revision),
                "reroute": workflow.can_reroute(user, revision),
                "return": workflow.can_return(user, revision)}
    return {"returned": workflow.returned, "workflow_actions": actions,
            "discarded_event": workflow.discarded_event}


def _to_revision(code: str, number: int):
    return redirect(url_for("documents.revision", code=code, number=number))


def landing(code: str, number: int):
    """Go where the user can still look: the revision, or their tasks once they cannot."""
    try:
        documents.get_revision(current_actor(), code, number)
    except DocctlError:
        return redirect(url_for("main.tasks"))
    return _to_revision(code, number)


@bp.route("/<code>/revisions/<int:number>/recall", methods=["POST"])
@permission_required(Perm.REGISTER)
def recall(code: str, number: int):
    try:
        workflow.recall(current_actor(), code, number)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return _to_revision(code, number)
    flash(_("Submission recalled: the revision is a draft again."), "success")
    return _to_revision(code, number)


@bp.route("/<code>/revisions/<int:number>/discard", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def discard(code: str, number: int):
    user = current_actor()
    rev = documents.get_revision(user, code, number)
    if request.method == "POST":
        try:
            workflow.discard(user, code, number, reason=request.form.get("reason", ""))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("workflow/discard.html", document=rev.document,
                                   revision=rev, form=request.form), exc.status
        flash(_("Draft %(label)s discarded. It stays in the history and the audit trail.",
                label=documents.label(rev)), "success")
        return redirect(url_for("documents.detail", code=rev.document.code))
    return render_template("workflow/discard.html", document=rev.document, revision=rev,
                           form={})


@bp.route("/<code>/revisions/<int:number>/reroute", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def reroute(code: str, number: int):
    user = current_actor()
    rev = documents.get_revision(user, code, number)
    choices = {"reviewers": [u for u in users.users_with_role("reviewer", "approver")
                             if u.id != rev.author_id],
               "approvers": [u for u in users.users_with_role("approver")
                             if u.id != rev.author_id]}
    if request.method == "POST":
        try:
            workflow.reroute(user, code, number,
                             reviewers=request.form.getlist("reviewers") or None,
                             approver=request.form.get("approver") or None,
                             reason=request.form.get("reason", ""))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("workflow/reroute.html", document=rev.document,
                                   revision=rev, form=request.form,
                                   chosen=request.form.getlist("reviewers"),
                                   **choices), exc.status
        flash(_("Re-routed."), "success")
        return _to_revision(code, number)
    waiting = [r.reviewer.username for r in rev.reviews
               if r.round == rev.review_round and r.decision in ("pending", "accept")]
    return render_template("workflow/reroute.html", document=rev.document, revision=rev,
                           form={"approver": rev.approver.username if rev.approver else ""},
                           chosen=waiting, **choices)


@bp.route("/<code>/revisions/<int:number>/return", methods=["POST"])
@permission_required(Perm.APPROVE)   # only an approver can be the one it awaits
def return_to_author(code: str, number: int):
    try:
        workflow.return_to_author(current_actor(), code, number,
                                  comment=request.form.get("comment", ""))
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return landing(code, number)
    flash(_("Returned to the author with your comment."), "success")
    return landing(code, number)
