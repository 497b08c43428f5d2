"""The start page: my tasks, and the first-day checklist of a new organisation."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from docctl.domain.permissions import Perm, has_perm
from docctl.services import documents, organisation, workflow
from docctl.web.access import current_actor, login_required

bp = Blueprint("main", __name__)


def _org_name() -> str:
    try:
        return organisation.name()
    except Exception:   # noqa: BLE001 (an error page must render even when the database fails)
        current_app.logger.warning("organisation name unavailable", exc_info=True)
        return current_app.config.get("ORG_NAME") or ""


def _can(perm: str) -> bool:
    user = current_actor() if current_user else None
    return user is not None and has_perm(user.role, Perm(perm))


@bp.app_context_processor
def page_facts() -> dict:
    """Give every template the organisation's name and a permission check."""
    return {"org_name": _org_name, "can": _can}


@bp.route("/")
@login_required
def tasks():
    user = current_actor()
    steps = None
    if has_perm(user.role, Perm.MANAGE_USERS):
        steps = organisation.setup_steps()
        if all(steps.values()):
            steps = None   # the organisation is set up: no checklist any more
    # Secretaries see revisions stuck on a deactivated reviewer or approver (issue 11).
    rerouting = workflow.needs_rerouting() if has_perm(user.role, Perm.REGISTER) else []
    return render_template("main/tasks.html", tasks=documents.my_tasks(user), steps=steps,
                           rerouting=rerouting)
