"""Register, document and revision pages, and the lifecycle forms."""

import io
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from docctl.domain import formats
from docctl.domain.lifecycle import ABANDONED, NO_LONGER_CURRENT, Status
from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError, ValidationError
from docctl.services import (
    asof,
    copies,
    documents,
    numbers,
    printed_facts,
    publishing,
    register_export,
    releases,
    reviews,
    signatures,
    users,
    workflow,
)
from docctl.services import compare as comparing
from docctl.services.context import parse_day, today
from docctl.web import labels
from docctl.web import workflow as workflow_pages
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.labels import error_message

bp = Blueprint("documents", __name__, url_prefix="/documents")


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


def parse_date(value: str | None, field: str) -> date:
    """Parse a required date: YYYY-MM-DD (the HTML date input) or dd/mm/yyyy."""
    day = parse_day(value, field)
    if day is None:
        raise ValidationError(_("Enter the date as dd/mm/yyyy"), field=field)
    return day


def copy_kind() -> str:
    """Return the copy a download asks for: the unstamped original only for ?original=1."""
    flag = request.args.get("original", "").strip().lower()
    return "original" if flag in ("1", "true", "yes", "on") else "auto"


def send_download(copy) -> object:
    """Send a copy as an attachment (RFC 6266/5987 name), never rendered inline."""
    return send_bytes(copy.data, copy.mimetype, copy.filename)


def send_bytes(data: bytes, mimetype: str, filename: str) -> object:
    """Send bytes as an attachment (RFC 6266/5987 name), never rendered inline."""
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _as_of() -> date | None:
    """Return the as-of day asked for, if any (dd/mm/yyyy or YYYY-MM-DD)."""
    value = request.args.get("as_of", "").strip()
    return parse_date(value, "as_of") if value else None


@bp.route("")
@login_required
def register():
    user = current_actor()
    day = _as_of()
    filters = {"doc_type": request.args.get("type") or None,
               "department": request.args.get("department") or None}
    decision = request.args.get("release", "").strip()
    if decision:   # the documents one decision issued (issue 11 releases)
        rows = releases.register_rows(user, decision, day)
        total = len(rows)
    elif day is not None:
        rows, total = asof.register_as_of(user, day, page=_page(), **filters)
    else:
        rows, total = documents.list_register(user, status=request.args.get("status") or None,
                                              page=_page(), **filters,
                                              review=request.args.get("review") or None)
    return render_template("documents/register.html", rows=rows, total=total, page=_page(),
                           per_page=documents.setting("PAGE_SIZE") if not decision else
                           max(total, 1), as_of=day, decision=decision,
                           decisions=releases.list_releases(user),
                           decision_in_force=releases.in_force_on(day) if day else None,
                           issued=releases.issued_by([r.id for _d, r in rows if r]),
                           departments=documents.departments(), types=list(DocType),
                           can_register=has_perm(user.role, Perm.REGISTER),
                           can_read_all=has_perm(user.role, Perm.READ_ALL))


@bp.route("/export")
@permission_required(Perm.READ_ALL)
def export_as_of():
    day = _as_of()
    if day is None:
        raise ValidationError(_("Choose the day (as of) to export"), field="as_of")
    return send_download(register_export.export_as_of(
        current_actor(), day, request.args.get("format", "xlsx"), labels.TYPES))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def new():
    user = current_actor()
    form = request.form if request.method == "POST" else request.args
    proposal = ""
    if form.get("type") in {t.value for t in DocType}:
        try:
            proposal = documents.propose_code(form["type"], form.get("parent") or None)
        except DocctlError:
            proposal = ""
    if request.method == "POST":
        data = {key: request.form.get(key, "") for key in
                ("type", "title", "department", "parent", "code", "review_months",
                 "external_source")}
        data = {k: v for k, v in data.items() if v != ""}
        try:
            document = documents.register_document(user, data)
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("documents/new.html", form=request.form, proposal=proposal,
                                   error_field=exc.details.get("field"),
                                   **_choices()), exc.status
        flash(_("Document %(code)s registered. Upload its first draft.", code=document.code),
              "success")
        return redirect(url_for("documents.upload", code=document.code))
    return render_template("documents/new.html", form=form, proposal=proposal, **_choices())


def _choices() -> dict:
    parents = [d for d, _rev in documents.list_register(current_actor(), per_page=1000)[0]
               if d.doc_type in ("procedure", "instruction", "policy")]
    return {"departments": documents.departments(), "types": list(DocType), "parents": parents}


@bp.route("/<code>")
@login_required
def detail(code: str):
    user = current_actor()
    day = _as_of()
    document = documents.get_document(user, code)
    current = documents.effective_revision(document)
    visible = documents.visible_revisions(user, document)
    if day is not None:
        shown = asof.revision_as_of(user, code, day)
    else:
        # A discarded draft is shown only when there is nothing else (issue 11).
        shown = current or next((r for r in visible if r.status not in ABANDONED),
                                visible[0] if visible else None)
    documents.record_view(user, document, shown)
    return render_template("documents/detail.html", document=document, revision=shown,
                           current=current, history=visible, as_of=day,
                           children=[c for c in document.children
                                     if documents.effective_revision(c) is not None
                                     or has_perm(user.role, Perm.READ_ALL)],
                           can_register=has_perm(user.role, Perm.REGISTER),
                           can_withdraw=has_perm(user.role, Perm.WITHDRAW),
                           can_read_all=has_perm(user.role, Perm.READ_ALL),
                           pdf_available=copies.pdf_available(),
                           signatures=signatures.current(shown) if shown else [])


@bp.route("/<code>/revisions/<int:number>")
@login_required
def revision(code: str, number: int):
    user = current_actor()
    rev = documents.get_revision(user, code, number)
    documents.record_view(user, rev.document, rev)
    mine = next((r for r in rev.reviews if r.reviewer_id == user.id
                 and r.round == rev.review_round and r.decision == "pending"), None)
    return render_template("documents/revision.html", document=rev.document, revision=rev,
                           printed=printed_facts.facts(rev),
                           obsolete=rev.status in NO_LONGER_CURRENT, my_review=mine,
                           signatures=signatures.current(rev),
                           can_submit=rev.status == Status.DRAFT and rev.author_id == user.id,
                           can_approve=rev.status == Status.AWAITING_APPROVAL
                           and rev.approver_id == user.id,
                           can_upload=rev.status == Status.DRAFT and rev.author_id == user.id)


@bp.route("/<code>/revisions/<int:number>/download")
@login_required
def download(code: str, number: int):
    copy = copies.controlled_copy(current_actor(), code, number, kind=copy_kind(),
                                  fmt=request.args.get("format", "docx"))
    return send_download(copy)


@bp.route("/<code>/compare")
@login_required
def compare(code: str):
    user = current_actor()
    try:
        old, new = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        raise ValidationError(_("Choose two revisions to compare")) from None
    result = comparing.compare(user, code, old, new)
    return render_template("documents/compare.html", c=result, document=result.document,
                           choices=documents.visible_revisions(user, result.document),
                           view=request.args.get("view", "inline"))


@bp.route("/<code>/upload", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def upload(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    if request.method == "POST":
        file = request.files.get("file")
        try:
            if file is None or not file.filename:
                raise ValidationError(_("Choose a file to upload"), field="file")
            rev = documents.upload_revision(user, code, filename=file.filename,
                                            data=file.read(),
                                            reason=request.form.get("reason", ""),
                                            change=request.form.get("change") or None,
                                            issue=request.form.get("issue") or None,
                                            amendment=request.form.get("amendment") or None)
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("documents/upload.html", document=document,
                                   form=request.form,
                                   numbers=numbers.choices(document),
                           extensions=formats.upload_extensions(document.doc_type)), exc.status
        flash(_("Draft saved as revision %(n)s. Check it, then submit it for review.",
                n=documents.label(rev)), "success")
        told = printed_facts.facts(rev)
        for message in told["notices"] + told["warnings"]:
            flash(message, "info")
        return redirect(url_for("documents.revision", code=document.code, number=rev.number))
    return render_template("documents/upload.html", document=document, form={},
                           numbers=numbers.choices(document),
                           extensions=formats.upload_extensions(document.doc_type))


@bp.route("/<code>/revisions/<int:number>/submit", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def submit(code: str, number: int):
    user = current_actor()
    rev = documents.get_revision(user, code, number)
    choices = {"reviewers": [u for u in users.users_with_role("reviewer", "approver")
                             if u.id != user.id],
               "approvers": [u for u in users.users_with_role("approver") if u.id != user.id]}
    if request.method == "POST":
        try:
            reviews.submit(user, code, number, reviewers=request.form.getlist("reviewers"),
                           approver=request.form.get("approver", ""),
                           reason=request.form.get("reason"))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("documents/submit.html", document=rev.document,
                                   revision=rev, form=request.form, **choices), exc.status
        flash(_("Submitted for review."), "success")
        return redirect(url_for("documents.revision", code=rev.document.code, number=number))
    return render_template("documents/submit.html", document=rev.document, revision=rev,
                           form={}, **choices)


@bp.route("/<code>/revisions/<int:number>/review", methods=["POST"])
@permission_required(Perm.REVIEW)
def review(code: str, number: int):
    user = current_actor()
    try:
        rev = reviews.review(user, code, number, decision=request.form.get("decision", ""),
                             comment=request.form.get("comment", ""))
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("documents.revision", code=code, number=number))
    flash(_("Your review was recorded."), "success")
    return redirect(url_for("documents.revision", code=rev.document.code, number=number))


@bp.route("/<code>/revisions/<int:number>/approve", methods=["GET", "POST"])
@permission_required(Perm.APPROVE)
def approve(code: str, number: int):
    user = current_actor()
    rev = documents.get_revision(user, code, number)
    if request.method == "POST":
        try:
            if request.form.get("decision") == "reject":
                workflow.return_to_author(user, code, number,
                                          comment=request.form.get("comment", ""))
                flash(_("Returned to the author with your comment."), "success")
                # The approver may no longer see the draft: their tasks, never a 404.
                return workflow_pages.landing(code, number)
            else:
                publishing.approve(user, code, number, password=request.form.get("password", ""),
                                   effective_date=parse_date(request.form.get("effective_date"),
                                                             "effective_date"))
                flash(_("Approved and signed."), "success")
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("documents/approve.html", document=rev.document,
                                   revision=rev, today=today(), form=request.form,
                                   signatures=signatures.current(rev)), exc.status
        return redirect(url_for("documents.revision", code=rev.document.code, number=number))
    return render_template("documents/approve.html", document=rev.document, revision=rev,
                           today=today(), form={}, signatures=signatures.current(rev))


@bp.route("/<code>/withdraw", methods=["GET", "POST"])
@permission_required(Perm.WITHDRAW)
def withdraw(code: str):
    user = current_actor()
    document = documents.get_document(user, code)
    if request.method == "POST":
        try:
            publishing.withdraw(user, code, reason=request.form.get("reason", ""),
                                password=request.form.get("password", ""))
        except DocctlError as exc:
            flash(error_message(exc), "error")
            return render_template("documents/withdraw.html", document=document,
                                   form=request.form), exc.status
        flash(_("Document withdrawn: it is now obsolete."), "success")
        return redirect(url_for("documents.detail", code=document.code))
    return render_template("documents/withdraw.html", document=document, form={})


@bp.route("/<code>/revisions/<int:number>/original-doc")
@permission_required(Perm.REGISTER)
def original_doc(code: str, number: int):
    """Send the legacy .doc a revision was converted from (issue #10, helper formats)."""
    return send_download(copies.legacy_original(current_actor(), code, number))
