"""Wire the web layer: login, locale, errors, security headers, blueprints."""

from datetime import UTC, datetime, timedelta

from flask import has_request_context, jsonify, make_response, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from docctl import dbengine
from docctl.errors import Busy, DocctlError, StorageFull
from docctl.extensions import babel, db, login_manager
from docctl.services import users
from docctl.web import labels


def select_locale() -> str:
    """Pick the interface language: the user's choice, else Vietnamese."""
    from flask import current_app
    if not has_request_context():   # CLI and services outside a request: the default
        return current_app.config["DEFAULT_LOCALE"]
    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config[
        "DEFAULT_LOCALE"]


class SessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for people; none for API calls that carry a bearer token."""

    def open_session(self, app, request):
        # A token call is signed in by its token: reading and re-signing a cookie it never
        # sent would only cost time, and answering it with a session cookie would be wrong.
        if request.path.startswith("/api/") and "Authorization" in request.headers:
            return self.null_session_class()
        return super().open_session(app, request)


def register_web(app) -> None:
    """Register blueprints, hooks, filters and error handlers."""
    from docctl.web import (
        admin,
        admin_api,
        api,
        audit,
        audit_api,
        auth,
        bodylimit,
        documents,
        importing,
        main,
        periodic,
        periodic_api,
        records_api,
        releases,
        releases_api,
        search,
        workflow,
        workflow_api,
    )

    bodylimit.init_app(app)
    app.session_interface = SessionInterface()
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.session_protection = "basic"
    login_manager.user_loader(users.load_session_user)
    app.permanent_session_lifetime = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])

    for module in (auth, main, documents, admin, admin_api, api, audit, audit_api, importing,
                   search, workflow, workflow_api):
        app.register_blueprint(module.bp)
    for module in (periodic, periodic_api):   # issue 11: periodic review
        app.register_blueprint(module.bp)
    for module in (releases, releases_api):   # issue 11: sets issued by one decision
        app.register_blueprint(module.bp)
    for module in (records_api,):   # issue 12: records, disposition, legal holds
        app.register_blueprint(module.bp)
    app.jinja_env.filters.update(
        ddmmyyyy=lambda d: format_date(d, "dd/MM/yyyy") if d else "",
        localtime=lambda t: format_datetime(t, "dd/MM/yyyy HH:mm") if t else "",
    )
    app.jinja_env.globals.update(labels=labels, LANGUAGES=app.config["LANGUAGES"],
                                  get_locale=get_locale)
    from docctl.web import forms as forms_web  # issue 11 forms: pages, API, template helper
    forms_web.init_app(app)
    from docctl.web import change_requests  # issue 11 requests: pages, API, template helpers
    change_requests.init_app(app)
    from docctl.web import improvement  # issue 12: audits, nonconformities, management reviews
    improvement.init_app(app)
    from docctl.web import masterlists, record_types  # issue 12: records lists, master lists
    record_types.init_app(app)
    masterlists.init_app(app)
    from docctl.web import record_audit, record_dispositions, records  # issue 12: records pages
    for module in (records, record_dispositions, record_audit):
        app.register_blueprint(module.bp)
    _register_hooks(app)
    _register_errors(app)


def _register_hooks(app) -> None:
    @app.before_request
    def session_limits():
        if request.endpoint == "static" or app.session_interface.is_null_session(session):
            return None
        session.permanent = True
        started = session.get("started")
        limit = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
        if started and datetime.now(UTC) - datetime.fromtimestamp(started, UTC) > limit:
            session.clear()   # absolute lifetime reached: sign in again
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; object-src 'none'; frame-ancestors 'none'; "
            "base-uri 'self'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def rollback_leftovers(exc):
        if exc is not None:
            db.session.rollback()


def _wants_json() -> bool:
    return (request.blueprint in ("api", "audit_api", "admin_api")
            or request.path.startswith("/api/"))


# Seconds a client should wait before retrying a request the database was too busy for.
RETRY_AFTER = "5"


def _fault(exc: BaseException) -> DocctlError | None:
    """Return the answer to a lock or disk-space fault behind exc, else None."""
    kind = dbengine.fault_kind(exc)
    if kind == "busy":
        return Busy(_l("The system is busy with other changes. Nothing was lost; "
                       "try again in a few seconds."))
    if kind == "full":
        return StorageFull(_l("The server has run out of storage space, so nothing was saved. "
                              "Please tell the administrator."))
    return None


def _rollback() -> None:
    """Undo the unit of work; a connection the fault broke is dropped instead."""
    try:
        db.session.rollback()
    except Exception:   # noqa: BLE001 (the fault is being answered; the session goes)
        db.session.remove()


def _register_errors(app) -> None:
    def answer(exc: DocctlError):
        message = labels.error_message(exc)
        if _wants_json():
            body = {"error": exc.code, "message": message}
            if exc.details.get("field"):
                body["field"] = exc.details["field"]
            if exc.details.get("fields"):
                body["fields"] = exc.details["fields"]
            # Facts an error states for the caller (who disposed of a record, under which list).
            body.update(exc.details.get("public") or {})
            response = jsonify(body)
        else:
            title = labels.status_title(exc.status)
            try:
                # The page's sign-in lookup must not wait for the lock that failed this one.
                with dbengine.immediate(False):
                    response = render_template("errors/error.html", status=exc.status,
                                               message=message, title=title)
            except Exception:   # noqa: BLE001 (a page that cannot render still answers)
                app.logger.warning("error page for %s not rendered", exc.status, exc_info=True)
                response = f"{title}: {message}"
        response = make_response(response, exc.status)
        if exc.status == 503:
            response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.errorhandler(DocctlError)
    def docctl_error(exc: DocctlError):
        _rollback()
        if exc.status >= 500:
            fault = _fault(exc)
            if fault is not None:
                app.logger.warning("%s on %s %s: %r", fault.code, request.method, request.path,
                                   exc)
                exc = fault
        return answer(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = labels.http_message(exc.code)
        if _wants_json():
            return jsonify({"error": exc.name.lower().replace(" ", "_"),
                            "message": message}), exc.code
        return render_template("errors/error.html", status=exc.code, message=message,
                               title=labels.status_title(exc.code)), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _rollback()
        fault = _fault(exc)
        if fault is not None:
            # A lock or a full disk is the environment, not a bug: no traceback in the log.
            app.logger.warning("%s on %s %s: %r", fault.code, request.method, request.path, exc)
            return answer(fault)
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        message = labels.http_message(500)
        if _wants_json():
            return jsonify({"error": "internal", "message": message}), 500
        return render_template("errors/error.html", status=500, message=message,
                               title=labels.status_title(500)), 500
