"""The records a procedure revision declares ("Hồ sơ lưu"): its page and the /api/v1 routes."""

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.lifecycle import IN_PROGRESS
from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError
from docctl.extensions import csrf
from docctl.services import departments, documents, record_types
from docctl.services.context import today
from docctl.services.forms import OWNER_TYPES
from docctl.web import api
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.labels import error_message

bp = Blueprint("record_types", __name__, url_prefix="/documents")
api_bp = Blueprint("record_types_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)   # bearer requests carry no cookie; api.authenticate checks sessions
# Blank rows the page offers after the saved ones, and how many "add rows" adds.
BLANK_ROWS = 2
MAX_ROWS = record_types.MAX_ITEMS
FIELDS = ("form", "form_revision", "name", "keeper", "location", "retention", "visibility")


@api_bp.before_request
def authenticate():
    return api.authenticate_caller()


def record_type_json(record_type) -> dict:
    """Return the API form of a record type."""
    form = record_type.form
    revision = next((r for r in form.revisions if r.number == record_type.form_revision),
                    None) if form else None
    return {"id": record_type.id, **record_types.as_item(record_type),
            "form_title": form.title if form else None,
            "form_label": documents.label(revision) if revision else None,
            "keeper_name": record_type.keeper.name,
            "retention_years": record_type.retention_years,
            "retention_from": record_type.retention_from,
            "retention_event": record_type.retention_event,
            "visibility": record_type.visibility}


@api_bp.route("/documents/<code>/revisions/<int:number>/record-types", methods=["GET"])
@login_required
def record_types_get(code: str, number: int):
    revision = documents.get_revision(current_actor(), code, number)
    return jsonify([record_type_json(rt) for rt in record_types.record_types_of(revision)])


@api_bp.route("/documents/<code>/revisions/<int:number>/record-types", methods=["PUT"])
@permission_required(Perm.REGISTER)
def record_types_put(code: str, number: int):
    items = request.get_json(silent=True)
    if isinstance(items, dict) and set(items) == {"record_types"}:
        items = items["record_types"]   # {"record_types": [...]} as well as the bare list
    saved = record_types.set_record_types(current_actor(), code, number, items)
    return jsonify([record_type_json(rt) for rt in saved])


def _row_of(record_type) -> dict:
    return {"form": record_type.form.code if record_type.form else "",
            "form_revision": str(record_type.form_revision or ""),
            "name": record_type.name, "keeper": record_type.keeper.code,
            "location": record_type.location, "retention": record_type.retention,
            "visibility": record_type.visibility}


def _posted_rows() -> list[dict]:
    """Return the rows of the posted table, as typed, with their "remove" box."""
    try:
        count = min(max(int(request.form.get("rows", "0")), 0), MAX_ROWS + BLANK_ROWS * 5)
    except ValueError:
        count = 0
    rows = []
    for i in range(count):
        row = {f: request.form.get(f"{f}-{i}", "").strip() for f in FIELDS}
        row["remove"] = bool(request.form.get(f"remove-{i}"))
        rows.append(row)
    return rows


def _items(rows: list[dict]) -> list[dict]:
    """Return the service items of the rows kept: blank and removed rows left out."""
    items = []
    for row in rows:
        if row["remove"] or not any(row[f] for f in FIELDS if f != "visibility"):
            continue
        item = {f: row[f] for f in ("form", "name", "keeper", "location", "retention")}
        item["visibility"] = row["visibility"] or "default"
        if row["form_revision"]:
            number = row["form_revision"]
            item["form_revision"] = int(number) if number.isdigit() else number
        items.append(item)
    return items


def _kept(rows: list[dict]) -> list[int]:
    """Return the indexes of the rows sent to the service: not removed, not blank."""
    return [i for i, r in enumerate(rows) if not r["remove"]
            and any(r[f] for f in FIELDS if f != "visibility")]


def _error_row(exc: DocctlError, rows: list[dict]) -> tuple[int, str] | None:
    """Return (table row, field) an error names; service rows skip blank and removed ones."""
    field = str(exc.details.get("field") or "")
    if not field.startswith("record_types[") or "]." not in field:
        return None
    index_text, name = field[len("record_types["):].split("].", 1)
    kept = _kept(rows)
    index = int(index_text) if index_text.isdigit() else -1
    return (kept[index], name) if 0 <= index < len(kept) else None


@bp.route("/<code>/revisions/<int:number>/records", methods=["GET", "POST"])
@login_required
def edit(code: str, number: int):
    user = current_actor()
    revision = documents.get_revision(user, code, number)
    document = revision.document
    can_edit = has_perm(user.role, Perm.REGISTER) and revision.status in IN_PROGRESS \
        and document.doc_type in OWNER_TYPES
    status, error = 200, None
    if request.method == "POST":
        documents.require(user, Perm.REGISTER)   # 403, translated
        rows = _posted_rows()
        if request.form.get("action") == "add":
            rows = [r for r in rows if not r["remove"]]
            rows += [dict.fromkeys(FIELDS, "") | {"remove": False}
                     for _ in range(BLANK_ROWS)]
        else:
            try:
                record_types.set_record_types(user, code, number, _items(rows))
            except DocctlError as exc:
                flash(error_message(exc), "error")
                status, error = exc.status, _error_row(exc, rows)
            else:
                flash(_("The records of %(code)s %(label)s are saved.", code=document.code,
                        label=documents.label(revision)), "success")
                return redirect(url_for("record_types.edit", code=document.code,
                                        number=number))
    else:
        rows = [_row_of(rt) | {"remove": False} for rt in record_types.record_types_of(revision)]
        if can_edit:
            rows += [dict.fromkeys(FIELDS, "") | {"remove": False} for _ in range(BLANK_ROWS)]
    source = record_types.declaring(revision)
    return render_template(
        "record_types/edit.html", document=document, revision=revision, rows=rows,
        can_edit=can_edit, owner=document.doc_type in OWNER_TYPES, error=error,
        inherited=source if source is not None and source.id != revision.id else None,
        saved=record_types.record_types_of(revision) if not can_edit else [],
        keepers=departments.list_departments(active_only=True),
        form_codes=_form_codes(document)), status


def _form_codes(document) -> list[str]:
    """Return the codes offered while typing a form: the procedure's own forms first."""
    from docctl.services import forms
    mine = [c.code for c in document.children if c.doc_type == "form"
            and c.status != "obsolete"]
    listed = [f.code for f, _n in forms.in_force_with(document)]
    return list(dict.fromkeys(mine + listed))


def records_in_force(document, day=None):
    """Return the record types the revision of a procedure in force on day declares."""
    if document is None or document.doc_type not in OWNER_TYPES:
        return []
    return record_types.of_procedure(document, day or today())


def init_app(app) -> None:
    """Register the page and API blueprints and the template helper."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.jinja_env.globals.update(records_in_force=records_in_force)
