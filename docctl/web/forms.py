"""The forms a procedure revision lists: the secretary's page and the /api/v1 routes."""

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.lifecycle import IN_PROGRESS
from docctl.domain.permissions import Perm
from docctl.errors import DocctlError
from docctl.extensions import csrf
from docctl.services import documents, forms
from docctl.web import api
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.labels import error_message

bp = Blueprint("forms", __name__, url_prefix="/documents")
api_bp = Blueprint("forms_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)   # bearer requests carry no cookie; api.authenticate checks sessions


@api_bp.before_request
def authenticate():
    refused = api.authenticate()
    if refused is not None:
        return refused
    if current_actor() is None:   # JSON, not the sign-in page, for an anonymous caller
        return jsonify({"error": "unauthorized", "message": _("Please sign in to continue.")}), 401
    return None


def forms_json(rows) -> list[dict]:
    """Return the API form of (form document, revision number, label) rows."""
    return [{"code": form.code, "revision": number, "label": label}
            for form, number, label in rows]


@api_bp.route("/documents/<code>/revisions/<int:number>/forms", methods=["GET"])
@login_required
def forms_get(code: str, number: int):
    revision = documents.get_revision(current_actor(), code, number)
    return jsonify(forms_json(forms.forms_of(revision)))


@api_bp.route("/documents/<code>/revisions/<int:number>/forms", methods=["PUT"])
@permission_required(Perm.REGISTER)
def forms_put(code: str, number: int):
    items = request.get_json(silent=True)
    if isinstance(items, dict) and set(items) == {"forms"}:
        items = items["forms"]   # {"forms": [...]} is accepted as well as the bare list
    rows = forms.set_forms(current_actor(), code, number, items)
    return jsonify(forms_json(rows))


def _items_from_form(choices) -> list[dict]:
    """Return the items the keep / revise / abolish radios name."""
    items = []
    for c in choices:
        picked = request.form.get(f"form-{c.form.id}", "")
        if picked == "keep" and c.current is not None:
            items.append({"code": c.form.code, "revision": c.current.number})
        elif picked == "revise" and c.newer is not None:
            items.append({"code": c.form.code, "revision": c.newer.number})
        elif not picked and c.listed is not None:   # no radio offered for it: leave it be
            items.append({"code": c.form.code, "revision": c.listed})
    return items


@bp.route("/<code>/revisions/<int:number>/forms", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def choose(code: str, number: int):
    user = current_actor()
    revision = documents.get_revision(user, code, number)
    choices = forms.choices(revision)
    status = 200
    if request.method == "POST":
        try:
            forms.set_forms(user, code, number, _items_from_form(choices))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            status = exc.status
        else:
            flash(_("The forms of %(code)s %(label)s are saved.", code=revision.document.code,
                    label=documents.label(revision)), "success")
            return redirect(url_for("forms.choose", code=revision.document.code, number=number))
    return render_template("forms/choose.html", document=revision.document, revision=revision,
                           choices=choices, editable=revision.status in IN_PROGRESS,
                           owner=revision.document.doc_type in forms.OWNER_TYPES), status


def forms_in_force(document, day=None):
    """Return (form, revision) pairs in force with a document on day, for templates."""
    if document is None or document.doc_type not in forms.OWNER_TYPES:
        return []
    return forms.in_force_with(document, day)


def init_app(app) -> None:
    """Register the page and API blueprints and the template helper."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.jinja_env.globals.update(forms_in_force=forms_in_force,
                                 FORM_OWNER_TYPES=forms.OWNER_TYPES)
