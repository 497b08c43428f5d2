"""JSON API of the workflow fixes under /api/v1: recall, discard, re-route, the approver's return.

DELETE /api/v1/documents/<code>/revisions/<n> discards a draft; its body {"reason"} is
required (the reason is kept in the audit trail). The answer is the revision, status
"discarded".
"""

from flask import Blueprint, jsonify

from docctl.domain.permissions import Perm
from docctl.extensions import csrf
from docctl.services import workflow
from docctl.web import api
from docctl.web.access import current_actor, permission_required

bp = Blueprint("workflow_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below
bp.before_request(api.authenticate)

_REVISION = "/documents/<code>/revisions/<int:number>"


@bp.route(f"{_REVISION}/recall", methods=["POST"])
@permission_required(Perm.REGISTER)
def recall(code: str, number: int):
    return jsonify(api.revision_json(workflow.recall(current_actor(), code, number)))


@bp.route(_REVISION, methods=["DELETE"])
@permission_required(Perm.REGISTER)
def discard(code: str, number: int):
    data = api.body({"reason"}, {"reason"})
    revision = workflow.discard(current_actor(), code, number, reason=str(data["reason"]))
    return jsonify(api.revision_json(revision))


@bp.route(f"{_REVISION}/reroute", methods=["POST"])
@permission_required(Perm.REGISTER)
def reroute(code: str, number: int):
    data = api.body({"reviewers", "approver", "reason"}, {"reason"})
    revision = workflow.reroute(current_actor(), code, number,
                                reviewers=data.get("reviewers"), approver=data.get("approver"),
                                reason=str(data["reason"]))
    return jsonify({**api.revision_json(revision), **_routing(revision)})


@bp.route(f"{_REVISION}/return", methods=["POST"])
@permission_required(Perm.APPROVE)   # only an approver can be the one it awaits
def return_to_author(code: str, number: int):
    data = api.body({"comment"}, {"comment"})
    revision = workflow.return_to_author(current_actor(), code, number,
                                         comment=str(data["comment"]))
    return jsonify({"document": revision.document.code, "revision": revision.number,
                    "status": revision.status, "returned": True})


def _routing(revision) -> dict:
    round_ = [r for r in revision.reviews if r.round == revision.review_round]
    return {"reviewers": [{"user": r.reviewer.username, "decision": r.decision}
                          for r in round_],
            "approver": revision.approver.username if revision.approver else None}
