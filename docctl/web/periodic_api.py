"""JSON API of periodic review under /api/v1: confirm a review, list what is due."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from docctl.errors import Forbidden, ValidationError
from docctl.extensions import csrf
from docctl.services import documents, periodic
from docctl.services.context import today
from docctl.web import api
from docctl.web.access import current_actor, login_required

bp = Blueprint("periodic_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below


bp.before_request(api.authenticate_caller)   # 401 JSON, token or CSRF-checked session


def _due_json(item: periodic.Due) -> dict:
    return {**api.document_json(item.document, item.revision),
            "next_review_date": item.due.isoformat(),
            "reviewed_on": item.document.reviewed_on.isoformat()
            if item.document.reviewed_on else None,
            "days_left": item.days_left, "overdue": item.overdue}


@bp.route("/documents/<code>/periodic-review", methods=["POST"])
@login_required
def periodic_review(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    if not (periodic.may_review(user, document) or periodic.may_revise(user, document)):
        # Refused before the body is read: an auditor gets 403, whatever they send.
        raise Forbidden(_("Only the ISO secretary or a reviewer of the owner department can "
                          "review this document"))
    data = api.body({"outcome", "password", "comment"}, {"outcome"})
    for field in ("outcome", "password", "comment"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise ValidationError(_("%(field)s must be text", field=field), field=field)
    result = periodic.confirm(current_actor(), code, outcome=data["outcome"],
                              password=data.get("password"), comment=data.get("comment"))
    answer = {"outcome": result.outcome, "document": api.document_json(result.document),
              "next_review_date": result.document.next_review_date.isoformat()
              if result.document.next_review_date else None,
              "reviewed_on": result.document.reviewed_on.isoformat()
              if result.document.reviewed_on else None}
    if result.draft is not None:
        return jsonify({**answer, "draft": api.revision_json(result.draft)}), 201
    return jsonify(answer)


@bp.route("/reviews/due", methods=["GET"])
@login_required
def reviews_due():
    value = request.args.get("within_days", "").strip()
    if value and not value.isdigit():
        raise ValidationError(_("within_days must be a whole number of days from 0 to "
                                "%(n)s", n=periodic.MAX_WITHIN_DAYS), field="within_days")
    within = int(value) if value else periodic.DUE_WITHIN_DAYS
    rows = periodic.due(current_actor(), within_days=within)
    return jsonify({"today": today().isoformat(), "within_days": within,
                    "overdue": sum(1 for r in rows if r.overdue),
                    "documents": [_due_json(r) for r in rows]})
