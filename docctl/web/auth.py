"""Sign in (with an optional second step), sign out, language, own password and two-step."""

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.models import User
from docctl.services import throttle, twofactor, users
from docctl.web.access import current_actor, login_required, public

bp = Blueprint("auth", __name__)
PENDING_SECONDS = 300         # the code must follow the password within five minutes
# What a user whose role requires two-step sign-in may reach before setting it up.
_ENROL_ALLOWED = {"auth.two_step", "auth.password", "auth.logout", "auth.language",
                  "auth.login", "static"}


def _safe_next(target: str | None) -> str:
    """Return a same-site path to go to after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and \
            not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("main.tasks")


# What a user whose password an administrator reset may reach before choosing a new one.
_RESET_ALLOWED = {"auth.password", "auth.logout", "auth.language", "auth.login", "static"}


@bp.before_app_request
def password_gate():
    """Send a signed-in user whose password was reset to choose a new one first."""
    if request.endpoint in _RESET_ALLOWED or request.endpoint is None:
        return None
    if g.get("api_user") is not None or not current_user.is_authenticated:
        return None
    if not current_user.must_change_password:
        return None
    if request.path.startswith("/api/"):
        return jsonify({"error": "password_change_required",
                        "message": str(users.MUST_CHANGE_MESSAGE)}), 403
    return redirect(url_for("auth.password"))


@bp.before_app_request
def enrolment_gate():
    """Send a signed-in user whose role requires two-step sign-in to set it up first."""
    if request.endpoint in _ENROL_ALLOWED or request.endpoint is None:
        return None
    if g.get("api_user") is not None or not current_user.is_authenticated:
        return None
    if not twofactor.must_enrol(current_user):
        return None
    if request.path.startswith("/api/"):
        return jsonify({"error": "two_step_required", "message": _(
            "Your role requires two-step sign-in: set it up first.")}), 403
    return redirect(url_for("auth.two_step"))


@bp.after_app_request
def retry_after(response):
    """Tell a throttled client when to come back (RFC 9110 Retry-After)."""
    seconds = g.get("docctl_retry_after")
    if seconds and response.status_code == 429:
        response.headers["Retry-After"] = str(int(seconds))
    return response


def _start_session(user: User, next_url: str | None):
    lang = session.get("lang")
    session.clear()                        # a new session on every sign-in
    if lang:
        session["lang"] = lang
    login_user(user, remember=False)
    session["started"] = time.time()
    if user.must_change_password:
        flash(_("An administrator reset your password. Choose a new one to continue."), "info")
        return redirect(url_for("auth.password"))
    if twofactor.must_enrol(user):
        flash(_("Your role requires two-step sign-in. Set it up to continue."), "info")
        return redirect(url_for("auth.two_step"))
    return redirect(_safe_next(next_url))


def _login_page(status: int, message: str, username: str = "", next_url: str = ""):
    flash(message, "error")
    return render_template("auth/login.html", next=next_url, username=username), status


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        if current_actor() is not None:
            return redirect(url_for("main.tasks"))
        return render_template("auth/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    next_url = request.form.get("next", "")
    try:
        user = users.authenticate(username, request.form.get("password", ""),
                                  address=request.remote_addr)
    except throttle.Throttled as exc:
        return _login_page(429, str(exc.message), username, next_url)
    except Forbidden:
        return _login_page(401, _("Wrong username or password."), username, next_url)
    if twofactor.is_enabled(user):
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        session["pending"] = {"uid": user.id, "tok": user.session_token, "at": time.time(),
                              "next": next_url}
        return redirect(url_for("auth.login_code"))
    return _start_session(user, next_url)


def _pending_user() -> User | None:
    pending = session.get("pending") or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return users.pending_sign_in(pending.get("uid"), pending.get("tok"))


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    user = _pending_user()
    if user is None:
        session.pop("pending", None)
        flash(_("Sign in again: the two-step sign-in took too long."), "info")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/login_code.html")
    try:
        kind = users.second_step(user, request.form.get("code", ""),
                                 address=request.remote_addr)
    except throttle.Throttled as exc:
        flash(str(exc.message), "error")
        return render_template("auth/login_code.html"), 429
    except Forbidden:
        flash(_("Wrong code. Enter the current code from your app, or a recovery code."),
              "error")
        return render_template("auth/login_code.html"), 401
    next_url = session["pending"].get("next")
    response = _start_session(user, next_url)
    if kind == "recovery":   # after the new session: clearing the old one drops flashes
        flash(_("You signed in with a recovery code; it cannot be used again. "
                "%(n)s left.", n=twofactor.remaining_codes(user)), "info")
    return response


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
        except (throttle.Throttled, Forbidden, ValidationError) as exc:
            from docctl.web.labels import error_message
            flash(error_message(exc), "error")
            return render_template("auth/password.html",
                                   forced=current_actor().must_change_password), exc.status
        logout_user()
        session.clear()
        flash(_("Password changed. Sign in with the new password."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/password.html", forced=current_actor().must_change_password)


def _two_step_page(user: User, status: int = 200, codes: list[str] | None = None):
    context = {"user": user, "enabled": twofactor.is_enabled(user),
               "required": twofactor.is_required(user), "codes": codes}
    if context["enabled"]:
        context["remaining"] = twofactor.remaining_codes(user)
    else:
        secret = twofactor.pending_secret(user)
        uri = twofactor.provisioning_uri(user, secret)
        context.update(secret=secret, uri=uri, qr=twofactor.qr_svg(uri))
    return render_template("auth/two_step.html", **context), status


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step():
    user = current_actor()
    if request.method == "GET":
        return _two_step_page(user)
    action = request.form.get("action", "")
    from docctl.web.labels import error_message
    try:
        if action == "confirm":
            codes = twofactor.confirm(user, request.form.get("code", ""))
            flash(_("Two-step sign-in is on. Keep these recovery codes somewhere safe."),
                  "info")
            return _two_step_page(user, codes=codes)
        if action not in ("codes", "off"):
            raise ValidationError(_("Unknown action"))
        users.require_current_password(user, request.form.get("password", ""))
        if action == "codes":
            return _two_step_page(user, codes=twofactor.new_recovery_codes(user))
        if twofactor.is_required(user):
            raise Conflict(_("Your role requires two-step sign-in: it cannot be turned off"))
        twofactor.turn_off(user, user)
        flash(_("Two-step sign-in is off."), "info")
        return redirect(url_for("auth.two_step"))
    except (throttle.Throttled, Forbidden, Conflict, ValidationError) as exc:
        flash(error_message(exc), "error")
        return _two_step_page(user, status=exc.status)
