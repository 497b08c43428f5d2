"""End an API token on its holder's request."""

import hashlib

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.errors import ValidationError
from docctl.extensions import db
from docctl.models import ApiToken, User
from docctl.services import audit
from docctl.services.context import now


def revoke(user: User, raw: str) -> None:
    """Revoke the bearer token the user is calling with, recording it (never the token)."""
    if not raw:
        raise ValidationError(_l("Send the token to revoke as a Bearer token"))
    # The same digest users.issue_token stores: only hashes of tokens are ever kept.
    token_hash = hashlib.sha256(raw.encode()).hexdigest()
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash,
                                                     ApiToken.user_id == user.id))
    if token is None or token.revoked_at is not None:
        raise ValidationError(_l("This token is not active"))
    token.revoked_at = now()
    audit.record("token_revoked", user, object_type="api_token", object_id=str(token.id),
                 details={"issued_at": token.created_at.isoformat()})
    db.session.commit()
