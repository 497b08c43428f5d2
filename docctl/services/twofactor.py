"""Optional two-step sign-in: TOTP (RFC 6238, pyotp) and single-use recovery codes (R39)."""

import secrets

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from docctl.errors import Conflict, ValidationError
from docctl.extensions import db
from docctl.models import RecoveryCode, User
from docctl.services import audit, organisation
from docctl.services.context import now, setting

RECOVERY_COUNT = 10
# 10 characters of 31 (no 0/o/1/l/i): ~50 bits, so stored as argon2 hashes (ASVS 6.5.2).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def is_enabled(user: User) -> bool:
    """Tell whether the user signs in with a second step."""
    return user.totp_enabled_at is not None


def is_required(user: User) -> bool:
    """Tell whether the organisation requires a second step for any of the user's roles."""
    required = setting("MFA_REQUIRED_ROLES") or ()
    if isinstance(required, str):   # "admin,controller" from the environment
        required = required.split(",")
    return bool(set(user.roles) & {r.strip() for r in required})


def must_enrol(user: User) -> bool:
    """Tell whether the user must set up the second step before doing anything else."""
    return is_required(user) and not is_enabled(user)


def pending_secret(user: User) -> str:
    """Return the secret being set up, creating one (CSPRNG, 160 bits) on first use."""
    if is_enabled(user):
        raise Conflict(_l("Two-step sign-in is already on"))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32(32)
        db.session.commit()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username,
                                               issuer_name=organisation.name() or "docctl")


def qr_svg(uri: str) -> str:
    """Return the URI as an inline SVG QR code (no request to anyone)."""
    import segno
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())[:32]


def _matches_totp(user: User, secret: str, code: str) -> int | None:
    """Return the time step a 6-digit code belongs to (±1 step of 30 s), unless used before."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())      # the server's clock, never the client's (6.5.8)
    for step in (current, current - 1, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue                    # a code works once (6.5.1)
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm(user: User, code: str) -> list[str]:
    """Turn the second step on after a first valid code; return new recovery codes."""
    secret = pending_secret(user)
    step = _matches_totp(user, secret, _clean(code))
    if step is None:
        audit.record("totp_setup_failed", user, object_type="user", object_id=str(user.id))
        db.session.commit()
        raise ValidationError(_l("The code is not right. Check the time on your phone and "
                                 "enter the current code."), field="code")
    user.totp_last_step = step
    user.totp_enabled_at = now()
    codes = _new_recovery_codes(user)
    audit.record("totp_enabled", user, object_type="user", object_id=str(user.id))
    db.session.commit()
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    from docctl.services.users import hash_password
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hash_password(raw),
                                    created_at=now()))
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes (the old ones stop working)."""
    codes = _new_recovery_codes(user)
    audit.record("recovery_codes_renewed", user, object_type="user", object_id=str(user.id))
    db.session.commit()
    return codes


def remaining_codes(user: User) -> int:
    """Return how many recovery codes are left unused."""
    return len(_unused(user))


def _unused(user: User) -> list[RecoveryCode]:
    return list(db.session.scalars(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))))


def check_code(user: User, code: str) -> str | None:
    """Check a TOTP or recovery code (in the caller's unit of work); return which kind."""
    from docctl.services.users import _hasher
    cleaned = _clean(code)
    if not is_enabled(user) or not cleaned:
        return None
    step = _matches_totp(user, user.totp_secret, cleaned)
    if step is not None:
        user.totp_last_step = step
        return "totp"
    if len(cleaned) != 10:
        return None
    for row in _unused(user):
        try:
            _hasher.verify(row.code_hash, cleaned)
        except (VerificationError, InvalidHashError):
            continue
        row.used_at = now()
        audit.record("recovery_code_used", user, object_type="user", object_id=str(user.id),
                     details={"remaining": remaining_codes(user)})
        return "recovery"
    return None


def turn_off(actor: User | None, user: User) -> None:
    """Remove the user's second step and recovery codes (self, or an administrator's reset)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("totp_disabled", actor, object_type="user", object_id=str(user.id),
                 details={"username": user.username})
    db.session.commit()
