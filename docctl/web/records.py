"""Records pages: the list and its search, filing a record, a record's page and its file."""

from functools import wraps

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError, Forbidden, Gone, ValidationError
from docctl.services import documents, record_views, records
from docctl.services.context import today
from docctl.services.record_files import ACCEPTED
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.documents import send_bytes
from docctl.web.labels import error_message

try:   # the records index (issue 12) may not be there yet: the list still works without it
    from docctl.services import records_search
except ImportError:   # pragma: no cover (depends on what has landed)
    records_search = None

bp = Blueprint("records", __name__, url_prefix="/records")
RECORD_PERMS = (Perm.FILE_RECORD, Perm.MANAGE_RECORDS, Perm.AUDIT)
FILTERS = ("form", "keeper", "status", "reference")
STATUS_LABELS = {"filed": _l("Filed"), "disposed": _l("Destroyed (disposed of)")}
KIND_LABELS = {"form": _l("Filled form"), "audit_report": _l("Internal audit report"),
               "nonconformity": _l("Nonconformity and corrective action"),
               "management_review": _l("Management review minutes"), "report": _l("Report")}
FIELDS = ("form", "date", "reference", "title", "form_revision", "links", "corrects")


def any_perm(*perms: Perm):
    """Require a signed-in user whose role grants one of perms."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not any(has_perm(current_actor().role, p) for p in perms):
                raise Forbidden(_l("Your role does not allow this"))
            return view(*args, **kwargs)
        return login_required(wrapped)
    return decorate


def uses_records() -> bool:
    """Tell whether the signed-in user has a reason to open the records pages (menu)."""
    user = current_actor()
    return user is not None and any(has_perm(user.role, p) for p in RECORD_PERMS)


@bp.app_context_processor
def record_facts() -> dict:
    """Give templates the records menu check and how statuses and kinds read."""
    return {"uses_records": uses_records, "RECORD_STATUSES": STATUS_LABELS,
            "RECORD_KINDS": KIND_LABELS}


def page_number() -> int:
    """Return the page asked for (1 when absent or not a number)."""
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


def _search(user, q: str, page: int):
    """Return (rows, total, unavailable) of the records index for q."""
    from docctl.search import SearchUnavailable
    try:
        rows, total = records_search.search(user, q, page=page)
    except SearchUnavailable:
        return [], 0, True
    return rows, total, False


@bp.route("")
@any_perm(*RECORD_PERMS)
def record_list():
    user = current_actor()
    filters = {k: request.args.get(k, "").strip() or None for k in FILTERS}
    due = request.args.get("due") == "1"
    q = request.args.get("q", "").strip()
    page = page_number()
    unavailable = False
    if q and records_search is not None:
        rows, total, unavailable = _search(user, q, page)
    else:
        rows, total = records.list_records(user, due=due, page=page, **filters)
    query = {k: v for k, v in filters.items() if v}
    query.update({"q": q} if q else {}, **({"due": "1"} if due else {}))
    return render_template(
        "records/list.html", rows=rows, total=total, page=page,
        pages=(total + records.PER_PAGE - 1) // records.PER_PAGE, filters=filters, due=due,
        q=q, query=query, unavailable=unavailable, searchable=records_search is not None,
        departments=documents.departments(), statuses=STATUS_LABELS,
        can_file=has_perm(user.role, Perm.FILE_RECORD)), 503 if unavailable else 200


def _upload() -> tuple[str, bytes]:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationError(_l("Choose the file of the record"), field="file")
    return file.filename, file.read()


def _new_page(form, status: int = 200, error_field=None):
    user = current_actor()
    return render_template("records/new.html", form=form, today=today(),
                           choices=record_views.form_choices(user), accepted=ACCEPTED,
                           error_field=error_field), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Perm.FILE_RECORD)
def new():
    user = current_actor()
    if request.method == "GET":
        # "File a correction" opens this page prefilled from the record it corrects.
        return _new_page({k: request.args.get(k, "") for k in FIELDS})
    form = request.form
    try:
        filename, data = _upload()
        corrects = form.get("corrects", "").strip()
        made = records.file(
            user, filename=filename, data=data, record_date=form.get("date", ""),
            form=form.get("form", "").strip(), form_revision=form.get("form_revision") or None,
            reference=form.get("reference", ""), title=form.get("title") or None,
            links=form.get("links", ""),
            corrects=record_views.record_id(user, corrects, "corrects") if corrects else None)
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return _new_page(form, exc.status, exc.details.get("field"))
    flash(_("Record %(slug)s is filed. It can no longer be changed; a mistake is put right by "
            "filing a correction.", slug=made.slug), "success")
    return redirect(url_for("records.detail", record_id=made.id))


@bp.route("/<int:record_id>")
@any_perm(*RECORD_PERMS)
def detail(record_id: int):
    user = current_actor()
    record = records.get(user, record_id)
    gone = record_views.disposal(record)
    record_views.viewed(user, record)
    keeps = has_perm(user.role, Perm.MANAGE_RECORDS) or has_perm(user.role, Perm.AUDIT)
    return render_template(
        "records/detail.html", record=record, disposal=gone,
        gone_message=record_views.gone_message(record) if gone else None,
        links=record_views.link_targets(user, record),
        linked_from=record_views.linked_from(user, record),
        corrected_by=records.corrected_by(record),
        corrects=record.corrects if record.corrects and records.can_see(
            user, record.corrects) else None,
        holds=records.holds_of(record), show_holds=keeps,
        procedure=record_views.procedure_of(record),
        can_correct=gone is None and has_perm(user.role, Perm.FILE_RECORD)
        and (user.department_id == record.keeper_id or has_perm(user.role,
                                                                Perm.MANAGE_RECORDS))
        and record.form is not None)


@bp.route("/<int:record_id>/file")
@any_perm(*RECORD_PERMS)
def file(record_id: int):
    user = current_actor()
    try:
        data, record, mimetype = record_views.download(user, record_id)
    except Gone:
        record = records.get(user, record_id)
        return render_template("errors/error.html", status=410,
                               title=_("This record's content was destroyed"),
                               message=record_views.gone_message(record)), 410
    return send_bytes(data, mimetype, f"{record.slug}_{record.filename}")
