"""Accounts, passwords, sessions and API tokens."""

import contextlib
import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl import dbengine
from docctl.domain.passwords import Rule, refusal
from docctl.domain.permissions import Perm, Role, join_roles
from docctl.domain.textfold import clean_line, has_control_chars, nfc
from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.extensions import db
from docctl.models import ApiToken, Department, User
from docctl.services import audit, departments, organisation, throttle, twofactor
from docctl.services.context import now, setting
from docctl.services.documents import require

# argon2id at the OWASP minimum (19 MiB, t=2, p=1): R36's floor. The library default
# (64 MiB, t=3, p=4) costs ~200 ms per check on a loaded 2-core server, paid at every sign-in
# and every e-signature; older hashes are upgraded on the next sign-in (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")
EMAIL_MAX = 254
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]{2,}$")
MUST_CHANGE_MESSAGE = _l("An administrator reset your password: sign in on the web and "
                         "choose a new one first")


def hash_password(password: str) -> str:
    """Return an argon2id hash of a password."""
    return _hasher.hash(password)


_RULE_MESSAGES = {
    Rule.TOO_SHORT: _l("Password must have at least 12 characters"),
    Rule.TOO_LONG: _l("Password must have at most 128 characters"),
    Rule.BLANK: _l("Password cannot be only spaces"),
    Rule.REPEATED: _l("Password cannot be one character (or two) repeated"),
    Rule.COMMON: _l("This password is too common: it is on the list of passwords "
                    "attackers try first"),
    Rule.USERNAME: _l("Password cannot contain the username"),
    Rule.ORG_NAME: _l("Password cannot contain the organisation's name"),
    Rule.DEMO: _l("The demo password can only be used in the demo"),
}


def check_password_policy(password: str, *, username: str = "",
                          allow_demo: bool = False) -> None:
    """Refuse short, long, common and context-specific passwords (R38), naming the rule."""
    rule = refusal(password, username=username, org_name=organisation.name(),
                   allow_demo=allow_demo)
    if rule is not None:
        raise ValidationError(_RULE_MESSAGES[rule], field="password", rule=rule.value)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; rehash on success when the parameters changed."""
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "x")
        return False
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def find_user(username: str) -> User | None:
    """Return the user with this username, or None."""
    name = nfc(username).lower()
    return db.session.scalar(select(User).where(User.username == name))


def authenticate(username: str, password: str, *, address: str | None = None) -> User:
    """Check a password, throttled and audited; finish the sign-in unless a code is due."""
    # Look up without SQLite's write lock, and hold no transaction during argon2's ~20 ms:
    # a sign-in must not queue every other writer behind its password check.
    with dbengine.reading():
        throttle.check(username or "", address)
        user = find_user(username or "")
        dbengine.end_keeping_objects(db.session())
    ok = verify_password(user, password) and user.active
    if not ok:
        throttle.failed(username or "", address)
        audit.record("login_failed", user, object_type="user",
                     object_id=str(user.id) if user else "",
                     details={"username": clean_line(username, max_len=64)})
        db.session.commit()
        raise Forbidden(_l("Wrong username or password"))
    if not twofactor.is_enabled(user):
        _signed_in(user, address)
    return user


def second_step(user: User, code: str, *, address: str | None = None) -> str:
    """Check the code of a user whose password was right; finish the sign-in."""
    throttle.check(user.username, address)
    kind = twofactor.check_code(user, code) if user.active else None
    if kind is None:
        throttle.failed(user.username, address, step="code")
        audit.record("login_failed", user, object_type="user", object_id=str(user.id),
                     details={"username": user.username, "step": "code"})
        db.session.commit()
        raise Forbidden(_l("Wrong code"), field="code")
    _signed_in(user, address, method=kind)
    return kind


def _signed_in(user: User, address: str | None, method: str = "password") -> None:
    user.last_login_at = now()
    throttle.succeeded(user.username, address)
    audit.record("login", user, object_type="user", object_id=str(user.id),
                 details={"second_step": method} if method != "password" else None)
    db.session.commit()


def reauthenticate(user: User, password: str) -> bool:
    """Re-check a signed-in user's password (e-signature), under the sign-in throttle."""
    throttle.check(user.username)
    return verify_password(user, password)


def require_current_password(user: User, password: str) -> None:
    """Re-check the user's own password before an account change; a wrong one is counted."""
    if not reauthenticate(user, password):
        reauthentication_failed(user)
        db.session.commit()
        raise Forbidden(_l("The current password is wrong"))


def pending_sign_in(user_id, token) -> User | None:
    """Return the active user whose password was right and whose second step is due."""
    user = db.session.get(User, user_id or 0) if isinstance(user_id, int) else None
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def reauthentication_failed(user: User) -> None:
    """Count a failed re-entry of the password (the caller audits and commits)."""
    throttle.failed(user.username, step="signature")


def unlock(username: str, *, actor: User | None = None, reset_two_step: bool = False) -> None:
    """Clear an account's failed sign-in counters; optionally remove its second step."""
    user = find_user(username)
    if user is None:
        raise LookupError(f"no user {username!r}")
    throttle.unlock(user.username)
    audit.record("login_unlocked", actor, object_type="user", object_id=str(user.id),
                 details={"username": user.username, "two_step_reset": reset_two_step})
    db.session.commit()
    if reset_two_step and twofactor.is_enabled(user):
        twofactor.turn_off(actor, user)


def logout(user: User) -> None:
    """End every session of the user (server side), auditing it."""
    user.session_token = secrets.token_hex(16)
    audit.record("logout", user, object_type="user", object_id=str(user.id))
    db.session.commit()


def parse_roles(value) -> str:
    """Return the stored role set for a list (or comma-separated text) of role names."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple, set, frozenset)) or \
            not all(isinstance(r, str) for r in value):
        raise ValidationError(_l("Roles must be a list of role names"), field="roles")
    known = {r.value for r in Role}
    names = {nfc(r).lower() for r in value}
    if not names:
        raise ValidationError(_l("Choose at least one role"), field="roles")
    if not names <= known:
        raise ValidationError(_l("Unknown role"), field="roles")
    return join_roles(names)


def clean_email(value) -> str | None:
    """Return a checked e-mail address, or None when empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(_l("E-mail address must be text"), field="email")
    email = nfc(value)
    if not email:
        return None
    if len(email) > EMAIL_MAX or has_control_chars(email) or not _EMAIL.match(email):
        raise ValidationError(_l("This is not an e-mail address (name@example.vn)"),
                              field="email")
    return email


def clean_display_name(value) -> str:
    """Return a checked full name."""
    shown = clean_line(value, max_len=200) if isinstance(value, str) else ""
    if not shown:
        raise ValidationError(_l("Full name is required"), field="name")
    return shown


def department_for(code) -> Department | None:
    """Return the active department a user is placed in (None when no code is given)."""
    if code in (None, ""):
        return None
    department = departments.find(code if isinstance(code, str) else "")
    if department is None:
        raise ValidationError(_l("Unknown department"), field="department")
    departments.require_active(department)
    return department


def create_user(actor: User | None, *, username: str, display_name: str, role,
                password: str, department_code: str | None = None, email: str | None = None,
                demo: bool = False) -> User:
    """Create an account with one or more roles; usernames are never reused."""
    if actor is not None:   # None: the administrator's own command line, or the demo loader
        require(actor, Perm.MANAGE_USERS)
    name = nfc(username if isinstance(username, str) else "").lower()
    if not (2 <= len(name) <= 64) or not set(name) <= USERNAME_CHARS or name[0] in "-.":
        raise ValidationError(_l("Username: 2–64 of a–z, 0–9, '.', '_', '-'"),
                              field="username")
    roles = parse_roles(role)
    shown = clean_display_name(display_name)
    address = clean_email(email)
    if not isinstance(password, str):
        raise ValidationError(_l("Password must be text"), field="password")
    check_password_policy(password, username=name, allow_demo=demo)
    if find_user(name):
        raise Conflict(_l("This username exists (usernames are never reused)"),
                       field="username")
    department = department_for(department_code)
    user = User(username=name, display_name=shown, role=roles, email=address,
                department=department, password_hash=hash_password(password), active=True,
                must_change_password=False, session_token=secrets.token_hex(16),
                created_at=now())
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", actor, object_type="user", object_id=str(user.id),
                 details={"username": name, "role": roles})
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one."""
    if not reauthenticate(user, current):
        # A borrowed session must not become a way to guess the password: same counters.
        reauthentication_failed(user)
        audit.record("password_change_failed", user, object_type="user", object_id=str(user.id))
        db.session.commit()
        raise Forbidden(_l("The current password is wrong"))
    check_password_policy(new, username=user.username)
    if verify_password(user, new):
        raise ValidationError(_l("Choose a password different from the current one"),
                              field="password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_token = secrets.token_hex(16)
    _revoke_tokens(user)
    audit.record("password_changed", user, object_type="user", object_id=str(user.id))
    db.session.commit()


def revoke_tokens(user: User) -> None:
    """Revoke every API token of the user (the caller commits)."""
    _revoke_tokens(user)


def _revoke_tokens(user: User) -> None:
    for token in db.session.scalars(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now()


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(username: str, password: str, code: str | None = None, *,
                address: str | None = None) -> str:
    """Return a new API token for valid credentials and code (only its hash is stored)."""
    user = authenticate(username, password, address=address)
    if twofactor.is_enabled(user):
        if not code:
            raise Forbidden(_l("This account signs in with two steps: send the code too"),
                            field="code")
        second_step(user, code, address=address)
    elif twofactor.must_enrol(user):
        raise Forbidden(_l("Your role requires two-step sign-in: set it up on the web first"))
    if user.must_change_password:
        raise Forbidden(MUST_CHANGE_MESSAGE, field="password")
    raw = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(raw), created_at=now(),
                            expires_at=now() + timedelta(days=setting("TOKEN_DAYS"))))
    audit.record("token_issued", user, object_type="user", object_id=str(user.id))
    db.session.commit()
    return raw


def user_for_token(raw: str) -> User | None:
    """Return the active user owning a valid token, or None."""
    if not raw or len(raw) > 200:
        return None
    # One query: the API authenticates every request with this.
    return db.session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_hash(raw), ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > now(), User.active.is_(True)))


def load_session_user(session_id: str) -> User | None:
    """Return the user for a Flask-Login id "<id>:<session token>", if still valid."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def users_with_role(*roles: str) -> list[User]:
    """Return active users holding any of the roles, by name."""
    wanted = set(roles)
    # Roles are a comma-separated set: match each user's set, not the column as a whole.
    return [user for user in db.session.scalars(select(User).where(
        User.active.is_(True)).order_by(User.display_name)) if wanted & set(user.roles)]
