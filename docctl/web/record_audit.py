"""The auditor's view of a period's records, and its evidence package."""

from flask import Blueprint, render_template, request

from docctl.domain.permissions import Perm
from docctl.services import nonconformities, records_evidence
from docctl.web.access import current_actor
from docctl.web.audit import send_package
from docctl.web.records import any_perm

bp = Blueprint("record_audit", __name__, url_prefix="/records")


@bp.route("/audit-view")
@any_perm(Perm.AUDIT, Perm.MANAGE_RECORDS)
def period():
    view = records_evidence.read_period(current_actor(), request.args.get("from") or None,
                                        request.args.get("to") or None)
    return render_template("records/audit_view.html", view=view,
                           nc_number=nonconformities.number, nc_overdue=nonconformities.overdue,
                           query={"from": view.start.isoformat(), "to": view.end.isoformat()})


@bp.route("/audit-view/package")
@any_perm(Perm.AUDIT, Perm.MANAGE_RECORDS)
def package():
    return send_package(records_evidence.package(current_actor(),
                                                 request.args.get("from") or None,
                                                 request.args.get("to") or None))
