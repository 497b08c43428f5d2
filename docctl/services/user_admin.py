"""An administrator's work on accounts: roles, department, deactivation, password resets."""

import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from docctl.domain.permissions import Perm, Role, role_list
from docctl.domain.textfold import nfc
from docctl.errors import Conflict, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import User
from docctl.services import audit, users
from docctl.services.documents import require

# A generated temporary password: 4 groups of 4 from 31 unambiguous characters (~79 bits).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
UPDATE_FIELDS = {"active", "roles", "department", "name", "email"}


def list_users() -> list[User]:
    """Return every account, active ones first, by username."""
    return list(db.session.scalars(select(User).options(selectinload(User.department))
                                   .order_by(User.active.desc(), User.username)))


def get_user(username: str) -> User:
    """Return an account by username, or raise NotFound."""
    user = users.find_user(username if isinstance(username, str) else "")
    if user is None:
        raise NotFound(_l("No such user"))
    return user


def get_user_by_id(user_id: int) -> User:
    """Return an account by id, or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user"))
    return user


def active_admins() -> list[User]:
    """Return the active administrators."""
    return users.users_with_role(Role.ADMIN.value)


def _keeps_an_admin(user: User, *, roles: str, active: bool) -> bool:
    still_admin = active and Role.ADMIN in role_list(roles)
    return still_admin or any(a.id != user.id for a in active_admins())


def _snapshot(user: User) -> dict:
    return {"role": user.role, "active": user.active, "name": user.display_name,
            "email": user.email,
            "department": user.department.code if user.department else None}


def _allowed(actor: User | None) -> None:
    if actor is not None:   # None: the administrator's own command line
        require(actor, Perm.MANAGE_USERS)


def update_user(actor: User | None, username: str, changes: dict) -> User:
    """Change a user's roles, department, name, e-mail or active flag (never the username)."""
    _allowed(actor)
    unknown = set(changes) - UPDATE_FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    user = get_user(username)
    before = _snapshot(user)
    roles = users.parse_roles(changes["roles"]) if "roles" in changes else user.role
    active = changes.get("active", user.active)
    if not isinstance(active, bool):
        raise ValidationError(_l("Active must be true or false"), field="active")
    if actor is not None and user.id == actor.id and not active:
        raise Conflict(_l("You cannot deactivate yourself"), field="active")
    if not _keeps_an_admin(user, roles=roles, active=active):
        raise Conflict(_l("This is the last active administrator: make someone else an "
                          "administrator first"), field="roles" if active else "active")
    # Every value is checked before any is set: a refusal leaves the account as it was.
    name = users.clean_display_name(changes["name"]) if "name" in changes else None
    email = users.clean_email(changes["email"]) if "email" in changes else user.email
    department = user.department
    if "department" in changes:
        current = user.department.code if user.department else None
        # Keeping a (now inactive) department is allowed; moving into one is not.
        if changes["department"] != current:
            department = users.department_for(changes["department"])
    user.display_name = name or user.display_name
    user.email, user.department = email, department
    user.role, user.active = roles, active
    after = _snapshot(user)
    if after != before:
        if before["role"] != after["role"] or before["active"] != after["active"]:
            # A change of rights ends the user's sessions and tokens.
            user.session_token = secrets.token_hex(16)
            users.revoke_tokens(user)
        action = "user_deactivated" if before["active"] and not active else (
            "user_reactivated" if active and not before["active"] else "user_changed")
        audit.record(action, actor, object_type="user", object_id=str(user.id),
                     details={"username": user.username, "before": before, "after": after})
    db.session.commit()
    return user


def left_waiting(user: User) -> list:
    """Return the revisions in progress that wait for this user as reviewer or approver.

    Shown when the user is deactivated, so the secretary re-routes them (issue 11): the
    secretaries' task page lists them as "needs re-routing" until then.
    """
    from docctl.services import workflow

    return workflow.waiting_on(user)


def generate_password() -> str:
    """Return a random temporary password that is easy to read out."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


def reset_password(actor: User | None, username: str, password: str | None = None) -> str:
    """Set a temporary password to be changed at the next sign-in; return it (shown once)."""
    _allowed(actor)
    user = get_user(username)
    if actor is not None and user.id == actor.id:
        raise Conflict(_l("Change your own password on the account page"))
    if password is not None and not isinstance(password, str):
        raise ValidationError(_l("Password must be text"), field="password")
    temporary = nfc(password) if password else generate_password()
    users.check_password_policy(temporary, username=user.username)
    user.password_hash = users.hash_password(temporary)
    user.must_change_password = True
    user.session_token = secrets.token_hex(16)
    users.revoke_tokens(user)
    # The password itself is never audited or logged.
    audit.record("password_reset", actor, object_type="user", object_id=str(user.id),
                 details={"username": user.username, "generated": not password})
    db.session.commit()
    return temporary


def unlock(actor: User, username: str) -> User:
    """Clear a locked-out account's failed sign-in counters."""
    require(actor, Perm.MANAGE_USERS)
    user = get_user(username)
    users.unlock(user.username, actor=actor)
    return user

