"""Deny by default: every view declares who may reach it."""

from functools import wraps

from flask import abort, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from docctl.domain.permissions import Perm, has_perm
from docctl.errors import Forbidden
from docctl.extensions import login_manager
from docctl.services.users import MUST_CHANGE_MESSAGE

# Blueprints that answer JSON: an anonymous caller gets 401, not the sign-in page.
API_BLUEPRINTS = ("api", "audit_api", "admin_api", "workflow_api")


def public(view):
    """Mark a view as reachable without signing in."""
    view._docctl_access = "public"
    return view


def permission_required(perm: Perm):
    """Require a signed-in user whose role grants perm."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_actor()
            if user is None:
                if request.blueprint in API_BLUEPRINTS:
                    abort(401)
                return login_manager.unauthorized()
            if user.must_change_password and (g.get("api_user") is not None
                                              or request.blueprint in API_BLUEPRINTS):
                # Sessions are sent to the password page (web/auth.py); a token gets told.
                raise Forbidden(MUST_CHANGE_MESSAGE)
            if not has_perm(user.role, perm):
                raise Forbidden(_l("Your role does not allow this"))
            return view(*args, **kwargs)
        wrapped._docctl_access = perm
        return wrapped
    return decorate


def login_required(view):
    """Require any signed-in user (the service checks the object)."""
    return permission_required(Perm.READ)(view)


def current_actor():
    """Return the signed-in user (session or API token), or None."""
    user = g.get("api_user")
    if user is not None:
        return user
    return current_user if current_user.is_authenticated else None


CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def changes_require(perm: Perm):
    """Return a blueprint hook: every changing request needs perm (deny before any check)."""
    def check():
        if request.method not in CHANGING_METHODS:
            return None
        user = current_actor()
        if user is not None and not has_perm(user.role, perm):
            raise Forbidden(_l("Your role does not allow this"))
        return None   # no one signed in: the view's own check answers (401 or sign-in page)
    return check
