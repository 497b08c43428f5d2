"""JSON API of records, disposition lists and legal holds under /api/v1."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.errors import ValidationError
from docctl.extensions import csrf
from docctl.services import audit, dispositions, record_files, records
from docctl.web import api
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.documents import send_bytes

bp = Blueprint("records_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below
bp.before_request(api.authenticate_caller)   # 401 JSON, token or CSRF-checked session

FILING_FIELDS = {"form", "date", "reference", "form_revision", "title", "links", "corrects",
                 "event_date"}


def record_json(record, *, full: bool = False) -> dict:
    """Return the API form of a record (never its content or key)."""
    data = {"id": record.id, "number": record.slug, "status": record.status,
            "kind": record.kind, "title": record.title,
            "form": record.form.code if record.form else None,
            "form_revision": record.form_revision, "off_form": record.off_form,
            "keeper": record.keeper.code, "date": record.record_date.isoformat(),
            "reference": record.reference, "filename": record.filename, "media": record.media,
            "size": record.size, "sha256": record.sha256, "sealed_sha256": record.sealed_sha256,
            "retention": record.retention,
            "event_date": record.event_date.isoformat() if record.event_date else None,
            "retain_until": record.retain_until.isoformat() if record.retain_until else None,
            "filed_by": record.filed_by.username, "filed_at": record.filed_at.isoformat(),
            "commit": record.commit_sha,
            "corrects": record.corrects.slug if record.corrects else None}
    if record.status == "disposed":
        data["disposed"] = dispositions.gone_facts(record)
    if full:
        data["links"] = [{"record": records.db_record(link.target_record_id).slug}
                         if link.target_record_id else
                         {"document": records.db_document(link.target_document_id).code}
                         for link in records.links_of(record)]
        data["corrected_by"] = [r.slug for r in records.corrected_by(record)]
        data["legal_holds"] = [{"id": hold.id, "reason": hold.reason}
                               for hold in records.holds_of(record)]
    return data


def disposition_json(row) -> dict:
    """Return the API form of a disposition list."""
    return {"id": row.id, "number": row.slug, "status": row.status, "reason": row.reason,
            "proposed_by": row.proposed_by.username, "proposed_at": row.proposed_at.isoformat(),
            "approved_by": row.approver.username if row.approver else None,
            "approved_at": row.approved_at.isoformat() if row.approved_at else None,
            "commit": row.commit_sha,
            "records": [{"id": item.record.id, "number": item.record.slug,
                         "sha256": item.record.sha256} for item in row.items]}


def hold_json(hold) -> dict:
    """Return the API form of a legal hold."""
    return {"id": hold.id, "active": hold.active, "reason": hold.reason,
            "created_by": hold.created_by.username, "created_at": hold.created_at.isoformat(),
            "released_by": hold.released_by.username if hold.released_by else None,
            "released_at": hold.released_at.isoformat() if hold.released_at else None,
            "release_reason": hold.release_reason,
            "records": [{"id": item.record.id, "number": item.record.slug}
                        for item in hold.items]}


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        raise ValidationError(_("The page must be a number"), field="page") from None


@bp.route("/records", methods=["POST"])
@permission_required(Perm.FILE_RECORD)
def record_file():
    unknown = set(request.form) - FILING_FIELDS
    if unknown:
        raise ValidationError(_("Unknown or read-only fields: %(f)s",
                                f=", ".join(sorted(unknown))), fields=sorted(unknown))
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError(_("Choose a file to upload"), field="file")
    form = request.form
    record = records.file(current_actor(), filename=upload.filename or "", data=upload.read(),
                          record_date=form.get("date", ""), form=form.get("form") or None,
                          form_revision=form.get("form_revision") or None,
                          reference=form.get("reference", ""), title=form.get("title") or None,
                          links=form.get("links", ""), corrects=form.get("corrects") or None,
                          event_date=form.get("event_date") or None)
    return jsonify(record_json(record, full=True)), 201


@bp.route("/records", methods=["GET"])
@login_required
def record_list():
    args = request.args
    q = args.get("q", "").strip()
    if q:
        from docctl.services import records_search
        rows, total = records_search.search(current_actor(), q, page=_page())
    else:
        rows, total = records.list_records(
            current_actor(), form=args.get("form") or None, keeper=args.get("keeper") or None,
            due=args.get("due") in ("1", "true"), status=args.get("status") or None,
            reference=args.get("reference") or None, kind=args.get("kind") or None,
            page=_page())
    return jsonify({"records": [record_json(r) for r in rows], "total": total,
                    "page": _page()})


@bp.route("/records/<int:record_id>", methods=["GET"])
@login_required
def record_get(record_id: int):
    return jsonify(record_json(records.get(current_actor(), record_id), full=True))


@bp.route("/records/<int:record_id>/file", methods=["GET"])
@login_required
def record_content(record_id: int):
    data, record = records.content(current_actor(), record_id)
    audit.record_reading("record_downloaded", current_actor(), object_type="record",
                         object_id=record.slug, details={"sha256": record.sha256})
    return send_bytes(data, record_files.MIMETYPE[record.media], record.filename)


@bp.route("/records/<int:record_id>/event", methods=["POST"])
@permission_required(Perm.FILE_RECORD)
def record_event(record_id: int):
    data = api.body({"date"}, {"date"})
    return jsonify(record_json(records.record_event(current_actor(), record_id, data["date"]),
                               full=True))


@bp.route("/dispositions", methods=["GET"])
@login_required
def disposition_list():
    rows = dispositions.list_dispositions(current_actor(),
                                          status=request.args.get("status") or None)
    return jsonify({"dispositions": [disposition_json(r) for r in rows]})


@bp.route("/dispositions", methods=["POST"])
@permission_required(Perm.MANAGE_RECORDS)
def disposition_propose():
    data = api.body({"records", "reason"}, {"records", "reason"})
    row = dispositions.propose(current_actor(), data["records"], data["reason"])
    return jsonify(disposition_json(row)), 201


@bp.route("/dispositions/<int:disposition_id>", methods=["GET"])
@login_required
def disposition_get(disposition_id: int):
    return jsonify(disposition_json(dispositions.get(current_actor(), disposition_id)))


@bp.route("/dispositions/<int:disposition_id>/approve", methods=["POST"])
@permission_required(Perm.APPROVE)
def disposition_approve(disposition_id: int):
    data = api.body({"password"}, {"password"})
    row = dispositions.approve(current_actor(), disposition_id, data["password"])
    return jsonify(disposition_json(row))


@bp.route("/dispositions/<int:disposition_id>/discard", methods=["POST"])
@permission_required(Perm.MANAGE_RECORDS)
def disposition_discard(disposition_id: int):
    data = api.body({"reason"}, {"reason"})
    return jsonify(disposition_json(dispositions.discard(current_actor(), disposition_id,
                                                         data["reason"])))


@bp.route("/legal-holds", methods=["GET"])
@login_required
def hold_list():
    active = request.args.get("active")
    rows = dispositions.list_holds(current_actor(), active=None if active is None
                                   else active in ("1", "true"))
    return jsonify({"legal_holds": [hold_json(h) for h in rows]})


@bp.route("/legal-holds", methods=["POST"])
@permission_required(Perm.MANAGE_RECORDS)
def hold_place():
    data = api.body({"records", "reason"}, {"records", "reason"})
    return jsonify(hold_json(dispositions.place_hold(current_actor(), data["records"],
                                                     data["reason"]))), 201


@bp.route("/legal-holds/<int:hold_id>/release", methods=["POST"])
@permission_required(Perm.MANAGE_RECORDS)
def hold_release(hold_id: int):
    data = api.body({"reason"}, {"reason"})
    return jsonify(hold_json(dispositions.release_hold(current_actor(), hold_id,
                                                       data["reason"])))
