"""WSGI entry point for gunicorn."""

from docctl import create_app
from docctl.services import scheduler

app = create_app()
if app.config.get("SCHEDULER"):
    # Each worker runs the thread; a lock file makes one of them the leader.
    scheduler.start(app)
