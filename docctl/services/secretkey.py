"""Refuse to start with a secret key other than the one that sealed the signatures."""

import hashlib
import hmac
import logging
import os

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from docctl import dbengine
from docctl.errors import DocctlError
from docctl.extensions import db
from docctl.models import Setting, Signature, utcnow

log = logging.getLogger(__name__)

FINGERPRINT = "secret_key_fingerprint"
_CONSTANT = b"docctl secret key fingerprint v1"


class StartupRefused(DocctlError):
    """docctl cannot start safely with this configuration."""

    status = 503
    code = "startup_refused"


def fingerprint(key: str) -> str:
    """Return an HMAC of a constant under the key: it names the key without revealing it."""
    return hmac.new(key.encode(), _CONSTANT, hashlib.sha256).hexdigest()


def check_at_start(app) -> None:
    """Keep, compare or refuse the secret key; save a new key only on a fresh install."""
    from config import save_secret_key

    unsaved = app.config.pop("SECRET_KEY_UNSAVED", None)
    with app.app_context():
        try:
            # Starting workers only read here (remember() writes in its own transaction):
            # they must not queue for SQLite's write lock behind the users' requests.
            with dbengine.reading():
                verdict = _compare(app.config["SECRET_KEY"], unsaved)
            if verdict is not None and unsaved and os.path.exists(unsaved):
                # Another worker of a fresh install saved its key meanwhile: use that one.
                app.config["SECRET_KEY"], unsaved = save_secret_key(unsaved, ""), None
                verdict = _compare(app.config["SECRET_KEY"], None)
        except SQLAlchemyError as exc:
            db.session.rollback()
            if unsaved:
                raise StartupRefused(
                    f"docctl will not start: the secret key file {unsaved} is missing and the "
                    "database cannot be read to tell whether signatures need the old key "
                    f"({type(exc).__name__}). Check the database, or restore the key file "
                    "from the backup.") from None
            log.warning("could not compare the secret key with the database: %s", exc)
            return
        finally:
            db.session.remove()
        if verdict is not None:
            raise StartupRefused(verdict)
        if unsaved:
            app.config["SECRET_KEY"] = save_secret_key(unsaved, app.config["SECRET_KEY"])
            try:
                remember(app.config["SECRET_KEY"])
            except SQLAlchemyError:
                db.session.rollback()
            finally:
                db.session.remove()


def _compare(key: str, unsaved: str | None) -> str | None:
    """Return why the key must be refused, or None when it may be used."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and not os.path.exists(url.database or ""):
        return None                     # no database file yet: a fresh install
    tables = inspect(db.engine)
    if not tables.has_table("signature"):
        return None                     # not initialised yet: a fresh install
    stored = db.session.get(Setting, FINGERPRINT) if tables.has_table("setting") else None
    newest = db.session.scalar(select(Signature).order_by(Signature.id.desc()).limit(1))
    if stored is not None:
        if hmac.compare_digest(stored.value, fingerprint(key)):
            return None
        return _refusal(unsaved, "its fingerprint differs from the one the database keeps")
    if newest is None:
        if tables.has_table("setting") and not unsaved:
            remember(key)
        return None
    if unsaved:
        return _refusal(unsaved, "")
    from docctl.services import signatures
    if signatures.verifies(newest):
        if tables.has_table("setting"):
            remember(key)               # an install from before fingerprints: learn it now
        return None
    return _refusal(None, f"signature {newest.id} does not verify with it")


def _refusal(missing_path: str | None, why: str) -> str:
    if missing_path:
        head = (f"docctl will not start: the secret key file {missing_path} is missing, and "
                "the database holds signatures sealed with the instance's key.")
    else:
        head = (f"docctl will not start: the secret key is not the one the signatures in the "
                f"database were sealed with ({why}).")
    return (head + " A new key would make every signature seal fail. Restore the key file "
            "(secret_key in the backup) into the data folder, or set DOCCTL_SECRET_KEY to the "
            "original key, then start again.")


def remember(key: str) -> None:
    """Store the key's fingerprint unless one is stored (workers may race: first wins)."""
    db.session.rollback()   # a read snapshot from the comparison must not be upgraded
    with dbengine.immediate():
        if db.session.get(Setting, FINGERPRINT) is not None:
            return
        db.session.add(Setting(name=FINGERPRINT, value=fingerprint(key), updated_at=utcnow()))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
