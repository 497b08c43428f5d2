"""JSON API for auditors under /api/v1: audit entries, timelines, evidence, verify, token revoke."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.errors import ValidationError
from docctl.extensions import csrf
from docctl.services import auditlog, evidence, integrity, timeline, tokens
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.api import authenticate
from docctl.web.audit import send_package

bp = Blueprint("audit_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # as the main API: bearer requests carry no cookie; sessions are checked
bp.before_request(authenticate)


@bp.before_request
def signed_in():
    # An API caller gets 401, never the sign-in page's redirect.
    if current_actor() is None:
        return jsonify({"error": "unauthorized", "message": _("Please sign in to continue.")}), 401
    return None


def _paging() -> tuple[int, int]:
    try:
        per_page = max(1, min(int(request.args.get("per_page", 500)), 5000))
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        raise ValidationError(_("page and per_page must be numbers")) from None
    return page, per_page


@bp.route("/audit", methods=["GET"])
@permission_required(Perm.AUDIT)
def audit_entries():
    filters = auditlog.parse_filters(request.args)
    page, per_page = _paging()
    rows, total = auditlog.read_log(current_actor(), filters, page=page, per_page=per_page,
                                    newest_first=False)
    return jsonify({"total": total, "page": page, "per_page": per_page,
                    "filters": filters.as_dict(),
                    "entries": [auditlog.entry_json(row) for row in rows]})


@bp.route("/documents/<code>/timeline", methods=["GET"])
@permission_required(Perm.AUDIT)
def document_timeline(code: str):
    story = timeline.read_timeline(current_actor(), code,
                                   include_reads=request.args.get("reads") == "1")
    return jsonify({"document": story.document.code, "hidden_reads": story.hidden_reads,
                    "integrity": _badge(story.document),
                    "revisions": [{"revision": number, "label": label}
                                  for number, label in story.labels.items()],
                    "events": [{**event.as_dict(), "label": story.labels.get(event.revision)}
                               for event in story.events]})


def _badge(document) -> dict:
    badge = integrity.integrity_badge(document)
    return {**badge, "at": badge["at"].isoformat() if badge["at"] else None}


@bp.route("/documents/<code>/evidence", methods=["GET"])
@permission_required(Perm.AUDIT)
def document_evidence(code: str):
    return send_package(evidence.document_package(current_actor(), code))


@bp.route("/verify", methods=["POST"])
@permission_required(Perm.AUDIT)
def verify():
    run, findings = integrity.run_and_record(current_actor())
    if run is None:   # the database could not record the run: say so with what was found
        return jsonify({"ok": False, "at": None, "run": None,
                        "findings": [f.as_dict() for f in findings]}), 503
    return jsonify({"ok": run.ok, "at": run.at.isoformat(), "run": run.id,
                    "findings": [f.as_dict() for f in findings]})


@bp.route("/auth/token", methods=["DELETE"])
@login_required
def token_revoke():
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    tokens.revoke(current_actor(), raw.strip() if scheme.lower() == "bearer" else "")
    return "", 204
