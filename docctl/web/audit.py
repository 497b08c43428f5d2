"""Auditor pages: the audit log, a document's timeline, evidence packages, verify."""

import json

from flask import Blueprint, flash, render_template, request, send_file
from flask_babel import gettext as _

from docctl.domain.permissions import Perm
from docctl.extensions import db
from docctl.models import User
from docctl.services import auditlog, evidence, integrity, timeline
from docctl.web.access import current_actor, permission_required
from docctl.web.documents import send_download

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50
TIMELINE_PAGE = 500


def page_number() -> int:
    """Return the page asked for (1 when absent or not a number)."""
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


def summarise(details) -> str:
    """Return an entry's details as one line: "field: before → after" for changes."""
    if not isinstance(details, dict):
        return str(details)
    before, after = details.get("before"), details.get("after")
    parts = []
    if isinstance(before, dict) and isinstance(after, dict):
        parts += [f"{key}: {before.get(key)} → {after.get(key)}"
                  for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    for key, value in sorted(details.items()):
        if key in ("before", "after") and parts:
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}: {text}")
    return "; ".join(parts)


def send_package(package) -> object:
    """Send an evidence zip as an attachment."""
    response = send_file(package.file, mimetype=evidence.ZIP_MIME, as_attachment=True,
                         download_name=package.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("")
@permission_required(Perm.AUDIT)
def log():
    filters = auditlog.parse_filters(request.args)
    page = page_number()
    rows, total = auditlog.read_log(current_actor(), filters, page=page, per_page=PAGE_SIZE)
    entries = []
    for row in rows:
        entry = auditlog.entry_json(row)
        entry.update(at=row.at, summary=summarise(entry["details"]))
        entries.append(entry)
    return render_template("audit/log.html", entries=entries, total=total, page=page,
                           per_page=PAGE_SIZE, filters=filters,
                           query={k: v for k, v in filters.as_dict().items() if v},
                           actions=auditlog.actions(), last_run=integrity.last_run())


@bp.route("/export")
@permission_required(Perm.AUDIT)
def export():
    filters = auditlog.parse_filters(request.args)
    return send_download(auditlog.export(current_actor(), filters,
                                         request.args.get("format", "csv")))


@bp.route("/documents/<code>/timeline")
@permission_required(Perm.AUDIT)
def document_timeline(code: str):
    reads = request.args.get("reads") == "1"
    story = timeline.read_timeline(current_actor(), code, include_reads=reads)
    # Thousands of events make a page nobody reads: pages of TIMELINE_PAGE, still in order.
    page = page_number()
    events = story.events[(page - 1) * TIMELINE_PAGE:page * TIMELINE_PAGE]
    for event in events:
        event.summary = summarise(event.details)
    return render_template("audit/timeline.html", t=story, document=story.document,
                           events=events, page=page, per_page=TIMELINE_PAGE,
                           total=len(story.events), reads=reads,
                           badge=integrity.integrity_badge(story.document))


@bp.route("/documents/<code>/evidence")
@permission_required(Perm.AUDIT)
def document_evidence(code: str):
    return send_package(evidence.document_package(current_actor(), code))


@bp.route("/evidence")
@permission_required(Perm.AUDIT)
def register_evidence():
    return send_package(evidence.register_package(
        current_actor(), auditlog.parse_day(request.args.get("from"), "from"),
        auditlog.parse_day(request.args.get("to"), "to")))


@bp.route("/verify", methods=["GET", "POST"])
@permission_required(Perm.AUDIT)
def verify():
    if request.method == "POST":
        run, findings = integrity.run_and_record(current_actor())
        if run is not None and run.ok:
            flash(_("Integrity check passed: git, database, signatures and audit trail agree."),
                  "success")
        else:
            flash(_("Integrity check found %(n)s problem(s).", n=len(findings)), "error")
    else:
        run = integrity.last_run()
    findings = integrity.run_findings(run) if run else []
    actor = db.session.get(User, run.actor_id) if run and run.actor_id else None
    return render_template("audit/verify.html", run=run, findings=findings, run_by=actor)
