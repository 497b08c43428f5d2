"""The search page, and the admin page that shows and rebuilds the index."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm, has_perm
from docctl.search import SearchUnavailable
from docctl.services import documents, indexing
from docctl.services import search as searching
from docctl.web.access import current_actor, login_required, permission_required

bp = Blueprint("search", __name__)


def search_args() -> dict:
    """Return the search parameters of the request, as the service takes them."""
    return {"doc_type": request.args.get("type") or None,
            "department": request.args.get("department") or None,
            "scope": request.args.get("scope", "current"),
            "sort": request.args.get("sort", "relevance"),
            "page": request.args.get("page", 1),
            "per_page": request.args.get("per_page", documents.setting("SEARCH_PAGE_SIZE"))}


@bp.route("/search")
@login_required
def results():
    user = current_actor()
    query = request.args.get("q", "")
    unavailable = None
    result = None
    try:
        result = searching.search(user, query, **search_args())
    except SearchUnavailable:
        unavailable = True
    return render_template("search/results.html", result=result, q=query,
                           unavailable=unavailable, types=list(DocType),
                           departments=documents.departments(), args=request.args,
                           can_read_all=has_perm(user.role, Perm.READ_ALL),
                           can_manage=has_perm(user.role, Perm.MANAGE_USERS)), \
        (503 if unavailable else 200)


@bp.route("/admin/search", methods=["GET", "POST"])
@permission_required(Perm.MANAGE_USERS)
def admin():
    if request.method == "POST":
        count = indexing.rebuild_by(current_actor())
        flash(_("The search index was rebuilt: %(n)s revisions indexed.", n=count), "success")
        return redirect(url_for("search.admin"))
    return render_template("search/admin.html", status=indexing.index_status())
