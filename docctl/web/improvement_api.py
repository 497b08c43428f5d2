"""JSON API of the improvement loop under /api/v1: internal audits, nonconformities and
corrective actions, management reviews."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.errors import ValidationError
from docctl.extensions import csrf
from docctl.services import audits, management_reviews, nonconformities
from docctl.web import access, api
from docctl.web.access import current_actor, login_required

bp = Blueprint("improvement_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below
bp.before_request(api.authenticate_caller)   # 401 JSON, token or CSRF-checked session
bp.before_request(access.changes_require(Perm.IMPROVE))   # auditors change nothing


def _iso(value):
    return value.isoformat() if value else None


def _user(user):
    return user.username if user is not None else None


def _record(row):
    record = row.record
    return {"id": record.id, "slug": record.slug, "sha256": record.sha256} if record else None


def finding_json(f) -> dict:
    """Return the API form of an audit finding."""
    return {"id": f.id, "kind": f.kind, "clause": f.clause,
            "department": f.department.code if f.department else None,
            "procedure": f.procedure.code if f.procedure else None,
            "description": f.description, "evidence": f.evidence,
            "recorded_by": _user(f.created_by), "recorded_at": _iso(f.created_at),
            "nonconformity": f.nonconformity_id}


def audit_json(item) -> dict:
    """Return the API form of an internal audit."""
    return {"id": item.id, "year": item.year, "title": item.title, "status": item.status,
            "clauses": item.clauses, "departments": item.departments,
            "procedures": item.procedures, "start_date": _iso(item.start_date),
            "end_date": _iso(item.end_date), "lead_auditor": _user(item.lead_auditor),
            "team": [m.user.username for m in item.team], "conclusion": item.conclusion,
            "findings": [finding_json(f) for f in item.findings],
            "closed_by": _user(item.closed_by), "closed_at": _iso(item.closed_at),
            "record": _record(item)}


def nc_json(item) -> dict:
    """Return the API form of a nonconformity and its corrective action."""
    return {"id": item.id, "number": nonconformities.number(item), "source": item.source,
            "source_reference": item.source_reference,
            "department": item.department.code if item.department else None,
            "description": item.description, "cause": item.cause,
            "correction": item.correction, "action": item.action, "owner": _user(item.owner),
            "due_date": _iso(item.due_date), "status": item.status,
            "overdue": nonconformities.overdue(item),
            "raised_by": _user(item.raised_by), "raised_at": _iso(item.raised_at),
            "action_taken": item.action_taken, "action_done_at": _iso(item.action_done_at),
            "verified_by": _user(item.verified_by), "verified_at": _iso(item.verified_at),
            "effective": item.effective, "verification_comment": item.verification_comment,
            "rounds": item.rounds, "findings": [f.id for f in item.findings],
            "closed_by": _user(item.closed_by), "closed_at": _iso(item.closed_at),
            "record": _record(item)}


def action_json(a) -> dict:
    """Return the API form of a management review's action."""
    return {"id": a.id, "description": a.description, "owner": _user(a.owner),
            "due_date": _iso(a.due_date), "status": a.status, "note": a.note,
            "done_by": _user(a.done_by), "done_at": _iso(a.done_at)}


def review_json(item) -> dict:
    """Return the API form of a management review."""
    return {"id": item.id, "title": item.title, "review_date": _iso(item.review_date),
            "period_start": _iso(item.period_start), "period_end": _iso(item.period_end),
            "status": item.status, "attendees": item.attendees,
            "inputs": management_reviews.inputs(item),
            "texts": management_reviews.texts(item),
            "actions": [action_json(a) for a in item.actions],
            "prepared_by": _user(item.created_by), "approved_by": _user(item.approved_by),
            "approved_at": _iso(item.approved_at), "record": _record(item)}


def _object() -> dict:
    """Return the JSON object of the request (fields are checked by the service)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_("The request body must be a JSON object"))
    return data


# --- internal audits ------------------------------------------------------------------------

@bp.route("/audits", methods=["GET"])
@login_required
def audit_list():
    rows = audits.list_audits(current_actor(), year=request.args.get("year"),
                              status=request.args.get("status"))
    return jsonify({"audits": [audit_json(a) for a in rows]})


@bp.route("/audits", methods=["POST"])
@login_required
def audit_create():
    return jsonify(audit_json(audits.create(current_actor(), _object()))), 201


@bp.route("/audits/<int:audit_id>", methods=["GET"])
@login_required
def audit_get(audit_id: int):
    return jsonify(audit_json(audits.get(current_actor(), audit_id)))


@bp.route("/audits/<int:audit_id>", methods=["PATCH"])
@login_required
def audit_update(audit_id: int):
    return jsonify(audit_json(audits.update(current_actor(), audit_id, _object())))


@bp.route("/audits/<int:audit_id>/findings", methods=["POST"])
@login_required
def audit_finding(audit_id: int):
    finding = audits.add_finding(current_actor(), audit_id, _object())
    return jsonify(finding_json(finding)), 201


@bp.route("/audits/<int:audit_id>/close", methods=["POST"])
@login_required
def audit_close(audit_id: int):
    data = api.body({"conclusion"}) if request.get_data() else {}
    return jsonify(audit_json(audits.close(current_actor(), audit_id,
                                           conclusion=data.get("conclusion"))))


# --- nonconformities ------------------------------------------------------------------------

@bp.route("/nonconformities", methods=["GET"])
@login_required
def nc_list():
    rows = nonconformities.list_ncs(current_actor(), **{
        k: request.args.get(k) for k in ("status", "overdue", "source", "owner")})
    return jsonify({"nonconformities": [nc_json(n) for n in rows]})


@bp.route("/nonconformities", methods=["POST"])
@login_required
def nc_create():
    return jsonify(nc_json(nonconformities.raise_nc(current_actor(), _object()))), 201


@bp.route("/nonconformities/<int:nc_id>", methods=["GET"])
@login_required
def nc_get(nc_id: int):
    return jsonify(nc_json(nonconformities.get(current_actor(), nc_id)))


@bp.route("/nonconformities/<int:nc_id>", methods=["PATCH"])
@login_required
def nc_update(nc_id: int):
    return jsonify(nc_json(nonconformities.update(current_actor(), nc_id, _object())))


@bp.route("/nonconformities/<int:nc_id>/action-done", methods=["POST"])
@login_required
def nc_action_done(nc_id: int):
    data = api.body({"action_taken"}, {"action_taken"})
    return jsonify(nc_json(nonconformities.report_done(current_actor(), nc_id,
                                                       action_taken=data["action_taken"])))


@bp.route("/nonconformities/<int:nc_id>/verify", methods=["POST"])
@login_required
def nc_verify(nc_id: int):
    data = api.body({"effective", "comment"}, {"effective"})
    return jsonify(nc_json(nonconformities.verify(current_actor(), nc_id,
                                                  effective=data["effective"],
                                                  comment=data.get("comment"))))


@bp.route("/nonconformities/<int:nc_id>/close", methods=["POST"])
@login_required
def nc_close(nc_id: int):
    if request.get_data():
        api.body(set())   # nothing to say when closing; refuse what is not understood
    return jsonify(nc_json(nonconformities.close(current_actor(), nc_id)))


# --- management reviews ---------------------------------------------------------------------

@bp.route("/management-reviews", methods=["GET"])
@login_required
def review_list():
    return jsonify({"management_reviews": [
        review_json(r) for r in management_reviews.list_reviews(current_actor())]})


@bp.route("/management-reviews", methods=["POST"])
@login_required
def review_create():
    made = management_reviews.open_review(current_actor(), _object())
    return jsonify(review_json(made)), 201


@bp.route("/management-reviews/<int:review_id>", methods=["GET"])
@login_required
def review_get(review_id: int):
    return jsonify(review_json(management_reviews.get(current_actor(), review_id)))


@bp.route("/management-reviews/<int:review_id>", methods=["PATCH"])
@login_required
def review_update(review_id: int):
    return jsonify(review_json(management_reviews.update(current_actor(), review_id,
                                                         _object())))


@bp.route("/management-reviews/<int:review_id>/actions", methods=["POST"])
@login_required
def review_action(review_id: int):
    made = management_reviews.add_action(current_actor(), review_id, _object())
    return jsonify(action_json(made)), 201


@bp.route("/management-reviews/<int:review_id>/actions/<int:action_id>", methods=["PATCH"])
@login_required
def review_action_update(review_id: int, action_id: int):
    return jsonify(action_json(management_reviews.set_action(current_actor(), review_id,
                                                             action_id, _object())))


@bp.route("/management-reviews/<int:review_id>/close", methods=["POST"])
@login_required
def review_close(review_id: int):
    data = api.body({"password"}, {"password"})
    return jsonify(review_json(management_reviews.close(current_actor(), review_id,
                                                        password=data["password"])))
