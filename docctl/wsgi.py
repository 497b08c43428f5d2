"""WSGI entry point for gunicorn."""

from docctl import create_app

app = create_app()
