"""JSON API under /api/v1: the same actions and checks as the pages."""

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import ValidationError
from docctl.extensions import csrf
from docctl.services import (
    asof,
    copies,
    documents,
    forms,
    printed_facts,
    publishing,
    releases,
    reviews,
    signatures,
    users,
    workflow,
)
from docctl.services import compare as comparing
from docctl.web.access import current_actor, login_required, permission_required, public
from docctl.web.documents import copy_kind, parse_date, send_download

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # bearer requests carry no cookie; session requests are checked below


@bp.before_request
def authenticate():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        user = users.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return jsonify({"error": "unauthorized",
                            "message": _("Invalid or expired token")}), 401
        g.api_user = user
    elif request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint != "api.token":
        # A browser session may call the API, but not from another site. The token endpoint
        # uses no cookie, and its answer cannot be read cross-site.
        csrf.protect()
    return None


def authenticate_caller():
    """Answer 401 JSON to a caller with neither token nor session, else check as the API does.

    For the API blueprints of later issues: never the sign-in page or a CSRF refusal.
    """
    if not request.headers.get("Authorization") and current_actor() is None:
        return jsonify({"error": "unauthorized",
                        "message": _("Please sign in to continue.")}), 401
    return authenticate()


def body(allowed: set[str], required: set[str] = frozenset()) -> dict:
    """Return the JSON object of the request, refusing unknown or missing fields."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_("The request body must be a JSON object"))
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(_("Unknown or read-only fields: %(f)s",
                                f=", ".join(sorted(unknown))), fields=sorted(unknown))
    missing = {k for k in required if data.get(k) in (None, "", [])}
    if missing:
        raise ValidationError(_("Missing fields: %(f)s", f=", ".join(sorted(missing))),
                              fields=sorted(missing))
    return data


def _iso(value):
    return value.isoformat() if value else None


def release_brief(release) -> dict | None:
    """Return how a document names the decision that issued its revision (issue 11)."""
    if release is None:
        return None
    return {"id": release.id, "decision_number": release.decision_number,
            "decision_date": _iso(release.decision_date), "status": release.status}


def document_json(document, current=None, day=None, issued: dict | None = None,
                  forms_by: dict | None = None) -> dict:
    """Return the API form of a document (its forms: those in force with it on day).

    issued and forms_by: what a list looked up for the whole page at once.
    """
    current = current or documents.effective_revision(document)
    if current is not None and issued is None:
        issued = releases.issued_by([current.id])
    return {"code": document.code, "title": document.title, "type": document.doc_type,
            "department": document.department.code, "parent":
            document.parent.code if document.parent else None,
            "review_months": document.review_months, "status": document.status,
            "current_revision": current.number if current else None,
            "current_label": documents.label(current) if current else None,
            "effective_date": _iso(current.effective_date) if current else None,
            "next_review_date": _iso(document.next_review_date),   # issue 11: periodic review
            "release": release_brief((issued or {}).get(current.id)) if current else None,
            "forms": [{"code": f.code, "revision": r.number, "label": documents.label(r)}
                      for f, r in (forms_by.get(document.id, []) if forms_by is not None
                                   else forms.in_force_with(document, day))]
            if document.doc_type in forms.OWNER_TYPES else []}


def revision_json(revision) -> dict:
    """Return the API form of a revision."""
    from docctl.services import change_requests  # issue 11: the requests it carries out
    printed = printed_facts.facts(revision)
    return {"document": revision.document.code, "revision": revision.number,
            "issue": revision.issue, "amendment": revision.amendment,
            "label": documents.label(revision),
            "printed": {k: printed[k] for k in ("code", "issue", "amendment",
                                                "effective_date")},
            "warnings": printed["warnings"], "notices": printed["notices"],
            "status": revision.status, "effective_date": _iso(revision.effective_date),
            "reason": revision.reason, "filename": revision.filename,
            "change_requests": [r.id for r in change_requests.for_revision(revision)],
            "author": revision.author.username,
            "signatures": [{"user": s.user.username, "name": s.signer_name,
                            "meaning": s.meaning, "signed_at": _iso(s.signed_at)}
                           for s in signatures.current(revision)],
            "commit": revision.commit_sha, "sha256": revision.sha256,
            "release": release_brief(releases.issued_by([revision.id]).get(revision.id)),
            # A draft sent back in its latest round: who, why, when (issue 11).
            "returned": [{"by": r.reviewer.username, "comment": r.comment,
                          "at": _iso(r.decided_at)} for r in workflow.returned(revision)]}


@bp.route("/auth/token", methods=["POST"])
@public
def token():
    # Throttled by services.throttle, with the same counters as the sign-in page (R37).
    data = body({"username", "password", "code"}, {"username", "password"})
    raw = users.issue_token(str(data["username"]), str(data["password"]),
                            str(data["code"]) if data.get("code") else None,
                            address=request.remote_addr)
    return jsonify({"token": raw, "token_type": "Bearer"}), 201


@bp.route("/documents", methods=["GET"])
@login_required
def document_list():
    try:
        per_page = max(1, min(int(request.args.get("per_page", 100)), 500))
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        raise ValidationError(_("page and per_page must be numbers")) from None
    filters = {"doc_type": request.args.get("type") or None,
               "department": request.args.get("department") or None}
    day = _as_of()
    decision = request.args.get("release", "").strip()
    if decision:   # the documents one decision issued, each at the revision it issued
        rows = releases.register_rows(current_actor(), decision, day)
        return jsonify({"total": len(rows), "as_of": day.isoformat() if day else None,
                        "release": decision, "documents": [
                            document_json(d, r, day, releases.issued_by([r.id]))
                            for d, r in rows]})
    if day is not None and request.args.get("status"):
        # A day shows what was in force then; today's status would filter something else.
        raise ValidationError(_("status cannot be combined with as_of"), field="status")
    if day is not None:
        rows, total = asof.register_as_of(current_actor(), day, page=page, per_page=per_page,
                                          **filters)
    else:
        rows, total = documents.list_register(
            current_actor(), status=request.args.get("status") or None, page=page,
            per_page=per_page, review=request.args.get("review") or None, **filters)
    issued = releases.issued_by([r.id for _d, r in rows if r is not None])
    forms_by = forms.in_force_with_many(rows, day)
    answer = {"total": total, "as_of": day.isoformat() if day else None,
              "documents": [document_json(d, r, day, issued, forms_by) for d, r in rows]}
    if day is not None:   # the set in force that day, and the decision that issued it
        answer["release_in_force"] = release_brief(releases.in_force_on(day))
    return jsonify(answer)


@bp.route("/documents", methods=["POST"])
@permission_required(Perm.REGISTER)
def document_create():
    data = body(documents.REGISTER_FIELDS, {"type", "title", "department"})
    document = documents.register_document(current_actor(), data)
    return jsonify(document_json(document)), 201


@bp.route("/documents/<code>", methods=["GET"])
@login_required
def document_get(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    day = _as_of()
    if day is None:
        return jsonify(document_json(document))
    revision = asof.revision_as_of(user, code, day)
    body = document_json(document, revision, day)
    body.update(as_of=day.isoformat(), current_revision=revision.number if revision else None,
                effective_date=_iso(revision.effective_date) if revision else None,
                revision=revision_json(revision) if revision is not None else None)
    return jsonify(body)


@bp.route("/documents/<code>/revisions", methods=["GET"])
@login_required
def revision_list(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    return jsonify({"revisions": [revision_json(r) for r in
                                  documents.visible_revisions(user, document)]})


@bp.route("/documents/<code>/revisions", methods=["POST"])
@permission_required(Perm.REGISTER)
def revision_upload(code: str):
    unknown = set(request.form) - {"reason", "change", "issue", "amendment"}
    if unknown:
        raise ValidationError(_("Unknown or read-only fields: %(f)s",
                                f=", ".join(sorted(unknown))), fields=sorted(unknown))
    file = request.files.get("file")
    if file is None:
        raise ValidationError(_("Choose a file to upload"), field="file")
    form = request.form
    revision = documents.upload_revision(current_actor(), code, filename=file.filename or "",
                                         data=file.read(), reason=form.get("reason", ""),
                                         change=form.get("change") or None,
                                         issue=form.get("issue") or None,
                                         amendment=form.get("amendment") or None)
    return jsonify({**revision_json(revision), "sha256": revision.sha256}), 201


@bp.route("/documents/<code>/revisions/<int:number>", methods=["GET"])
@login_required
def revision_get(code: str, number: int):
    return jsonify(revision_json(documents.get_revision(current_actor(), code, number)))


@bp.route("/documents/<code>/revisions/<int:number>/file", methods=["GET"])
@login_required
def revision_file(code: str, number: int):
    copy = copies.controlled_copy(current_actor(), code, number, kind=copy_kind(),
                                  fmt=request.args.get("format", "docx"))
    return send_download(copy)


@bp.route("/documents/<code>/diff", methods=["GET"])
@login_required
def document_diff(code: str):
    try:
        old, new = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        raise ValidationError(_("from and to must be revision numbers")) from None
    result = comparing.compare(current_actor(), code, old, new)
    return jsonify({"document": result.document.code, "from": old, "to": new,
                    "inserted_words": result.inserted, "deleted_words": result.deleted,
                    "changes": [{"kind": op.kind, "text": op.text, "words": op.count}
                                for op in result.inline]})


def _as_of():
    value = request.args.get("as_of", "").strip()
    return parse_date(value, "as_of") if value else None


@bp.route("/documents/<code>/revisions/<int:number>/submit", methods=["POST"])
@permission_required(Perm.REGISTER)
def revision_submit(code: str, number: int):
    data = body({"reviewers", "approver", "reason"}, {"reviewers", "approver"})
    revision = reviews.submit(current_actor(), code, number, reviewers=data["reviewers"],
                              approver=str(data["approver"]), reason=data.get("reason"))
    return jsonify(revision_json(revision))


@bp.route("/documents/<code>/revisions/<int:number>/review", methods=["POST"])
@permission_required(Perm.REVIEW)
def revision_review(code: str, number: int):
    data = body({"decision", "comment"}, {"decision"})
    revision = reviews.review(current_actor(), code, number, decision=str(data["decision"]),
                              comment=str(data.get("comment") or ""))
    return jsonify(revision_json(revision))


@bp.route("/documents/<code>/revisions/<int:number>/approve", methods=["POST"])
@permission_required(Perm.APPROVE)
def revision_approve(code: str, number: int):
    data = body({"password", "effective_date"}, {"password", "effective_date"})
    revision = publishing.approve(current_actor(), code, number, password=str(data["password"]),
                                  effective_date=parse_date(str(data["effective_date"]),
                                                            "effective_date"))
    return jsonify(revision_json(revision))


@bp.route("/documents/<code>/withdraw", methods=["POST"])
@permission_required(Perm.WITHDRAW)
def document_withdraw(code: str):
    data = body({"reason", "password"}, {"reason", "password"})
    document = publishing.withdraw(current_actor(), code, reason=str(data["reason"]),
                                   password=str(data["password"]))
    return jsonify(document_json(document))


@bp.route("/me", methods=["GET"])
@login_required
def me():
    user = current_actor()
    return jsonify({"username": user.username, "name": user.display_name, "role": user.role,
                    "roles": list(user.roles),
                    "can_read_all": has_perm(user.role, Perm.READ_ALL)})


@bp.route("/search", methods=["GET"])
@login_required
def search():
    from docctl.services import search as searching
    from docctl.web.search import search_args

    page = searching.search(current_actor(), request.args.get("q", ""), **search_args())
    return jsonify({"total": page.total, "page": page.page, "per_page": page.per_page,
                    "suggestions": page.suggestions,
                    "results": [{"code": r.code, "title": r.title, "type": r.type,
                                 "department": r.department, "revision": r.revision,
                                 "label": r.revision_label, "status": r.status,
                                 "effective_date": _iso(r.effective_date),
                                 "snippet": "".join(text for text, _hit in r.snippet),
                                 "highlights": [text for text, hit in r.snippet if hit]}
                                for r in page.results]})
