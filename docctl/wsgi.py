"""WSGI entry point for gunicorn."""

import sys

from docctl import create_app
from docctl.services.secretkey import StartupRefused

try:
    app = create_app()
except StartupRefused as exc:
    # A plain message, no traceback; exit status 4 makes gunicorn stop instead of respawning.
    print(exc.message, file=sys.stderr, flush=True)
    sys.exit(4)
