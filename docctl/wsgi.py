"""WSGI entry point for gunicorn."""

import sys

from docctl import create_app
from docctl.services import scheduler
from docctl.services.secretkey import StartupRefused

try:
    app = create_app()
except StartupRefused as exc:
    # A plain message, no traceback; exit status 4 makes gunicorn stop instead of respawning.
    print(exc.message, file=sys.stderr, flush=True)
    sys.exit(4)
if app.config.get("SCHEDULER"):
    # Each worker runs the thread; a lock file makes one of them the leader.
    scheduler.start(app)
