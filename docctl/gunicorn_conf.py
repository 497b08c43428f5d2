"""Gunicorn settings for `docctl serve` (minimal; every limit in a request stays below them)."""

timeout = 30
graceful_timeout = 20
