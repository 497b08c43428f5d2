"""gunicorn settings for `docctl serve` (--config python:docctl.gunicorn_conf), from docctl's."""

from config import Config, LimitsError, check_limits

_config = Config()
try:
    # Refuse before any worker starts: the same check create_app makes, said once, plainly.
    check_limits({name: getattr(_config, name) for name in dir(_config) if name.isupper()})
except LimitsError as exc:
    raise SystemExit(f"docctl: {exc}") from None

# A worker stuck longer than this is aborted by the master; every wait inside a request is
# shorter (check_limits), so the user gets docctl's own 503/504 page, never a dropped request.
timeout = int(_config.WORKER_TIMEOUT)
graceful_timeout = int(_config.GRACEFUL_TIMEOUT)
# Request line and headers: gunicorn's defaults, written down. The body is capped by the app
# (MAX_CONTENT_LENGTH, read to the end and answered 413 by docctl.web.bodylimit).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def _kill_conversions() -> None:
    from docctl.office import pdf

    pdf.kill_active()


def worker_abort(worker) -> None:
    """Kill this worker's PDF conversion when the master aborts it (its timeout)."""
    _kill_conversions()


def worker_int(worker) -> None:
    """Kill this worker's PDF conversion when it is interrupted (SIGINT/SIGQUIT)."""
    _kill_conversions()


def worker_exit(server, worker) -> None:
    """Kill what conversion is left when a worker exits."""
    _kill_conversions()
