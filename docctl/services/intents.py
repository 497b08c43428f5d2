"""Who owns an intent: the process that records it holds its lock file until it is settled.

A lock file per intent (<instance>/locks/intents/<id>.lock) carries an fcntl.flock for as long
as the request that made the intent is working on it. The kernel frees the flock when that
process dies, so recovery can tell a dead owner from a slow one at once, without waiting for an
age threshold: it claims an intent only when it can take that flock itself.
"""

from __future__ import annotations

import contextlib
import os

from flask import current_app
from sqlalchemy import select, update

from docctl.extensions import db
from docctl.flock import try_flock
from docctl.models import Intent, IntentDocument
from docctl.services.context import now


def lock_path(intent_id: str) -> str:
    """Return the lock file of an intent (ids are uuid hex: safe as a file name)."""
    if not intent_id.isalnum():
        raise ValueError("invalid intent id")
    return os.path.join(current_app.config["INSTANCE_DIR"], "locks", "intents",
                        f"{intent_id}.lock")


class Ownership:
    """The flock on one intent's lock file, held by its owner or by whoever settles it."""

    def __init__(self, intent_id: str, fd: int):
        self.intent_id, self._fd, self._path = intent_id, fd, lock_path(intent_id)

    def release(self) -> None:
        """Drop the lock (and its file: a later claimant recreates it if it still needs it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
        os.close(fd)

    def __enter__(self) -> Ownership:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def claim(intent_id: str) -> Ownership | None:
    """Take an intent's lock without waiting; None while its owner (or a settler) holds it."""
    fd = try_flock(lock_path(intent_id))
    return None if fd is None else Ownership(intent_id, fd)


def own(intent_id: str) -> Ownership:
    """Take the lock of a new intent before it is recorded (its id is fresh: never held)."""
    ownership = claim(intent_id)
    if ownership is None:
        raise RuntimeError(f"intent {intent_id} is already owned")
    return ownership


def pending(*, revision_id: int | None = None, document_id: int | None = None,
            release_id: int | None = None) -> list[Intent]:
    """Return the pending intents of a revision, a document or a release, oldest first.

    A document's are every intent that names it, a release's included.
    """
    query = select(Intent).where(Intent.state == "pending")
    if revision_id is not None:
        query = query.where(Intent.revision_id == revision_id)
    if document_id is not None:
        query = query.where(Intent.id.in_(select(IntentDocument.intent_id).where(
            IntentDocument.document_id == document_id)))
    if release_id is not None:
        query = query.where(Intent.release_id == release_id)
    return list(db.session.scalars(query.order_by(Intent.created_at, Intent.id)))


def pending_any(document_ids: list[int]) -> bool:
    """Tell whether any pending intent names one of these documents (one query for a set)."""
    return db.session.scalar(select(IntentDocument.intent_id).join(
        Intent, Intent.id == IntentDocument.intent_id).where(
        Intent.state == "pending", IntentDocument.document_id.in_(document_ids)).limit(1)) \
        is not None


def mark(intent_id: str, state: str, *, commit_sha: str | None = None) -> bool:
    """Move a pending intent to state in the open transaction; False if it was not pending.

    The condition on state makes finishing and abandoning claim-once: a second settler (the
    scheduler racing an approver's retry) changes no row and must roll back.
    """
    values = {"state": state, "finished_at": now()}
    if commit_sha is not None:
        values["commit_sha"] = commit_sha
    result = db.session.execute(
        update(Intent).where(Intent.id == intent_id, Intent.state == "pending").values(**values)
        .execution_options(synchronize_session="fetch"))
    return bool(result.rowcount)


def sweep() -> int:
    """Remove lock files of intents that are not pending and whose holder is gone.

    A process that dies between taking an intent's lock and recording the intent leaves a
    file no one would settle; return how many such files were removed.
    """
    folder = os.path.dirname(lock_path("0"))
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return 0
    waiting = set(db.session.scalars(select(Intent.id).where(Intent.state == "pending")))
    removed = 0
    for name in names:
        intent_id = name.removesuffix(".lock")
        if not name.endswith(".lock") or not intent_id.isalnum() or intent_id in waiting:
            continue
        ownership = claim(intent_id)
        if ownership is not None:   # nobody holds it: a leftover
            ownership.release()
            removed += 1
    return removed
