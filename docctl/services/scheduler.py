"""Housekeeping that runs by itself while `docctl serve` runs (and once for `docctl tick`).

Each gunicorn worker starts a daemon thread; a non-blocking flock on
<instance>/scheduler.lock picks one leader per data set (a dead leader's lock frees itself),
and only the leader works. Every pass settles interrupted intents, makes due revisions
effective, applies queued index jobs, clears lock files of dead writers and restores a
half-written work tree; now and then it also packs the store.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from flask import Flask

from docctl.extensions import db
from docctl.flock import try_flock

log = logging.getLogger(__name__)

PASS_SECONDS = 0.5          # index jobs are searchable within about a second
TIDY_SECONDS = 2.0          # the DIRTY marker and git's well-known lock files (a few stats)
DEEP_TIDY_SECONDS = 30.0    # also every lock file under refs/ (a walk; cheap once packed)
DUE_SECONDS = 30.0          # revisions whose effective date has come
MAINTAIN_SECONDS = 3600.0   # pack-refs, repack, commit-graph
FIRST_MAINTAIN_SECONDS = 60.0   # soon after start: packed refs keep the deep tidy cheap
FOLLOWER_SECONDS = 1.0      # how often a non-leader tries to take over (a flock try)


def run_pass(*, tidy: bool = True, deep: bool = True, due: bool = True,
             maintain: bool = False) -> dict:
    """Run one housekeeping pass in the current app context; return what it did.

    Every step is tried on its own: one failing step is logged and never stops the others.
    A step that writes runs only when a read-only look (no SQLite write lock) finds work.
    """
    from sqlalchemy import select

    from docctl.domain.lifecycle import Status
    from docctl.models import IndexJob, Intent, Revision
    from docctl.models_records import RecordIndexJob
    from docctl.services import indexing, intents, publishing, records_search
    from docctl.services.context import store, today

    done: dict = {}
    steps = [("store", (lambda: store().tidy(deep=deep)) if tidy or deep else None, None),
             ("intents", publishing.recover,
              select(Intent.id).where(Intent.state == "pending")),
             ("intent_locks", intents.sweep if deep else None, None),
             ("took_effect", publishing.take_effect_due if due else None,
              select(Revision.id).where(Revision.status == Status.APPROVED,
                                        Revision.effective_date <= today())),
             ("index_jobs", indexing.apply_pending_jobs,
              select(IndexJob.id).where(IndexJob.done_at.is_(None))),
             ("record_index_jobs", records_search.apply_jobs,
              select(RecordIndexJob.id).where(RecordIndexJob.done_at.is_(None))),
             ("maintained", (lambda: store().maintain() or True) if maintain else None, None)]
    for name, step, work in steps:
        if step is None:
            continue
        try:
            done[name] = step() if work is None or _found(work) else _nothing(name)
        except Exception:
            db.session.rollback()
            log.exception("scheduler step %s failed", name)
            done[name] = "failed"
        finally:
            db.session.commit()   # end every read transaction: never hold one across a pass
    return done


def _nothing(step: str):
    """Return what a step reports when the look found nothing for it to do."""
    from docctl.services.publishing import RECOVERY_OUTCOMES

    return dict.fromkeys(RECOVERY_OUTCOMES, 0) if step == "intents" else 0


def _found(query) -> bool:
    """Tell whether a query has a row, in a read transaction that leaves writers free."""
    from docctl import dbengine

    with dbengine.reading():
        found = db.session.scalar(query.limit(1)) is not None
        db.session.commit()
    return found


class Scheduler:
    """The housekeeping thread of one app (one data set)."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock_path = os.path.join(app.config["INSTANCE_DIR"], "scheduler.lock")
        self.stopping = threading.Event()
        self.leader = False
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._last = {"tidy": 0.0, "deep": 0.0, "due": 0.0,
                      "maintain": time.monotonic() - MAINTAIN_SECONDS + FIRST_MAINTAIN_SECONDS}

    def start(self) -> None:
        """Start the daemon thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="docctl-scheduler",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop, wait for it, and give up the leadership."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self.leader = False

    def try_lead(self) -> bool:
        """Become the leader if no live process is (non-blocking)."""
        if self._fd is None:
            self._fd = try_flock(self.lock_path)
            if self._fd is not None:
                self.leader = True
                log.info("scheduler: process %d leads for %s", os.getpid(),
                         self.app.config["INSTANCE_DIR"])
        return self.leader

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.try_lead():
                    self._pass()
                    pause = PASS_SECONDS
                else:
                    pause = FOLLOWER_SECONDS
            except Exception:   # never let the thread die: log and try again next time
                log.exception("scheduler pass failed")
                pause = PASS_SECONDS
            self.stopping.wait(pause)

    def _pass(self) -> None:
        clock = time.monotonic()
        flags = {name: clock - self._last[name] >= every for name, every in (
            ("tidy", TIDY_SECONDS), ("deep", DEEP_TIDY_SECONDS), ("due", DUE_SECONDS),
            ("maintain", MAINTAIN_SECONDS))}
        for name, due in flags.items():
            if due:
                self._last[name] = clock
        with self.app.app_context():
            try:
                done = run_pass(**flags)
            finally:
                db.session.remove()
        log.debug("scheduler pass: %s", done)


def start(app: Flask) -> Scheduler:
    """Start the scheduler of this app (one per app: per data set), once."""
    scheduler = app.extensions.get("docctl.scheduler")
    if scheduler is None:
        scheduler = app.extensions["docctl.scheduler"] = Scheduler(app)
        scheduler.start()
    return scheduler
