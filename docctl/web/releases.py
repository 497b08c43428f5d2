"""Pages of releases: assemble a decision, sign it, keep its scan, see what it issued."""


from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.decisions import ReleaseStatus
from docctl.domain.permissions import Perm, has_perm
from docctl.errors import DocctlError, NotFound, ValidationError
from docctl.services import releases
from docctl.services.context import today
from docctl.web.access import current_actor, login_required, permission_required
from docctl.web.documents import parse_date, send_bytes
from docctl.web.labels import error_message

bp = Blueprint("releases", __name__, url_prefix="/releases")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.app_context_processor
def release_facts() -> dict:
    """Let the document, revision and register pages name the decision behind a revision."""
    return {"issued_by": releases.issued_by, "release_in_force_on": releases.in_force_on,
            "release_item_action": releases.item_action, "releases_unsigned": _unsigned}


def _unsigned():
    """Return the unsigned decisions for the home page; None for who neither signs nor
    assembles them."""
    user = current_actor()
    if user is None or not (has_perm(user.role, Perm.APPROVE)
                            or has_perm(user.role, Perm.REGISTER)):
        return None
    rows = releases.list_releases(user, status=ReleaseStatus.DRAFT)
    if not has_perm(user.role, Perm.REGISTER):   # an approver: those they may sign
        rows = [r for r in rows if r.created_by_id != user.id]
    return rows


@bp.route("")
@login_required
def release_list():
    user = current_actor()
    return render_template("releases/list.html",
                           rows=releases.list_releases(user, status=request.args.get("status")
                                                       or None),
                           status=request.args.get("status", ""),
                           can_assemble=has_perm(user.role, Perm.REGISTER))


def _items(form) -> list[dict]:
    items = []
    for value in form.getlist("issue"):
        code, _sep, number = value.rpartition(":")
        if not code or not number.isdigit():
            raise ValidationError(_("Choose the revisions from the list"), field="items")
        items.append({"code": code, "revision": int(number)})
    items += [{"code": code, "action": "abolish"} for code in form.getlist("abolish")]
    return items


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Perm.REGISTER)
def new():
    user = current_actor()
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            release = releases.create(
                user, title=form.get("title", ""), decision_number=form.get("decision_number"),
                decision_date=parse_date(form.get("decision_date", ""), "decision_date"),
                signer=form.get("signer", ""),
                effective_date=parse_date(form.get("effective_date", ""), "effective_date"),
                items=_items(request.form), replaces=form.get("replaces") or None)
        except DocctlError as exc:
            flash(error_message(exc), "error")
            problems = exc.details.get("problems") or []
            return render_template("releases/new.html", choices=releases.candidates(user),
                                   form=form, problems=problems, today=today(),
                                   chosen=set(request.form.getlist("issue")),
                                   abolished=set(request.form.getlist("abolish"))), exc.status
        flash(_("Decision %(n)s is assembled. The approver can now sign it.",
                n=release.decision_number), "success")
        return redirect(url_for("releases.detail", release_id=release.id))
    return render_template("releases/new.html", choices=releases.candidates(user), form={},
                           problems=[], today=today(), chosen=set(), abolished=set())


@bp.route("/<int:release_id>")
@login_required
def detail(release_id: int):
    user = current_actor()
    release = releases.get(user, release_id)
    scan = releases.signed_scan(release)
    return render_template(
        "releases/detail.html", release=release, scan=scan,
        replaced_by=releases.replaced_by(release), today=today(),
        can_sign=release.status == ReleaseStatus.DRAFT and has_perm(user.role, Perm.APPROVE)
        and release.created_by_id != user.id,
        can_manage=has_perm(user.role, Perm.REGISTER))


@bp.route("/<int:release_id>/approve", methods=["POST"])
@permission_required(Perm.APPROVE)
def approve(release_id: int):
    try:
        release = releases.approve(current_actor(), release_id,
                                   password=request.form.get("password", ""))
    except DocctlError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("releases.detail", release_id=release_id))
    if release.status == ReleaseStatus.EFFECTIVE:
        flash(_("Decision %(n)s is signed: its documents are in force.",
                n=release.decision_number), "success")
    else:
        flash(_("Decision %(n)s is signed: its documents take effect on %(d)s.",
                n=release.decision_number, d=release.effective_date.strftime("%d/%m/%Y")),
              "success")
    return redirect(url_for("releases.detail", release_id=release_id))


@bp.route("/<int:release_id>/discard", methods=["POST"])
@permission_required(Perm.REGISTER)
def discard(release_id: int):
    try:
        releases.discard(current_actor(), release_id, reason=request.form.get("reason", ""))
        flash(_("The decision was discarded; its revisions wait for approval again."),
              "success")
    except DocctlError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("releases.detail", release_id=release_id))


@bp.route("/<int:release_id>/scan", methods=["POST"])
@permission_required(Perm.REGISTER)
def scan_upload(release_id: int):
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise ValidationError(_("Choose a file to upload"), field="file")
        releases.add_scan(current_actor(), release_id, filename=file.filename,
                          data=file.read())
        flash(_("The signed scan is kept with the decision."), "success")
    except DocctlError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("releases.detail", release_id=release_id))


@bp.route("/<int:release_id>/decision.docx")
@login_required
def decision(release_id: int):
    data, release = releases.decision_bytes(current_actor(), release_id)
    return send_bytes(data, DOCX, f"QD-{release.slug}.docx")


@bp.route("/<int:release_id>/signed-scan.pdf")
@login_required
def scan(release_id: int):
    found, release = releases.scan_of(current_actor(), release_id)
    if found is None:
        raise NotFound(_("No signed scan of this decision has been uploaded"))
    return send_bytes(found.content, "application/pdf", f"QD-{release.slug}-signed.pdf")
