"""JSON API of change requests under /api/v1: ask for a change, list, read, accept, decline."""


from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.errors import ValidationError
from docctl.extensions import csrf
from docctl.services import change_requests, documents
from docctl.services.change_request_files import mimetype
from docctl.web import api
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.documents import send_bytes

bp = Blueprint("change_requests_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below


bp.before_request(api.authenticate_caller)   # 401 JSON, token or CSRF-checked session


def _iso(value):
    return value.isoformat() if value else None


def request_json(item) -> dict:
    """Return the API form of a change request."""
    against = next((r for r in item.document.revisions if r.number == item.revision_number),
                   None)
    draft = item.revision
    return {"id": item.id, "document": item.document.code, "title": item.document.title,
            "revision": item.revision_number,
            "revision_label": documents.label(against) if against else None,
            "requester": item.requester.username, "reason": item.reason,
            "attachment": {"name": item.attachment_name, "sha256": item.attachment_sha256}
            if item.attachment_name else None,
            "status": item.status, "created_at": _iso(item.created_at),
            "decided_by": item.decided_by.username if item.decided_by else None,
            "decided_at": _iso(item.decided_at), "decision_reason": item.decision_reason,
            "draft": {"revision": draft.number, "label": documents.label(draft),
                      "status": draft.status} if draft is not None else None}


def _submission() -> dict:
    """Return reason, revision and attachment from a JSON or a multipart body."""
    if request.mimetype == "multipart/form-data":
        unknown = (set(request.form) - {"reason", "revision"}) | (set(request.files)
                                                                 - {"attachment"})
        if unknown:
            raise ValidationError(_("Unknown or read-only fields: %(f)s",
                                    f=", ".join(sorted(unknown))), fields=sorted(unknown))
        file = request.files.get("attachment")
        return {"reason": request.form.get("reason", ""),
                "revision": request.form.get("revision") or None,
                "attachment": (file.filename or "", file.read()) if file else None}
    data = api.body({"reason", "revision"}, {"reason"})
    if not isinstance(data["reason"], str):
        raise ValidationError(_("%(field)s must be text", field="reason"), field="reason")
    return {"reason": data["reason"], "revision": data.get("revision"), "attachment": None}


@bp.route("/documents/<code>/change-requests", methods=["POST"])
@permission_required(Perm.REQUEST_CHANGE)
def submit(code: str):
    made = change_requests.submit(current_actor(), code, **_submission())
    return jsonify(request_json(made)), 201


@bp.route("/change-requests", methods=["GET"])
@login_required
def index():
    rows = change_requests.list_requests(
        current_actor(), **{k: request.args.get(k, "").strip() or None
                            for k in ("status", "document", "requester")})
    return jsonify({"change_requests": [request_json(r) for r in rows]})


@bp.route("/change-requests/<int:request_id>", methods=["GET"])
@login_required
def get(request_id: int):
    return jsonify(request_json(change_requests.get(current_actor(), request_id)))


@bp.route("/change-requests/<int:request_id>/attachment", methods=["GET"])
@login_required
def attachment(request_id: int):
    item, data = change_requests.attachment(current_actor(), request_id)
    return send_bytes(data, mimetype(item.attachment_name), item.attachment_name)


@bp.route("/change-requests/<int:request_id>/accept", methods=["POST"])
@permission_required(Perm.REGISTER)
def accept(request_id: int):
    if request.get_data():
        api.body(set())   # nothing to say when accepting; refuse what is not understood
    return jsonify(request_json(change_requests.accept(current_actor(), request_id)))


@bp.route("/change-requests/<int:request_id>/decline", methods=["POST"])
@permission_required(Perm.REGISTER)
def decline(request_id: int):
    data = api.body({"reason"}, {"reason"})
    return jsonify(request_json(change_requests.decline(current_actor(), request_id,
                                                        reason=data["reason"])))
