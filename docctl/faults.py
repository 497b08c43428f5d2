"""Crash points for recovery tests: a named point kills the process once, when configured.

Never active by default: only the names in the FAULT_POINTS setting fire, each once per data
set (a marker file under the instance folder remembers it), so the approver's retry gets past.
"""

import os

from flask import current_app, has_app_context


def point(name: str) -> None:
    """Die here (os._exit, as a killed process would) if FAULT_POINTS names this point."""
    if not has_app_context():
        return
    names = current_app.config.get("FAULT_POINTS") or ()
    if isinstance(names, str):
        names = tuple(part.strip() for part in names.split(","))
    if name not in names:
        return
    folder = os.path.join(current_app.config["INSTANCE_DIR"], "faults-fired")
    os.makedirs(folder, exist_ok=True)
    try:
        fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return   # fired once already: the retry goes on
    os.close(fd)
    os._exit(1)
