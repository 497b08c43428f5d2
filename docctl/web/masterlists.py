"""Master lists the agency prints (danh mục): records now; internal and external documents later.

Pages under /records/master-list and the API under /api/v1/master-lists.
"""

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import ValidationError
from docctl.extensions import csrf
from docctl.services import organisation, records_masterlist
from docctl.services.context import parse_day, today
from docctl.web import api
from docctl.web.access import current_actor, login_required
from docctl.web.documents import send_download

bp = Blueprint("masterlists", __name__)
api_bp = Blueprint("masterlists_api", __name__, url_prefix="/api/v1/master-lists")
csrf.exempt(api_bp)   # bearer requests carry no cookie; api.authenticate checks sessions


@api_bp.before_request
def authenticate():
    return api.authenticate_caller()


def _as_of():
    """Return the day asked for (YYYY-MM-DD or dd/mm/yyyy), or None for today."""
    return parse_day(request.args.get("as_of", ""), "as_of")


@bp.route("/records/master-list")
@login_required
def records():
    user = current_actor()
    day = _as_of()
    lines = records_masterlist.lines(user, day)
    shown = day or today()
    return render_template("masterlists/records.html", lines=lines, as_of=day, day=shown,
                           org=organisation.name(), title=records_masterlist.TITLE,
                           date_line=records_masterlist.date_line(shown),
                           can_pick_day=has_perm(user.role, Perm.READ_ALL))


@bp.route("/records/master-list.<fmt>")
@login_required
def records_file(fmt: str):
    return send_download(records_masterlist.export(current_actor(), _as_of(), fmt))


@api_bp.route("/records", methods=["GET"])
@login_required
def records_api():
    user = current_actor()
    day = _as_of()
    fmt = request.args.get("format", "json").strip().lower() or "json"
    if fmt == "json":
        shown = day or today()
        return jsonify({"as_of": shown.isoformat(), "organisation": organisation.name(),
                        "title": records_masterlist.TITLE,
                        "records": [records_masterlist.as_json(line)
                                    for line in records_masterlist.lines(user, shown)]})
    if fmt not in records_masterlist.FORMATS:
        raise ValidationError(_("Unknown file format"), field="format")
    return send_download(records_masterlist.export(user, day, fmt))


def init_app(app) -> None:
    """Register the page and API blueprints."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
