"""Accounts, passwords, sessions and API tokens."""

import contextlib
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.permissions import Role
from docctl.domain.textfold import clean_line, nfc
from docctl.errors import Conflict, Forbidden, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import ApiToken, Department, User
from docctl.services import audit
from docctl.services.context import now, setting

# argon2id at the OWASP minimum (19 MiB, t=2, p=1): R36's floor. The library default
# (64 MiB, t=3, p=4) costs ~200 ms per check on a loaded 2-core server, paid at every sign-in
# and every e-signature; older hashes are upgraded on the next sign-in (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A short deny-list of the passwords people try first (R38); length does the rest.
COMMON_PASSWORDS = frozenset({
    "123456789", "1234567890", "12345678", "password", "password1", "11111111", "qwertyuiop",
    "iloveyou", "abc123456", "matkhau123", "admin123", "00000000", "88888888", "123123123",
    "qwerty123", "1q2w3e4r", "987654321", "password123", "docctl123",
})
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


def hash_password(password: str) -> str:
    """Return an argon2id hash of a password."""
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    """Refuse passwords that are too short, too long or too common."""
    if not isinstance(password, str) or len(password) < 8:
        raise ValidationError(_l("Password must have at least 8 characters"),
                              field="password")
    if len(password) > 128:
        raise ValidationError(_l("Password must have at most 128 characters"),
                              field="password")
    if password.lower() in COMMON_PASSWORDS:
        raise ValidationError(_l("This password is too common"), field="password")


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


def authenticate(username: str, password: str) -> User:
    """Return the active user for these credentials, auditing the attempt."""
    user = find_user(username or "")
    ok = verify_password(user, password) and user.active
    if not ok:
        audit.record("login_failed", user, object_type="user",
                     object_id=str(user.id) if user else "",
                     details={"username": clean_line(username, max_len=64)})
        db.session.commit()
        raise Forbidden(_l("Wrong username or password"))
    user.last_login_at = now()
    audit.record("login", user, object_type="user", object_id=str(user.id))
    db.session.commit()
    return user


def logout(user: User) -> None:
    """End every session of the user (server side), auditing it."""
    user.session_token = secrets.token_hex(16)
    audit.record("logout", user, object_type="user", object_id=str(user.id))
    db.session.commit()


def create_user(actor: User | None, *, username: str, display_name: str, role: str,
                password: str, department_code: str | None = None) -> User:
    """Create an account; usernames are never reused."""
    name = nfc(username).lower()
    if not (2 <= len(name) <= 64) or not set(name) <= USERNAME_CHARS or name[0] in "-.":
        raise ValidationError(_l("Username: 2–64 of a–z, 0–9, '.', '_', '-'"),
                              field="username")
    if role not in {r.value for r in Role}:
        raise ValidationError(_l("Unknown role"), field="role")
    shown = clean_line(display_name, max_len=200)
    if not shown:
        raise ValidationError(_l("Display name is required"), field="display_name")
    check_password_policy(password)
    if find_user(name):
        raise Conflict(_l("This username exists (usernames are never reused)"),
                       field="username")
    department = None
    if department_code:
        department = db.session.scalar(select(Department).where(
            Department.code == department_code))
        if department is None:
            raise ValidationError(_l("Unknown department"), field="department")
    user = User(username=name, display_name=shown, role=role, department=department,
                password_hash=hash_password(password), active=True,
                session_token=secrets.token_hex(16), created_at=now())
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", actor, object_type="user", object_id=str(user.id),
                 details={"username": name, "role": role})
    db.session.commit()
    return user


def update_user(actor: User, user_id: int, *, role: str | None = None,
                active: bool | None = None, display_name: str | None = None) -> User:
    """Change a user's role, name or active flag (never the username)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user"))
    before = {"role": user.role, "active": user.active, "display_name": user.display_name}
    if role is not None:
        if role not in {r.value for r in Role}:
            raise ValidationError(_l("Unknown role"), field="role")
        user.role = role
    if display_name is not None:
        shown = clean_line(display_name, max_len=200)
        if not shown:
            raise ValidationError(_l("Display name is required"), field="display_name")
        user.display_name = shown
    if active is not None:
        if user.id == actor.id and not active:
            raise Conflict(_l("You cannot deactivate yourself"))
        user.active = active
    after = {"role": user.role, "active": user.active, "display_name": user.display_name}
    if after != before:
        # Any change of rights ends the user's sessions and tokens.
        user.session_token = secrets.token_hex(16)
        _revoke_tokens(user)
        audit.record("user_changed", actor, object_type="user", object_id=str(user.id),
                     details={"before": before, "after": after})
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one."""
    if not verify_password(user, current):
        audit.record("password_change_failed", user, object_type="user", object_id=str(user.id))
        db.session.commit()
        raise Forbidden(_l("The current password is wrong"))
    check_password_policy(new)
    user.password_hash = hash_password(new)
    user.session_token = secrets.token_hex(16)
    _revoke_tokens(user)
    audit.record("password_changed", user, object_type="user", object_id=str(user.id))
    db.session.commit()


def _revoke_tokens(user: User) -> None:
    for token in db.session.scalars(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now()


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(username: str, password: str) -> str:
    """Return a new API token for valid credentials (only its hash is stored)."""
    user = authenticate(username, password)
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
    return list(db.session.scalars(select(User).where(
        User.role.in_(roles), User.active.is_(True)).order_by(User.display_name)))
