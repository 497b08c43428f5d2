"""Sign in, sign out, language, own password."""

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from docctl.errors import Forbidden, ValidationError
from docctl.extensions import limiter
from docctl.services import users
from docctl.web.access import current_actor, login_required, public

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Return a same-site path to go to after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and \
            not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("main.tasks")


def _login_limit() -> str:
    from flask import current_app
    return current_app.config["LOGIN_RATE_LIMIT"]


def _username_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:64]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_username_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 302)
@public
def login():
    if request.method == "GET":
        if current_actor() is not None:
            return redirect(url_for("main.tasks"))
        return render_template("auth/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    try:
        user = users.authenticate(username, request.form.get("password", ""))
    except Forbidden:
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", next=request.form.get("next", ""),
                               username=username), 401
    lang = session.get("lang")
    session.clear()                        # a new session on every sign-in
    if lang:
        session["lang"] = lang
    login_user(user, remember=False)
    session["started"] = time.time()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = current_actor()
    users.logout(user)                     # rotates the session token: old cookies die
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def language():
    lang = request.form.get("lang", "")
    from flask import current_app
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "POST":
        try:
            users.change_password(current_actor(), request.form.get("current", ""),
                                  request.form.get("new", ""))
        except (Forbidden, ValidationError) as exc:
            from docctl.web.labels import error_message
            flash(error_message(exc), "error")
            return render_template("auth/password.html"), exc.status
        logout_user()
        session.clear()
        flash(_("Password changed. Sign in with the new password."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/password.html")
