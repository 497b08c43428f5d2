"""Who is carrying out an import run: its worker holds a lock file until the run ends.

Like an intent's lock (services/intents.py): the kernel frees the flock when the worker's
process dies, so a run left "running" by a restart is told apart from one still at work.
"""

import contextlib
import os

from flask import current_app
from flask_babel import lazy_gettext as _l

from docctl.errors import Conflict
from docctl.flock import try_flock


def run_lock_path(run_id: int) -> str:
    """Return the lock file its worker holds while a run is at work."""
    return os.path.join(current_app.config["INSTANCE_DIR"], "locks", "imports",
                        f"{int(run_id)}.lock")


def hold_run(run_id: int) -> int:
    """Take a run's lock (held by its worker until it ends); raise Conflict if held."""
    fd = try_flock(run_lock_path(run_id))
    if fd is None:
        raise Conflict(_l("This import is already at work"))
    return fd


def release_run(run_id: int, fd: int) -> None:
    """Let go of a run's lock."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(run_lock_path(run_id))
    os.close(fd)


def worker_gone(run_id: int) -> bool:
    """Tell whether a running run has lost its worker (its lock is free: the process died)."""
    fd = try_flock(run_lock_path(run_id))
    if fd is None:
        return False
    release_run(run_id, fd)
    return True
