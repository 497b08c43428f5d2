"""JSON API of releases (sets issued by one decision) under /api/v1."""


from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.errors import NotFound, ValidationError
from docctl.extensions import csrf
from docctl.services import releases
from docctl.web import api
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.documents import send_bytes

bp = Blueprint("releases_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below
FIELDS = {"title", "decision_number", "decision_date", "signer", "effective_date", "items",
          "replaces"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


bp.before_request(api.authenticate_caller)   # 401 JSON, token or CSRF-checked session


def release_json(release) -> dict:
    """Return the API form of a release."""
    replaced_by = releases.replaced_by(release)
    scan = releases.signed_scan(release)
    return {"id": release.id, "title": release.title,
            "decision_number": release.decision_number, "slug": release.slug,
            "decision_date": release.decision_date.isoformat(), "signer": release.signer,
            "effective_date": release.effective_date.isoformat(), "status": release.status,
            "created_by": release.created_by.username,
            "approved_by": release.approver.username if release.approver else None,
            "approved_at": release.approved_at.isoformat() if release.approved_at else None,
            "commit": release.commit_sha, "tag": release.tag,
            "replaces": api.release_brief(release.replaces),
            "replaced_by": api.release_brief(replaced_by),
            "signed_scan": {"filename": scan.filename, "sha256": scan.sha256,
                            "size": scan.size} if scan else None,
            "items": [{"code": item.document.code, "title": item.document.title,
                       "action": item.action,
                       "revision": item.revision.number if item.revision else None,
                       "label": releases.item_label(item),
                       "status": item.revision.status if item.revision
                       else item.document.status} for item in release.items]}


@bp.route("/releases", methods=["GET"])
@login_required
def release_list():
    rows = releases.list_releases(current_actor(), status=request.args.get("status") or None)
    return jsonify({"releases": [release_json(r) for r in rows]})


@bp.route("/releases", methods=["POST"])
@permission_required(Perm.REGISTER)
def release_create():
    data = api.body(FIELDS, {"title", "decision_number", "decision_date", "signer",
                             "effective_date", "items"})
    release = releases.create(current_actor(), **{k: data.get(k) for k in FIELDS})
    return jsonify(release_json(release)), 201


@bp.route("/releases/<int:release_id>", methods=["GET"])
@login_required
def release_get(release_id: int):
    return jsonify(release_json(releases.get(current_actor(), release_id)))


@bp.route("/releases/<int:release_id>/approve", methods=["POST"])
@permission_required(Perm.APPROVE)
def release_approve(release_id: int):
    data = api.body({"password"}, {"password"})
    if not isinstance(data["password"], str):
        raise ValidationError(_("%(field)s must be text", field="password"), field="password")
    release = releases.approve(current_actor(), release_id, password=data["password"])
    return jsonify(release_json(release))


@bp.route("/releases/<int:release_id>/discard", methods=["POST"])
@permission_required(Perm.REGISTER)
def release_discard(release_id: int):
    data = api.body({"reason"}, {"reason"})
    if not isinstance(data["reason"], str):
        raise ValidationError(_("%(field)s must be text", field="reason"), field="reason")
    return jsonify(release_json(releases.discard(current_actor(), release_id,
                                                 reason=data["reason"])))


@bp.route("/releases/<int:release_id>/decision", methods=["GET"])
@login_required
def release_decision(release_id: int):
    data, release = releases.decision_bytes(current_actor(), release_id)
    return send_bytes(data, DOCX, f"QD-{release.slug}.docx")


@bp.route("/releases/<int:release_id>/scan", methods=["POST"])
@permission_required(Perm.REGISTER)
def release_scan_upload(release_id: int):
    file = request.files.get("file")
    if file is None:
        raise ValidationError(_("Choose a file to upload"), field="file")
    releases.add_scan(current_actor(), release_id, filename=file.filename or "",
                      data=file.read())
    return jsonify(release_json(releases.get(current_actor(), release_id))), 201


@bp.route("/releases/<int:release_id>/scan", methods=["GET"])
@login_required
def release_scan_get(release_id: int):
    scan, release = releases.scan_of(current_actor(), release_id)
    if scan is None:
        raise NotFound(_("No signed scan of this decision has been uploaded"))
    return send_bytes(scan.content, "application/pdf", f"QD-{release.slug}-signed.pdf")
