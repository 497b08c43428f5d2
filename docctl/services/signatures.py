"""Electronic signatures: who, when, meaning, bound to the content hash."""

import hashlib
import hmac
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from docctl.errors import SignatureError
from docctl.extensions import db
from docctl.models import Revision, Signature, User
from docctl.services import audit, users

# "imported": the administrator who brought an existing revision in; never an approval.
MEANINGS = ("prepared", "reviewed", "approved", "withdrawn", "imported",
            "periodic_review",   # "reviewed, no change" by the owner (services/periodic)
            "issued_by_decision")   # the approver's one signature on a release (releases)
# Meanings that approve a revision for issue (one of them makes it controlled).
APPROVING = ("approved", "issued_by_decision")


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(b"docctl-signature-seal\0" + secret).digest()


def seal_for(*, user_id: int, meaning: str, signed_at: datetime, revision_id: int,
             content_sha256: str) -> str:
    """Return the HMAC binding a signature to its signer, meaning, time and content."""
    message = f"{user_id}|{meaning}|{signed_at.isoformat()}|{revision_id}|{content_sha256}"
    return hmac.new(_key(), message.encode(), hashlib.sha256).hexdigest()


def confirm_password(user: User, password: str, *, revision: Revision | None = None,
                     document=None) -> None:
    """Re-check the signer's password at the moment of signing; log a failure."""
    if not users.reauthenticate(user, password or ""):
        db.session.rollback()
        users.reauthentication_failed(user)
        audit.record("signature_failed", user, document=document or (
            revision.document if revision else None), revision=revision,
            details={"why": "wrong password"})
        db.session.commit()
        raise SignatureError(_l("Wrong password: the signature was not made"))


def build(user: User, revision: Revision, meaning: str, signed_at: datetime,
          method: str) -> Signature:
    """Return a sealed signature row (not yet added to the session)."""
    assert meaning in MEANINGS
    return Signature(revision_id=revision.id, user_id=user.id, signer_name=user.display_name,
                     meaning=meaning, signed_at=signed_at, content_sha256=revision.sha256,
                     method=method,
                     seal=seal_for(user_id=user.id, meaning=meaning, signed_at=signed_at,
                                   revision_id=revision.id, content_sha256=revision.sha256))


def verifies(signature: Signature) -> bool:
    """Tell whether a signature row is intact and matches its revision's content."""
    expected = seal_for(user_id=signature.user_id, meaning=signature.meaning,
                        signed_at=signature.signed_at, revision_id=signature.revision_id,
                        content_sha256=signature.content_sha256)
    return hmac.compare_digest(expected, signature.seal)


def current(revision: Revision) -> list[Signature]:
    """Return the signatures that apply to the revision's present content."""
    return [s for s in revision.signatures if s.content_sha256 == revision.sha256]
