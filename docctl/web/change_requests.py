"""Change request pages: ask for a change, the list and its export, one request, decide it."""

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError
from docctl.services import change_requests, documents
from docctl.services.change_request_files import ALLOWED, mimetype
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.documents import send_bytes, send_download
from docctl.web.labels import error_message

bp = Blueprint("change_requests", __name__)

# Statuses as the secretary and the requester read them.
STATUS_LABELS = {
    "open": _l("Waiting for a decision"),
    "accepted": _l("Accepted, being changed"),
    "declined": _l("Declined"),
    "done": _l("Done: in force"),
}
FILTERS = ("status", "document", "requester")
EVENTS = {
    "change_request_submitted": _l("Request sent"),
    "change_request_accepted": _l("Accepted: draft %(label)s carries it out"),
    "change_request_declined": _l("Declined"),
    "change_request_done": _l("Done: revision %(label)s took effect"),
    "change_request_reopened": _l("Open again: draft %(label)s was discarded"),
}


def _event(event) -> str:
    """Return one line of a request's history in the reader's language."""
    details = json.loads(event.details or "{}")
    words = EVENTS.get(event.action)
    if words is None:
        return event.action
    return str(words) % {"label": details.get("label", "")}


def _can_request(document) -> bool:
    """Tell whether the document page offers "Request a change"."""
    user = current_actor()
    return (user is not None and has_perm(user.role, Perm.REQUEST_CHANGE)
            and document.status == "effective"
            and documents.effective_revision(document) is not None)


def _home() -> dict | None:
    """Return the tasks page's change request facts for the signed-in user."""
    user = current_actor()
    if user is None:
        return None
    secretary = has_perm(user.role, Perm.REGISTER)
    return {"open": change_requests.count_open() if secretary else None,
            "mine": change_requests.for_requester(user)}


@bp.app_context_processor
def change_request_facts() -> dict:
    """Give the document, revision and tasks pages their change request panels' facts."""
    return {"can_request_change": _can_request, "change_requests_home": _home,
            "change_requests_of": change_requests.for_revision,
            "CR_STATUSES": STATUS_LABELS, "cr_event": _event}


def _filters() -> dict:
    return {k: request.args.get(k, "").strip() or None for k in FILTERS}


def _file():
    file = request.files.get("attachment")
    if file is None or not file.filename:
        return None
    return file.filename, file.read()


@bp.route("/documents/<code>/change-requests/new", methods=["GET", "POST"])
@permission_required(Perm.REQUEST_CHANGE)
def new(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    current = documents.effective_revision(document)
    if request.method == "POST":
        try:
            made = change_requests.submit(user, code, reason=request.form.get("reason", ""),
                                          attachment=_file(),
                                          revision=request.form.get("revision") or None)
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("change_requests/new.html", document=document,
                                   current=current, form=request.form, allowed=ALLOWED,
                                   error_field=exc.details.get("field")), exc.status
        flash(_("Change request no. %(id)s sent to the ISO secretary. You will see the "
                "outcome on your tasks page.", id=made.id), "success")
        return redirect(url_for("change_requests.detail", request_id=made.id))
    return render_template("change_requests/new.html", document=document, current=current,
                           form={}, allowed=ALLOWED, error_field=None)


@bp.route("/change-requests")
@login_required
def index():
    filters = _filters()
    rows = change_requests.list_requests(current_actor(), **filters)
    return render_template("change_requests/list.html", rows=rows, filters=filters,
                           query={k: v for k, v in filters.items() if v})


@bp.route("/change-requests/export")
@login_required
def export():
    return send_download(change_requests.export(current_actor(),
                                                request.args.get("format", "xlsx"),
                                                **_filters()))


def _page(item, status: int = 200):
    """Render one request: what it asks, what became of it, and the secretary's buttons."""
    user = current_actor()
    against = next((r for r in item.document.revisions if r.number == item.revision_number),
                   None)
    return render_template("change_requests/detail.html", item=item, against=against,
                           history=change_requests.history(item),
                           can_decide=has_perm(user.role, Perm.REGISTER)
                           and item.status == "open",
                           can_open_revision=item.revision is not None
                           and documents.can_see(user, item.revision)), status


@bp.route("/change-requests/<int:request_id>")
@login_required
def detail(request_id: int):
    return _page(change_requests.get(current_actor(), request_id))


@bp.route("/change-requests/<int:request_id>/attachment")
@login_required
def attachment(request_id: int):
    item, data = change_requests.attachment(current_actor(), request_id)
    return send_bytes(data, mimetype(item.attachment_name), item.attachment_name)


@bp.route("/change-requests/<int:request_id>/accept", methods=["POST"])
@permission_required(Perm.REGISTER)
def accept(request_id: int):
    try:
        item = change_requests.accept(current_actor(), request_id)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return _page(change_requests.get(current_actor(), request_id), exc.status)
    flash(_("Accepted. Draft %(label)s of %(code)s carries out the change; edit it and route "
            "it as usual.", label=documents.label(item.revision), code=item.document.code),
          "success")
    return redirect(url_for("documents.revision", code=item.document.code,
                            number=item.revision.number))


@bp.route("/change-requests/<int:request_id>/decline", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def decline(request_id: int):
    user = current_actor()
    item = change_requests.get(user, request_id)
    if request.method == "POST":
        try:
            change_requests.decline(user, request_id, reason=request.form.get("reason", ""))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            item = change_requests.get(user, request_id)
            return render_template("change_requests/decline.html", item=item,
                                   form=request.form), exc.status
        flash(_("Change request no. %(id)s declined. The requester sees your reason.",
                id=request_id), "success")
        return redirect(url_for("change_requests.detail", request_id=request_id))
    return render_template("change_requests/decline.html", item=item, form={})


def init_app(app) -> None:
    """Register the pages and the API of change requests."""
    from docctl.web import change_requests_api

    app.register_blueprint(bp)
    app.register_blueprint(change_requests_api.bp)
