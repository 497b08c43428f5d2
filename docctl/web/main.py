"""The start page: my tasks."""

from flask import Blueprint, render_template

from docctl.services import documents
from docctl.web.access import current_actor, login_required

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def tasks():
    user = current_actor()
    return render_template("main/tasks.html", tasks=documents.my_tasks(user))
