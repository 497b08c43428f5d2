"""An import run in the web: the uploaded .zip kept between preview and confirmation, the
run carried out in a thread of its own, its progress read back."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl import dbengine
from docctl.domain.permissions import has_perm
from docctl.errors import DocctlError, NotFound
from docctl.extensions import db
from docctl.models import ImportRun, User
from docctl.services.context import now
from docctl.services.documents import require
from docctl.services.importing import IMPORT_PERM, begin, carry_out
from docctl.services.importlock import hold_run, release_run, worker_gone

log = logging.getLogger(__name__)
STAGED_HOURS = 24


def run_status(actor: User, run_id: int) -> dict:
    """Return an import run's progress and, once finished, its report."""
    require(actor, IMPORT_PERM)
    run = db.session.get(ImportRun, run_id)
    if run is None or (run.actor_id != actor.id and not has_import_rights(actor)):
        raise NotFound(_l("No such import"))
    if run.state == "running" and worker_gone(run_id):
        # Its worker died (a restart, a killed process): say so instead of "running" forever.
        db.session.rollback()
        with dbengine.immediate():
            mark_abandoned(run_id, str(_l("The import was interrupted before it finished "
                                          "(the server stopped?): run it again; documents "
                                          "already imported are skipped")))
        run = db.session.get(ImportRun, run_id)
    status = {"id": run.id, "state": run.state, "total": run.total, "done": run.done,
              "source": run.source_name,
              "report": json.loads(run.report or "[]") if run.state != "running" else None}
    db.session.rollback()   # a poll only reads: let the import's writer go on at once
    return status


def recent(actor: User, limit: int = 10) -> list[ImportRun]:
    """Return the latest import runs, newest first (to find one's way back to a run)."""
    require(actor, IMPORT_PERM)
    runs = list(db.session.scalars(select(ImportRun).order_by(ImportRun.id.desc())
                                   .limit(limit)))
    db.session.rollback()   # a page only reads: hold no lock an import thread needs
    return runs


def has_import_rights(actor: User) -> bool:
    """Tell whether the user may import (and read other people's import runs)."""
    return has_perm(actor.role, IMPORT_PERM)


def mark_abandoned(run_id: int, why: str) -> None:
    """Close a run whose worker could not go on (the thread died of an error)."""
    run = db.session.get(ImportRun, run_id)
    if run is not None and run.state == "running":
        run.state, run.finished_at = "failed", now()
        run.report = json.dumps([{"row": None, "file": None, "code": None, "action": "error",
                                  "issue": None, "amendment": None, "effective_date": None,
                                  "message": why}], ensure_ascii=False)
        db.session.commit()


def staging_dir() -> str:
    """Return the private folder where an uploaded .zip waits between preview and import."""
    from flask import current_app
    folder = os.path.join(current_app.config["INSTANCE_DIR"], "imports")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return folder


def stage(actor: User, data: bytes) -> str:
    """Keep an uploaded .zip for the confirmation step; return its token."""
    require(actor, IMPORT_PERM)
    folder = staging_dir()
    cutoff = time.time() - STAGED_HOURS * 3600
    for name in os.listdir(folder):   # uploads nobody confirmed: gone after a day
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if os.path.getmtime(path) < cutoff:
                os.unlink(path)
    token = secrets.token_hex(16)
    path = os.path.join(folder, f"{actor.id}-{token}.zip")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return token


def staged(actor: User, token: str) -> str:
    """Return the path of the actor's staged .zip, or raise NotFound."""
    if not (isinstance(token, str) and len(token) == 32 and token.isalnum()):
        raise NotFound(_l("This upload has expired: upload the .zip again"))
    path = os.path.join(staging_dir(), f"{actor.id}-{token}.zip")
    if not os.path.isfile(path):
        raise NotFound(_l("This upload has expired: upload the .zip again"))
    return path


def start_in_background(actor: User, source_name: str, token: str) -> ImportRun:
    """Record a run and carry it out in a thread of its own; return the run to poll.

    The thread owns its app context and database session, so the request returns at once
    and a gunicorn worker timeout (a request limit) never cuts the import short; the
    ImportRun row is the progress record the page polls.
    """
    from flask import current_app

    path = staged(actor, token)
    claimed = f"{path}.{secrets.token_hex(4)}"
    try:
        os.rename(path, claimed)   # atomic: a second click finds nothing to start
    except FileNotFoundError:
        raise NotFound(_l("This upload has expired: upload the .zip again")) from None
    path = claimed
    run = begin(actor, source_name)
    fd = hold_run(run.id)   # the thread holds it from here to its end
    app = current_app._get_current_object()
    thread = threading.Thread(target=_work, args=(app, actor.id, run.id, source_name, path,
                                                  fd),
                              name=f"docctl-import-{run.id}", daemon=True)
    thread.start()
    return run


def _work(app, actor_id: int, run_id: int, source_name: str, path: str, fd: int) -> None:
    from docctl.services import importsource

    with app.app_context():
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            os.unlink(path)
            actor = db.session.get(User, actor_id)
            source = importsource.from_zip(source_name, data)
        except Exception as exc:   # the thread must close its run, whatever happened
            release_run(run_id, fd)
            _stopped(run_id, exc)
            return
        try:
            carry_out(actor, run_id, source, lock_fd=fd)
        except Exception as exc:
            _stopped(run_id, exc)
        finally:
            db.session.remove()


def _stopped(run_id: int, exc: Exception) -> None:
    db.session.rollback()
    log.exception("import run %s stopped", run_id)
    why = exc.message if isinstance(exc, DocctlError) else _("unexpected error")
    mark_abandoned(run_id, str(_l("The import stopped: %(why)s", why=why)))
    db.session.remove()
